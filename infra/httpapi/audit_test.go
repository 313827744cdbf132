package httpapi_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/audit"
	"github.com/licensing-ledger/ledger/audit/audittest"
	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/httpapi"
)

const (
	tenant       = "contoso"
	adminToken   = audittest.AdminToken
	readerToken  = audittest.ReaderToken
	licAdmToken  = audittest.LicenseAdminToken
	aliceToken   = audittest.AliceToken
	partnerToken = audittest.PartnerToken
)

// auditServer is the API over a tenant that lived the audit story.
type auditServer struct {
	*audittest.API
}

// newAuditServer serves the story's tenant; the audit routes read the
// scenario's store, or what audited makes of it.
func newAuditServer(t *testing.T, audited func(*audittest.MemStore) events.Store) *auditServer {
	return &auditServer{audittest.StartAPI(t, audited)}
}

// get sends a GET and returns the answer with its body read to the end, so
// that trailers are set.
func (a *auditServer) get(t *testing.T, token, path string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.URL+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// problem decodes a problem+json answer.
func problem(t *testing.T, resp *http.Response, body []byte) httpapi.Problem {
	t.Helper()
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	var p httpapi.Problem
	require.NoError(t, json.Unmarshal(body, &p), string(body))
	return p
}

func TestExportStreamsTheEventsAsStoredWithTrailers(t *testing.T) {
	a := newAuditServer(t, nil)
	resp, body := a.get(t, readerToken, "/v1/tenants/contoso/events")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Equal(t, audit.ExportContentType, resp.Header.Get("Content-Type"))
	sum, err := audit.Verify(audit.NewDecoder(bytes.NewReader(body)), audit.VerifyOptions{})
	require.NoError(t, err)
	recs := a.Scenario.Store.Records(tenant)
	assert.Equal(t, len(recs), sum.Events)
	assert.Equal(t, "58", resp.Trailer.Get(audit.TrailerEventCount))
	assert.Equal(t, sum.Head, resp.Trailer.Get(audit.TrailerHead))
	assert.Empty(t, resp.Trailer.Get(audit.TrailerExportError))

	lines := bytes.SplitN(body, []byte("\n"), 3)
	var cp audit.CheckpointLine
	require.NoError(t, json.Unmarshal(lines[0], &cp))
	assert.Contains(t, cp.Checkpoint, "licensing-ledger/ledger/contoso\n58\n", "the export starts with its signed checkpoint")
	assert.Equal(t, "58", resp.Header.Get(httpapi.HeaderCheckpointSize))
	var first audit.Line
	require.NoError(t, json.Unmarshal(lines[1], &first))
	assert.Equal(t, recs[0].Data, first.Data, "the very bytes stored")
}

func TestExportNeedsGlobalAdministratorOrGlobalReader(t *testing.T) {
	a := newAuditServer(t, nil)
	resp, body := a.get(t, licAdmToken, "/v1/tenants/contoso/events")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Contains(t, problem(t, resp, body).Detail, "GlobalReader")
	resp, _ = a.get(t, "", "/v1/tenants/contoso/events")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = a.get(t, adminToken, "/v1/tenants/contoso/events")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestExportCutShortSaysSoInATrailer(t *testing.T) {
	a := newAuditServer(t, func(s *audittest.MemStore) events.Store {
		return &audittest.FlakyStore{MemStore: s, Repeat: 30, Err: errors.New("the disk is on fire")}
	})
	resp, body := a.get(t, readerToken, "/v1/tenants/contoso/events")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the status went out with the first lines")
	assert.Greater(t, bytes.Count(body, []byte("\n")), 1000)
	assert.Equal(t, "internal error", resp.Trailer.Get(audit.TrailerExportError), "the cause is logged, not sent")
	assert.Empty(t, resp.Trailer.Get(audit.TrailerEventCount))
}

func TestExportCutShortByTheStoreSaysUnavailableInATrailer(t *testing.T) {
	a := newAuditServer(t, func(s *audittest.MemStore) events.Store {
		return &audittest.FlakyStore{MemStore: s, Repeat: 30, Err: fmt.Errorf("%w: nats: timeout waiting for 10.0.0.7:4222", events.ErrUnavailable)}
	})
	resp, body := a.get(t, readerToken, "/v1/tenants/contoso/events")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the status went out with the first lines")
	assert.Greater(t, bytes.Count(body, []byte("\n")), 1000)
	assert.Equal(t, "the event store did not answer in time; export again", resp.Trailer.Get(audit.TrailerExportError))
}

func TestExportFailingAtOnceIsAProblem(t *testing.T) {
	a := newAuditServer(t, func(s *audittest.MemStore) events.Store {
		return &audittest.FlakyStore{MemStore: s, Err: events.ErrUnavailable}
	})
	resp, body := a.get(t, readerToken, "/v1/tenants/contoso/events")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "Unavailable", string(problem(t, resp, body).Code))
}

func TestStateNowEqualsTheLiveViews(t *testing.T) {
	a := newAuditServer(t, nil)
	resp, body := a.get(t, readerToken, "/v1/tenants/contoso/state")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var st map[string]any
	require.NoError(t, json.Unmarshal(body, &st))
	for path, key := range map[string]string{"/licenses": "products", "/subscriptions": "subscriptions", "/requests": "requests"} {
		_, live := a.get(t, readerToken, "/v1/tenants/contoso"+path)
		var v map[string]any
		require.NoError(t, json.Unmarshal(live, &v))
		assert.Equal(t, v[key], st[key], path)
	}
	for _, u := range st["users"].([]any) {
		id := u.(map[string]any)["userId"].(string)
		_, live := a.get(t, readerToken, "/v1/tenants/contoso/users/"+url.PathEscape(id)+"/licenses")
		var v map[string]any
		require.NoError(t, json.Unmarshal(live, &v))
		assert.Equal(t, v, u, id)
	}
}

func TestStateAsOfAnInstant(t *testing.T) {
	a := newAuditServer(t, nil)
	at := a.Marks[2].At // assigned
	resp, body := a.get(t, readerToken, "/v1/tenants/contoso/state?asOf="+url.QueryEscape(at.Format(time.RFC3339Nano)))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	want, err := audit.StateAsOf(audit.RecordsSource(a.Scenario.Store.Records(tenant)), catalog.Default(), tenant, at)
	require.NoError(t, err)
	assert.JSONEq(t, mustJSON(t, want), string(body))

	offset := at.In(time.FixedZone("CET", 3600)).Format(time.RFC3339) // '+' unencoded, as curl users send it
	resp, body = a.get(t, readerToken, "/v1/tenants/contoso/state?asOf="+offset)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	resp, body = a.get(t, readerToken, "/v1/tenants/contoso/state?asOf=yesterday")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, problem(t, resp, body).Detail, "RFC 3339")
}

