package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// readyTimeout bounds how long ready waits for the answer: a container
// healthcheck must not hang.
const readyTimeout = 5 * time.Second

// runReady asks ledgerd whether it is ready to serve (GET /readyz) and
// exits 0 if it is, 1 with the reasons if not. Container images have no
// curl: their healthcheck runs this.
func runReady(ctx context.Context, args []string, e *env) error {
	var c common
	fs := newFlags("ready", e, &c, false)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected arguments %q", rest)
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	url := strings.TrimRight(c.server, "/") + "/readyz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return usagef("--server %q: %v", c.server, err)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach ledgerd at %s: %w", c.server, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %w", refusal(resp))
	}
	fmt.Fprintln(e.stdout, "ready")
	return nil
}
