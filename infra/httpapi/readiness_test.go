package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/domain"
)

// readyz asks the handler's /readyz without a token.
func readyz(t *testing.T, h http.Handler) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	return rec, body
}

func TestReadyzListsTheChecksPassed(t *testing.T) {
	h := New(Config{Readiness: []ReadinessCheck{
		{Name: "store", Check: func(context.Context) error { return nil }},
		{Name: "read-models", Check: func(context.Context) error { return nil }},
	}})
	rec, body := readyz(t, h)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "ready", body["status"])
	assert.Equal(t, []any{
		map[string]any{"name": "store", "ok": true},
		map[string]any{"name": "read-models", "ok": true},
	}, body["checks"])
}

func TestReadyzNamesEveryFailingCheck(t *testing.T) {
	h := New(Config{Readiness: []ReadinessCheck{
		{Name: "store", Check: func(context.Context) error { return errors.New("store unreachable: NATS is down") }},
		{Name: "read-models", Check: func(context.Context) error { return nil }},
		{Name: "damaged-history", Check: func(context.Context) error {
			return domain.Errorf(domain.CodeConflict, "tenant contoso: event 7 does not chain")
		}},
	}})
	rec, body := readyz(t, h)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))
	assert.Equal(t, "Unavailable", body["code"])
	assert.Contains(t, body["detail"], "store: store unreachable: NATS is down")
	assert.Contains(t, body["detail"], "damaged-history: tenant contoso")
	assert.Equal(t, []any{
		map[string]any{"name": "store", "ok": false, "code": "Unavailable", "detail": "store unreachable: NATS is down"},
		map[string]any{"name": "read-models", "ok": true},
		map[string]any{"name": "damaged-history", "ok": false, "code": "Conflict", "detail": "tenant contoso: event 7 does not chain"},
	}, body["checks"])
}

// TestReadyzIsBoundedAndShared: a check that never answers fails after the
// time out, and polls within a second share one run of the checks.
func TestReadyzIsBoundedAndShared(t *testing.T) {
	var runs atomic.Int32
	h := New(Config{Readiness: []ReadinessCheck{{Name: "store", Check: func(ctx context.Context) error {
		runs.Add(1)
		<-make(chan struct{}) // never answers, ignoring ctx
		return nil
	}}}})
	start := time.Now()
	rec, body := readyz(t, h)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Less(t, time.Since(start), readinessTimeout+time.Second)
	assert.Contains(t, body["detail"], "no answer within")
	for range 20 {
		readyz(t, h)
	}
	assert.EqualValues(t, 1, runs.Load(), "polls within the TTL share a run")
	time.Sleep(readinessTTL)
	readyz(t, h)
	assert.EqualValues(t, 2, runs.Load())
}

func TestHealthzAndReadyzNeedNoToken(t *testing.T) {
	h := New(Config{})
	rec, body := readyz(t, h)
	assert.Equal(t, http.StatusOK, rec.Code, "no checks: ready")
	assert.Equal(t, "ready", body["status"])
}

func TestUnavailableAnswersSayWhenToRetry(t *testing.T) {
	rec := httptest.NewRecorder()
	writeError(rec, domain.Errorf(domain.CodeUnavailable, "the command was not applied"))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, retryAfter, rec.Header().Get("Retry-After"))
}
