package audit

import (
	"strconv"
	"time"

	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/projections"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

var seatsColumns = []string{"date", "productId", "productName", "purchased", "assigned", "available"}

// SeatsRow is one product at the end of one day (or at the end of the
// period, on its last day): its seats as the Licenses page counted them
// then (S2): purchased seats of usable subscriptions, assigned, available.
type SeatsRow struct {
	Date        string `json:"date"`
	ProductID   string `json:"productId"`
	ProductName string `json:"productName"`
	Purchased   int    `json:"purchased"`
	Assigned    int    `json:"assigned"`
	Available   int    `json:"available"`
}

// Values returns the row's cells.
func (r SeatsRow) Values() []string {
	return []string{r.Date, r.ProductID, r.ProductName, strconv.Itoa(r.Purchased), strconv.Itoa(r.Assigned), strconv.Itoa(r.Available)}
}

// buildSeats replays the Licenses read model once, taking its Licenses
// page at the end of each day of the period.
func buildSeats(r *Report, src Source, cat *catalog.Catalog) error {
	lic := projections.NewLicenses(cat)
	days := newDaySeries(r.period())
	var at position
	err := replay(src, r.Tenant, func(e *ledgerv1.Event, c *Chain) error {
		for !days.done() && e.GetTime().AsTime().After(days.end()) {
			r.Rows = append(r.Rows, seatsRows(days.date(), lic.Products(r.Tenant))...)
			days.next()
		}
		if days.done() {
			return errStop
		}
		lic.Apply(e)
		at.advance(e, c)
		return nil
	})
	for ; !days.done(); days.next() {
		r.Rows = append(r.Rows, seatsRows(days.date(), lic.Products(r.Tenant))...)
	}
	r.at(at)
	return err
}

func seatsRows(date string, products []projections.ProductView) []Row {
	rows := make([]Row, 0, len(products))
	for _, p := range products {
		rows = append(rows, SeatsRow{Date: date, ProductID: p.ProductID, ProductName: p.Name, Purchased: p.Total, Assigned: p.Assigned, Available: p.Available})
	}
	return rows
}

// daySeries walks the days of a period, in UTC.
type daySeries struct {
	day time.Time // start of the current day
	to  time.Time
}

func newDaySeries(p Period) *daySeries {
	from := p.From.UTC()
	return &daySeries{day: time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC), to: p.To.UTC()}
}

func (d *daySeries) done() bool   { return d.day.After(d.to) }
func (d *daySeries) next()        { d.day = d.day.AddDate(0, 0, 1) }
func (d *daySeries) date() string { return d.day.Format(time.DateOnly) }

// end is the last instant the current day's row covers: the end of the
// day, or the end of the period on its last day.
func (d *daySeries) end() time.Time {
	end := d.day.Add(24*time.Hour - time.Nanosecond)
	if end.After(d.to) {
		return d.to
	}
	return end
}
