package audit

import (
	"maps"
	"slices"
	"time"

	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/projections"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// replay checks each record of src against the tenant's chain and calls fn
// with its event and the chain that has just accepted it (whose Head is the
// event's hash); fn returns errStop to end early.
func replay(src Source, tenant string, fn func(*ledgerv1.Event, *Chain) error) error {
	chain := NewChain(tenant)
	return each(src, func(r events.Record) error {
		e, err := chain.Next(r)
		if err != nil {
			return err
		}
		return fn(e, chain)
	})
}

// position is where a replay stopped: the last event applied.
type position struct {
	Sequence uint64
	Head     string
	Time     time.Time
}

// advance moves the position to the event the chain has just accepted.
func (p *position) advance(e *ledgerv1.Event, c *Chain) {
	p.Sequence, p.Head, p.Time = e.GetSequence(), c.Head(), e.GetTime().AsTime()
}

// replayUntil applies the tenant's events to the views up to the instant
// to: it stops at the first event whose time is after it, so that views are
// always those of a prefix of the history.
func replayUntil(src Source, tenant string, to time.Time, v *views) (position, error) {
	var at position
	err := replay(src, tenant, func(e *ledgerv1.Event, c *Chain) error {
		if e.GetTime().AsTime().After(to) {
			return errStop
		}
		v.Apply(e)
		at.advance(e, c)
		return nil
	})
	return at, err
}

// views are the live read models, rebuilt by replaying a tenant's events:
// the very projections that answer GET /licenses and GET /requests.
type views struct {
	tenant   string
	licenses *projections.Licenses
	requests *projections.Requests
	dir      *projections.Directory // display names, for the requests
	catalog  *catalog.Catalog
	users    map[string]bool // every user id registered so far
}

// newViews returns empty read models; now is the instant the requests'
// 12-month retention counts from (Q3).
func newViews(cat *catalog.Catalog, tenant string, now time.Time) *views {
	return &views{
		tenant:   tenant,
		licenses: projections.NewLicenses(cat),
		requests: projections.NewRequests(func() time.Time { return now }),
		dir:      projections.NewDirectory(),
		catalog:  cat,
		users:    map[string]bool{},
	}
}

// Apply evolves the read models by one event.
func (v *views) Apply(e *ledgerv1.Event) {
	if p, ok := e.Payload.(*ledgerv1.Event_UserRegistered); ok {
		v.users[p.UserRegistered.GetUserId()] = true
	}
	v.licenses.Apply(e)
	v.requests.Apply(e)
	v.dir.Apply(e)
}

// requestViews returns the requests as GET /requests lists them, names
// and all.
func (v *views) requestViews() []projections.RequestView {
	reqs := v.requests.List(v.tenant, "")
	for i, r := range reqs {
		p, _ := v.catalog.Product(r.ProductID)
		reqs[i] = v.dir.Named(v.tenant, r, p.Name)
	}
	return reqs
}

// userViews returns the licenses of every user in the directory, by id.
func (v *views) userViews() []projections.UserView {
	out := []projections.UserView{}
	for _, id := range sortedKeys(v.users) {
		if u, ok := v.licenses.User(v.tenant, id); ok {
			out = append(out, u)
		}
	}
	return out
}

// sortedKeys returns the keys of m in order (never nil), for deterministic
// output.
func sortedKeys[V any](m map[string]V) []string {
	keys := slices.AppendSeq(make([]string, 0, len(m)), maps.Keys(m))
	slices.Sort(keys)
	return keys
}
