package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/licensing-ledger/ledger/domain"
)

// ReadinessCheck is one condition the service needs to do its work, which
// GET /readyz checks: a load balancer sends traffic only to a ledger whose
// checks all pass. Name is stable, since operators and alerts match on it
// ("store", "read-models", ...). Check returns nil when the condition
// holds, or an error whose message tells an operator what is wrong (a
// *domain.Error gives its code too); it must answer within its context.
type ReadinessCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// Readiness answers are bounded and shared, so that a load balancer polling
// every instance often cannot load the store: the checks run at most once
// per readinessTTL, together, each for at most readinessTimeout.
const (
	readinessTimeout = 2 * time.Second
	readinessTTL     = time.Second
)

// checkResult is one check's outcome as /readyz lists it.
type checkResult struct {
	Name   string      `json:"name"`
	OK     bool        `json:"ok"`
	Code   domain.Code `json:"code,omitempty"`
	Detail string      `json:"detail,omitempty"`
}

// readiness runs the checks and keeps their last results for readinessTTL.
type readiness struct {
	checks []ReadinessCheck
	mu     sync.Mutex
	at     time.Time
	last   []checkResult
}

// results returns the checks' results, run now unless the last ones are
// fresh. Concurrent callers wait for one run.
func (r *readiness) results() []checkResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last != nil && time.Since(r.at) < readinessTTL {
		return r.last
	}
	r.last, r.at = r.run(), time.Now()
	return r.last
}

// run runs every check at once, each bounded by readinessTimeout.
func (r *readiness) run() []checkResult {
	ctx, cancel := context.WithTimeout(context.Background(), readinessTimeout)
	defer cancel()
	out := make([]checkResult, len(r.checks))
	var wg sync.WaitGroup
	for i, c := range r.checks {
		wg.Go(func() { out[i] = runCheck(ctx, c) })
	}
	wg.Wait()
	return out
}

// runCheck runs one check, giving up when ctx ends even if the check does
// not.
func runCheck(ctx context.Context, c ReadinessCheck) checkResult {
	done := make(chan error, 1)
	go func() { done <- c.Check(ctx) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = fmt.Errorf("no answer within %s", readinessTimeout)
	}
	if err == nil {
		return checkResult{Name: c.Name, OK: true}
	}
	code := domain.CodeUnavailable
	detail := err.Error()
	var de *domain.Error
	if errors.As(err, &de) {
		code, detail = de.Code, de.Detail
	}
	return checkResult{Name: c.Name, Code: code, Detail: detail}
}

// readyProblem is the 503 answer of /readyz: a problem naming every check.
type readyProblem struct {
	Problem
	Checks []checkResult `json:"checks"`
}

// ready serves GET /readyz: 200 with the checks passed when all pass,
// otherwise 503 problem+json naming each failing check and why.
func (s *Server) ready(w http.ResponseWriter, _ *http.Request) { serveReady(w, s.readiness) }

// ReadinessHandler serves GET /readyz over the checks as the API does, for
// a handler in front of the API (ledgerd's, while it starts).
func ReadinessHandler(checks []ReadinessCheck) http.Handler {
	r := &readiness{checks: checks}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { serveReady(w, r) })
}

// serveReady answers /readyz from the checks' results.
func serveReady(w http.ResponseWriter, r *readiness) {
	results := r.results()
	var failing []string
	for _, c := range results {
		if !c.OK {
			failing = append(failing, c.Name+": "+c.Detail)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	if len(failing) == 0 {
		writeReadiness(w, http.StatusOK, "application/json", map[string]any{"status": "ready", "checks": results})
		return
	}
	status := Status(domain.CodeUnavailable)
	w.Header().Set("Retry-After", retryAfter)
	writeReadiness(w, status, "application/problem+json", readyProblem{
		Problem: Problem{
			Type: "urn:ledger:problem:" + string(domain.CodeUnavailable), Title: http.StatusText(status), Status: status,
			Code: domain.CodeUnavailable, Detail: "not ready: " + strings.Join(failing, "; "),
		},
		Checks: results,
	})
}

// writeReadiness writes a /readyz answer.
func writeReadiness(w http.ResponseWriter, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, domain.Errorf(domain.CodeInternal, "internal error: encoding the readiness: %v", err))
		return
	}
	writeBody(w, status, contentType, append(body, '\n'))
}
