package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/audit/audittest"
	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/auth"
	"github.com/licensing-ledger/ledger/infra/httpapi"
	"github.com/licensing-ledger/ledger/ledger"
	"github.com/licensing-ledger/ledger/projections"
)

// logBuffer is a log sink the server's goroutines may write concurrently.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// edge is the real API, command service and read models over store,
// behind a real http.Server with a short read timeout, logging into logs.
type edge struct {
	addr string
	logs *logBuffer
}

// edgeReadTimeout is the server's read timeout in these tests.
const edgeReadTimeout = 400 * time.Millisecond

func startEdge(t *testing.T, store events.Store) *edge {
	t.Helper()
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	lic, req := projections.NewLicenses(catalog.Default()), projections.NewRequests(time.Now)
	proj := projections.NewProjector(store, log, lic, req)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = proj.Run(ctx) }()
	require.NoError(t, proj.WaitCaughtUp(ctx))
	svc := ledger.New(store, ledger.Options{Logger: log, Committed: proj.ApplyCommitted})
	authn, err := auth.New(auth.File{Principals: []auth.Entry{{ID: "admin@contoso", Tenant: tenant, Roles: []string{"GlobalAdministrator"}, Token: adminToken}}})
	require.NoError(t, err)
	h := httpapi.New(httpapi.Config{Service: svc, Projector: proj, Licenses: lic, Requests: req, Auth: authn, Logger: log, Store: store})
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadTimeout = edgeReadTimeout
	srv.Start()
	t.Cleanup(srv.Close)
	return &edge{addr: srv.Listener.Addr().String(), logs: logs}
}

// raw sends head (the request line and headers, without the blank line)
// and body over a new connection exactly as given, waits pause, and reads
// the answer.
func (e *edge) raw(t *testing.T, head, body string, pause time.Duration) (*http.Response, []byte) {
	t.Helper()
	return e.send(t, head, body, pause, false)
}

// send is raw, and with closeWrite it ends the request's side of the
// connection after the body, as a client that gives up sending does.
func (e *edge) send(t *testing.T, head, body string, pause time.Duration, closeWrite bool) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", e.addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, head+"\r\nHost: ledger\r\nConnection: close\r\n\r\n"+body)
	require.NoError(t, err)
	if closeWrite {
		require.NoError(t, conn.(*net.TCPConn).CloseWrite())
	}
	time.Sleep(pause)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	method, _, _ := strings.Cut(head, " ")
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// TestUncleanPathsAreNotFound: a path that is not in its clean form (a
// "..", "." or empty segment, a trailing slash) is answered 404 NotFound as
// problem+json, whatever the method. Go's ServeMux would clean it and
// answer a 307 redirect to another route, sending the client elsewhere
// than it asked (`POST .../commands/../../../etc/passwd` went to
// /v1/etc/passwd).
func TestUncleanPathsAreNotFound(t *testing.T) {
	e := startEdge(t, audittest.NewMemStore())
	paths := []string{
		"/v1/tenants/default/commands/../../../etc/passwd",
		"/v1/tenants/contoso/./licenses",
		"/v1//tenants/contoso/licenses",
		"/v1/tenants/contoso/licenses/.",
		"/v1/tenants/contoso/licenses/..",
		"/v1/tenants/contoso/commands/RegisterUser/../RegisterUser",
		"/v1/tenants/contoso/commands/..%2F..%2Fetc%2Fpasswd",
		"/v1/tenants/contoso/%2E%2E/licenses",
		"//healthz",
		"/v1/tenants/contoso/licenses/",
	}
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodTrace, http.MethodConnect, "PROPFIND"}
	for _, p := range paths {
		for _, m := range methods {
			resp, body := e.raw(t, fmt.Sprintf("%s %s HTTP/1.1\r\nAuthorization: Bearer %s\r\nContent-Length: 0", m, p, adminToken), "", 0)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s %s: %s", m, p, body)
			assert.Empty(t, resp.Header.Get("Location"), "%s %s: no redirect", m, p)
			assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), "%s %s", m, p)
			if m != http.MethodHead {
				var pr httpapi.Problem
				require.NoError(t, json.Unmarshal(body, &pr), "%s %s: %s", m, p, body)
				assert.Equal(t, "NotFound", string(pr.Code), "%s %s", m, p)
			}
		}
	}
	resp, body := e.raw(t, "POST /v1/tenants/default/commands/../../../etc/passwd HTTP/1.1\r\nContent-Length: 0", "", 0)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "without a token, only that: %s", body)
	resp, body = e.raw(t, "GET /v1/tenants/contoso/licenses HTTP/1.1\r\nAuthorization: Bearer "+adminToken, "", 0)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a clean path is served: %s", body)
}

