package projections_test

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/licensing-ledger/ledger/domain"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
)

// The seat invariant's random commands. The pools are small on purpose:
// few users, subscriptions and groups, and few seats, so that commands
// collide — the same user through several paths, products that run out of
// seats, subscriptions suspended under assigned licenses.
var (
	userPool  = []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"}
	subPool   = []string{"s0", "s1", "s2", "s3", "s4", "s5", "s6"}
	groupPool = []string{"g0", "g1", "g2"}
	// productPool mixes products whose plans conflict (SPB and E3 hold both
	// Exchange plans), depend on others (MCOEV, the ISV app), are sold in
	// some countries only (MCOPSTN1, the ISV app), and an add-on that is
	// never a license (SHAREPOINTSTORAGE).
	productPool = []string{"SPB", "ENTERPRISEPACK", "EXCHANGESTANDARD", "POWER_BI_PRO", "MCOEV", "MCOPSTN1", "CONTOSO_FIELDSERVICE", "SHAREPOINTSTORAGE"}
	locations   = []string{"US", "US", "US", "FR", "CN", ""}
)

// generator makes one random command and the principal who sends it.
type generator struct {
	name   string
	weight int
	make   func(w *world) (domain.Principal, proto.Message)
}

// generators are the commands of the property, weighted towards those that
// move seats.
var generators = []generator{
	{"RegisterUser", 5, func(w *world) (domain.Principal, proto.Message) {
		id := w.pick(userPool)
		if gone := w.unregistered(); len(gone) > 0 && w.chance(80) {
			id = w.pick(gone)
		}
		return admin, &ledgerv1.RegisterUser{UserId: id, DisplayName: id, Email: id + "@contoso.com", UsageLocation: w.pick(locations), Guest: w.chance(15)}
	}},
	{"UpdateUser", 2, func(w *world) (domain.Principal, proto.Message) {
		return admin, &ledgerv1.UpdateUser{UserId: w.user(), UsageLocation: w.pick([]string{"US", "FR", "CN"})}
	}},
	{"RemoveUser", 3, func(w *world) (domain.Principal, proto.Message) {
		return admin, &ledgerv1.RemoveUser{UserId: w.user()}
	}},
	{"PurchaseSubscription", 4, func(w *world) (domain.Principal, proto.Message) {
		m := &ledgerv1.PurchaseSubscription{SubscriptionId: w.pick(subPool), ProductId: w.pick(productPool), Seats: int32(w.rng.IntN(5)), Channel: ledgerv1.Channel(w.rng.IntN(6))}
		if m.Channel == ledgerv1.Channel_CHANNEL_SELF_SERVICE {
			m.PurchasedBy = w.user()
		}
		return admin, m
	}},
	{"ChangeSeats", 6, func(w *world) (domain.Principal, proto.Message) {
		return admin, &ledgerv1.ChangeSeats{SubscriptionId: w.pick(subPool), Seats: int32(w.rng.IntN(6))}
	}},
	{"ChangeSubscriptionState", 4, func(w *world) (domain.Principal, proto.Message) {
		return admin, &ledgerv1.ChangeSubscriptionState{SubscriptionId: w.pick(subPool), State: ledgerv1.SubscriptionState(1 + w.rng.IntN(4))}
	}},
	{"TakeOverSubscription", 2, func(w *world) (domain.Principal, proto.Message) {
		return admin, &ledgerv1.TakeOverSubscription{SubscriptionId: w.selfServiceSubscription()}
	}},
	{"AssignLicense", 14, func(w *world) (domain.Principal, proto.Message) {
		p := w.product()
		return admin, &ledgerv1.AssignLicense{ProductId: p, UserIds: w.users(w.bulkSize()), DisabledPlans: w.plansOff(p, 30)}
	}},
	{"RevokeAssignment", 5, func(w *world) (domain.Principal, proto.Message) {
		user, product := w.directLicense()
		ids := []string{user}
		if w.chance(30) {
			ids = append(ids, w.user())
		}
		return admin, &ledgerv1.RevokeAssignment{ProductId: product, UserIds: ids}
	}},
	{"UnassignAll", 3, func(w *world) (domain.Principal, proto.Message) {
		return admin, &ledgerv1.UnassignAll{UserIds: w.users(w.bulkSize())}
	}},
	{"ChangeAssignmentPlans", 3, func(w *world) (domain.Principal, proto.Message) {
		user, product := w.directLicense()
		return admin, &ledgerv1.ChangeAssignmentPlans{ProductId: product, UserId: user, DisabledPlans: w.plansOff(product, 70)}
	}},
	{"CreateGroup", 2, func(w *world) (domain.Principal, proto.Message) {
		g := w.pick(groupPool) // refused if it exists
		return admin, &ledgerv1.CreateGroup{GroupId: g, Name: g}
	}},
	{"AssignGroupLicense", 5, func(w *world) (domain.Principal, proto.Message) {
		p := w.product()
		return admin, &ledgerv1.AssignGroupLicense{GroupId: w.group(), ProductId: p, DisabledPlans: w.plansOff(p, 20)}
	}},
	{"RevokeGroupLicense", 2, func(w *world) (domain.Principal, proto.Message) {
		group, product := w.groupLicense()
		return admin, &ledgerv1.RevokeGroupLicense{GroupId: group, ProductId: product}
	}},
	{"AddGroupMembers", 7, func(w *world) (domain.Principal, proto.Message) {
		return admin, &ledgerv1.AddGroupMembers{GroupId: w.group(), UserIds: w.users(w.bulkSize())}
	}},
	{"RemoveGroupMembers", 4, func(w *world) (domain.Principal, proto.Message) {
		return admin, &ledgerv1.RemoveGroupMembers{GroupId: w.group(), UserIds: w.users(w.bulkSize())}
	}},
	{"RequestLicense", 6, func(w *world) (domain.Principal, proto.Message) {
		requester := w.user()
		others := slices.DeleteFunc(w.users(w.rng.IntN(4)), func(id string) bool { return id == requester })
		return domain.Principal{ID: requester, Tenant: tenant}, &ledgerv1.RequestLicense{ProductId: w.product(), UserIds: others}
	}},
	{"ApproveRequest", 8, func(w *world) (domain.Principal, proto.Message) {
		return admin, w.approval()
	}},
	{"DenyRequest", 2, func(w *world) (domain.Principal, proto.Message) {
		return admin, &ledgerv1.DenyRequest{RequestId: w.request()}
	}},
}

