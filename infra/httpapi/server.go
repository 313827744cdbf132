// Package httpapi is the ledger's HTTP API: commands as protobuf JSON,
// queries over the read models, errors as problem+json with stable codes.
package httpapi

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"strings"
	"sync"
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
	directory *projections.Directory // nil: the directory routes answer Unavailable
	feed      *projections.Feed      // nil: no live changes
	done      <-chan struct{}        // closed when the server stops: streams end
	auth      *auth.Authenticator
	tokens    sync.Map // SHA-256 of an accepted token -> its domain.Principal
	log       *slog.Logger
	// ReadTimeout bounds how long a query waits for the read models to
	// reach this process's last write of the tenant.
	readWait  time.Duration
	readiness *readiness
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
	// Readiness lists what GET /readyz checks (see ReadinessCheck); with
	// none, the ledger is ready whenever it answers.
	Readiness []ReadinessCheck
	// Checkpoints, if set, serves the tenants' signed checkpoints and
	// proofs, and the export carries the latest checkpoint (L8).
	Checkpoints Checkpoints
	// Directory and Feed are the read models of the admin API (U2); the
	// projector must feed them. Console, if set, is served at / (U1).
	Directory *projections.Directory
	Feed      *projections.Feed
	Console   http.Handler
	// Done, closed when the server is shutting down, ends the change
	// streams, which would otherwise hold the graceful shutdown open.
	Done <-chan struct{}
}

// New returns the API's handler.
func New(c Config) http.Handler {
	s := &Server{svc: c.Service, projector: c.Projector, licenses: c.Licenses, requests: c.Requests, directory: c.Directory, feed: c.Feed, done: c.Done,
		auth: c.Auth, log: c.Logger, readWait: 5 * time.Second, readiness: &readiness{checks: c.Readiness}}
	mux := http.NewServeMux()
	s.adminRoutes(mux, c.Console)
	mux.HandleFunc("POST /v1/tenants/{tenant}/commands/{command}", s.command)
	mux.HandleFunc("GET /v1/tenants/{tenant}/licenses", s.listLicenses)
	mux.HandleFunc("GET /v1/tenants/{tenant}/licenses/selection", s.licenseSelection)
	mux.HandleFunc("GET /v1/tenants/{tenant}/subscriptions", s.listSubscriptions)
	mux.HandleFunc("GET /v1/tenants/{tenant}/requests", s.listRequests)
	mux.HandleFunc("GET /v1/tenants/{tenant}/users/{user}/licenses", s.userLicenses)
	trail := newAuditAPI(s, c.Store)
	trail.checkpoints = c.Checkpoints
	mux.HandleFunc("GET /v1/checkpoint-key", trail.checkpointKey)
	mux.HandleFunc("GET /v1/tenants/{tenant}/checkpoint", trail.checkpoint)
	mux.HandleFunc("GET /v1/tenants/{tenant}/proofs/inclusion", trail.inclusion)
	mux.HandleFunc("GET /v1/tenants/{tenant}/proofs/consistency", trail.consistency)
	mux.HandleFunc("GET /v1/tenants/{tenant}/events", trail.export)
	mux.HandleFunc("GET /v1/tenants/{tenant}/state", trail.state)
	mux.HandleFunc("GET /v1/tenants/{tenant}/history", trail.history)
	mux.HandleFunc("GET /v1/tenants/{tenant}/reports/{report}", trail.report)
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("GET /readyz", s.ready)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, domain.Errorf(domain.CodeNotFound, "no route for %s %s; see docs/API.md", r.Method, r.URL.Path))
	})
	return s.recover(s.requireToken(refuseUncleanPaths(mux)))
}

// refuseUncleanPaths answers 404 for a path that is not in its clean form:
// a "." or ".." segment (sent as is or percent-encoded), an empty segment
// ("//"), a trailing slash. ServeMux would clean such a path and redirect
// the client (307) to another route than the one it asked for, so that
// POST .../commands/../../../etc/passwd went to /v1/etc/passwd. It comes
// after requireToken: a caller without a valid token learns only that.
func refuseUncleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isClean(r.URL.Path) || !isClean(r.URL.EscapedPath()) {
			writeError(w, domain.Errorf(domain.CodeNotFound, "the path is not in its clean form (no '.' or '..' segments, no '//', no trailing '/'); see docs/API.md"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isClean reports whether p is an absolute path that path.Clean leaves
// as it is.
func isClean(p string) bool {
	return strings.HasPrefix(p, "/") && path.Clean(p) == p
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

// principalKey is the request context key of the authenticated principal.
type principalKey struct{}

// requireToken checks the bearer token of every request but the health
// checks before anything else about the request, so that a caller without
// valid credentials learns nothing but that (401). Load balancers and
// orchestrators probe /healthz and /readyz without a token.
func (s *Server) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if publicPath(r.URL.Path) || r.URL.Path == "/readyz" || r.URL.Path == "/v1/checkpoint-key" {
			next.ServeHTTP(w, r)
			return
		}
		p, err := s.bearer(r)
		if err != nil {
			writeError(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// principal returns the principal requireToken found for the request.
func (s *Server) principal(r *http.Request) (domain.Principal, error) {
	if p, ok := r.Context().Value(principalKey{}).(domain.Principal); ok {
		return p, nil
	}
	return domain.Principal{}, domain.Errorf(domain.CodeUnauthorized, "send the header Authorization: Bearer <token>")
}

// bearer authenticates the request's bearer token.
func (s *Server) bearer(r *http.Request) (domain.Principal, error) {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		return domain.Principal{}, domain.Errorf(domain.CodeUnauthorized, "send the header Authorization: Bearer <token>")
	}
	p, ok := s.principalOf(token)
	if !ok {
		return domain.Principal{}, domain.Errorf(domain.CodeUnauthorized, "the bearer token is not valid")
	}
	return p, nil
}

// principalOf returns the principal of a token. The authenticator
// compares a token with every principal of the file, in constant time,
// which costs a few tens of microseconds per request once the file holds
// hundreds of principals; so a token it accepted is remembered by its
// SHA-256, and later requests with it cost one hash and one lookup.
// Refused tokens are never remembered: the cache holds at most one entry
// per principal of the file, which is read once at start.
func (s *Server) principalOf(token string) (domain.Principal, bool) {
	key := sha256.Sum256([]byte(token))
	if p, ok := s.tokens.Load(key); ok {
		return p.(domain.Principal), true
	}
	p, ok := s.auth.Authenticate(token)
	if ok {
		s.tokens.Store(key, p)
	}
	return p, ok
}

// health serves GET /healthz, the liveness probe: the process answers.
// It says nothing of the store, on purpose: restarting a ledger whose
// store is away does not bring the store back (see /readyz).
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "position": s.projector.Position()})
}
