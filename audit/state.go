package audit

import (
	"time"

	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/projections"
)

// State is a tenant as it stood at an instant (L3): seats per product and
// per subscription, who held which license with which plans, and the
// requests, exactly as the live views showed them then.
type State struct {
	Tenant string    `json:"tenant"`
	AsOf   time.Time `json:"asOf"`
	// Sequence and Head identify the last event included (0 and "" before
	// the first): the state is that of the history the head pins.
	Sequence      uint64                         `json:"sequence"`
	Head          string                         `json:"head"`
	LastEventTime time.Time                      `json:"lastEventTime,omitzero"`
	Products      []projections.ProductView      `json:"products"`      // as GET /licenses
	Subscriptions []projections.SubscriptionView `json:"subscriptions"` // as GET /subscriptions
	Users         []projections.UserView         `json:"users"`         // as GET /users/{user}/licenses, for each user
	Requests      []projections.RequestView      `json:"requests"`      // as GET /requests: pending and decided, 12 months
}

// StateAsOf replays the tenant's events through the live read models up to
// the instant asOf: it stops at the first event whose time is after asOf,
// so the state is always that of a prefix of the history. Requests older
// than 12 months before asOf are left out, as the live view leaves them out.
func StateAsOf(src Source, cat *catalog.Catalog, tenant string, asOf time.Time) (*State, error) {
	v := newViews(cat, tenant, asOf)
	at, err := replayUntil(src, tenant, asOf, v)
	if err != nil {
		return nil, err
	}
	return &State{
		Tenant: tenant, AsOf: asOf.UTC(), Sequence: at.Sequence, Head: at.Head, LastEventTime: at.Time,
		Products: v.licenses.Products(tenant), Subscriptions: v.licenses.Subscriptions(tenant),
		Users: v.userViews(), Requests: v.requestViews(),
	}, nil
}
