package projections

import (
	"slices"
	"time"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// RequestRetention is how long requests are kept and listed (Q3).
const RequestRetention = 12 // months

// Requests is the read model of license requests: the Requests tab, with
// pending and completed requests of the last 12 months (Q1-Q3).
type Requests struct {
	now     func() time.Time
	tenants map[string]map[string]*RequestView
	// pending indexes the requests waiting for a decision by tenant, so
	// that the admin's working list costs what it holds, not the whole
	// year of requests the tenant has made.
	pending map[string]map[string]*RequestView
	// process is each tenant's own request process, when it set one (Q4).
	process map[string]RequestProcessView
}

// RequestProcessView is the organization's own request process (Q4): while
// it is enabled, users asking for a license are shown the message and link.
type RequestProcessView struct {
	Enabled bool   `json:"enabled"`
	Message string `json:"message"`
	Link    string `json:"link"`
}

// RequestView is one request as admins list it.
type RequestView struct {
	RequestID       string    `json:"requestId"`
	ProductID       string    `json:"productId"`
	RequesterID     string    `json:"requesterId"`
	UserIDs         []string  `json:"userIds"`
	Message         string    `json:"message,omitempty"`
	RequestedAt     time.Time `json:"requestedAt"`
	Status          string    `json:"status"` // pending, approved, partially_approved, denied, expired
	DecidedAt       time.Time `json:"decidedAt,omitzero"`
	DecidedBy       string    `json:"decidedBy,omitempty"`
	AssignedProduct string    `json:"assignedProductId,omitempty"`
	ApprovedUserIDs []string  `json:"approvedUserIds,omitempty"`
	RejectedUserIDs []string  `json:"rejectedUserIds,omitempty"`
	SharedWith      []string  `json:"sharedWith,omitempty"`
	// ProductName and People are filled by the API from the catalog and
	// the directory: the names a reader sees beside the ids.
	ProductName string   `json:"productName,omitempty"`
	People      []Person `json:"people,omitempty"`
}

// Pending reports whether the request waits for a decision.
func (r *RequestView) Pending() bool { return r.Status == "pending" }

// NewRequests returns an empty Requests model; now tells the time for the
// retention period.
func NewRequests(now func() time.Time) *Requests {
	return &Requests{now: now, tenants: map[string]map[string]*RequestView{}, pending: map[string]map[string]*RequestView{}, process: map[string]RequestProcessView{}}
}

// Apply evolves the model by one event.
func (m *Requests) Apply(e *ledgerv1.Event) {
	reqs := m.tenants[e.GetTenant()]
	if reqs == nil {
		reqs = map[string]*RequestView{}
		m.tenants[e.GetTenant()] = reqs
	}
	switch p := e.Payload.(type) {
	case *ledgerv1.Event_LicenseRequested:
		r := p.LicenseRequested
		v := &RequestView{
			RequestID: r.RequestId, ProductID: r.ProductId, RequesterID: r.RequesterId,
			UserIDs: r.UserIds, Message: r.Message, RequestedAt: e.GetTime().AsTime(), Status: "pending",
		}
		reqs[r.RequestId] = v
		pending := m.pending[e.GetTenant()]
		if pending == nil {
			pending = map[string]*RequestView{}
			m.pending[e.GetTenant()] = pending
		}
		pending[r.RequestId] = v
	case *ledgerv1.Event_RequestDecided:
		if r := reqs[p.RequestDecided.RequestId]; r != nil {
			d := p.RequestDecided
			r.Status = enumName(d.Outcome.String(), "REQUEST_OUTCOME_")
			r.DecidedAt, r.DecidedBy = e.GetTime().AsTime(), e.GetActor()
			r.AssignedProduct, r.ApprovedUserIDs, r.RejectedUserIDs = d.ProductId, d.ApprovedUserIds, d.RejectedUserIds
			m.decided(e.GetTenant(), r)
		}
	case *ledgerv1.Event_RequestExpired:
		if r := reqs[p.RequestExpired.RequestId]; r != nil {
			r.Status, r.DecidedAt, r.DecidedBy = "expired", e.GetTime().AsTime(), e.GetActor()
			m.decided(e.GetTenant(), r)
		}
	case *ledgerv1.Event_RequestProcessConfigured:
		c := p.RequestProcessConfigured
		m.process[e.GetTenant()] = RequestProcessView{Enabled: c.Enabled, Message: c.Message, Link: c.Link}
	case *ledgerv1.Event_RequestShared:
		if r := reqs[p.RequestShared.RequestId]; r != nil {
			for _, id := range p.RequestShared.RecipientUserIds {
				if !slices.Contains(r.SharedWith, id) { // shared twice with someone: listed once
					r.SharedWith = append(r.SharedWith, id)
				}
			}
		}
	}
}

// decided takes a request that is no longer pending out of the index.
func (m *Requests) decided(tenant string, r *RequestView) {
	if pending := m.pending[tenant]; !r.Pending() && pending[r.RequestID] == r {
		delete(pending, r.RequestID)
	}
}

// List returns the tenant's requests of the last 12 months, newest first,
// filtered by status: "pending", "completed" or "" for all.
func (m *Requests) List(tenant, status string) []RequestView {
	cutoff := m.now().AddDate(0, -RequestRetention, 0)
	out := []RequestView{}
	all := m.tenants[tenant]
	if status == "pending" {
		all = m.pending[tenant]
	}
	for _, r := range all {
		if r.RequestedAt.Before(cutoff) {
			continue
		}
		if (status == "pending" && !r.Pending()) || (status == "completed" && r.Pending()) {
			continue
		}
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b RequestView) int {
		if c := b.RequestedAt.Compare(a.RequestedAt); c != 0 {
			return c
		}
		return compareStrings(a.RequestID, b.RequestID)
	})
	return out
}

// Get returns one request, if it is still kept.
func (m *Requests) Get(tenant, id string) (RequestView, bool) {
	r := m.tenants[tenant][id]
	if r == nil || r.RequestedAt.Before(m.now().AddDate(0, -RequestRetention, 0)) {
		return RequestView{}, false
	}
	return *r, true
}

// Process returns the tenant's own request process; the zero value (off)
// when it never set one.
func (m *Requests) Process(tenant string) RequestProcessView {
	return m.process[tenant]
}

// Tenants returns every tenant with requests, for the expiry sweep.
func (m *Requests) Tenants() []string { return sortedKeys(m.tenants) }

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
