package main

import (
	"fmt"
	"math/rand/v2"

	"google.golang.org/protobuf/proto"

	"github.com/licensing-ledger/ledger/domain"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// maxPending bounds the pending requests of a tenant: past it, clients
// decide requests instead of sending new ones.
const maxPending = 8

// command is one command a client sends, as whom, and what the client's
// model of the tenant becomes once the ledger accepts it.
type command struct {
	tenant    *tenantModel
	msg       proto.Message
	principal domain.Principal
	token     string
	accepted  func()
}

// client sends commands to the tenants it owns, built from its models of
// them so that they are accepted: a realistic mix of single and bulk
// assignments and removals, requests and their approval, and seat changes.
type client struct {
	rng     *rand.Rand
	tenants []*tenantModel
}

func newClient(seed uint64, tenants []*tenantModel) *client {
	return &client{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), tenants: tenants}
}

// next returns the client's next command, for one of its tenants at random.
// The mix, in percent: assign 30, unassign 27, bulk assign 5, bulk unassign
// 5, request 12, approve or deny 11, change seats 10. When the tenant's
// state rules a command out (no free seat, nobody to unassign), the client
// sends the one that is possible instead.
func (c *client) next() command {
	t := c.tenants[c.rng.IntN(len(c.tenants))]
	p := c.rng.IntN(len(benchProducts))
	switch r := c.rng.IntN(100); {
	case r < 30:
		return c.assign(t, p)
	case r < 57:
		return c.unassign(t, p)
	case r < 62:
		return c.bulkAssign(t, p)
	case r < 67:
		return c.bulkUnassign(t, p)
	case r < 79:
		return c.request(t, p)
	case r < 90:
		return c.decide(t, p)
	}
	return c.changeSeats(t, p)
}

// assign gives one user who lacks product p a license.
func (c *client) assign(t *tenantModel, p int) command {
	if t.free(p) < 1 || t.holders[p] == len(t.users) {
		return c.unassign(t, p)
	}
	u := c.pick(t, p, false)
	msg := &ledgerv1.AssignLicense{ProductId: benchProducts[p], UserIds: []string{t.users[u]}}
	return c.admin(t, msg, func() { t.grant(p, u) })
}

// unassign removes one holder's license of product p.
func (c *client) unassign(t *tenantModel, p int) command {
	if t.holders[p] == 0 {
		return c.assign(t, p)
	}
	u := c.pick(t, p, true)
	msg := &ledgerv1.RevokeAssignment{ProductId: benchProducts[p], UserIds: []string{t.users[u]}}
	return c.admin(t, msg, func() { t.revoke(p, u) })
}

// bulkAssign gives bulkSize users who lack product p a license at once.
func (c *client) bulkAssign(t *tenantModel, p int) command {
	if t.free(p) < bulkSize || len(t.users)-t.holders[p] < bulkSize {
		return c.assign(t, p)
	}
	us := c.pickN(t, p, false, bulkSize)
	msg := &ledgerv1.AssignLicense{ProductId: benchProducts[p], UserIds: t.names(us)}
	return c.admin(t, msg, func() {
		for _, u := range us {
			t.grant(p, u)
		}
	})
}

// bulkUnassign removes bulkSize holders' licenses of product p at once.
func (c *client) bulkUnassign(t *tenantModel, p int) command {
	if t.holders[p] < bulkSize {
		return c.unassign(t, p)
	}
	us := c.pickN(t, p, true, bulkSize)
	msg := &ledgerv1.RevokeAssignment{ProductId: benchProducts[p], UserIds: t.names(us)}
	return c.admin(t, msg, func() {
		for _, u := range us {
			t.revoke(p, u)
		}
	})
}

// request has a requester ask for product p for themselves and a colleague
// who lacks it.
func (c *client) request(t *tenantModel, p int) command {
	if len(t.pending) >= maxPending {
		return c.decide(t, p)
	}
	if t.holders[p] == len(t.users) {
		return c.unassign(t, p)
	}
	r := c.rng.IntN(requesters)
	other := c.pick(t, p, false)
	if other == r {
		return c.assign(t, p)
	}
	t.requests++
	req := pendingRequest{id: fmt.Sprintf("req-%d", t.requests), product: p, users: []int{r, other}}
	msg := &ledgerv1.RequestLicense{RequestId: req.id, ProductId: benchProducts[p], UserIds: []string{t.users[other]}, Message: "needed for the quarterly report"}
	return command{tenant: t, msg: msg, principal: t.requester(r), token: t.requesterToken(r), accepted: func() {
		t.pending = append(t.pending, req)
	}}
}

// decide approves the oldest pending request, or denies it when its product
// lacks the seats.
func (c *client) decide(t *tenantModel, p int) command {
	if len(t.pending) == 0 {
		return c.request(t, p)
	}
	req := t.pending[0]
	done := func() { t.pending = t.pending[1:] }
	var needed []int
	for _, u := range req.users {
		if !t.holds[req.product][u] {
			needed = append(needed, u)
		}
	}
	if t.free(req.product) < len(needed) {
		return c.admin(t, &ledgerv1.DenyRequest{RequestId: req.id, Message: "no seats left"}, done)
	}
	return c.admin(t, &ledgerv1.ApproveRequest{RequestId: req.id}, func() {
		done()
		for _, u := range needed {
			t.grant(req.product, u)
		}
	})
}

// changeSeats buys or returns seats of product p, never fewer than its
// holders nor than a bulk command needs.
func (c *client) changeSeats(t *tenantModel, p int) command {
	lo, hi := max(t.holders[p], bulkSize), len(t.users)+bulkSize
	seats := lo + c.rng.IntN(hi-lo+1)
	if seats == t.seats[p] {
		return c.assign(t, p)
	}
	msg := &ledgerv1.ChangeSeats{SubscriptionId: subscriptionID(benchProducts[p]), Seats: int32(seats)}
	return c.admin(t, msg, func() { t.seats[p] = seats })
}

// admin wraps a command the tenant's administrator sends.
func (c *client) admin(t *tenantModel, msg proto.Message, accepted func()) command {
	return command{tenant: t, msg: msg, principal: t.admin(), token: t.adminToken(), accepted: accepted}
}

// pick returns a user who holds product p (or lacks it); one must exist.
func (c *client) pick(t *tenantModel, p int, holding bool) int {
	for range 32 {
		if u := c.rng.IntN(len(t.users)); t.holds[p][u] == holding {
			return u
		}
	}
	start := c.rng.IntN(len(t.users))
	for i := range t.users {
		if u := (start + i) % len(t.users); t.holds[p][u] == holding {
			return u
		}
	}
	panic("ledgerbench: pick called with no user to pick")
}

// pickN returns n distinct users who hold product p (or lack it), starting
// at a random user; n must exist.
func (c *client) pickN(t *tenantModel, p int, holding bool, n int) []int {
	out := make([]int, 0, n)
	start := c.rng.IntN(len(t.users))
	for i := 0; i < len(t.users) && len(out) < n; i++ {
		if u := (start + i) % len(t.users); t.holds[p][u] == holding {
			out = append(out, u)
		}
	}
	return out
}

// names returns the ids of users.
func (t *tenantModel) names(us []int) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = t.users[u]
	}
	return out
}
