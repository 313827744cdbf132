package projections_test

import (
	"fmt"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// tally is the seat invariant's independent computation: who holds what and
// how many seats each product has, folded from the raw events with nothing
// but the rules of PRODUCT.md, and none of the code of domain or
// projections. A license is a set of paths (direct, or one per group) and is
// held while any path is left (A6); a subscription's seats count while it is
// active or in grace (S1) and not a self-service purchase still held by its
// buyer (S3).
type tally struct {
	paths map[string]map[string]map[string]bool // user -> product -> paths ("" is direct)
	subs  map[string]*subTally
	// problems are events that cannot happen in a correct ledger, such as a
	// license of an unknown user or the removal of a path not held.
	problems []string
}

type subTally struct {
	product     string
	seats       int
	state       ledgerv1.SubscriptionState
	selfService bool // bought by a user and not taken over yet
}

func newTally() *tally {
	return &tally{paths: map[string]map[string]map[string]bool{}, subs: map[string]*subTally{}}
}

// tallyOf folds the whole list of events from scratch.
func tallyOf(evs []*ledgerv1.Event) *tally {
	t := newTally()
	for _, e := range evs {
		t.apply(e)
	}
	return t
}

func (t *tally) problem(format string, args ...any) {
	t.problems = append(t.problems, fmt.Sprintf(format, args...))
}

// apply folds one event.
func (t *tally) apply(e *ledgerv1.Event) {
	switch p := e.Payload.(type) {
	case *ledgerv1.Event_UserRegistered:
		if t.paths[p.UserRegistered.UserId] != nil {
			t.problem("event %d registers %s twice", e.GetSequence(), p.UserRegistered.UserId)
		}
		t.paths[p.UserRegistered.UserId] = map[string]map[string]bool{}
	case *ledgerv1.Event_UserRemoved:
		if held := t.paths[p.UserRemoved.UserId]; len(held) > 0 {
			t.problem("event %d removes user %s who still holds %v", e.GetSequence(), p.UserRemoved.UserId, held)
		}
		delete(t.paths, p.UserRemoved.UserId)
	case *ledgerv1.Event_LicenseAssigned:
		t.assign(e.GetSequence(), p.LicenseAssigned)
	case *ledgerv1.Event_LicenseRemoved:
		t.remove(e.GetSequence(), p.LicenseRemoved)
	case *ledgerv1.Event_SubscriptionPurchased:
		s := p.SubscriptionPurchased
		t.subs[s.SubscriptionId] = &subTally{product: s.ProductId, seats: int(s.Seats), state: ledgerv1.SubscriptionState_SUBSCRIPTION_STATE_ACTIVE,
			selfService: s.Channel == ledgerv1.Channel_CHANNEL_SELF_SERVICE && s.PurchasedBy != ""}
	case *ledgerv1.Event_SeatsChanged:
		t.sub(e, p.SeatsChanged.SubscriptionId).seats = int(p.SeatsChanged.Seats)
	case *ledgerv1.Event_SubscriptionStateChanged:
		t.sub(e, p.SubscriptionStateChanged.SubscriptionId).state = p.SubscriptionStateChanged.State
	case *ledgerv1.Event_SubscriptionTakenOver:
		t.sub(e, p.SubscriptionTakenOver.SubscriptionId).selfService = false
	}
}

// sub returns the subscription an event is about; an unknown one is a
// problem, answered with a scratch subscription so that folding goes on.
func (t *tally) sub(e *ledgerv1.Event, id string) *subTally {
	if s := t.subs[id]; s != nil {
		return s
	}
	t.problem("event %d (%s) is about unknown subscription %s", e.GetSequence(), e.TypeName(), id)
	return &subTally{}
}

func (t *tally) assign(seq uint64, a *ledgerv1.LicenseAssigned) {
	held := t.paths[a.UserId]
	if held == nil {
		t.problem("event %d assigns %s to unknown user %s", seq, a.ProductId, a.UserId)
		return
	}
	if held[a.ProductId] == nil {
		held[a.ProductId] = map[string]bool{}
	}
	if held[a.ProductId][a.GroupId] {
		t.problem("event %d assigns %s to %s by path %q, already held that way", seq, a.ProductId, a.UserId, a.GroupId)
	}
	held[a.ProductId][a.GroupId] = true
}

func (t *tally) remove(seq uint64, r *ledgerv1.LicenseRemoved) {
	paths := t.paths[r.UserId][r.ProductId]
	if !paths[r.GroupId] {
		t.problem("event %d removes %s from %s by path %q, not held that way", seq, r.ProductId, r.UserId, r.GroupId)
		return
	}
	delete(paths, r.GroupId)
	if len(paths) == 0 {
		delete(t.paths[r.UserId], r.ProductId)
	}
	if lost := len(paths) == 0; lost != (r.DataRetainedUntil != nil) {
		t.problem("event %d: %s loses %s: %v, but the data retention date is set: %v (A8)", seq, r.UserId, r.ProductId, lost, r.DataRetainedUntil != nil)
	}
}

// holders returns, per product, how many users hold it by any path.
func (t *tally) holders() map[string]int {
	n := map[string]int{}
	for _, held := range t.paths {
		for product, paths := range held {
			if len(paths) > 0 {
				n[product]++
			}
		}
	}
	return n
}

// seats returns the product's seats admins can assign.
func (t *tally) seats(product string) int {
	n := 0
	for _, s := range t.subs {
		usable := s.state == ledgerv1.SubscriptionState_SUBSCRIPTION_STATE_ACTIVE || s.state == ledgerv1.SubscriptionState_SUBSCRIPTION_STATE_GRACE
		if s.product == product && usable && !s.selfService {
			n += s.seats
		}
	}
	return n
}

// bought reports whether the tenant has any subscription of the product.
func (t *tally) bought(product string) bool {
	for _, s := range t.subs {
		if s.product == product {
			return true
		}
	}
	return false
}

// licenses returns what the user holds: product -> sorted paths.
func (t *tally) licenses(user string) map[string][]string {
	out := map[string][]string{}
	for product, paths := range t.paths[user] {
		out[product] = sortedSet(paths)
	}
	return out
}
