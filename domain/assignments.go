package domain

import (
	"fmt"
	"maps"
	"slices"

	"github.com/licensing-ledger/ledger/domain/catalog"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func (d decider) assignLicense(m *ledgerv1.AssignLicense) ([]proto.Message, error) {
	if err := firstErr(checkID("product_id", m.ProductId), checkUserList(m.UserIds, MaxBulkUsers)); err != nil {
		return nil, err
	}
	p, err := d.assignableProduct(m.ProductId, m.DisabledPlans)
	if err != nil {
		return nil, err
	}
	g := d.newGrants(len(m.UserIds))
	var vs []Violation
	var evs []proto.Message
	for _, id := range m.UserIds {
		u, err := d.user(id)
		if err != nil {
			vs = append(vs, Violation{Subject: id, Code: CodeNotFound, Detail: err.(*Error).Detail})
			continue
		}
		if l := u.Licenses[p.ID]; l != nil && l.Direct {
			continue // "assign more" keeps what users hold (A5)
		}
		if v := g.checkEligible(u, p, true); v != nil {
			vs = append(vs, *v)
			continue
		}
		if v := g.checkPlans(u, p, m.DisabledPlans); v != nil {
			vs = append(vs, *v)
			continue
		}
		g.take(u, p, m.DisabledPlans)
		evs = append(evs, &ledgerv1.LicenseAssigned{UserId: id, ProductId: p.ID, DisabledPlans: m.DisabledPlans})
	}
	if need := g.seats(p.ID); need > d.s.Available(p.ID) {
		g.taken = nil // refused: count the seats available in the state
		vs = append(vs, *g.countViolation(p.ID, p, need))
	}
	if err := violationsError("AssignLicense", vs); err != nil {
		return nil, err
	}
	return evs, nil
}

// assignableProduct returns the product if admins can assign it here (C1, S3).
func (d decider) assignableProduct(id string, disabled []string) (catalog.Product, error) {
	p, err := d.product(id)
	if err != nil {
		return p, err
	}
	if !p.Assignable {
		return p, Errorf(CodeValidationFailed, "%s (%s) cannot be assigned to users: it extends the tenant, not a user", p.Name, p.ID)
	}
	if err := checkPlans(p.ID, p.ServicePlans, disabled); err != nil {
		return p, err
	}
	if d.s.Seats(p.ID) == 0 {
		if sub := d.selfServiceSubscription(p.ID); sub != nil {
			return p, Errorf(CodeConflict, "%s is held only through subscription %s, bought by %s through self-service: take it over before assigning it", p.Name, sub.ID, sub.PurchasedBy)
		}
	}
	return p, nil
}

func (d decider) selfServiceSubscription(productID string) *Subscription {
	for _, sub := range d.s.Subscriptions {
		if sub.ProductID == productID && !sub.Managed() {
			return sub
		}
	}
	return nil
}

func (d decider) revokeAssignment(m *ledgerv1.RevokeAssignment) ([]proto.Message, error) {
	if err := firstErr(checkID("product_id", m.ProductId), checkUserList(m.UserIds, MaxBulkUsers)); err != nil {
		return nil, err
	}
	p, err := d.product(m.ProductId)
	if err != nil {
		return nil, err
	}
	var vs []Violation
	var evs []proto.Message
	for _, id := range m.UserIds {
		ev, v := d.revokeDirect(id, p)
		if v != nil {
			vs = append(vs, *v)
			continue
		}
		evs = append(evs, ev)
	}
	if err := violationsError("RevokeAssignment", vs); err != nil {
		return nil, err
	}
	return evs, nil
}

// revokeDirect removes the user's direct license of p, or says why not.
func (d decider) revokeDirect(userID string, p catalog.Product) (proto.Message, *Violation) {
	u := d.s.Users[userID]
	if u == nil {
		return nil, &Violation{Subject: userID, Code: CodeNotFound, Detail: fmt.Sprintf("user %q is not in tenant %q", userID, d.s.Tenant)}
	}
	l := u.Licenses[p.ID]
	if l == nil {
		return nil, &Violation{Subject: userID, Code: CodeNotFound, Detail: fmt.Sprintf("%s does not hold %s", userID, p.Name)}
	}
	if !l.Direct {
		return nil, &Violation{Subject: userID, Code: CodeConflict, Detail: fmt.Sprintf("%s holds %s only through group %s: an inherited license is removed on the group, not on the user", userID, p.Name, firstKey(l.Groups))}
	}
	after := &License{ProductID: p.ID, Groups: l.Groups}
	if v := d.checkRemoval(u, p.ID, after); v != nil {
		return nil, v
	}
	return d.licenseRemoved(userID, p.ID, "", after), nil
}

// licenseRemoved is the event of one path of a license going; it records the
// data retention date when the user loses the product altogether (A8).
func (d decider) licenseRemoved(userID, productID, groupID string, after *License) *ledgerv1.LicenseRemoved {
	ev := &ledgerv1.LicenseRemoved{UserId: userID, ProductId: productID, GroupId: groupID}
	if after == nil || !after.Held() {
		ev.DataRetainedUntil = timestamppb.New(d.retentionDate())
	}
	return ev
}

// checkRemoval refuses a change of the user's license of productID (to after,
// nil when it goes) that leaves an enabled plan without a dependency (A4).
func (d decider) checkRemoval(u *User, productID string, after *License) *Violation {
	if switchesOffNothingRequired(u.Licenses[productID], after, d.c.Catalog) {
		return nil
	}
	return d.checkRemovals(u, map[string]*License{productID: after})
}

// checkRemovals is checkRemoval for changes of several of the user's
// licenses made together (product id to the license after, nil when it
// goes), so that licenses whose plans need each other can go at once. Plans
// are checked in order of their ids, so that the refusal is the same on
// every run. A plan that lacked a dependency before the change is not
// refused for it.
func (d decider) checkRemovals(u *User, changes map[string]*License) *Violation {
	cat := d.c.Catalog
	if allSwitchOffNothingRequired(u, changes, cat) {
		return nil
	}
	after := enabledWith(u, changes, cat)
	unmet := cat.Unmet(after)
	if unmet.Empty() {
		return nil // the common case: nothing is left without its dependency
	}
	unmet = unmet.AndNot(cat.Unmet(d.s.EnabledPlans(u, cat)))
	if i := unmet.First(); i >= 0 {
		plan := cat.PlanID(i)
		return &Violation{Subject: u.ID, Code: CodeDependency, Detail: fmt.Sprintf(
			"%s keeps service plan %s, which needs %s that this change removes; remove or switch off %s first",
			u.ID, plan, cat.MissingFor(plan, after)[0], plan)}
	}
	return nil
}

// switchesOffNothingRequired reports whether changing the license from
// before to after (either nil for none) switches no plan on and switches
// off only plans that no plan depends on. Such a change cannot leave a plan
// without its dependency, so checkRemovals need not compute the user's
// plans: the common case of removing a license is then cheap.
func switchesOffNothingRequired(before, after *License, cat *catalog.Catalog) bool {
	var was, now catalog.PlanSet
	if before != nil {
		was = licensePlans(before, cat)
	}
	if after != nil {
		now = licensePlans(after, cat)
	}
	return now.AndNot(was).Empty() && was.AndNot(now).And(cat.Required()).Empty()
}

// allSwitchOffNothingRequired is switchesOffNothingRequired for every
// change of the user's licenses.
func allSwitchOffNothingRequired(u *User, changes map[string]*License, cat *catalog.Catalog) bool {
	for pid, after := range changes {
		if !switchesOffNothingRequired(u.Licenses[pid], after, cat) {
			return false
		}
	}
	return true
}

// enabledWith returns the plans the user would have on with some of their
// licenses replaced: changes maps a product id to its new license (nil:
// removed).
func enabledWith(u *User, changes map[string]*License, cat *catalog.Catalog) catalog.PlanSet {
	var on catalog.PlanSet
	for pid, cur := range u.Licenses {
		if l, ok := changes[pid]; ok {
			cur = l
		}
		if cur != nil {
			on = on.Or(licensePlans(cur, cat))
		}
	}
	return on
}

func (d decider) changeAssignmentPlans(m *ledgerv1.ChangeAssignmentPlans) ([]proto.Message, error) {
	if err := firstErr(checkID("product_id", m.ProductId), checkID("user_id", m.UserId)); err != nil {
		return nil, err
	}
	p, err := d.product(m.ProductId)
	if err != nil {
		return nil, err
	}
	if err := checkPlans(p.ID, p.ServicePlans, m.DisabledPlans); err != nil {
		return nil, err
	}
	u, err := d.user(m.UserId)
	if err != nil {
		return nil, err
	}
	l := u.Licenses[p.ID]
	if l == nil || !l.Direct {
		return nil, Errorf(CodeNotFound, "%s holds no direct license of %s whose plans could change", u.ID, p.Name)
	}
	after := &License{ProductID: p.ID, Direct: true, DirectDisabled: m.DisabledPlans, Groups: l.Groups}
	if v := d.checkPlanChange(u, p, after); v != nil {
		return nil, violationsError("ChangeAssignmentPlans", []Violation{*v})
	}
	return []proto.Message{&ledgerv1.AssignmentPlansChanged{
		UserId: u.ID, ProductId: p.ID, DisabledPlans: m.DisabledPlans, PreviousDisabledPlans: l.DirectDisabled,
	}}, nil
}

// checkPlanChange checks both directions of a change of enabled plans: plans
// turned on must not conflict, plans turned off must not break dependencies.
func (d decider) checkPlanChange(u *User, p catalog.Product, after *License) *Violation {
	if v := d.checkRemoval(u, p.ID, after); v != nil {
		return v
	}
	cat := d.c.Catalog
	before := d.s.EnabledPlans(u, cat)
	now := enabledWith(u, map[string]*License{p.ID: after}, cat)
	added := now.AndNot(before)
	if pairs := cat.ConflictsIn(now, added); len(pairs) > 0 {
		return &Violation{Subject: u.ID, Code: CodeMutuallyExclusive, Detail: fmt.Sprintf(
			"service plans %s and %s are mutually exclusive: %s cannot have both on", pairs[0][0], pairs[0][1], u.ID)}
	}
	if i := cat.Unmet(now).And(added).First(); i >= 0 {
		plan := cat.PlanID(i)
		return &Violation{Subject: u.ID, Code: CodeDependency, Detail: fmt.Sprintf(
			"service plan %s needs %s, which %s would not have on", plan, cat.MissingFor(plan, now)[0], u.ID)}
	}
	return nil
}

func (d decider) unassignAll(m *ledgerv1.UnassignAll) ([]proto.Message, error) {
	if err := checkUserList(m.UserIds, MaxBulkUsers); err != nil {
		return nil, err
	}
	var vs []Violation
	var evs []proto.Message
	for _, id := range m.UserIds {
		u, err := d.user(id)
		if err != nil {
			vs = append(vs, Violation{Subject: id, Code: CodeNotFound, Detail: err.(*Error).Detail})
			continue
		}
		removed, v := d.unassignUser(u)
		if v != nil {
			vs = append(vs, *v)
			continue
		}
		evs = append(evs, removed...)
	}
	if err := violationsError("UnassignAll", vs); err != nil {
		return nil, err
	}
	return evs, nil
}

// unassignUser removes every direct license of the user; inherited ones stay
// (A6). The removals are checked together: licenses whose plans need each
// other go at once, and what the user keeps must still have its
// dependencies (A4, A5).
func (d decider) unassignUser(u *User) ([]proto.Message, *Violation) {
	after := map[string]*License{}
	for pid, l := range u.Licenses {
		if l.Direct {
			after[pid] = &License{ProductID: pid, Groups: l.Groups}
		}
	}
	if v := d.checkRemovals(u, after); v != nil {
		return nil, v
	}
	evs := make([]proto.Message, 0, len(after))
	for _, pid := range sortedKeys(after) {
		evs = append(evs, d.licenseRemoved(u.ID, pid, "", after[pid]))
	}
	return evs, nil
}

func (d decider) assignGroupLicense(m *ledgerv1.AssignGroupLicense) ([]proto.Message, error) {
	if err := firstErr(checkID("group_id", m.GroupId), checkID("product_id", m.ProductId)); err != nil {
		return nil, err
	}
	g, err := d.group(m.GroupId)
	if err != nil {
		return nil, err
	}
	p, err := d.assignableProduct(m.ProductId, m.DisabledPlans)
	if err != nil {
		return nil, err
	}
	if _, ok := g.Licenses[p.ID]; ok {
		return nil, Errorf(CodeConflict, "group %s already holds %s; change its plans or remove it first", g.ID, p.Name)
	}
	evs := []proto.Message{&ledgerv1.GroupLicenseAssigned{GroupId: g.ID, ProductId: p.ID, DisabledPlans: m.DisabledPlans}}
	gr := d.newGrants(len(g.Members))
	for _, uid := range sortedKeys(g.Members) {
		ev, _ := gr.inherit(d.s.Users[uid], g.ID, p, m.DisabledPlans)
		evs = append(evs, ev)
	}
	return evs, nil
}

// inherit grants a group's product to one member, or records why the member
// cannot have it, and returns that refusal: the group's intent stays either
// way (A6). A guest inherits a license only by a Global Administrator's
// command (T3), as a guest is assigned one directly.
func (g *grants) inherit(u *User, groupID string, p catalog.Product, disabled []string) (proto.Message, *Violation) {
	if v := g.check(u, p, disabled, true); v != nil {
		return &ledgerv1.GroupLicenseMemberFailed{GroupId: groupID, ProductId: p.ID, UserId: u.ID, Code: string(v.Code), Detail: v.Detail}, v
	}
	g.take(u, p, disabled)
	return &ledgerv1.LicenseAssigned{UserId: u.ID, ProductId: p.ID, DisabledPlans: disabled, GroupId: groupID}, nil
}

// join adds the user to group grp: they inherit each of its products, or
// are recorded in error for those they cannot get (A6). join returns the
// events and the refusal of each product the user did not get.
func (g *grants) join(u *User, grp *Group) ([]proto.Message, map[string]*Violation) {
	evs := []proto.Message{&ledgerv1.GroupMemberAdded{GroupId: grp.ID, UserId: u.ID}}
	inherited, refused := g.inheritAll(u, grp, sortedKeys(grp.Licenses))
	return append(evs, inherited...), refused
}

// inheritAll grants the group's products to one member, or records why the
// member cannot have each. A product that needs a plan another of them
// brings (an ISV app needing Teams) is granted after that one, whatever
// the order. It returns the events and the refusal of each product the
// member did not get.
func (g *grants) inheritAll(u *User, grp *Group, productIDs []string) ([]proto.Message, map[string]*Violation) {
	var evs []proto.Message
	var pending []catalog.Product
	for _, pid := range productIDs {
		if p, ok := g.d.c.Catalog.ProductView(pid); ok {
			pending = append(pending, p)
		}
	}
	for granted := true; granted; {
		granted = false
		var later []catalog.Product
		for _, p := range pending {
			if g.check(u, p, grp.Licenses[p.ID], true) != nil {
				later = append(later, p)
				continue
			}
			ev, _ := g.inherit(u, grp.ID, p, grp.Licenses[p.ID])
			evs, granted = append(evs, ev), true
		}
		pending = later
	}
	refused := map[string]*Violation{}
	for _, p := range pending {
		ev, v := g.inherit(u, grp.ID, p, grp.Licenses[p.ID])
		evs, refused[p.ID] = append(evs, ev), v
	}
	return evs, refused
}

// reprocessGroupLicenses tries again to give the group's products to the
// members in error: those who do not hold one of them through the group.
func (d decider) reprocessGroupLicenses(m *ledgerv1.ReprocessGroupLicenses) ([]proto.Message, error) {
	if err := checkID("group_id", m.GroupId); err != nil {
		return nil, err
	}
	g, err := d.group(m.GroupId)
	if err != nil {
		return nil, err
	}
	gr := d.newGrants(len(g.Members) * len(g.Licenses))
	var evs []proto.Message
	for _, uid := range sortedKeys(g.Members) {
		u := d.s.Users[uid]
		var missing []string
		for _, pid := range sortedKeys(g.Licenses) {
			if !hasGroup(u.Licenses[pid], g.ID) {
				missing = append(missing, pid)
			}
		}
		inherited, _ := gr.inheritAll(u, g, missing)
		evs = append(evs, inherited...)
	}
	return evs, nil
}

func (d decider) revokeGroupLicense(m *ledgerv1.RevokeGroupLicense) ([]proto.Message, error) {
	if err := firstErr(checkID("group_id", m.GroupId), checkID("product_id", m.ProductId)); err != nil {
		return nil, err
	}
	g, err := d.group(m.GroupId)
	if err != nil {
		return nil, err
	}
	if _, ok := g.Licenses[m.ProductId]; !ok {
		return nil, Errorf(CodeNotFound, "group %s does not hold product %q", g.ID, m.ProductId)
	}
	if err := d.checkGroupRemoval(g, m.ProductId); err != nil {
		return nil, err
	}
	evs := []proto.Message{&ledgerv1.GroupLicenseRemoved{GroupId: g.ID, ProductId: m.ProductId}}
	return append(evs, d.dropInherited(g, m.ProductId, sortedKeys(g.Members))...), nil
}

// checkGroupRemoval refuses to take a group's product away when a member
// would keep a plan whose dependency only that product gave them (A4). It
// lists every member affected, as bulk refusals do.
func (d decider) checkGroupRemoval(g *Group, productID string) error {
	var vs []Violation
	for _, uid := range sortedKeys(g.Members) {
		u := d.s.Users[uid]
		l := u.Licenses[productID]
		if l == nil || !hasGroup(l, g.ID) {
			continue
		}
		after := &License{ProductID: productID, Direct: l.Direct, DirectDisabled: l.DirectDisabled, Groups: without(l.Groups, g.ID)}
		if !after.Held() {
			after = nil
		}
		if v := d.checkRemoval(u, productID, after); v != nil {
			vs = append(vs, *v)
		}
	}
	return violationsError("RevokeGroupLicense", vs)
}

// dropInherited removes the licenses of productID that members hold through
// group g.
func (d decider) dropInherited(g *Group, productID string, members []string) []proto.Message {
	var evs []proto.Message
	for _, uid := range members {
		u := d.s.Users[uid]
		l := u.Licenses[productID]
		if l == nil || !hasGroup(l, g.ID) {
			continue
		}
		after := &License{ProductID: productID, Direct: l.Direct, DirectDisabled: l.DirectDisabled, Groups: without(l.Groups, g.ID)}
		evs = append(evs, d.licenseRemoved(uid, productID, g.ID, after))
	}
	return evs
}

// hasGroup reports whether the license (nil for none) is held through the
// group.
func hasGroup(l *License, groupID string) bool {
	if l == nil {
		return false
	}
	_, ok := l.Groups[groupID]
	return ok
}

func without(m map[string][]string, key string) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
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

func firstKey[V any](m map[string]V) string {
	if ks := sortedKeys(m); len(ks) > 0 {
		return ks[0]
	}
	return ""
}