// approval approves a recorded request: whole or in part, directly or
// through a group (one holding the product, mostly), at times another
// product or plans switched off.
func (w *world) approval() *ledgerv1.ApproveRequest {
	m := &ledgerv1.ApproveRequest{RequestId: w.request()}
	r := w.st.Requests[m.RequestId]
	if r != nil && w.chance(60) {
		for _, id := range r.UserIDs {
			if w.chance(50) {
				m.ApprovedUserIds = append(m.ApprovedUserIds, id)
			}
		}
	}
	if w.chance(15) {
		m.ProductId = w.product()
	}
	if w.chance(45) {
		m.GroupId = w.group()
		if r != nil && w.chance(80) {
			m.GroupId = w.groupHolding(cmp.Or(m.ProductId, r.ProductID))
		}
	}
	if w.chance(10) {
		m.DisabledPlans = w.plansOff(cmp.Or(m.ProductId, w.product()), 100)
	}
	return m
}

// request returns the id of a recorded request: mostly a pending one, at
// times a closed one or one that does not exist.
func (w *world) request() string {
	var pending []string
	for _, id := range w.requests {
		if r := w.st.Requests[id]; r != nil && r.Pending() {
			pending = append(pending, id)
		}
	}
	switch {
	case len(pending) > 0 && w.chance(85):
		return w.pick(pending)
	case len(w.requests) > 0 && w.chance(90):
		return w.pick(w.requests)
	}
	return "r-unknown"
}

// user returns a registered user, or at times any id of the pool.
func (w *world) user() string {
	if ids := w.registered(); len(ids) > 0 && w.chance(90) {
		return w.pick(ids)
	}
	return w.pick(userPool)
}

// users returns n distinct users, mostly registered ones; at times one of
// them twice, so that bulk commands see duplicates too.
func (w *world) users(n int) []string {
	from := w.registered()
	if len(from) < n || w.chance(10) {
		from = slices.Clone(userPool)
	}
	w.rng.Shuffle(len(from), func(i, j int) { from[i], from[j] = from[j], from[i] })
	ids := from[:n]
	if n > 1 && w.chance(3) {
		ids[1] = ids[0]
	}
	return ids
}

