// Package catalog is the product catalog the ledger validates licenses
// against (requirement C1): which products (SKUs) exist, which service plans
// each contains, which plans may not be enabled together on one user, which
// plans need others, whether a product can be assigned to users at all, and
// where it may be used.
//
// The package is pure: a Catalog is built once by Load (or Default) and is
// immutable afterwards, so one value is shared by every goroutine without
// locking, and every answer is a function of the catalog and the arguments.
//
// # File format
//
// A catalog is one JSON object with camelCase keys. Unknown keys are an error,
// so a misspelt key is reported instead of silently ignored:
//
//	{
//	  "servicePlans": [
//	    {"id": "EXCHANGE_S_STANDARD", "name": "Exchange Online (Plan 1)"},
//	    {"id": "EXCHANGE_S_ENTERPRISE", "name": "Exchange Online (Plan 2)"},
//	    {"id": "MCOEV", "name": "Microsoft 365 Phone System"},
//	    {"id": "MCOPSTN1", "name": "Microsoft 365 Domestic Calling Plan"}
//	  ],
//	  "products": [
//	    {
//	      "id": "MCOPSTN1",
//	      "name": "Microsoft 365 Domestic Calling Plan",
//	      "publisher": "Microsoft",
//	      "isv": false,
//	      "assignable": true,
//	      "servicePlans": ["MCOPSTN1"],
//	      "allowedCountries": ["FR", "GB", "US"]
//	    }
//	  ],
//	  "mutuallyExclusive": [["EXCHANGE_S_STANDARD", "EXCHANGE_S_ENTERPRISE"]],
//	  "dependencies": [{"plan": "MCOPSTN1", "requires": ["MCOEV"]}]
//	}
//
// The fields of a product are those of Product: id is the SKU part number;
// isv is true exactly when the publisher is not "Microsoft"; assignable is
// false for tenant-wide add-ons such as extra storage; allowedCountries lists
// upper-case ISO 3166-1 alpha-2 codes and is omitted (or empty) for a product
// sold everywhere.
//
// A pair in mutuallyExclusive means a user may not have both plans enabled,
// whichever products they come from. A dependency means the plan may only be
// enabled on a user who also has every plan in requires enabled (all of
// them, from any product). Load checks the whole file and reports every
// problem it finds; see ValidationError.
package catalog

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
)

// MicrosoftPublisher is the publisher of every first-party product. A product
// with any other publisher is sold by an independent vendor and must say so
// with ISV, which is how the admin center tells the two apart.
const MicrosoftPublisher = "Microsoft"

// Product is a SKU a tenant can subscribe to.
type Product struct {
	ID               string   `json:"id"`                         // SKU part number, e.g. "SPB"
	Name             string   `json:"name"`                       // display name, e.g. "Microsoft 365 Business Premium"
	Publisher        string   `json:"publisher"`                  // "Microsoft" or the ISV's name
	ISV              bool     `json:"isv"`                        // sold by an independent software vendor
	Assignable       bool     `json:"assignable"`                 // false for tenant-wide add-ons (extra storage): never a user's license
	ServicePlans     []string `json:"servicePlans"`               // ids of the service plans the product contains
	AllowedCountries []string `json:"allowedCountries,omitempty"` // ISO 3166-1 alpha-2 usage locations; empty means everywhere
}

// ServicePlan is one app or service inside products, the unit an admin
// switches on or off on an assignment (A2).
type ServicePlan struct {
	ID   string `json:"id"`   // e.g. "EXCHANGE_S_STANDARD"
	Name string `json:"name"` // e.g. "Exchange Online (Plan 1)"
}

// AllowedIn reports whether the product may be used by a user whose usage
// location is country (a two-letter ISO 3166-1 code, in either case). An
// empty or malformed country is never allowed, even for a product sold
// everywhere: a user without a usage location cannot be licensed (A4).
func (p Product) AllowedIn(country string) bool {
	country = strings.ToUpper(country)
	if !validCountry(country) {
		return false
	}
	return len(p.AllowedCountries) == 0 || slices.Contains(p.AllowedCountries, country)
}

// HasPlan reports whether the product contains the service plan id, which is
// what an assignment may switch off.
func (p Product) HasPlan(id string) bool {
	return slices.Contains(p.ServicePlans, id)
}

// EnabledPlans returns the product's service plans minus those in disabled,
// in the product's order: what one assignment actually grants. Ids in
// disabled that the product does not contain are ignored; callers that must
// refuse them check HasPlan first.
func (p Product) EnabledPlans(disabled []string) []string {
	enabled := make([]string, 0, len(p.ServicePlans))
	for _, id := range p.ServicePlans {
		if !slices.Contains(disabled, id) {
			enabled = append(enabled, id)
		}
	}
	return enabled
}

// clone returns a deep copy, so callers cannot change the catalog through
// the slices of a Product they were given.
func (p Product) clone() Product {
	p.ServicePlans = slices.Clone(p.ServicePlans)
	p.AllowedCountries = slices.Clone(p.AllowedCountries)
	return p
}