// TestASlowBodyIsRefusedWithoutInternals: a command body that stops
// arriving is refused, once the server's read timeout passes, with a
// stable message; the socket addresses and the Go error are logged, not
// sent.
func TestASlowBodyIsRefusedWithoutInternals(t *testing.T) {
	e := startEdge(t, audittest.NewMemStore())
	head := "POST /v1/tenants/contoso/commands/RegisterUser HTTP/1.1\r\nAuthorization: Bearer " + adminToken + "\r\nContent-Length: 100"
	resp, body := e.raw(t, head, `{"userId":"alice",`, 2*edgeReadTimeout)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, string(body))
	var pr httpapi.Problem
	require.NoError(t, json.Unmarshal(body, &pr), string(body))
	assert.Equal(t, "ValidationFailed", string(pr.Code))
	assert.Contains(t, pr.Detail, "the request body did not arrive in time")
	assertNoInternals(t, pr.Detail)
	assert.Contains(t, e.logs.String(), "i/o timeout", "the cause is logged")

	resp, body = e.send(t, head, `{"userId":"alice"}`, 0, true) // the body ends early
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, string(body))
	require.NoError(t, json.Unmarshal(body, &pr), string(body))
	assert.Equal(t, "ValidationFailed", string(pr.Code))
	assertNoInternals(t, pr.Detail)
}

// TestStoreFailuresSayInternalErrorOrUnavailable: a store failure reaches
// the client as a stable detail, never as the error's text (paths,
// addresses), which is logged instead.
func TestStoreFailuresSayInternalErrorOrUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
	}{
		{"Internal", errors.New("write /var/lib/ledger/nats/jetstream/msgs/1.blk: no space left on device"), http.StatusInternalServerError},
		{"Unavailable", fmt.Errorf("%w: nats: timeout waiting for 10.0.0.7:4222", events.ErrUnavailable), http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEdge(t, &failingAppends{MemStore: audittest.NewMemStore(), err: tc.err})
			head := fmt.Sprintf("POST /v1/tenants/contoso/commands/RegisterUser HTTP/1.1\r\nAuthorization: Bearer %s\r\nContent-Length: %d", adminToken, len(`{"userId":"alice"}`))
			resp, body := e.raw(t, head, `{"userId":"alice"}`, 0)
			require.Equal(t, tc.status, resp.StatusCode, string(body))
			var pr httpapi.Problem
			require.NoError(t, json.Unmarshal(body, &pr), string(body))
			assertNoInternals(t, pr.Detail)
			if tc.status == http.StatusInternalServerError {
				assert.Equal(t, "internal error", pr.Detail)
			} else {
				assert.Contains(t, pr.Detail, "Idempotency-Key", "says what to do")
			}
			assert.Contains(t, e.logs.String(), tc.err.Error(), "the cause is logged")
		})
	}
}

// failingAppends is a store whose appends fail with err.
type failingAppends struct {
	*audittest.MemStore
	err error
}

func (f *failingAppends) Append(context.Context, string, events.Cursor, []events.Record) (events.Cursor, error) {
	return events.Cursor{}, f.err
}

// assertNoInternals fails when a problem detail holds what belongs in the
// log only: addresses, file paths, Go's error texts.
func assertNoInternals(t *testing.T, detail string) {
	t.Helper()
	for _, s := range []string{"127.0.0.1", "10.0.0.7", "tcp", "i/o", "/var/", "EOF", "nats:", "no space"} {
		assert.NotContains(t, detail, s)
	}
}
