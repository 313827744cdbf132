package catalog

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// builder validates a decoded file and builds the Catalog's indexes from it,
// collecting every problem instead of stopping at the first.
type builder struct {
	c        *Catalog
	problems []string
}

func (b *builder) problem(format string, args ...any) {
	b.problems = append(b.problems, fmt.Sprintf(format, args...))
}

// build checks f and returns the catalog, or a *ValidationError.
func build(f file) (*Catalog, error) {
	b := &builder{c: &Catalog{
		productIdx: make(map[string]int),
		planIdx:    make(map[string]int),
		exclusive:  make(map[string][]string),
		requires:   make(map[string][]string),
	}}
	b.servicePlans(f.ServicePlans)
	b.exclusions(f.MutuallyExclusive) // before products: a product may not contain an exclusive pair
	b.products(f.Products)
	b.dependencies(f.Dependencies)
	if len(b.problems) > 0 {
		return nil, &ValidationError{Problems: b.problems}
	}
	c := b.c
	slices.SortFunc(c.plans, func(x, y ServicePlan) int { return cmp.Compare(x.ID, y.ID) })
	for i, p := range c.plans {
		c.planIdx[p.ID] = i
	}
	slices.SortFunc(c.products, func(x, y Product) int { return cmp.Compare(x.ID, y.ID) })
	for i, p := range c.products {
		c.productIdx[p.ID] = i
	}
	slices.SortFunc(c.pairs, func(x, y [2]string) int {
		return cmp.Or(cmp.Compare(x[0], y[0]), cmp.Compare(x[1], y[1]))
	})
	for _, ids := range c.exclusive {
		slices.Sort(ids)
	}
	c.index()
	return c, nil
}

func (b *builder) knownPlan(id string) bool {
	_, ok := b.c.planIdx[id]
	return ok
}

func (b *builder) servicePlans(plans []ServicePlan) {
	for i, p := range plans {
		switch {
		case p.ID == "":
			b.problem("servicePlans[%d]: empty id", i)
			continue
		case b.knownPlan(p.ID):
			b.problem("duplicate service plan id %q", p.ID)
			continue
		case strings.TrimSpace(p.Name) == "":
			b.problem("service plan %q: empty name", p.ID)
		}
		// Indexed now so later sections can look plans up; build re-indexes
		// after sorting.
		b.c.planIdx[p.ID] = len(b.c.plans)
		b.c.plans = append(b.c.plans, p)
	}
}

func (b *builder) products(products []Product) {
	if len(products) == 0 {
		b.problem("no products")
	}
	for i, p := range products {
		if p.ID == "" {
			b.problem("products[%d]: empty id", i)
			continue
		}
		if _, dup := b.c.productIdx[p.ID]; dup {
			b.problem("duplicate product id %q", p.ID)
			continue
		}
		b.c.productIdx[p.ID] = len(b.c.products)
		b.product(p)
		b.c.products = append(b.c.products, p)
	}
}

func (b *builder) product(p Product) {
	if strings.TrimSpace(p.Name) == "" {
		b.problem("product %q: empty name", p.ID)
	}
	switch {
	case strings.TrimSpace(p.Publisher) == "":
		b.problem("product %q: empty publisher", p.ID)
	case p.ISV && p.Publisher == MicrosoftPublisher:
		b.problem("product %q: isv is true but the publisher is %q", p.ID, MicrosoftPublisher)
	case !p.ISV && p.Publisher != MicrosoftPublisher:
		b.problem("product %q: publisher %q is not %q, so isv must be true", p.ID, p.Publisher, MicrosoftPublisher)
	}
	if len(p.ServicePlans) == 0 {
		b.problem("product %q: no service plans", p.ID)
	}
	for i, id := range p.ServicePlans {
		switch {
		case !b.knownPlan(id):
			b.problem("product %q: unknown service plan %q", p.ID, id)
		case slices.Contains(p.ServicePlans[:i], id):
			b.problem("product %q: service plan %q listed twice", p.ID, id)
		}
	}
	for _, pair := range b.c.pairs {
		if p.HasPlan(pair[0]) && p.HasPlan(pair[1]) {
			b.problem("product %q: contains mutually exclusive service plans %q and %q", p.ID, pair[0], pair[1])
		}
	}
	for i, cc := range p.AllowedCountries {
		switch {
		case !validCountry(cc):
			b.problem("product %q: bad country code %q (want ISO 3166-1 alpha-2 in upper case, e.g. \"FR\")", p.ID, cc)
		case slices.Contains(p.AllowedCountries[:i], cc):
			b.problem("product %q: country %q listed twice", p.ID, cc)
		}
	}
}