func TestHistoryRoutes(t *testing.T) {
	a := newAuditServer(t, nil)
	resp, body := a.get(t, licAdmToken, "/v1/tenants/contoso/history?request=req-pbi")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var h struct {
		Subject audit.Subject
		Entries []audit.Entry
	}
	require.NoError(t, json.Unmarshal(body, &h))
	assert.Equal(t, audit.Subject{Kind: "request", ID: "req-pbi"}, h.Subject)
	require.Len(t, h.Entries, 7)
	assert.Equal(t, "alice", h.Entries[0].Actor)

	for query, want := range map[string]int{
		"?user=alice": http.StatusOK,
		"?user=alice&from=2025-01-09&to=2025-01-09": http.StatusOK,
		"":                          http.StatusBadRequest,
		"?user=alice&product=SPB":   http.StatusBadRequest,
		"?user=":                    http.StatusBadRequest,
		"?user=alice&from=tomorrow": http.StatusBadRequest,
		"?user=alice&from=2025-02-01&to=2025-01-01": http.StatusBadRequest,
	} {
		resp, body := a.get(t, readerToken, "/v1/tenants/contoso/history"+query)
		assert.Equal(t, want, resp.StatusCode, "%s: %s", query, body)
	}
}

func TestUsersReadTheirOwnHistoryOnly(t *testing.T) {
	a := newAuditServer(t, nil)
	resp, _ := a.get(t, aliceToken, "/v1/tenants/contoso/history?user=alice")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, body := a.get(t, aliceToken, "/v1/tenants/contoso/history?user=bob")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Contains(t, problem(t, resp, body).Detail, "GlobalReader")
	resp, _ = a.get(t, aliceToken, "/v1/tenants/contoso/state")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}

