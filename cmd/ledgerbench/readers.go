package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// readersEnv makes the program a readers' child instead of a benchmark:
// it holds the readersSpec, in JSON.
const readersEnv = "LEDGERBENCH_READERS"

// readersSpec is what a readers' child asks, and of whom.
type readersSpec struct {
	Addr    string        // the API, host:port
	Readers int           // concurrent readers
	Rate    float64       // queries per second between them; 0: as fast as answered
	Length  time.Duration // how long they ask
	Tenants []readTenant
}

// readTenant is a tenant the readers query, with its admin's token.
type readTenant struct{ ID, Token string }

// readersResult is what a readers' child prints: its queryStats.
type readersResult struct {
	Licenses, Requests []time.Duration
	Failed             int
	Bytes              int64
}

// isReadersChild reports whether the program runs as a readers' child.
func isReadersChild() bool { return os.Getenv(readersEnv) != "" }

// readersChild is the child's whole life: read its spec, query, print
// what it measured.
func readersChild() error {
	var spec readersSpec
	if err := json.Unmarshal([]byte(os.Getenv(readersEnv)), &spec); err != nil {
		return fmt.Errorf("%s: %w", readersEnv, err)
	}
	if spec.Readers < 1 || len(spec.Tenants) == 0 {
		return fmt.Errorf("%s: no readers or no tenants", readersEnv)
	}
	q := readAll(context.Background(), spec)
	return json.NewEncoder(os.Stdout).Encode(readersResult{Licenses: q.licenses, Requests: q.requests, Failed: q.failed, Bytes: q.bytes})
}

// runReaders runs the readers of spec in a child process, this program
// again, and returns what they measured.
func runReaders(ctx context.Context, spec readersSpec) (queryStats, error) {
	exe, err := os.Executable()
	if err != nil {
		return queryStats{}, err
	}
	env, err := json.Marshal(spec)
	if err != nil {
		return queryStats{}, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), readersEnv+"="+string(env))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return queryStats{}, fmt.Errorf("readers' child: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	var res readersResult
	if err := json.Unmarshal(lastLine(out), &res); err != nil {
		return queryStats{}, fmt.Errorf("readers' child answered %q: %w", out, err)
	}
	return queryStats{licenses: res.Licenses, requests: res.Requests, failed: res.Failed, bytes: res.Bytes}, nil
}