func (b *builder) exclusions(pairs [][]string) {
	for i, pair := range pairs {
		if len(pair) != 2 {
			b.problem("mutuallyExclusive[%d]: want 2 service plan ids, got %d", i, len(pair))
			continue
		}
		ok := true
		for _, id := range pair {
			if !b.knownPlan(id) {
				b.problem("mutuallyExclusive[%d]: unknown service plan %q", i, id)
				ok = false
			}
		}
		if !ok {
			continue
		}
		x, y := min(pair[0], pair[1]), max(pair[0], pair[1])
		switch {
		case x == y:
			b.problem("mutuallyExclusive[%d]: service plan %q is exclusive with itself", i, x)
		case slices.Contains(b.c.pairs, [2]string{x, y}):
			b.problem("mutuallyExclusive[%d]: duplicate pair %q, %q", i, x, y)
		default:
			b.c.pairs = append(b.c.pairs, [2]string{x, y})
			b.c.exclusive[x] = append(b.c.exclusive[x], y)
			b.c.exclusive[y] = append(b.c.exclusive[y], x)
		}
	}
}

func (b *builder) dependencies(deps []dependency) {
	for i, d := range deps {
		if !b.knownPlan(d.Plan) {
			b.problem("dependencies[%d]: unknown service plan %q", i, d.Plan)
			continue
		}
		if _, dup := b.c.requires[d.Plan]; dup {
			b.problem("dependencies[%d]: second entry for plan %q (list all its requirements in one entry)", i, d.Plan)
			continue
		}
		if len(d.Requires) == 0 {
			b.problem("dependencies[%d]: plan %q requires nothing", i, d.Plan)
			continue
		}
		var reqs []string
		for j, req := range d.Requires {
			switch {
			case !b.knownPlan(req):
				b.problem("dependencies[%d]: plan %q requires unknown service plan %q", i, d.Plan, req)
			case req == d.Plan:
				b.problem("dependencies[%d]: plan %q requires itself", i, d.Plan)
			case slices.Contains(d.Requires[:j], req):
				b.problem("dependencies[%d]: plan %q requires %q twice", i, d.Plan, req)
			default:
				reqs = append(reqs, req)
			}
		}
		slices.Sort(reqs)
		b.c.requires[d.Plan] = reqs
	}
	b.cycles()
	b.satisfiable()
}

// sortedKeys returns the plans that have dependencies, sorted, so problems
// are reported in the same order on every run.
func (b *builder) sortedKeys() []string {
	keys := make([]string, 0, len(b.c.requires))
	for k := range b.c.requires {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// cycles reports every dependency cycle: plans that each need the other can
// never be enabled one after the other, so the file is wrong.
func (b *builder) cycles() {
	const (
		unvisited = iota
		inProgress
		done
	)
	state := make(map[string]int)
	var path []string
	var visit func(plan string)
	visit = func(plan string) {
		state[plan] = inProgress
		path = append(path, plan)
		for _, req := range b.c.requires[plan] {
			switch state[req] {
			case unvisited:
				visit(req)
			case inProgress:
				start := slices.Index(path, req)
				cycle := append(slices.Clone(path[start:]), req)
				b.problem("dependency cycle: %s", strings.Join(cycle, " -> "))
			}
		}
		path = path[:len(path)-1]
		state[plan] = done
	}
	for _, plan := range b.sortedKeys() {
		if state[plan] == unvisited {
			visit(plan)
		}
	}
}

// satisfiable reports each plan that could never be enabled because it needs,
// directly or through other plans, two plans that are mutually exclusive (or
// one that is exclusive with the plan itself).
func (b *builder) satisfiable() {
	for _, plan := range b.sortedKeys() {
		needed := b.closure(plan)
		for _, pair := range b.c.pairs {
			if slices.Contains(needed, pair[0]) && slices.Contains(needed, pair[1]) {
				b.problem("plan %q can never be enabled: it needs %q and %q, which are mutually exclusive", plan, pair[0], pair[1])
			}
		}
	}
}

// closure returns plan and every plan it needs, directly or not.
func (b *builder) closure(plan string) []string {
	seen := []string{plan}
	for i := 0; i < len(seen); i++ {
		for _, req := range b.c.requires[seen[i]] {
			if !slices.Contains(seen, req) {
				seen = append(seen, req)
			}
		}
	}
	return seen
}
