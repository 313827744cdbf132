package domain

import (
	"time"

	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/internal/intern"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// State is what the ledger knows of one tenant, built by applying the
// tenant's events in order. Commands are decided against it. It is the
// write side's model; the read models in projections answer queries.
type State struct {
	Tenant        string
	Users         map[string]*User
	Groups        map[string]*Group
	Subscriptions map[string]*Subscription
	Requests      map[string]*Request
	// Delegations maps a partner id to the roles granted to it (T1, T3).
	Delegations map[string][]Role
	// DelegationEnds maps a partner id to when its relationship ends, for
	// relationships granted for a duration (GDAP); the others last until
	// revoked. Nil in states built before GDAP.
	DelegationEnds map[string]time.Time
	// SelfServiceAllowed lists products users may buy themselves; the others
	// are blocked, so users request them (Q1).
	SelfServiceAllowed map[string]bool
	RequestProcess     RequestProcess
	// holders counts, per product, the users holding it by any path: each
	// holder uses one seat (A6).
	holders map[string]int
	// names holds one copy of each product id and country the users'
	// licenses and locations name: events decode a new string each time.
	names intern.Strings
}

// User is a member or guest of the tenant's directory.
type User struct {
	ID            string
	DisplayName   string
	Email         string
	UsageLocation string
	Guest         bool
	// Groups the user is a member of; nil until they join one.
	Groups map[string]bool
	// Licenses by product id; nil until they get one.
	Licenses map[string]*License
}

// License is a user's hold on one product: directly, through groups, or both.
type License struct {
	ProductID string
	Direct    bool
	// DirectDisabled are the plans switched off on the direct assignment.
	DirectDisabled []string
	// Groups maps each group the license is inherited from to the plans it
	// switches off; nil when it is inherited from none.
	Groups map[string][]string
}

// Held reports whether the license is held through any path.
func (l *License) Held() bool { return l.Direct || len(l.Groups) > 0 }

// Group is a security group with its members and the products assigned to it.
type Group struct {
	ID       string
	Name     string
	Members  map[string]bool
	Licenses map[string][]string // product id -> disabled plans
}

// Subscription is a purchase of seats of one product (S1).
type Subscription struct {
	ID          string
	ProductID   string
	Seats       int32
	Channel     ledgerv1.Channel
	State       ledgerv1.SubscriptionState
	PurchasedBy string // self-service buyer, until an admin takes it over (S3)
}

// Usable reports whether the subscription's seats can hold assignments.
func (s *Subscription) Usable() bool {
	return s.State == ledgerv1.SubscriptionState_SUBSCRIPTION_STATE_ACTIVE ||
		s.State == ledgerv1.SubscriptionState_SUBSCRIPTION_STATE_GRACE
}

// Managed reports whether admins may assign its seats: not a self-service
// purchase still held by the user who bought it (S3).
func (s *Subscription) Managed() bool {
	return s.Channel != ledgerv1.Channel_CHANNEL_SELF_SERVICE || s.PurchasedBy == ""
}

// Request is a user's license request (Q1).
type Request struct {
	ID          string
	ProductID   string
	RequesterID string
	UserIDs     []string
	Message     string
	Created     time.Time
	Outcome     ledgerv1.RequestOutcome // UNSPECIFIED while pending
	Decided     time.Time
}

// Pending reports whether the request still waits for a decision.
func (r *Request) Pending() bool {
	return r.Outcome == ledgerv1.RequestOutcome_REQUEST_OUTCOME_UNSPECIFIED
}

// RequestProcess is the organization's own request process (Q4).
type RequestProcess struct {
	Enabled bool
	Message string
	Link    string
}

// NewState returns the empty state of a tenant.
func NewState(tenant string) *State {
	return &State{
		Tenant:             tenant,
		Users:              map[string]*User{},
		Groups:             map[string]*Group{},
		Subscriptions:      map[string]*Subscription{},
		Requests:           map[string]*Request{},
		Delegations:        map[string][]Role{},
		SelfServiceAllowed: map[string]bool{},
		holders:            map[string]int{},
	}
}

// Assigned returns how many users hold the product, by any path.
func (s *State) Assigned(productID string) int { return s.holders[productID] }

// Seats returns the seats of the product that admins can assign: those of
// usable, managed subscriptions (S2, S3).
func (s *State) Seats(productID string) int {
	total := 0
	for _, sub := range s.Subscriptions {
		if sub.ProductID == productID && sub.Usable() && sub.Managed() {
			total += int(sub.Seats)
		}
	}
	return total
}

// Available returns the seats of the product not yet used.
func (s *State) Available(productID string) int {
	return s.Seats(productID) - s.Assigned(productID)
}

// EnabledPlans returns the service plans the user has on, over all their
// licenses and every path of each: a plan is on if any path leaves it on.
// It is a set over the catalog's plans, so that checking an assignment
// against conflicts and dependencies costs a few word operations.
func (s *State) EnabledPlans(u *User, cat *catalog.Catalog) catalog.PlanSet {
	var on catalog.PlanSet
	for _, l := range u.Licenses {
		on = on.Or(licensePlans(l, cat))
	}
	return on
}

// licensePlans returns the plans a license leaves on, over all its paths.
func licensePlans(l *License, cat *catalog.Catalog) catalog.PlanSet {
	var on catalog.PlanSet
	if l.Direct {
		on = pathPlans(l.ProductID, l.DirectDisabled, cat)
	}
	for _, disabled := range l.Groups {
		on = on.Or(pathPlans(l.ProductID, disabled, cat))
	}
	return on
}

// pathPlans returns the plans one path of a license to the product leaves
// on: the product's plans but the disabled ones.
func pathPlans(productID string, disabled []string, cat *catalog.Catalog) catalog.PlanSet {
	plans, _ := cat.PlansOf(productID)
	if len(disabled) == 0 {
		return plans
	}
	return plans.AndNot(cat.SetOf(disabled))
}
