package catalog_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/licensing-ledger/ledger/domain/catalog"
)

// setOf returns the set of the indexes.
func setOf(indexes ...int) catalog.PlanSet {
	var s catalog.PlanSet
	for _, i := range indexes {
		s = s.With(i)
	}
	return s
}

func members(s catalog.PlanSet) []int { return slices.Collect(s.All()) }

func TestPlanSet(t *testing.T) {
	// Indexes past 255 live outside the value: both parts are covered.
	a := setOf(0, 3, 63, 64, 255, 256, 700)
	b := setOf(3, 64, 256, 300)
	tests := []struct {
		name string
		got  catalog.PlanSet
		want []int
	}{
		{"All", a, []int{0, 3, 63, 64, 255, 256, 700}},
		{"Or", a.Or(b), []int{0, 3, 63, 64, 255, 256, 300, 700}},
		{"OrSmallWithLarge", setOf(1).Or(b), []int{1, 3, 64, 256, 300}},
		{"And", a.And(b), []int{3, 64, 256}},
		{"AndSmall", a.And(setOf(0, 1)), []int{0}},
		{"AndNot", a.AndNot(b), []int{0, 63, 255, 700}},
		{"AndNotSmall", a.AndNot(setOf(0)), []int{3, 63, 64, 255, 256, 700}},
		{"Empty", catalog.PlanSet{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := members(tt.got); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("members = %v, want %v", got, tt.want)
			}
			if tt.got.Empty() != (len(tt.want) == 0) {
				t.Errorf("Empty() = %v with %v", tt.got.Empty(), tt.want)
			}
			first := -1
			if len(tt.want) > 0 {
				first = tt.want[0]
			}
			if got := tt.got.First(); got != first {
				t.Errorf("First() = %d, want %d", got, first)
			}
		})
	}
	t.Run("Has", func(t *testing.T) {
		for _, i := range []int{-1, 1, 65, 257, 701, 5000} {
			if a.Has(i) {
				t.Errorf("Has(%d) = true", i)
			}
		}
		for _, i := range members(a) {
			if !a.Has(i) {
				t.Errorf("Has(%d) = false", i)
			}
		}
	})
	t.Run("Subset", func(t *testing.T) {
		if !a.And(b).Subset(a) || !a.And(b).Subset(b) || a.Subset(b) || !(catalog.PlanSet{}).Subset(b) {
			t.Error("Subset disagrees with And")
		}
		if setOf(700).Subset(setOf(3)) || !setOf(3).Subset(setOf(3, 700)) {
			t.Error("Subset ignores the words past the inline ones")
		}
	})
	t.Run("EmptyAfterRemovingLargeIndexes", func(t *testing.T) {
		if s := setOf(300).AndNot(setOf(300)); !s.Empty() || s.First() != -1 {
			t.Errorf("%v is not empty", members(s))
		}
	})
	t.Run("ValuesShareNothingWritable", func(t *testing.T) {
		before := members(a)
		_ = a.With(701)
		_ = a.With(1)
		_ = a.Or(setOf(702))
		_ = a.AndNot(setOf(700))
		_ = a.And(setOf(700))
		if got := members(a); !reflect.DeepEqual(got, before) {
			t.Errorf("a changed to %v, was %v", got, before)
		}
	})
	t.Run("AllStopsEarly", func(t *testing.T) {
		n := 0
		for range a.All() {
			if n++; n == 2 {
				break
			}
		}
		if n != 2 {
			t.Errorf("yielded %d", n)
		}
	})
}

func TestPlanIndexes(t *testing.T) {
	c := catalog.Default()
	for i, p := range c.Plans() {
		if got, ok := c.PlanIndex(p.ID); !ok || got != i {
			t.Errorf("PlanIndex(%s) = %d, %v; want %d", p.ID, got, ok, i)
		}
		if got := c.PlanID(i); got != p.ID {
			t.Errorf("PlanID(%d) = %s, want %s", i, got, p.ID)
		}
	}
	if _, ok := c.PlanIndex("NOT_A_PLAN"); ok {
		t.Error("PlanIndex found an unknown plan")
	}
	for _, p := range c.Products() {
		got, ok := c.PlansOf(p.ID)
		if want := c.SetOf(p.ServicePlans); !ok || !reflect.DeepEqual(members(got), members(want)) {
			t.Errorf("PlansOf(%s) = %v, want %v", p.ID, ids(c, got), p.ServicePlans)
		}
	}
	if _, ok := c.PlansOf("NOT_A_PRODUCT"); ok {
		t.Error("PlansOf found an unknown product")
	}
	if got := ids(c, c.SetOf([]string{"MCOEV", "NOT_A_PLAN", "MCOEV"})); !reflect.DeepEqual(got, []string{"MCOEV"}) {
		t.Errorf("SetOf = %v", got)
	}
	if got, want := ids(c, c.Required()), []string{"MCOEV", "MCOSTANDARD", "TEAMS1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Required() = %v, want %v", got, want)
	}
}

