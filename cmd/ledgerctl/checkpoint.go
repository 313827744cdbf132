package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/licensing-ledger/ledger/audit"
	"github.com/licensing-ledger/ledger/checkpoint"
)

// runKey prints the ledger's verifier key: the server's, or the one of a
// signing key file (--signing-key), offline.
func runKey(ctx context.Context, args []string, e *env) error {
	var c common
	var signing, out string
	fs := newFlags("key", e, &c, false)
	fs.StringVar(&signing, "signing-key", "", "derive the verifier key from this signing key file (ledgerd's checkpoint.key), offline")
	fs.StringVar(&out, "out", "-", "file to write the key to (- for stdout)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	key, err := verifierKey(ctx, signing, &c)
	if err != nil {
		return err
	}
	return writeOut(out, e, []byte(key+"\n"))
}

// verifierKey returns the key of a signing key file, or the server's.
func verifierKey(ctx context.Context, signing string, c *common) (string, error) {
	if signing != "" {
		b, err := os.ReadFile(signing)
		if err != nil {
			return "", err
		}
		s, err := checkpoint.NewSigner(string(b))
		if err != nil {
			return "", err
		}
		return s.VerifierKey(), nil
	}
	body, _, err := fetch(ctx, c, "/v1/checkpoint-key", nil)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(body)), nil
}

// runCheckpoint fetches the tenant's latest signed checkpoint, for the
// auditor to keep; with --key it checks the signature, and with
// --checkpoint that it extends the checkpoints kept before (consistency
// proofs from the server, checked here).
func runCheckpoint(ctx context.Context, args []string, e *env) error {
	var c common
	var t trust
	var out string
	fs := newFlags("checkpoint", e, &c, false)
	t.register(fs)
	fs.StringVar(&out, "out", "-", "file to keep the checkpoint in (- for stdout)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := c.online(); err != nil {
		return err
	}
	note, _, err := fetch(ctx, &c, "/v1/tenants/"+url.PathEscape(c.tenant)+"/checkpoint", nil)
	if err != nil {
		return err
	}
	if len(t.keys) > 0 {
		if err := checkLatest(ctx, note, &t, &c, e); err != nil {
			return err
		}
	} else if len(t.kept) > 0 {
		return usagef("--checkpoint needs --key")
	}
	return writeOut(out, e, note)
}

// checkLatest verifies a fetched checkpoint and that it extends the kept.
func checkLatest(ctx context.Context, note []byte, t *trust, c *common, e *env) error {
	keys, err := t.verifiers()
	if err != nil {
		return err
	}
	latest, err := openFor(keys, note, c.tenant)
	if err != nil {
		return brokenError{err}
	}
	kept, err := t.keptNotes()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "checkpoint of tenant %s: tree size %d, root %s, signed by %s\n", c.tenant, latest.Size, b64(latest.Root), strings.Join(latest.Keys, ", "))
	for i, n := range kept {
		old, err := openFor(keys, n, c.tenant)
		if err != nil {
			return fmt.Errorf("%s: %w", t.kept[i], err)
		}
		if err := extends(ctx, c, old, latest); err != nil {
			return brokenError{fmt.Errorf("%s: %w", t.kept[i], err)}
		}
		fmt.Fprintf(e.stderr, "it extends the kept checkpoint %s (tree size %d)\n", t.kept[i], old.Size)
	}
	return nil
}

// extends checks, with the server's consistency proof, that latest
// extends old.
func extends(ctx context.Context, c *common, old, latest *checkpoint.Checkpoint) error {
	if old.Size > latest.Size {
		return fmt.Errorf("truncated: the ledger's latest checkpoint has tree size %d, the kept one %d: tree size %d is missing", latest.Size, old.Size, old.Size)
	}
	if old.Size == latest.Size {
		if string(old.Root) != string(latest.Root) {
			return fmt.Errorf("split: two checkpoints of tree size %d with different roots", old.Size)
		}
		return nil
	}
	q := url.Values{"from": {strconv.FormatUint(old.Size, 10)}, "to": {strconv.FormatUint(latest.Size, 10)}}
	body, _, err := fetch(ctx, c, "/v1/tenants/"+url.PathEscape(c.tenant)+"/proofs/consistency", q)
	if err != nil {
		return err
	}
	p, err := checkpoint.DecodeConsistency(body)
	if err != nil {
		return err
	}
	return p.Verify(old, latest)
}

