package main

import (
	"context"
	"encoding/json"
	"net/url"
	"time"

	"github.com/licensing-ledger/ledger/audit"
)

// runState shows the tenant as of an instant.
func runState(ctx context.Context, args []string, e *env) error {
	var c common
	var asOf, format, cat string
	fs := newFlags("state", e, &c, true)
	fs.StringVar(&asOf, "as-of", "", "RFC 3339 instant (default: now)")
	fs.StringVar(&format, "format", "text", "text or json")
	fs.StringVar(&cat, "catalog", "", "with --file: the product catalog ledgerd runs with (default: the built-in one)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	at, err := instantFlag("as-of", asOf)
	if err == nil {
		err = checkArgs(rest, format, "text", "json")
	}
	if err != nil {
		return err
	}
	var st *audit.State
	if c.file != "" {
		st, err = stateFromFile(&c, e, cat, at)
	} else {
		st, err = stateFromServer(ctx, &c, e, at)
	}
	if err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(e.stdout, st)
	}
	return renderState(e.stdout, st)
}

func stateFromServer(ctx context.Context, c *common, e *env, at time.Time) (*audit.State, error) {
	if err := c.online(); err != nil {
		return nil, err
	}
	q := url.Values{}
	if !at.IsZero() {
		q.Set("asOf", at.Format(time.RFC3339Nano))
	}
	var st audit.State
	return &st, getJSON(ctx, c, e, "state", "state", q, &st)
}

func stateFromFile(c *common, e *env, catalogFile string, at time.Time) (*audit.State, error) {
	cat, err := loadCatalog(catalogFile)
	if err != nil {
		return nil, err
	}
	x, err := openExport(c, e, "state")
	if err != nil {
		return nil, err
	}
	defer x.Close()
	if at.IsZero() {
		at = time.Now()
	}
	return audit.StateAsOf(x.source(), cat, x.tenant, at)
}

// getJSON asks the server for a JSON answer and decodes it, showing that
// the server is at work meanwhile.
func getJSON(ctx context.Context, c *common, e *env, label, path string, q url.Values, v any) error {
	prog := c.progress(e, label)
	stop := prog.waiting()
	resp, err := newClient(c).get(ctx, path, q)
	stop()
	prog.clear()
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// checkArgs refuses positional arguments and a format not among those allowed.
func checkArgs(rest []string, format string, formats ...string) error {
	if len(rest) > 0 {
		return usagef("unexpected arguments %q", rest)
	}
	for _, f := range formats {
		if f == format {
			return nil
		}
	}
	return usagef("--format must be one of %q, not %q", formats, format)
}