// bulkSize is how many users a bulk action names: mostly one or two, at
// times many (all or nothing makes large ones fail more often).
func (w *world) bulkSize() int {
	switch n := w.rng.IntN(100); {
	case n < 50:
		return 1
	case n < 85:
		return 2 + w.rng.IntN(2)
	}
	return 4 + w.rng.IntN(5)
}

func (w *world) registered() []string {
	return slices.Sorted(maps.Keys(w.st.Users))
}

func (w *world) unregistered() []string {
	return slices.DeleteFunc(slices.Clone(userPool), func(id string) bool { return w.st.Users[id] != nil })
}

// product returns a product the tenant has bought, mostly, or any of the
// pool.
func (w *world) product() string {
	var bought []string
	for _, id := range slices.Sorted(maps.Keys(w.st.Subscriptions)) {
		bought = append(bought, w.st.Subscriptions[id].ProductID)
	}
	if len(bought) > 0 && w.chance(80) {
		return w.pick(bought)
	}
	return w.pick(productPool)
}

// directLicense returns a user and a product they hold directly, mostly,
// or any pair.
func (w *world) directLicense() (user, product string) {
	var pairs [][2]string
	for _, uid := range w.registered() {
		for _, pid := range slices.Sorted(maps.Keys(w.st.Users[uid].Licenses)) {
			if w.st.Users[uid].Licenses[pid].Direct {
				pairs = append(pairs, [2]string{uid, pid})
			}
		}
	}
	if len(pairs) > 0 && w.chance(85) {
		p := pairs[w.rng.IntN(len(pairs))]
		return p[0], p[1]
	}
	return w.user(), w.product()
}

// groupLicense returns a group and a product it holds, mostly, or any pair.
func (w *world) groupLicense() (group, product string) {
	var pairs [][2]string
	for _, gid := range slices.Sorted(maps.Keys(w.st.Groups)) {
		for _, pid := range slices.Sorted(maps.Keys(w.st.Groups[gid].Licenses)) {
			pairs = append(pairs, [2]string{gid, pid})
		}
	}
	if len(pairs) > 0 && w.chance(85) {
		p := pairs[w.rng.IntN(len(pairs))]
		return p[0], p[1]
	}
	return w.group(), w.product()
}

// group returns a group of the tenant, mostly, or any id of the pool.
func (w *world) group() string {
	if ids := slices.Sorted(maps.Keys(w.st.Groups)); len(ids) > 0 && w.chance(90) {
		return w.pick(ids)
	}
	return w.pick(groupPool)
}

// groupHolding returns a group that holds the product, or any group.
func (w *world) groupHolding(product string) string {
	for _, gid := range slices.Sorted(maps.Keys(w.st.Groups)) {
		if _, ok := w.st.Groups[gid].Licenses[product]; ok {
			return gid
		}
	}
	return w.group()
}

// selfServiceSubscription returns a subscription a user bought and still
// holds, mostly, or any.
func (w *world) selfServiceSubscription() string {
	for _, id := range slices.Sorted(maps.Keys(w.st.Subscriptions)) {
		if !w.st.Subscriptions[id].Managed() && w.chance(80) {
			return id
		}
	}
	return w.pick(subPool)
}

// plansOff switches off a random part of the product's plans, pct percent
// of the time.
func (w *world) plansOff(productID string, pct int) []string {
	p, ok := w.cat.Product(productID)
	if !ok || !w.chance(pct) {
		return nil
	}
	var off []string
	for _, plan := range p.ServicePlans {
		if w.chance(25) {
			off = append(off, plan)
		}
	}
	return off
}

func (w *world) pick(from []string) string { return from[w.rng.IntN(len(from))] }

func (w *world) chance(pct int) bool { return w.rng.IntN(100) < pct }

// next draws a generator by weight.
func (w *world) next() (domain.Principal, proto.Message) {
	n := w.rng.IntN(totalWeight)
	for _, g := range generators {
		if n < g.weight {
			return g.make(w)
		}
		n -= g.weight
	}
	panic(fmt.Sprintf("weight %d beyond the generators", n))
}

var totalWeight = func() int {
	n := 0
	for _, g := range generators {
		n += g.weight
	}
	return n
}()

// newRand returns the random source of one run.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x5eed)) }
