package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/licensing-ledger/ledger/audit"
	"github.com/licensing-ledger/ledger/checkpoint"
)

// checkpointSizeHeader tells that an export starts with its checkpoint
// line, and the tree size it covers (httpapi.HeaderCheckpointSize).
const checkpointSizeHeader = "Ledger-Checkpoint-Size"

// trust is what an auditor trusts and keeps: the ledger's verifier keys
// (--key, several during a rotation) and checkpoints kept from earlier
// audits (--checkpoint).
type trust struct {
	keys     listFlag
	kept     listFlag
	previous string // verify: an earlier export, kept with its checkpoint
}

// register adds --key and --checkpoint to a command.
func (t *trust) register(fs *flag.FlagSet) {
	fs.Var(&t.keys, "key", "the ledger's verifier key (name+hash+key, as 'ledgerctl key' prints it) or a file of keys; repeat to trust several")
	fs.Var(&t.kept, "checkpoint", "a checkpoint kept from an earlier audit (file): the history must extend it; repeatable")
}

// verifiers parses the trusted keys: each --key is a key or a file of keys.
func (t *trust) verifiers() (*checkpoint.Verifiers, error) {
	var keys []string
	for _, k := range t.keys {
		if b, err := os.ReadFile(k); err == nil {
			keys = append(keys, checkpoint.ReadVerifierKeys(b)...)
			continue
		}
		keys = append(keys, k)
	}
	v, err := checkpoint.NewVerifiers(keys...)
	if err != nil {
		return nil, usagef("--key: %v", err)
	}
	return v, nil
}

// keptNotes reads the kept checkpoints.
func (t *trust) keptNotes() ([][]byte, error) {
	var notes [][]byte
	for _, path := range t.kept {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--checkpoint: %w", err)
		}
		notes = append(notes, b)
	}
	return notes, nil
}

// verifySigned verifies an export against signed checkpoints: the file, or
// the live export when path is empty.
func verifySigned(ctx context.Context, path string, t *trust, c *common, e *env) (checkpoint.ExportSummary, error) {
	keys, err := t.verifiers()
	if err != nil {
		return checkpoint.ExportSummary{}, err
	}
	kept, err := t.keptNotes()
	if err != nil {
		return checkpoint.ExportSummary{}, err
	}
	in, done, err := openHistory(ctx, path, c, e)
	if err != nil {
		return checkpoint.ExportSummary{}, err
	}
	prev, err := t.readPrevious(keys, kept, c.tenant)
	if err != nil {
		return checkpoint.ExportSummary{}, err
	}
	prog := c.progress(e, "verify")
	sum, err := checkpoint.VerifyExport(audit.NewDecoder(in), checkpoint.ExportOptions{
		Keys: keys, Kept: kept, Tenant: c.tenant, Previous: prev,
		Progress: func(n int) { prog.update("%d events verified", n) },
	})
	prog.clear()
	if err == nil {
		err = done(sum.Events)
	}
	return sum, err
}

// readPrevious verifies the previous export (--previous), if any, and
// keeps its events' leaf hashes to name a change exactly.
func (t *trust) readPrevious(keys *checkpoint.Verifiers, kept [][]byte, tenant string) (*checkpoint.Previous, error) {
	if t.previous == "" {
		return nil, nil
	}
	f, err := os.Open(t.previous)
	if err != nil {
		return nil, fmt.Errorf("--previous: %w", err)
	}
	defer f.Close()
	p, err := checkpoint.ReadPrevious(audit.NewDecoder(f), checkpoint.ExportOptions{Keys: keys, Kept: kept, Tenant: tenant})
	if err != nil {
		return nil, fmt.Errorf("--previous %s: %w", t.previous, err)
	}
	return p, nil
}

// openHistory opens an export file ("-" is stdin) or, with no path, the
// server's export; done checks, once read, that the server sent it all.
func openHistory(ctx context.Context, path string, c *common, e *env) (io.Reader, func(int) error, error) {
	switch path {
	case "-":
		return e.stdin, func(int) error { return nil }, nil
	case "":
		if err := c.online(); err != nil {
			return nil, nil, err
		}
		resp, err := fetchExport(ctx, c, c.progress(e, "verify"))
		if err != nil {
			return nil, nil, err
		}
		return resp.Body, func(n int) error {
			defer resp.Body.Close()
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				return err
			}
			return complete(resp, n)
		}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return f, func(int) error { return f.Close() }, nil
}

// isBroken reports whether err is a history that does not verify.
func isBroken(err error) bool {
	var b *audit.Break
	var m *checkpoint.Mismatch
	var u *checkpoint.Unsigned
	return errors.As(err, &b) || errors.As(err, &m) || errors.As(err, &u)
}

// printSigned tells what verified against which checkpoints.
func printSigned(w io.Writer, s checkpoint.ExportSummary) error {
	if err := printSummary(w, s.Summary, false); err != nil {
		return err
	}
	cp := s.Checkpoint
	fmt.Fprintf(w, "signed: %s, tree size %d, root %s, by %s\n", cp.Origin, cp.Size, base64.StdEncoding.EncodeToString(cp.Root), strings.Join(cp.Keys, ", "))
	for _, k := range s.Kept {
		fmt.Fprintf(w, "extends the kept checkpoint of tree size %d (root %s)\n", k.Size, base64.StdEncoding.EncodeToString(k.Root))
	}
	return nil
}