// openFor opens a checkpoint and checks it is the tenant's.
func openFor(keys *checkpoint.Verifiers, note []byte, tenant string) (*checkpoint.Checkpoint, error) {
	cp, err := keys.Open(note)
	if err != nil {
		return nil, err
	}
	if tenant != "" && cp.Tenant() != tenant {
		return nil, fmt.Errorf("%s is of tenant %q, not %q", cp, cp.Tenant(), tenant)
	}
	return cp, nil
}

// runProve checks that one event is in a kept checkpoint: the server's
// inclusion proof, or with --file one computed from an export, checked
// here against the checkpoint's signed root.
func runProve(ctx context.Context, args []string, e *env) error {
	var c common
	var t trust
	fs := newFlags("prove", e, &c, true)
	t.register(fs)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || len(t.kept) != 1 || len(t.keys) == 0 {
		return usagef("prove EVENT-ID --checkpoint FILE --key KEY [--file EXPORT]")
	}
	keys, err := t.verifiers()
	if err != nil {
		return err
	}
	notes, err := t.keptNotes()
	if err != nil {
		return err
	}
	cp, err := openFor(keys, notes[0], c.tenant)
	if err != nil {
		return brokenError{err}
	}
	c.tenant = cp.Tenant()
	p, err := inclusionProof(ctx, rest[0], cp.Size, &c)
	if err != nil {
		return err
	}
	if err := p.Verify(cp); err != nil {
		return brokenError{err}
	}
	_, err = fmt.Fprintf(e.stdout, "OK: event %s (sequence %d) is in the tree of %s, size %d, root %s (a proof of %d hashes)\n",
		p.Event, p.Sequence, cp.Origin, cp.Size, b64(cp.Root), len(p.Hashes))
	return err
}

// inclusionProof fetches the proof, or computes it from --file.
func inclusionProof(ctx context.Context, event string, size uint64, c *common) (*checkpoint.InclusionProof, error) {
	if c.file != "" {
		return proveFromFile(c.file, event, size, c.tenant)
	}
	if err := c.online(); err != nil {
		return nil, err
	}
	q := url.Values{"event": {event}, "size": {strconv.FormatUint(size, 10)}}
	body, _, err := fetch(ctx, c, "/v1/tenants/"+url.PathEscape(c.tenant)+"/proofs/inclusion", q)
	if err != nil {
		return nil, err
	}
	p, err := checkpoint.DecodeInclusion(body)
	if err == nil && p.Event != event {
		err = fmt.Errorf("the server proved event %s, not %s", p.Event, event)
	}
	return p, err
}

// proveFromFile computes an inclusion proof from an export's events.
func proveFromFile(path, event string, size uint64, tenant string) (*checkpoint.InclusionProof, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := audit.NewDecoder(f)
	full := checkpoint.NewFullTree()
	p := &checkpoint.InclusionProof{Tenant: tenant, Event: event, Size: size}
	found := false
	for full.Size() < size {
		l, _, err := d.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s holds %d events, the checkpoint %d", path, full.Size(), size)
		}
		if err != nil {
			return nil, err
		}
		if l.ID == event && !found {
			found, p.Index, p.Sequence, p.Data = true, full.Size(), full.Size()+1, l.Data
		}
		full.Append(checkpoint.LeafHash(l.Data))
	}
	if !found {
		return nil, fmt.Errorf("event %s is not among the first %d events of %s", event, size, path)
	}
	p.Hashes, err = full.Inclusion(p.Index, size)
	return p, err
}

// fetch GETs a path of the API and returns the body of a success.
func fetch(ctx context.Context, c *common, path string, q url.Values) ([]byte, http.Header, error) {
	u := strings.TrimRight(c.server, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach ledgerd at %s (is it running? see --server): %w", c.server, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, refusal(resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return body, resp.Header, err
}

// writeOut writes data to a file, or stdout for "-".
func writeOut(path string, e *env, data []byte) error {
	dst, err := createOutput(path, e.stdout)
	if err != nil {
		return err
	}
	_, err = dst.Write(data)
	return dst.finish(err)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
