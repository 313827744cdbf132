package domain

import (
	"fmt"
	"slices"
	"strings"

	"github.com/licensing-ledger/ledger/domain/catalog"
)

// grants plans the licenses one decision hands out. It checks each grant
// against the state plus the grants already planned in the same decision, so
// that seats and service plan conflicts add up across the users and products
// of a bulk or group action.
type grants struct {
	d decider
	// seats taken per product by the grants planned so far.
	seats map[string]int
	// planned lists the grants planned so far, for the plans they switch
	// on; a decision plans a few, so a list beats a map of sets.
	planned []plannedGrant
	// held marks user/product pairs granted by the plan so far.
	held map[[2]string]bool
}

// plannedGrant is one grant of the plan: a user gets the product's plans
// but the disabled ones.
type plannedGrant struct {
	user     string
	plans    []string
	disabled []string
}

func (d decider) newGrants() *grants {
	return &grants{d: d, seats: map[string]int{}, held: map[[2]string]bool{}}
}

// holds reports whether the user holds the product, in the state or the plan.
func (g *grants) holds(u *User, productID string) bool {
	return u.Licenses[productID] != nil || g.held[[2]string{u.ID, productID}]
}

// available returns the product's seats left after the planned grants.
func (g *grants) available(productID string) int {
	return g.d.s.Available(productID) - g.seats[productID]
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
	on := g.enabled(u)
	var added []string
	for _, plan := range p.ServicePlans {
		if !slices.Contains(disabled, plan) && !on[plan] {
			added = append(added, plan)
			on[plan] = true
		}
	}
	if len(added) == 0 {
		return nil // nothing switched on: nothing can conflict or lack a dependency
	}
	cat := g.d.c.Catalog
	for _, pair := range cat.ConflictsIn(on) {
		if slices.Contains(added, pair[0]) || slices.Contains(added, pair[1]) {
			return &Violation{Subject: u.ID, Code: CodeMutuallyExclusive, Detail: fmt.Sprintf(
				"service plans %s and %s are mutually exclusive: %s would get both with %s; switch one off or remove the license that holds the other",
				pair[0], pair[1], u.ID, p.Name)}
		}
	}
	for _, plan := range added {
		if deps := cat.MissingFor(plan, on); len(deps) > 0 {
			return &Violation{Subject: u.ID, Code: CodeDependency, Detail: fmt.Sprintf(
				"service plan %s of %s needs %s, which %s would not have on; turn it on or switch %s off",
				plan, p.Name, strings.Join(deps, ", "), u.ID, plan)}
		}
	}
	return nil
}

// enabled returns the plans the user has on, planned grants included.
func (g *grants) enabled(u *User) map[string]bool {
	on := g.d.s.EnabledPlans(u, g.d.c.Catalog)
	for _, pg := range g.planned {
		if pg.user != u.ID {
			continue
		}
		for _, plan := range pg.plans {
			if !slices.Contains(pg.disabled, plan) {
				on[plan] = true
			}
		}
	}
	return on
}

// take records a grant checked with check.
func (g *grants) take(u *User, p catalog.Product, disabled []string) {
	if !g.holds(u, p.ID) {
		g.seats[p.ID]++
		g.held[[2]string{u.ID, p.ID}] = true
	}
	g.planned = append(g.planned, plannedGrant{user: u.ID, plans: p.ServicePlans, disabled: disabled})
}

func (g *grants) countViolation(subject string, p catalog.Product, needed int) *Violation {
	avail := max(g.available(p.ID), 0)
	return &Violation{Subject: subject, Code: CodeCountViolation, Detail: fmt.Sprintf(
		"%s (%s): %s needed, %d available of %d: %d short; buy %d more or unassign some",
		p.Name, p.ID, plural(needed, "license"), avail, g.d.s.Seats(p.ID), needed-avail, needed-avail)}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
