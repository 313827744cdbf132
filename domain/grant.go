package domain

import (
	"fmt"
	"strings"

	"github.com/licensing-ledger/ledger/domain/catalog"
)

// grants plans the licenses one decision hands out. It checks each grant
// against the state plus the grants already planned in the same decision, so
// that seats and service plan conflicts add up across the users and products
// of a bulk or group action.
type grants struct {
	d decider
	// planned lists the grants planned so far, for the plans they switch
	// on and the pairs of user and product they make; a decision plans a
	// few, and checks each user once, so lists beat maps.
	planned []plannedGrant
	// taken counts the seats the planned grants take, per product.
	taken []productSeats
}

// plannedGrant is one grant of the plan: a user gets the product's plans
// but the disabled ones.
type plannedGrant struct {
	user      string
	productID string
	disabled  []string
}

// productSeats is a number of seats of one product.
type productSeats struct {
	productID string
	n         int
}

// newGrants starts an empty plan for about n grants.
func (d decider) newGrants(n int) *grants {
	return &grants{d: d, planned: make([]plannedGrant, 0, n)}
}

// holds reports whether the user holds the product, in the state or the plan.
func (g *grants) holds(u *User, productID string) bool {
	if u.Licenses[productID] != nil {
		return true
	}
	for _, pg := range g.planned {
		if pg.user == u.ID && pg.productID == productID {
			return true
		}
	}
	return false
}

// seats returns the seats of the product the planned grants take.
func (g *grants) seats(productID string) int {
	for _, t := range g.taken {
		if t.productID == productID {
			return t.n
		}
	}
	return 0
}

// available returns the product's seats left after the planned grants.
func (g *grants) available(productID string) int {
	return g.d.s.Available(productID) - g.seats(productID)
}

// check returns why the user cannot get the product with those plans off, or
// nil. guestRule applies the rule that only a Global Administrator assigns
// licenses to guests (T3).
func (g *grants) check(u *User, p catalog.Product, disabled []string, guestRule bool) *Violation {
	if v := g.checkEligible(u, p, guestRule); v != nil {
		return v
	}
	if v := g.checkPlans(u, p, disabled); v != nil {
		return v
	}
	if !g.holds(u, p.ID) && g.available(p.ID) < 1 {
		return g.countViolation(u.ID, p, 1)
	}
	return nil
}

// checkEligible applies the rules about who may hold the product at all.
func (g *grants) checkEligible(u *User, p catalog.Product, guestRule bool) *Violation {
	if !p.Assignable {
		return &Violation{Subject: u.ID, Code: CodeValidationFailed, Detail: fmt.Sprintf("%s (%s) cannot be assigned to users", p.Name, p.ID)}
	}
	if guestRule && u.Guest && !g.d.hasRole(GlobalAdministrator) {
		return &Violation{Subject: u.ID, Code: CodeForbidden, Detail: fmt.Sprintf("%s is a guest: assigning a license to a guest needs the role %s", u.ID, GlobalAdministrator)}
	}
	if u.UsageLocation == "" {
		return &Violation{Subject: u.ID, Code: CodeProhibitedUsageLocation, Detail: fmt.Sprintf("%s has no usage location: set one before assigning %s", u.ID, p.Name)}
	}
	if !p.AllowedIn(u.UsageLocation) {
		return &Violation{Subject: u.ID, Code: CodeProhibitedUsageLocation, Detail: fmt.Sprintf("%s is not available in %s, the usage location of %s (allowed: %s)", p.Name, u.UsageLocation, u.ID, strings.Join(p.AllowedCountries, ", "))}
	}
	return nil
}

// checkPlans refuses plans that conflict with, or depend on plans missing
// from, what the user would then have on (A4).
func (g *grants) checkPlans(u *User, p catalog.Product, disabled []string) *Violation {
	cat := g.d.c.Catalog
	on := g.enabled(u)
	added := pathPlans(p.ID, disabled, cat).AndNot(on)
	if added.Empty() {
		return nil // nothing switched on: nothing can conflict or lack a dependency
	}
	on = on.Or(added)
	if pairs := cat.ConflictsIn(on, added); len(pairs) > 0 {
		return &Violation{Subject: u.ID, Code: CodeMutuallyExclusive, Detail: fmt.Sprintf(
			"service plans %s and %s are mutually exclusive: %s would get both with %s; switch one off or remove the license that holds the other",
			pairs[0][0], pairs[0][1], u.ID, p.Name)}
	}
	if unmet := cat.Unmet(on).And(added); !unmet.Empty() {
		plan := firstOf(p.ServicePlans, unmet, cat)
		return &Violation{Subject: u.ID, Code: CodeDependency, Detail: fmt.Sprintf(
			"service plan %s of %s needs %s, which %s would not have on; turn it on or switch %s off",
			plan, p.Name, strings.Join(cat.MissingFor(plan, on), ", "), u.ID, plan)}
	}
	return nil
}

// firstOf returns the first of plans, in their order, that is in set.
func firstOf(plans []string, set catalog.PlanSet, cat *catalog.Catalog) string {
	for _, plan := range plans {
		if i, ok := cat.PlanIndex(plan); ok && set.Has(i) {
			return plan
		}
	}
	return ""
}

// enabled returns the plans the user has on, planned grants included.
func (g *grants) enabled(u *User) catalog.PlanSet {
	cat := g.d.c.Catalog
	on := g.d.s.EnabledPlans(u, cat)
	for _, pg := range g.planned {
		if pg.user == u.ID {
			on = on.Or(pathPlans(pg.productID, pg.disabled, cat))
		}
	}
	return on
}

// take records a grant checked with check.
func (g *grants) take(u *User, p catalog.Product, disabled []string) {
	if !g.holds(u, p.ID) {
		g.takeSeat(p.ID)
	}
	g.planned = append(g.planned, plannedGrant{user: u.ID, productID: p.ID, disabled: disabled})
}

// takeSeat counts one more seat of the product taken by the plan.
func (g *grants) takeSeat(productID string) {
	for i := range g.taken {
		if g.taken[i].productID == productID {
			g.taken[i].n++
			return
		}
	}
	g.taken = append(g.taken, productSeats{productID: productID, n: 1})
}

func (g *grants) countViolation(subject string, p catalog.Product, needed int) *Violation {
	avail := max(g.available(p.ID), 0)
	return &Violation{Subject: subject, Code: CodeCountViolation, Detail: fmt.Sprintf(
		"%s (%s): %s needed, %d available of %d: %d short; buy %d more or unassign some",
		p.Name, p.ID, plural(needed, "license"), avail, g.d.s.Seats(p.ID), needed-avail, needed-avail)}
}
