package audit_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/audit"
	"github.com/licensing-ledger/ledger/domain/catalog"
)

func report(t *testing.T, p *played, name string, from, to time.Time) *audit.Report {
	t.Helper()
	r, err := audit.BuildReport(name, p.source(), catalog.Default(), tenant, audit.Period{From: from, To: to})
	require.NoError(t, err)
	return r
}

func day(s string) time.Time {
	d, _ := time.Parse(time.DateOnly, s)
	return d
}

func TestSeatsReportIsADailySeriesOfTheLicensesPage(t *testing.T) {
	p := playStory(t)
	r := report(t, p, "seats", day("2025-01-05"), day("2025-01-13").Add(-time.Nanosecond))
	spb := map[string][3]int{}
	for _, row := range r.Rows {
		if s := row.(audit.SeatsRow); s.ProductID == "SPB" {
			spb[s.Date] = [3]int{s.Purchased, s.Assigned, s.Available}
		}
	}
	assert.Equal(t, map[string][3]int{
		"2025-01-07": {13, 0, 13}, // bought 5 + 8
		"2025-01-08": {13, 2, 11}, // alice and bob
		"2025-01-09": {11, 1, 10}, // bob revoked, 5 -> 3 seats
		"2025-01-10": {11, 1, 10},
		"2025-01-11": {11, 2, 9},  // the partner assigned erin
		"2025-01-12": {11, 1, 10}, // erin left
	}, spb)
	assert.Equal(t, []string{"date", "productId", "productName", "purchased", "assigned", "available"}, r.Columns)
	dates := map[string]bool{}
	for _, row := range r.Rows {
		dates[row.(audit.SeatsRow).Date] = true
	}
	assert.False(t, dates["2025-01-06"], "no subscription yet on the 6th")
	assert.True(t, dates["2025-01-12"], "a row for each day of the period")
}

func TestSeatsReportLastDayEndsWithThePeriod(t *testing.T) {
	p := playStory(t)
	assigned := p.mark("assigned")
	r := report(t, p, "seats", day("2025-01-08"), assigned.Add(-2*time.Second)) // before the guest's assignment
	var e3 []audit.SeatsRow
	for _, row := range r.Rows {
		if s := row.(audit.SeatsRow); s.ProductID == "ENTERPRISEPACK" {
			e3 = append(e3, s)
		}
	}
	require.Len(t, e3, 1)
	assert.Equal(t, 2, e3[0].Assigned, "carol and dave through the group, not yet lee")
}

func TestActivityReportSaysWhoDidWhatAndWhen(t *testing.T) {
	p := playStory(t)
	r := report(t, p, "activity", audittestDay(0), p.mark("expired"))
	var got []string
	for _, row := range r.Rows {
		a := row.(audit.ActivityRow)
		got = append(got, a.Action+" "+a.Actor+" "+a.UserID+a.RequestID)
	}
	assert.Equal(t, []string{
		"assigned admin@contoso alice", "assigned admin@contoso bob",
		"group_assigned admin@contoso ", "assigned admin@contoso carol", "assigned admin@contoso dave",
		"assigned admin@contoso lee@fabrikam.com",
		"plans_changed admin@contoso alice", "revoked admin@contoso bob", "assignment_failed admin@contoso erin",
		"partially_approved admin@contoso req-pbi", "assigned admin@contoso alice", "assigned admin@contoso bob",
		"denied admin@contoso req-apps",
		"assigned agent@fabrikam erin",
		"revoked admin@contoso erin", "revoked admin@contoso dave", "group_revoked admin@contoso ", "revoked admin@contoso carol",
		"revoked admin@contoso lee@fabrikam.com",
		"expired system req-visio",
	}, got)
	for _, row := range r.Rows {
		a := row.(audit.ActivityRow)
		assert.False(t, a.Time.IsZero())
		assert.NotEmpty(t, a.CorrelationID)
	}
}

func TestGuestsReport(t *testing.T) {
	p := playStory(t)
	r := report(t, p, "guests", audittestDay(0), p.mark("decided"))
	require.Len(t, r.Rows, 1)
	g := r.Rows[0].(audit.GuestRow)
	assert.Equal(t, "lee@fabrikam.com", g.UserID)
	assert.Equal(t, "ENTERPRISEPACK", g.ProductID)
	assert.True(t, g.Direct)
	assert.Empty(t, report(t, p, "guests", audittestDay(0), p.mark("reorganized")).Rows, "unassigned since")
}