func ids(c *catalog.Catalog, s catalog.PlanSet) []string {
	var out []string
	for i := range s.All() {
		out = append(out, c.PlanID(i))
	}
	return out
}

// TestSetsAgreeWithLists checks the answers on sets against Conflicts and
// MissingDependencies for random sets of plans, in the default catalog and
// in one of 300 plans whose rules involve plans past the inline words.
func TestSetsAgreeWithLists(t *testing.T) {
	for name, c := range map[string]*catalog.Catalog{"Default": catalog.Default(), "Large": largeCatalog(t)} {
		t.Run(name, func(t *testing.T) {
			plans := c.Plans()
			rng := rand.New(rand.NewPCG(7, 8))
			for range 2000 {
				var enabled, added []string
				for _, p := range plans {
					if rng.IntN(3) == 0 {
						enabled = append(enabled, p.ID)
						if rng.IntN(2) == 0 {
							added = append(added, p.ID)
						}
					}
				}
				checkAgainstLists(t, c, enabled, added)
			}
		})
	}
}

func checkAgainstLists(t *testing.T, c *catalog.Catalog, enabled, added []string) {
	t.Helper()
	on, add := c.SetOf(enabled), c.SetOf(added)
	var conflicts [][2]string
	for _, p := range c.Conflicts(enabled) {
		if slices.Contains(added, p[0]) || slices.Contains(added, p[1]) {
			conflicts = append(conflicts, p)
		}
	}
	if got := c.ConflictsIn(on, add); !reflect.DeepEqual(got, conflicts) {
		t.Fatalf("ConflictsIn(%v, %v) = %v, want %v", enabled, added, got, conflicts)
	}
	missing := c.MissingDependencies(enabled)
	var unmet []string
	for plan := range missing {
		unmet = append(unmet, plan)
	}
	slices.Sort(unmet)
	if got := ids(c, c.Unmet(on)); !reflect.DeepEqual(got, unmet) {
		t.Fatalf("Unmet(%v) = %v, want %v", enabled, got, unmet)
	}
	for _, plan := range enabled {
		if got := c.MissingFor(plan, on); !reflect.DeepEqual(got, missing[plan]) {
			t.Fatalf("MissingFor(%s) = %v, want %v", plan, got, missing[plan])
		}
	}
}

// largeCatalog has 300 plans P000 to P299 in 10 products; plan n conflicts
// with plan n+151 for n a multiple of 7, and needs plan n-1 for n a
// multiple of 11.
func largeCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	var plans, pairs, deps, products []string
	id := func(n int) string { return fmt.Sprintf("P%03d", n) }
	for n := range 300 {
		plans = append(plans, fmt.Sprintf(`{"id":%q,"name":"Plan %d"}`, id(n), n))
		if n < 149 && n%7 == 0 {
			pairs = append(pairs, fmt.Sprintf(`[%q,%q]`, id(n), id(n+151)))
		}
		if n > 0 && n%11 == 0 {
			deps = append(deps, fmt.Sprintf(`{"plan":%q,"requires":[%q]}`, id(n), id(n-1)))
		}
	}
	for k := range 10 {
		var ps []string
		for n := k; n < 300; n += 10 {
			ps = append(ps, fmt.Sprintf("%q", id(n)))
		}
		products = append(products, fmt.Sprintf(`{"id":"S%d","name":"Sku %d","publisher":"Microsoft","isv":false,"assignable":true,"servicePlans":[%s]}`, k, k, strings.Join(ps, ",")))
	}
	doc := fmt.Sprintf(`{"servicePlans":[%s],"products":[%s],"mutuallyExclusive":[%s],"dependencies":[%s]}`,
		strings.Join(plans, ","), strings.Join(products, ","), strings.Join(pairs, ","), strings.Join(deps, ","))
	c, err := catalog.Load(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
