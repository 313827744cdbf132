package audit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/audit"
	"github.com/licensing-ledger/ledger/audit/audittest"
	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/projections"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// The first release's events (L1: old events always stay readable). The
// fixture was written once by the first release, from audittest.Story:
//
//	go test ./audit -run TestGenerateV1Fixture -generate-v1-fixture
//
// It is never written again: every later release must read it, chain it
// and replay it to the same views. Its views are in v1-views.json; when a
// read model changes on purpose, review the difference and rewrite them:
//
//	go test ./audit -run TestV1Fixture -update-v1-views
const (
	v1Events = "testdata/v1-events.ndjson"
	v1Views  = "testdata/v1-views.json"
)

var (
	generateV1 = flag.Bool("generate-v1-fixture", false, "write "+v1Events+" from the story (only if it does not exist)")
	updateV1   = flag.Bool("update-v1-views", false, "rewrite "+v1Views+" from the committed events")
)

// v1Instants are the instants whose state the views record: before the
// first event, then after each chapter of the story.
var v1Instants = []string{
	"2025-01-06T00:00:00Z", "2025-01-06T09:00:09Z", "2025-01-07T09:00:15Z", "2025-01-08T09:00:18Z", "2025-01-09T09:00:24Z",
	"2025-01-10T09:00:27Z", "2025-01-11T09:00:33Z", "2025-01-12T09:00:41Z", "2026-02-07T09:00:42Z",
}

func TestGenerateV1Fixture(t *testing.T) {
	if !*generateV1 {
		t.Skip("the first release's events are written once; see -generate-v1-fixture")
	}
	_, err := os.Stat(v1Events)
	require.ErrorIs(t, err, fs.ErrNotExist, "%s exists: it is the first release's record and is never rewritten", v1Events)
	s := audittest.NewScenario(tenant, audittest.StoryStart)
	audittest.Story(t, s, nil)
	require.NoError(t, os.WriteFile(v1Events, export(t, s.Store.Records(tenant)), 0o644))
}

func TestV1FixtureDecodesAndChains(t *testing.T) {
	data := readFixture(t)
	sum, err := verify(t, data)
	require.NoError(t, err)
	assert.Equal(t, 58, sum.Events)
	assert.Equal(t, tenant, sum.Tenant)
	types := map[string]bool{}
	require.NoError(t, audit.DecoderSource(audit.NewDecoder(bytes.NewReader(data)))(func(r events.Record) error {
		e, err := events.DecodeRecord(r)
		require.NoError(t, err)
		require.NotNil(t, e.PayloadMessage(), "event %d has a payload this release reads", r.Sequence)
		types[e.TypeName()] = true
		return nil
	}))
	oneof := (&ledgerv1.Event{}).ProtoReflect().Descriptor().Oneofs().ByName("payload")
	// Event types added after the first release are not in its record.
	added := map[string]bool{"PartnerDelegationExpired": true}
	for name := range added {
		assert.False(t, types[name], "%s is in the first release's record", name)
	}
	assert.Equal(t, oneof.Fields().Len()-len(added), len(types), "the fixture holds every event type of the first release")
}

func TestV1FixtureReplaysToKnownViews(t *testing.T) {
	data := readFixture(t)
	got := v1ViewsOf(t, data)
	if *updateV1 {
		out, err := json.MarshalIndent(got, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(v1Views, append(out, '\n'), 0o644))
	}
	want, err := os.ReadFile(v1Views)
	require.NoError(t, err)
	var wantDoc any
	require.NoError(t, json.Unmarshal(want, &wantDoc))
	assert.Equal(t, wantDoc, asJSON(t, got), "the first release's events replay to the views they always did")
}

// TestV1FixtureFacts pins a few facts of the first release's history by
// hand, so that the golden views cannot drift unnoticed.
func TestV1FixtureFacts(t *testing.T) {
	src := func() audit.Source { return audit.DecoderSource(audit.NewDecoder(bytes.NewReader(readFixture(t)))) }
	st, err := audit.StateAsOf(src(), catalog.Default(), tenant, instant(t, "2025-01-11T09:00:33Z"))
	require.NoError(t, err)
	spb := product(t, st, "SPB")
	assert.Equal(t, [3]int{11, 2, 9}, [3]int{spb.Total, spb.Assigned, spb.Available})
	assert.Equal(t, []string{"POWER_BI_PRO", "SPB"}, licenseIDs(user(t, st, "alice")))
	require.Len(t, st.Requests, 3)
	assert.Equal(t, "pending", st.Requests[0].Status, "req-visio waits")

	end, err := audit.StateAsOf(src(), catalog.Default(), tenant, instant(t, "2026-02-07T09:00:42Z"))
	require.NoError(t, err)
	assert.EqualValues(t, 58, end.Sequence)
	assert.Empty(t, end.Requests, "older than 12 months")
	h, err := audit.History(src(), tenant, audit.Subject{Kind: "request", ID: "req-visio"}, audit.Period{})
	require.NoError(t, err)
	assert.Equal(t, []string{"LicenseRequested", "RequestShared", "RequestExpired", "RequestOutcomeNotified"}, entryTypes(h))
}

// v1ViewsOf computes every view the golden file records.
func v1ViewsOf(t *testing.T, data []byte) map[string]any {
	t.Helper()
	src := func() audit.Source { return audit.DecoderSource(audit.NewDecoder(bytes.NewReader(data))) }
	states := []any{}
	for _, s := range v1Instants {
		st, err := audit.StateAsOf(src(), catalog.Default(), tenant, instant(t, s))
		require.NoError(t, err)
		states = append(states, st)
	}
	histories := map[string]any{}
	for _, s := range []audit.Subject{{Kind: "user", ID: "bob"}, {Kind: "product", ID: "ENTERPRISEPACK"}, {Kind: "request", ID: "req-pbi"}, {Kind: "group", ID: "sales"}, {Kind: "subscription", ID: "sub-visio"}} {
		h, err := audit.History(src(), tenant, s, audit.Period{})
		require.NoError(t, err)
		histories[s.Kind+":"+s.ID] = h
	}
	reports := map[string]any{}
	for _, name := range audit.ReportNames() {
		r, err := audit.BuildReport(name, src(), catalog.Default(), tenant, audit.Period{From: instant(t, "2025-01-06T00:00:00Z"), To: instant(t, "2025-01-13T00:00:00Z")})
		require.NoError(t, err)
		reports[name] = r
	}
	return map[string]any{"states": states, "histories": histories, "reports": reports}
}

func readFixture(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(v1Events)
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s is missing: it is committed, and generated only once (see -generate-v1-fixture)", v1Events)
	}
	require.NoError(t, err)
	return data
}

func instant(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return at
}

func licenseIDs(u projections.UserView) []string {
	out := []string{}
	for _, l := range u.Licenses {
		out = append(out, l.ProductID)
	}
	return out
}