// Catalog is a validated, immutable product catalog. Build one with Load,
// LoadFile or Default; the zero value is an empty catalog.
type Catalog struct {
	products   []Product           // sorted by ID
	productIdx map[string]int      // product ID -> index in products
	plans      []ServicePlan       // sorted by ID
	planIdx    map[string]int      // plan ID -> index in plans
	exclusive  map[string][]string // plan -> plans exclusive with it, sorted
	pairs      [][2]string         // every exclusive pair, each sorted, list sorted
	requires   map[string][]string // plan -> plans it depends on, sorted

	// The same rules over plan indexes, for the domain's hot paths (PlanSet).
	productPlans []PlanSet // by product index: the product's plans
	pairIdx      [][2]int  // by pair: the indexes of pairs[i]
	requireSets  []PlanSet // by plan index: the plans it depends on
	needy        PlanSet   // the plans that depend on any
	required     PlanSet   // the plans any depends on
}

// Product returns the product with the given SKU id.
func (c *Catalog) Product(id string) (Product, bool) {
	i, ok := c.productIdx[id]
	if !ok {
		return Product{}, false
	}
	return c.products[i].clone(), true
}

// ProductView is Product without the copy, for hot paths that decide
// commands: the product's slices are the catalog's own and must not be
// modified.
func (c *Catalog) ProductView(id string) (Product, bool) {
	i, ok := c.productIdx[id]
	if !ok {
		return Product{}, false
	}
	return c.products[i], true
}

// PlansOf returns the service plans of the product with the given SKU id
// as a set: what an assignment of it enables when it switches nothing off.
func (c *Catalog) PlansOf(id string) (PlanSet, bool) {
	i, ok := c.productIdx[id]
	if !ok {
		return PlanSet{}, false
	}
	return c.productPlans[i], true
}

// PlanIndex returns the index of the service plan id in the catalog's
// PlanSets; the indexes follow the plans' ids in order, from 0 to
// len(Plans())-1.
func (c *Catalog) PlanIndex(id string) (int, bool) {
	i, ok := c.planIdx[id]
	return i, ok
}

// PlanID returns the id of the service plan with index i, which must be
// one of the catalog's: it names the plans of a PlanSet in messages.
func (c *Catalog) PlanID(i int) string { return c.plans[i].ID }

// SetOf returns the set of the service plans ids; unknown ids are left out,
// as a disabled plan a product does not contain switches nothing off.
func (c *Catalog) SetOf(ids []string) PlanSet {
	var s PlanSet
	for _, id := range ids {
		if i, ok := c.planIdx[id]; ok {
			s = s.With(i)
		}
	}
	return s
}

// Products returns every product, sorted by id, so listings and reports built
// from it are the same on every run.
func (c *Catalog) Products() []Product {
	out := make([]Product, len(c.products))
	for i, p := range c.products {
		out[i] = p.clone()
	}
	return out
}

// Plan returns the service plan with the given id.
func (c *Catalog) Plan(id string) (ServicePlan, bool) {
	i, ok := c.planIdx[id]
	if !ok {
		return ServicePlan{}, false
	}
	return c.plans[i], true
}

// Plans returns every service plan, sorted by id.
func (c *Catalog) Plans() []ServicePlan {
	return slices.Clone(c.plans)
}

// ExclusiveWith returns the plans that may not be enabled on a user together
// with plan, sorted; nil when there are none or the plan is unknown.
func (c *Catalog) ExclusiveWith(plan string) []string {
	return slices.Clone(c.exclusive[plan])
}

// Requires returns the plans that plan directly depends on, sorted; nil when
// it depends on nothing or is unknown.
func (c *Catalog) Requires(plan string) []string {
	return slices.Clone(c.requires[plan])
}

// Conflicts returns every pair of mutually exclusive plans that are both in
// enabled, the set of plans a user would have enabled across all their
// licenses. Each pair is sorted and the list is sorted, so the refusal
// message (MutuallyExclusiveViolation, A4) is the same on every run; nil
// when there is no conflict. Ids that appear more than once count once;
// unknown ids have no rules.
func (c *Catalog) Conflicts(enabled []string) [][2]string {
	set := toSet(enabled)
	var out [][2]string
	for _, p := range c.pairs {
		if set[p[0]] && set[p[1]] {
			out = append(out, p)
		}
	}
	return out
}

// MissingDependencies maps each plan in enabled to those of its direct
// dependencies that are not in enabled (sorted); plans with nothing missing
// are left out, and the map is nil when nothing is missing. The domain
// refuses such a set with a DependencyViolation (A4), whether the plan is
// being enabled or its dependency is being switched off or removed.
func (c *Catalog) MissingDependencies(enabled []string) map[string][]string {
	set := toSet(enabled)
	var out map[string][]string
	for plan := range set {
		var missing []string
		for _, req := range c.requires[plan] {
			if !set[req] {
				missing = append(missing, req)
			}
		}
		if missing != nil {
			if out == nil {
				out = make(map[string][]string)
			}
			out[plan] = missing
		}
	}
	return out
}

