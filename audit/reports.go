package audit

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/licensing-ledger/ledger/domain/catalog"
)

// Report is a compliance report (L4): a table of rows computed from a
// tenant's events over a period, written as CSV or JSON.
type Report struct {
	Name   string    `json:"report"`
	Tenant string    `json:"tenant"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Sequence and Head identify the last event read.
	Sequence uint64   `json:"sequence"`
	Head     string   `json:"head"`
	Columns  []string `json:"columns"`
	Rows     []Row    `json:"rows"`
}

// Row is one row of a report: JSON through its struct tags, CSV through
// Values, in the report's column order.
type Row interface {
	Values() []string
}

// reportKind is one report the ledger can build.
type reportKind struct {
	about   string
	columns []string
	build   func(r *Report, src Source, cat *catalog.Catalog) error
}

// reportKinds lists the reports by name.
var reportKinds = map[string]reportKind{
	"seats":    {"seats purchased against assigned per product, day by day", seatsColumns, buildSeats},
	"activity": {"every assignment, revocation, approval and denial, with who and when", activityColumns, buildActivity},
	"guests":   {"licenses held by guests at the end of the period", guestColumns, buildGuests},
	"requests": {"requests made in the period, with their decisions and how long they took", requestColumns, buildRequests},
}

// ReportNames lists the reports, by name.
func ReportNames() []string { return sortedKeys(reportKinds) }

// ReportAbout says what the named report holds.
func ReportAbout(name string) string { return reportKinds[name].about }

// MaxReportDays bounds the period of a report.
const MaxReportDays = 3660

// CheckReport refuses an unknown report or a period that is not one.
func CheckReport(name string, p Period) error {
	if _, ok := reportKinds[name]; !ok {
		return fmt.Errorf("there is no report %q; the reports are %s", name, strings.Join(ReportNames(), ", "))
	}
	switch {
	case p.From.IsZero() || p.To.IsZero():
		return fmt.Errorf("a report needs a period: from and to")
	case p.To.Before(p.From):
		return fmt.Errorf("the period ends (%s) before it starts (%s)", p.To.Format(time.RFC3339), p.From.Format(time.RFC3339))
	case p.To.Sub(p.From) > MaxReportDays*24*time.Hour:
		return fmt.Errorf("the period is longer than %d days", MaxReportDays)
	}
	return nil
}

// BuildReport builds the named report of the tenant over the period.
func BuildReport(name string, src Source, cat *catalog.Catalog, tenant string, p Period) (*Report, error) {
	if err := CheckReport(name, p); err != nil {
		return nil, err
	}
	k := reportKinds[name]
	r := &Report{Name: name, Tenant: tenant, From: p.From.UTC(), To: p.To.UTC(), Columns: k.columns, Rows: []Row{}}
	if err := k.build(r, src, cat); err != nil {
		return nil, err
	}
	return r, nil
}

// period returns the report's period.
func (r *Report) period() Period { return Period{From: r.From, To: r.To} }

// at records where the report's replay stopped.
func (r *Report) at(p position) { r.Sequence, r.Head = p.Sequence, p.Head }

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteCSV writes the report's columns then its rows. Text cells that a
// spreadsheet would take for a formula are quoted with a leading '.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(r.Columns); err != nil {
		return err
	}
	for _, row := range r.Rows {
		if err := cw.Write(safeCells(row.Values())); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// safeCells defuses cells that spreadsheets would evaluate (CSV injection).
func safeCells(cells []string) []string {
	out := slices.Clone(cells)
	for i, c := range out {
		if c == "" || !strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			continue
		}
		if _, err := strconv.ParseFloat(c, 64); err != nil {
			out[i] = "'" + c
		}
	}
	return out
}

// csvTime formats an instant for a CSV cell; empty for the zero time.
func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// DefaultFrom is where a report's period starts when only its end is
// given: the start of the day 30 days before.
func DefaultFrom(to time.Time) time.Time {
	return to.UTC().AddDate(0, 0, -30).Truncate(24 * time.Hour)
}

// ParseInstant reads an instant given as RFC 3339, or as a date
// (YYYY-MM-DD, UTC): the start of that day, or its last instant when
// endOfDay is set (a period "to 2025-01-31" includes the 31st).
func ParseInstant(s string, endOfDay bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 instant (2025-01-31T17:00:00Z) nor a date (2025-01-31)", s)
	}
	if endOfDay {
		return d.Add(24*time.Hour - time.Nanosecond), nil
	}
	return d, nil
}
