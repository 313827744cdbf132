package main

import (
	"context"
	"net/http"
	"sync/atomic"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/infra/httpapi"
)

// frontDoor is ledgerd's HTTP handler from the moment it listens. Until
// the API is open it answers for it: /healthz says the process is alive
// ("starting"), /readyz answers 503 with its one check, startup, saying
// what ledgerd waits for, and every other request 503 Unavailable with
// Retry-After: load balancers, healthchecks and clients are told the truth
// while the store is awaited and the read models rebuilt. Then it hands
// every request to the API.
type frontDoor struct {
	api   atomic.Pointer[http.Handler]
	phase atomic.Pointer[string]
	ready http.Handler
}

// newFrontDoor returns a front door waiting in the given phase.
func newFrontDoor(phase string) *frontDoor {
	f := &frontDoor{}
	f.setPhase(phase)
	f.ready = httpapi.ReadinessHandler([]httpapi.ReadinessCheck{{Name: "startup", Check: f.started}})
	return f
}

// setPhase says what ledgerd is waiting for.
func (f *frontDoor) setPhase(phase string) { f.phase.Store(&phase) }

// open hands every request from now on to the API.
func (f *frontDoor) open(api http.Handler) { f.api.Store(&api) }

// started is the startup readiness check: it fails until the API opens.
func (f *frontDoor) started(context.Context) error {
	return domain.Errorf(domain.CodeUnavailable, "ledgerd is starting: %s", *f.phase.Load())
}

func (f *frontDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if api := f.api.Load(); api != nil {
		(*api).ServeHTTP(w, r)
		return
	}
	switch r.URL.Path {
	case "/healthz":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"starting"}` + "\n"))
	case "/readyz":
		f.ready.ServeHTTP(w, r)
	default:
		httpapi.WriteProblem(w, f.started(r.Context()))
	}
}
