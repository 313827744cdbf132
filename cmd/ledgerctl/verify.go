package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/licensing-ledger/ledger/audit"
)

// runVerify checks the hash chain of an export file, offline, or of the
// live store through the export route.
func runVerify(ctx context.Context, args []string, e *env) error {
	var c common
	var head string
	var asJSON bool
	var t trust
	fs := newFlags("verify", e, &c, false)
	t.register(fs)
	fs.StringVar(&t.previous, "previous", "", "an earlier export, kept with a checkpoint: it must verify, and a change is then named exactly")
	fs.StringVar(&head, "head", "", "a head (SHA-256, hex) kept from an earlier verification: the history must still hold its event")
	fs.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if h, herr := hex.DecodeString(head); head != "" && (herr != nil || len(h) != sha256.Size) {
		return usagef("--head must be a SHA-256 in hex (64 digits), as verify prints it")
	}
	if len(rest) > 1 {
		return usagef("verify takes one file, not %d", len(rest))
	}
	if len(t.keys) > 0 || len(t.kept) > 0 || t.previous != "" {
		return runVerifySigned(ctx, rest, &t, asJSON, &c, e)
	}
	fmt.Fprintln(e.stderr, "note: no --key: only the hash chain is checked, which proves little against whoever can write the store; give the ledger's key (ledgerctl key)")
	var sum audit.Summary
	switch {
	case len(rest) == 1:
		sum, err = verifyFile(rest[0], head, &c, e)
	default:
		sum, err = verifyLive(ctx, head, &c, e)
	}
	var b *audit.Break
	if errors.As(err, &b) {
		return brokenError{b}
	}
	if err != nil {
		return err
	}
	return printSummary(e.stdout, sum, asJSON)
}

// runVerifySigned verifies an export against signed checkpoints (L8).
func runVerifySigned(ctx context.Context, rest []string, t *trust, asJSON bool, c *common, e *env) error {
	if len(t.keys) == 0 {
		return usagef("--checkpoint needs --key: the ledger's verifier key, as 'ledgerctl key' prints it")
	}
	path := ""
	if len(rest) == 1 {
		path = rest[0]
	}
	sum, err := verifySigned(ctx, path, t, c, e)
	if isBroken(err) {
		return brokenError{err}
	}
	if err != nil {
		return err
	}
	if asJSON {
		return printSummary(e.stdout, sum.Summary, true)
	}
	return printSigned(e.stdout, sum)
}

// verifyFile verifies an export file; "-" is stdin.
func verifyFile(path, head string, c *common, e *env) (audit.Summary, error) {
	in := e.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return audit.Summary{}, err
		}
		defer f.Close()
		in = f
	}
	sum, err := verifyStream(in, head, c, e)
	if err == nil && c.tenant != "" && sum.Events > 0 && sum.Tenant != c.tenant {
		err = fmt.Errorf("%s holds tenant %q, not %q", path, sum.Tenant, c.tenant)
	}
	return sum, err
}

// verifyLive verifies the tenant's events as the server exports them now,
// and checks that the server sent them all.
func verifyLive(ctx context.Context, head string, c *common, e *env) (audit.Summary, error) {
	if err := c.online(); err != nil {
		return audit.Summary{}, err
	}
	resp, err := fetchExport(ctx, c, c.progress(e, "verify"))
	if err != nil {
		return audit.Summary{}, err
	}
	defer resp.Body.Close()
	sum, err := verifyStream(resp.Body, head, c, e)
	if err != nil {
		return sum, err
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return sum, err
	}
	if err := complete(resp, sum.Events); err != nil {
		return sum, err
	}
	if h := resp.Trailer.Get(audit.TrailerHead); sum.Events > 0 && h != sum.Head {
		return sum, fmt.Errorf("the server says the history ends at head %s, the events received end at %s", h, sum.Head)
	}
	return sum, nil
}

// verifyStream verifies an export as it is read, showing progress.
func verifyStream(in io.Reader, head string, c *common, e *env) (audit.Summary, error) {
	prog := c.progress(e, "verify")
	sum, err := audit.Verify(audit.NewDecoder(in), audit.VerifyOptions{Head: head, Progress: func(n int) { prog.update("%d events verified", n) }})
	prog.clear()
	return sum, err
}

// printSummary tells what verified.
func printSummary(w io.Writer, s audit.Summary, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	if s.Events == 0 {
		_, err := fmt.Fprintln(w, "OK: the history is empty")
		return err
	}
	fmt.Fprintf(w, "OK: tenant %s, %d events, sequence 1 to %d, %s to %s\n",
		s.Tenant, s.Events, s.Sequence, s.First.Format(timeLayout), s.Last.Format(timeLayout))
	if s.KeptHeadAt > 0 {
		fmt.Fprintf(w, "the kept head is the event of sequence %d: the history is unchanged up to there\n", s.KeptHeadAt)
	}
	_, err := fmt.Fprintf(w, "head sha256 %s\n", s.Head)
	return err
}
