// Package httpapi is the ledger's HTTP API: commands as protobuf JSON,
// queries over the read models, errors as problem+json with stable codes.
package httpapi

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/auth"
	"github.com/licensing-ledger/ledger/ledger"
	"github.com/licensing-ledger/ledger/projections"
)

// MaxBodyBytes bounds a command body; larger ones get PayloadTooLarge.
const MaxBodyBytes = 1 << 20

// Server serves the API.
type Server struct {
	svc       *ledger.Service
	projector *projections.Projector
	licenses  *projections.Licenses
	requests  *projections.Requests
	auth      *auth.Authenticator
	log       *slog.Logger
	// ReadTimeout bounds how long a query waits for the read models to
	// reach this process's last write of the tenant.
	readWait time.Duration
}

// Config holds what the server needs.
type Config struct {
	Service   *ledger.Service
	Projector *projections.Projector
	Licenses  *projections.Licenses
	Requests  *projections.Requests
	Auth      *auth.Authenticator
	Logger    *slog.Logger
	// Store is the event store the audit routes read (L3, L4).
	Store events.Store
}

// New returns the API's handler.
func New(c Config) http.Handler {
	s := &Server{svc: c.Service, projector: c.Projector, licenses: c.Licenses, requests: c.Requests, auth: c.Auth, log: c.Logger, readWait: 5 * time.Second}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/tenants/{tenant}/commands/{command}", s.command)
	mux.HandleFunc("GET /v1/tenants/{tenant}/licenses", s.listLicenses)
	mux.HandleFunc("GET /v1/tenants/{tenant}/licenses/selection", s.licenseSelection)
	mux.HandleFunc("GET /v1/tenants/{tenant}/subscriptions", s.listSubscriptions)
	mux.HandleFunc("GET /v1/tenants/{tenant}/requests", s.listRequests)
	mux.HandleFunc("GET /v1/tenants/{tenant}/users/{user}/licenses", s.userLicenses)
	trail := newAuditAPI(s, c.Store)
	mux.HandleFunc("GET /v1/tenants/{tenant}/events", trail.export)
	mux.HandleFunc("GET /v1/tenants/{tenant}/state", trail.state)
	mux.HandleFunc("GET /v1/tenants/{tenant}/history", trail.history)
	mux.HandleFunc("GET /v1/tenants/{tenant}/reports/{report}", trail.report)
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, domain.Errorf(domain.CodeNotFound, "no route for %s %s; see docs/API.md", r.Method, r.URL.Path))
	})
	return s.recover(mux)
}

// recover turns a panic into a 500 problem and logs it: no panic reaches a user.
func (s *Server) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				writeError(w, domain.Errorf(domain.CodeInternal, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// principal authenticates the request's bearer token.
func (s *Server) principal(r *http.Request) (domain.Principal, error) {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		return domain.Principal{}, domain.Errorf(domain.CodeUnauthorized, "send the header Authorization: Bearer <token>")
	}
	p, ok := s.auth.Authenticate(token)
	if !ok {
		return domain.Principal{}, domain.Errorf(domain.CodeUnauthorized, "the bearer token is not valid")
	}
	return p, nil
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "position": s.projector.Position()})
}