func TestRequestsReportHasDecisionTimes(t *testing.T) {
	p := playStory(t)
	r := report(t, p, "requests", audittestDay(0), p.mark("decided"))
	require.Len(t, r.Rows, 3)
	byID := map[string]audit.RequestRow{}
	for _, row := range r.Rows {
		byID[row.(audit.RequestRow).RequestID] = row.(audit.RequestRow)
	}
	pbi := byID["req-pbi"]
	assert.Equal(t, "partially_approved", pbi.Status)
	assert.Equal(t, "admin@contoso", pbi.DecidedBy)
	require.NotNil(t, pbi.HoursToDecision)
	assert.InDelta(t, 24.0, *pbi.HoursToDecision, 0.01)
	assert.Equal(t, "pending", byID["req-visio"].Status)
	assert.Nil(t, byID["req-visio"].HoursToDecision)
	assert.Equal(t, "req-pbi", r.Rows[0].(audit.RequestRow).RequestID, "oldest first")
}

func TestReportsAsCSVAndJSON(t *testing.T) {
	p := playStory(t)
	r := report(t, p, "requests", audittestDay(0), p.mark("decided"))
	var buf bytes.Buffer
	require.NoError(t, r.WriteCSV(&buf))
	records, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 4)
	assert.Equal(t, r.Columns, records[0])
	assert.Equal(t, []string{"req-pbi", "POWER_BI_PRO", "alice", "alice bob carol", "2025-01-10T09:00:24Z", "partially_approved", "2025-01-11T09:00:27Z", "admin@contoso", "24.00"}, records[1])

	buf.Reset()
	require.NoError(t, r.WriteJSON(&buf))
	var doc struct {
		Report, Tenant, Head string
		Sequence             uint64
		Rows                 []map[string]any
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	assert.Equal(t, "requests", doc.Report)
	assert.Equal(t, tenant, doc.Tenant)
	assert.Len(t, doc.Head, 64)
	assert.Equal(t, "req-pbi", doc.Rows[0]["requestId"])
	assert.Equal(t, 24.0, doc.Rows[0]["hoursToDecision"])
}

func TestCSVCellsAreNotFormulas(t *testing.T) {
	r := &audit.Report{Columns: []string{"a", "b", "c"}, Rows: []audit.Row{audit.SeatsRow{Date: "=HYPERLINK(1)", ProductID: "+x", ProductName: "@y", Available: -3}}}
	var buf bytes.Buffer
	require.NoError(t, r.WriteCSV(&buf))
	assert.Equal(t, "a,b,c\n'=HYPERLINK(1),'+x,'@y,0,0,-3\n", buf.String())
}

func TestReportRefusals(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		name     string
		from, to time.Time
		want     string
	}{
		{"nope", now, now, "there is no report"},
		{"seats", time.Time{}, now, "needs a period"},
		{"seats", now, now.Add(-time.Hour), "before it starts"},
		{"seats", now.AddDate(-20, 0, 0), now, "longer than"},
	} {
		err := audit.CheckReport(c.name, audit.Period{From: c.from, To: c.to})
		assert.ErrorContains(t, err, c.want)
	}
	assert.Equal(t, []string{"activity", "guests", "requests", "seats"}, audit.ReportNames())
}

func TestParseInstant(t *testing.T) {
	from, err := audit.ParseInstant("2025-01-31", false)
	require.NoError(t, err)
	to, err := audit.ParseInstant("2025-01-31", true)
	require.NoError(t, err)
	assert.Equal(t, day("2025-01-31"), from)
	assert.Equal(t, day("2025-02-01").Add(-time.Nanosecond), to)
	at, err := audit.ParseInstant("2025-01-31T17:00:00+01:00", false)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 1, 31, 16, 0, 0, 0, time.UTC), at)
	_, err = audit.ParseInstant("yesterday", false)
	assert.ErrorContains(t, err, "neither an RFC 3339 instant")
}

func audittestDay(offset int) time.Time { return day("2025-01-06").AddDate(0, 0, offset) }
