package audit

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/licensing-ledger/ledger/domain/catalog"
)

var requestColumns = []string{"requestId", "productId", "requesterId", "userIds", "requestedAt", "status", "decidedAt", "decidedBy", "hoursToDecision"}

// RequestRow is one request made in the period, as it stood at the end of
// the period: its decision, who made it and how long it took.
type RequestRow struct {
	RequestID   string    `json:"requestId"`
	ProductID   string    `json:"productId"`
	RequesterID string    `json:"requesterId"`
	UserIDs     []string  `json:"userIds"`
	RequestedAt time.Time `json:"requestedAt"`
	Status      string    `json:"status"`
	DecidedAt   time.Time `json:"decidedAt,omitzero"`
	DecidedBy   string    `json:"decidedBy,omitempty"`
	// HoursToDecision is absent while the request is pending.
	HoursToDecision *float64 `json:"hoursToDecision,omitempty"`
}

// Values returns the row's cells; lists are separated by spaces.
func (r RequestRow) Values() []string {
	hours := ""
	if r.HoursToDecision != nil {
		hours = strconv.FormatFloat(*r.HoursToDecision, 'f', 2, 64)
	}
	return []string{r.RequestID, r.ProductID, r.RequesterID, strings.Join(r.UserIDs, " "), csvTime(r.RequestedAt), r.Status, csvTime(r.DecidedAt), r.DecidedBy, hours}
}

// buildRequests replays the Requests read model to the end of the period
// and lists the requests made within it, oldest first. Like the Requests
// page, it keeps requests for 12 months (Q3): those made more than 12
// months before the end of the period are not listed.
func buildRequests(r *Report, src Source, cat *catalog.Catalog) error {
	v := newViews(cat, r.Tenant, r.To)
	at, err := replayUntil(src, r.Tenant, r.To, v)
	r.at(at)
	if err != nil {
		return err
	}
	list := v.requests.List(r.Tenant, "")
	for i := len(list) - 1; i >= 0; i-- {
		q := list[i]
		if !r.period().Contains(q.RequestedAt) {
			continue
		}
		row := RequestRow{RequestID: q.RequestID, ProductID: q.ProductID, RequesterID: q.RequesterID, UserIDs: q.UserIDs,
			RequestedAt: q.RequestedAt, Status: q.Status, DecidedAt: q.DecidedAt, DecidedBy: q.DecidedBy}
		if !q.DecidedAt.IsZero() {
			h := math.Round(q.DecidedAt.Sub(q.RequestedAt).Hours()*100) / 100
			row.HoursToDecision = &h
		}
		r.Rows = append(r.Rows, row)
	}
	return nil
}