// ConflictsIn returns the pairs of mutually exclusive plans that are both
// in enabled and of which at least one is in added: the conflicts a change
// that switches added on brings, for the refusal (MutuallyExclusiveViolation,
// A4). Pass enabled as added for every conflict. Each pair is sorted and the
// list is sorted, as in Conflicts; nil when there is none.
func (c *Catalog) ConflictsIn(enabled, added PlanSet) [][2]string {
	var out [][2]string
	for i, p := range c.pairIdx {
		if enabled.Has(p[0]) && enabled.Has(p[1]) && (added.Has(p[0]) || added.Has(p[1])) {
			out = append(out, c.pairs[i])
		}
	}
	return out
}

// Unmet returns the plans of enabled that lack a direct dependency in
// enabled: empty when the set breaks no dependency, the common case, which
// costs a few word operations (DependencyViolation, A4).
func (c *Catalog) Unmet(enabled PlanSet) PlanSet {
	var out PlanSet
	for i := range enabled.And(c.needy).All() {
		if !c.requireSets[i].Subset(enabled) {
			out = out.With(i)
		}
	}
	return out
}

// Required returns the plans that some plan directly depends on: switching
// off only other plans cannot leave a plan without its dependency, so a
// removal that does can be allowed without looking at the user's plans.
func (c *Catalog) Required() PlanSet { return c.required }

// MissingFor returns the direct dependencies of plan that are not in
// enabled, sorted; nil when none is missing or the plan is unknown. It
// names what Unmet found missing.
func (c *Catalog) MissingFor(plan string, enabled PlanSet) []string {
	var missing []string
	for _, req := range c.requires[plan] {
		if !enabled.Has(c.planIdx[req]) {
			missing = append(missing, req)
		}
	}
	return missing
}

// index builds the rules over plan indexes, once the plans are sorted.
func (c *Catalog) index() {
	c.productPlans = make([]PlanSet, len(c.products))
	for i, p := range c.products {
		c.productPlans[i] = c.SetOf(p.ServicePlans)
	}
	c.pairIdx = make([][2]int, len(c.pairs))
	for i, p := range c.pairs {
		c.pairIdx[i] = [2]int{c.planIdx[p[0]], c.planIdx[p[1]]}
	}
	c.requireSets = make([]PlanSet, len(c.plans))
	for plan, reqs := range c.requires {
		i := c.planIdx[plan]
		c.requireSets[i] = c.SetOf(reqs)
		c.needy = c.needy.With(i)
		c.required = c.required.Or(c.requireSets[i])
	}
}

func toSet(ids []string) map[string]bool {
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set
}

// ErrInvalid is what every error from Load and LoadFile wraps, so a caller
// (ledgerd at start-up) can tell a bad catalog from an I/O failure.
var ErrInvalid = errors.New("invalid catalog")

// ValidationError lists every problem Load found in a catalog, each naming
// the product, plan or entry at fault, so an operator fixes a file in one
// pass instead of one error per restart.
type ValidationError struct {
	Problems []string
}

// Error reports the problems one per line.
func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid catalog: " + e.Problems[0]
	}
	return fmt.Sprintf("invalid catalog: %d problems:\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Is makes errors.Is(err, ErrInvalid) hold for a *ValidationError.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// file is the JSON document Load reads; see the package documentation.
type file struct {
	ServicePlans      []ServicePlan `json:"servicePlans"`
	Products          []Product     `json:"products"`
	MutuallyExclusive [][]string    `json:"mutuallyExclusive"`
	Dependencies      []dependency  `json:"dependencies"`
}

type dependency struct {
	Plan     string   `json:"plan"`
	Requires []string `json:"requires"`
}

// Load reads a catalog in the JSON format described in the package
// documentation and validates it. A malformed document or any inconsistency
// (unknown or duplicate ids, an exclusion of a plan with itself, a
// dependency cycle, a plan that could never be enabled, a bad country code,
// ...) is an error wrapping ErrInvalid; inconsistencies come as a
// *ValidationError listing them all.
func Load(r io.Reader) (*Catalog, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: malformed JSON: %w", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: malformed JSON: unexpected data after the catalog object", ErrInvalid)
	}
	return build(f)
}

// LoadFile reads and validates the catalog in the file at path; ledgerd uses
// it for --catalog so an operator can replace the default catalog.
func LoadFile(path string) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	defer f.Close()
	c, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	return c, nil
}

//go:embed default.json
var defaultJSON []byte

var defaultCatalog = sync.OnceValue(func() *Catalog {
	c, err := Load(bytes.NewReader(defaultJSON))
	if err != nil {
		panic("catalog: embedded default.json: " + err.Error())
	}
	return c
})

// Default returns the catalog shipped in the binary (default.json), parsed
// once on first use and shared afterwards. It panics only if the embedded
// file is invalid, which the package tests rule out before a release.
func Default() *Catalog { return defaultCatalog() }

// validCountry reports whether code has the shape of an ISO 3166-1 alpha-2
// code: two upper-case ASCII letters.
func validCountry(code string) bool {
	return len(code) == 2 && isUpper(code[0]) && isUpper(code[1])
}

func isUpper(b byte) bool { return 'A' <= b && b <= 'Z' }