func TestReportsAsCSVAndJSON(t *testing.T) {
	a := newAuditServer(t, nil)
	resp, body := a.get(t, readerToken, "/v1/tenants/contoso/reports/seats?from=2025-01-07&to=2025-01-12&format=csv")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Equal(t, "text/csv; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, resp.Header.Get("Content-Disposition"), "contoso-seats-2025-01-07-2025-01-12.csv")
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, []string{"date", "productId", "productName", "purchased", "assigned", "available"}, rows[0])
	assert.Contains(t, rows, []string{"2025-01-08", "SPB", "Microsoft 365 Business Premium", "13", "2", "11"})
	assert.Len(t, resp.Header.Get(audit.TrailerHead), 64)

	resp, body = a.get(t, readerToken, "/v1/tenants/contoso/reports/activity?from=2025-01-11&to=2025-01-11")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var rep struct {
		Report string
		Rows   []map[string]any
	}
	require.NoError(t, json.Unmarshal(body, &rep))
	assert.Equal(t, "activity", rep.Report)
	assert.Equal(t, "partially_approved", rep.Rows[0]["action"])
}

func TestReportRefusals(t *testing.T) {
	a := newAuditServer(t, nil)
	for path, want := range map[string]int{
		"/reports/nope":                                http.StatusNotFound,
		"/reports/seats?format=xml":                    http.StatusBadRequest,
		"/reports/seats?from=last-week":                http.StatusBadRequest,
		"/reports/seats?from=2025-02-01&to=2025-01-01": http.StatusBadRequest,
		"/reports/seats?from=2000-01-01&to=2025-01-01": http.StatusBadRequest,
		"/reports/guests":                              http.StatusOK,
	} {
		resp, body := a.get(t, readerToken, "/v1/tenants/contoso"+path)
		assert.Equal(t, want, resp.StatusCode, "%s: %s", path, body)
	}
	resp, _ := a.get(t, partnerToken, "/v1/tenants/contoso/reports/guests")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the partner's delegation was revoked in the story")
}

func TestABrokenChainCanStillBeExportedAndIsNamed(t *testing.T) {
	a := newAuditServer(t, nil)
	recs := a.Scenario.Store.Records(tenant)
	broken := audittest.NewMemStore()
	for i, r := range recs {
		if i == 10 {
			continue // an event removed behind the ledger's back
		}
		_, err := broken.Append(context.Background(), tenant, events.Cursor{Sequence: uint64(len(broken.Records(tenant)))}, []events.Record{r})
		require.NoError(t, err)
	}
	b := newAuditServerOver(t, broken)
	resp, body := b.get(t, readerToken, "/v1/tenants/contoso/events")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	_, err := audit.Verify(audit.NewDecoder(bytes.NewReader(body)), audit.VerifyOptions{})
	var brk *audit.Break
	require.ErrorAs(t, err, &brk)
	assert.Equal(t, recs[11].ID, brk.ID)
	assert.Equal(t, strconv.Itoa(len(recs)-1), resp.Trailer.Get(audit.TrailerEventCount), "every stored event is exported")
	assert.Contains(t, resp.Trailer.Get(audit.TrailerDamage), "sequence 11 is missing", "the export says where the history breaks")

	resp, body = b.get(t, readerToken, "/v1/tenants/contoso/state")
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.Equal(t, domain.CodeDamaged, problem(t, resp, body).Code)
	assert.Contains(t, problem(t, resp, body).Detail, "does not verify")
	assert.Contains(t, problem(t, resp, body).Detail, "sequence 11 is missing")
}

// newAuditServerOver serves a store written behind the ledger's back.
func newAuditServerOver(t *testing.T, store *audittest.MemStore) *auditServer {
	t.Helper()
	srv := audittest.Serve(t, audittest.NewService(store), store, store)
	return &auditServer{&audittest.API{Server: srv}}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return string(data)
}
