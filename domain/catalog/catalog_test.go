package catalog_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/licensing-ledger/ledger/domain/catalog"
)

// enabledPlans is what a user holding products (no plan switched off) has
// enabled, with duplicates as they would come from several licenses.
func enabledPlans(t *testing.T, c *catalog.Catalog, productIDs ...string) []string {
	t.Helper()
	var plans []string
	for _, id := range productIDs {
		p, ok := c.Product(id)
		if !ok {
			t.Fatalf("product %q not in the catalog", id)
		}
		plans = append(plans, p.ServicePlans...)
	}
	return plans
}

func without(plans []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(plans), func(id string) bool { return slices.Contains(drop, id) })
}

func TestDefault(t *testing.T) {
	t.Run("LoadsAndValidates", func(t *testing.T) {
		// LoadFile reports a broken file as an error; Default would panic.
		if _, err := catalog.LoadFile("default.json"); err != nil {
			t.Fatalf("default.json: %v", err)
		}
		c := catalog.Default()
		if c == nil || len(c.Products()) == 0 {
			t.Fatal("Default() is empty")
		}
		if catalog.Default() != c {
			t.Error("Default() parsed the embedded file more than once")
		}
	})

	c := catalog.Default()

	t.Run("HasTheProductsAdminsExpect", func(t *testing.T) {
		want := map[string]string{
			"O365_BUSINESS_ESSENTIALS":       "Microsoft 365 Business Basic",
			"O365_BUSINESS_PREMIUM":          "Microsoft 365 Business Standard",
			"SPB":                            "Microsoft 365 Business Premium",
			"ENTERPRISEPACK":                 "Office 365 E3",
			"ENTERPRISEPREMIUM":              "Office 365 E5",
			"EXCHANGESTANDARD":               "Exchange Online (Plan 1)",
			"EXCHANGEENTERPRISE":             "Exchange Online (Plan 2)",
			"Microsoft_Teams_Enterprise_New": "Microsoft Teams Enterprise",
			"VISIOCLIENT":                    "Visio Plan 2",
			"POWER_BI_PRO":                   "Power BI Pro",
			"SHAREPOINTSTORAGE":              "Office 365 Extra File Storage",
		}
		for id, name := range want {
			p, ok := c.Product(id)
			if !ok {
				t.Errorf("product %q missing", id)
				continue
			}
			if p.Name != name {
				t.Errorf("product %q: name %q, want %q", id, p.Name, name)
			}
		}
	})

	t.Run("EveryProductPlanExists", func(t *testing.T) {
		for _, p := range c.Products() {
			for _, id := range p.ServicePlans {
				if _, ok := c.Plan(id); !ok {
					t.Errorf("product %q: service plan %q not in the catalog", p.ID, id)
				}
			}
		}
	})

	t.Run("EveryPlanBelongsToAProduct", func(t *testing.T) {
		for _, plan := range c.Plans() {
			if !slices.ContainsFunc(c.Products(), func(p catalog.Product) bool { return p.HasPlan(plan.ID) }) {
				t.Errorf("service plan %q is in no product (a typo?)", plan.ID)
			}
		}
	})

	t.Run("ExtraStorageIsNotAssignable", func(t *testing.T) {
		for _, p := range c.Products() {
			if want := p.ID != "SHAREPOINTSTORAGE"; p.Assignable != want {
				t.Errorf("product %q: assignable = %v, want %v", p.ID, p.Assignable, want)
			}
		}
	})

	t.Run("ISVAppHasItsOwnPlan", func(t *testing.T) {
		p, ok := c.Product("CONTOSO_FIELDSERVICE")
		if !ok {
			t.Fatal("ISV product missing")
		}
		if !p.ISV || p.Publisher != "Contoso Software" || !p.Assignable {
			t.Errorf("ISV product = %+v", p)
		}
		for _, id := range p.ServicePlans {
			for _, other := range c.Products() {
				if other.ID != p.ID && other.HasPlan(id) {
					t.Errorf("ISV plan %q also in Microsoft product %q", id, other.ID)
				}
			}
		}
	})

	t.Run("OnlyISVProductsHaveAnotherPublisher", func(t *testing.T) {
		for _, p := range c.Products() {
			if p.ISV == (p.Publisher == catalog.MicrosoftPublisher) {
				t.Errorf("product %q: isv %v with publisher %q", p.ID, p.ISV, p.Publisher)
			}
		}
	})
}

func TestExclusiveWith(t *testing.T) {
	c := catalog.Default()
	t.Run("ExchangePlan1AndPlan2", func(t *testing.T) {
		if got := c.ExclusiveWith("EXCHANGE_S_STANDARD"); !reflect.DeepEqual(got, []string{"EXCHANGE_S_ENTERPRISE"}) {
			t.Errorf("ExclusiveWith(EXCHANGE_S_STANDARD) = %v", got)
		}
		if got := c.ExclusiveWith("EXCHANGE_S_ENTERPRISE"); !reflect.DeepEqual(got, []string{"EXCHANGE_S_STANDARD"}) {
			t.Errorf("ExclusiveWith(EXCHANGE_S_ENTERPRISE) = %v", got)
		}
	})
	t.Run("PlanWithoutExclusions", func(t *testing.T) {
		if got := c.ExclusiveWith("TEAMS1"); got != nil {
			t.Errorf("ExclusiveWith(TEAMS1) = %v, want nil", got)
		}
	})
	t.Run("ResultIsACopy", func(t *testing.T) {
		c.ExclusiveWith("EXCHANGE_S_STANDARD")[0] = "MUTATED"
		if got := c.ExclusiveWith("EXCHANGE_S_STANDARD"); got[0] != "EXCHANGE_S_ENTERPRISE" {
			t.Errorf("catalog changed through a returned slice: %v", got)
		}
	})
}

func TestConflicts(t *testing.T) {
	c := catalog.Default()
	exchange := [2]string{"EXCHANGE_S_ENTERPRISE", "EXCHANGE_S_STANDARD"}
	sharepoint := [2]string{"SHAREPOINTENTERPRISE", "SHAREPOINTSTANDARD"}
	e3 := enabledPlans(t, c, "ENTERPRISEPACK")
	tests := []struct {
		name    string
		enabled []string
		want    [][2]string
	}{
		{"ExchangePlan1AndPlan2", enabledPlans(t, c, "EXCHANGESTANDARD", "EXCHANGEENTERPRISE"), [][2]string{exchange}},
		{"ExchangePlan1WithE3", enabledPlans(t, c, "EXCHANGESTANDARD", "ENTERPRISEPACK"), [][2]string{exchange}},
		{"ExchangePlan1WithE5", enabledPlans(t, c, "EXCHANGESTANDARD", "ENTERPRISEPREMIUM"), [][2]string{exchange}},
		{"BusinessBasicWithE3", enabledPlans(t, c, "O365_BUSINESS_ESSENTIALS", "ENTERPRISEPACK"), [][2]string{exchange, sharepoint}},
		{"ExchangePlan1WithE3ExchangeSwitchedOff", append(enabledPlans(t, c, "EXCHANGESTANDARD"), without(e3, "EXCHANGE_S_ENTERPRISE")...), nil},
		{"E3WithExchangePlan2", enabledPlans(t, c, "ENTERPRISEPACK", "EXCHANGEENTERPRISE"), nil},
		{"BusinessPremiumWithTeamsVisioPowerBI", enabledPlans(t, c, "SPB", "Microsoft_Teams_Enterprise_New", "VISIOCLIENT", "POWER_BI_PRO"), nil},
		{"UnknownAndRepeatedIDs", []string{"NOT_A_PLAN", "EXCHANGE_S_STANDARD", "EXCHANGE_S_STANDARD", "EXCHANGE_S_ENTERPRISE"}, [][2]string{exchange}},
		{"Nothing", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Conflicts(tt.enabled); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Conflicts() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMissingDependencies(t *testing.T) {
	c := catalog.Default()
	e5 := enabledPlans(t, c, "ENTERPRISEPREMIUM")
	tests := []struct {
		name    string
		enabled []string
		want    map[string][]string
	}{
		{"CallingPlanAlone", enabledPlans(t, c, "MCOPSTN1"), map[string][]string{"MCOPSTN1": {"MCOEV"}}},
		{"CallingPlanWithPhoneOnBusinessBasic", enabledPlans(t, c, "O365_BUSINESS_ESSENTIALS", "MCOEV", "MCOPSTN1"), nil},
		{"CallingPlanWithE5", enabledPlans(t, c, "ENTERPRISEPREMIUM", "MCOPSTN1"), nil},
		{"PhoneWithoutTeams", enabledPlans(t, c, "EXCHANGESTANDARD", "MCOEV", "MCOPSTN1"), map[string][]string{"MCOEV": {"MCOSTANDARD"}}},
		{"E5WithTeamsCallingSwitchedOff", without(e5, "MCOSTANDARD"), map[string][]string{"MCOEV": {"MCOSTANDARD"}, "MCOMEETADV": {"MCOSTANDARD"}}},
		{"AudioConferencingWithE3", enabledPlans(t, c, "ENTERPRISEPACK", "MCOMEETADV"), nil},
		{"ISVAppWithoutTeams", enabledPlans(t, c, "EXCHANGESTANDARD", "CONTOSO_FIELDSERVICE"), map[string][]string{"CONTOSO_FIELDSERVICE_APP": {"TEAMS1"}}},
		{"ISVAppWithTeamsEnterprise", enabledPlans(t, c, "Microsoft_Teams_Enterprise_New", "CONTOSO_FIELDSERVICE"), nil},
		{"Nothing", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.MissingDependencies(tt.enabled); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MissingDependencies() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRequires(t *testing.T) {
	c := catalog.Default()
	if got := c.Requires("MCOPSTN1"); !reflect.DeepEqual(got, []string{"MCOEV"}) {
		t.Errorf("Requires(MCOPSTN1) = %v", got)
	}
	if got := c.Requires("EXCHANGE_S_STANDARD"); got != nil {
		t.Errorf("Requires(EXCHANGE_S_STANDARD) = %v, want nil", got)
	}
}

func TestAllowedIn(t *testing.T) {
	c := catalog.Default()
	tests := []struct {
		product, country string
		want             bool
	}{
		{"MCOPSTN1", "FR", true},
		{"MCOPSTN1", "fr", true},
		{"MCOPSTN1", "US", true},
		{"MCOPSTN1", "JP", false},
		{"MCOPSTN1", "", false},
		{"CONTOSO_FIELDSERVICE", "GB", true},
		{"CONTOSO_FIELDSERVICE", "DE", false},
		{"ENTERPRISEPACK", "JP", true},
		{"ENTERPRISEPACK", "", false},
		{"ENTERPRISEPACK", "FRA", false},
		{"ENTERPRISEPACK", "F1", false},
	}
	for _, tt := range tests {
		t.Run(tt.product+"In"+tt.country, func(t *testing.T) {
			p, _ := c.Product(tt.product)
			if got := p.AllowedIn(tt.country); got != tt.want {
				t.Errorf("%s.AllowedIn(%q) = %v, want %v", tt.product, tt.country, got, tt.want)
			}
		})
	}
}

func TestProduct(t *testing.T) {
	c := catalog.Default()
	t.Run("Unknown", func(t *testing.T) {
		if _, ok := c.Product("NOT_A_SKU"); ok {
			t.Error("Product(NOT_A_SKU) found")
		}
		if _, ok := c.Plan("NOT_A_PLAN"); ok {
			t.Error("Plan(NOT_A_PLAN) found")
		}
	})
	t.Run("HasPlan", func(t *testing.T) {
		p, _ := c.Product("ENTERPRISEPACK")
		if !p.HasPlan("EXCHANGE_S_ENTERPRISE") || p.HasPlan("EXCHANGE_S_STANDARD") {
			t.Errorf("E3 plans: %v", p.ServicePlans)
		}
	})
	t.Run("EnabledPlans", func(t *testing.T) {
		p, _ := c.Product("VISIOCLIENT")
		got := p.EnabledPlans([]string{"VISIOONLINE", "NOT_IN_VISIO"})
		if want := []string{"VISIO_CLIENT_SUBSCRIPTION", "ONEDRIVE_BASIC"}; !reflect.DeepEqual(got, want) {
			t.Errorf("EnabledPlans = %v, want %v", got, want)
		}
	})
	t.Run("ProductsSortedByID", func(t *testing.T) {
		ids := make([]string, 0)
		for _, p := range c.Products() {
			ids = append(ids, p.ID)
		}
		if !slices.IsSorted(ids) {
			t.Errorf("Products() order: %v", ids)
		}
	})
	t.Run("ResultIsACopy", func(t *testing.T) {
		p, _ := c.Product("SPB")
		p.ServicePlans[0] = "MUTATED"
		c.Products()[0].ServicePlans[0] = "MUTATED"
		if again, _ := c.Product("SPB"); again.ServicePlans[0] == "MUTATED" {
			t.Error("catalog changed through a returned product")
		}
		if c.Products()[0].ServicePlans[0] == "MUTATED" {
			t.Error("catalog changed through Products()")
		}
	})
}

// doc mirrors the file format, so each Load case changes one thing in a
// valid catalog.
type doc struct {
	ServicePlans      []catalog.ServicePlan `json:"servicePlans"`
	Products          []catalog.Product     `json:"products"`
	MutuallyExclusive [][]string            `json:"mutuallyExclusive"`
	Dependencies      []dep                 `json:"dependencies"`
}

type dep struct {
	Plan     string   `json:"plan"`
	Requires []string `json:"requires"`
}

func validDoc() doc {
	return doc{
		ServicePlans: []catalog.ServicePlan{
			{ID: "EXCHANGE_S_STANDARD", Name: "Exchange Online (Plan 1)"},
			{ID: "EXCHANGE_S_ENTERPRISE", Name: "Exchange Online (Plan 2)"},
			{ID: "TEAMS1", Name: "Microsoft Teams"},
			{ID: "MCOEV", Name: "Microsoft 365 Phone System"},
			{ID: "MCOPSTN1", Name: "Microsoft 365 Domestic Calling Plan"},
		},
		Products: []catalog.Product{
			{ID: "EXCHANGESTANDARD", Name: "Exchange Online (Plan 1)", Publisher: "Microsoft", Assignable: true, ServicePlans: []string{"EXCHANGE_S_STANDARD"}},
			{ID: "EXCHANGEENTERPRISE", Name: "Exchange Online (Plan 2)", Publisher: "Microsoft", Assignable: true, ServicePlans: []string{"EXCHANGE_S_ENTERPRISE", "TEAMS1"}},
			{ID: "MCOEV", Name: "Microsoft Teams Phone Standard", Publisher: "Microsoft", Assignable: true, ServicePlans: []string{"MCOEV"}},
			{ID: "MCOPSTN1", Name: "Microsoft 365 Domestic Calling Plan", Publisher: "Microsoft", Assignable: true, ServicePlans: []string{"MCOPSTN1"}, AllowedCountries: []string{"FR", "US"}},
		},
		MutuallyExclusive: [][]string{{"EXCHANGE_S_STANDARD", "EXCHANGE_S_ENTERPRISE"}},
		Dependencies:      []dep{{Plan: "MCOPSTN1", Requires: []string{"MCOEV"}}},
	}
}

func marshal(t *testing.T, d doc) []byte {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoad(t *testing.T) {
	t.Run("Valid", func(t *testing.T) {
		c, err := catalog.Load(bytes.NewReader(marshal(t, validDoc())))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(c.Products()); got != 4 {
			t.Errorf("%d products, want 4", got)
		}
	})
	t.Run("AllowedCountriesOmittedMeansEverywhere", func(t *testing.T) {
		c, err := catalog.Load(strings.NewReader(`{"servicePlans":[{"id":"P","name":"Plan"}],
			"products":[{"id":"S","name":"Sku","publisher":"Microsoft","isv":false,"assignable":true,"servicePlans":["P"]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := c.Product("S"); !p.AllowedIn("NZ") {
			t.Error("product without allowedCountries not allowed in NZ")
		}
	})
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*doc)
		want   []string // every one must appear in the single problem reported
	}{
		{"EmptyPlanID", func(d *doc) { d.ServicePlans = append(d.ServicePlans, catalog.ServicePlan{Name: "Nameless"}) }, []string{"servicePlans[5]", "empty id"}},
		// The duplicate goes last so the products' references still resolve.
		{"DuplicatePlanID", func(d *doc) {
			d.ServicePlans = append(d.ServicePlans, catalog.ServicePlan{ID: "TEAMS1", Name: "Teams again"})
		}, []string{"duplicate service plan", `"TEAMS1"`}},
		{"EmptyPlanName", func(d *doc) { d.ServicePlans[2].Name = " " }, []string{`"TEAMS1"`, "empty name"}},
		{"NoProducts", func(d *doc) { d.Products = nil; d.Dependencies = nil }, []string{"no products"}},
		{"EmptyProductID", func(d *doc) { d.Products[1].ID = "" }, []string{"products[1]", "empty id"}},
		{"DuplicateProductID", func(d *doc) { d.Products[3].ID = "MCOEV" }, []string{"duplicate product id", `"MCOEV"`}},
		{"EmptyProductName", func(d *doc) { d.Products[0].Name = "" }, []string{`"EXCHANGESTANDARD"`, "empty name"}},
		{"EmptyPublisher", func(d *doc) { d.Products[0].Publisher = "" }, []string{`"EXCHANGESTANDARD"`, "empty publisher"}},
		{"ISVWithMicrosoftPublisher", func(d *doc) { d.Products[0].ISV = true }, []string{`"EXCHANGESTANDARD"`, "isv is true"}},
		{"VendorPublisherWithoutISV", func(d *doc) { d.Products[0].Publisher = "Contoso Software" }, []string{`"EXCHANGESTANDARD"`, `"Contoso Software"`, "isv must be true"}},
		{"ProductWithoutPlans", func(d *doc) { d.Products[2].ServicePlans = nil }, []string{`"MCOEV"`, "no service plans"}},
		{"UnknownPlanInProduct", func(d *doc) { d.Products[0].ServicePlans = append(d.Products[0].ServicePlans, "EXCHANGE_S_TYPO") }, []string{`"EXCHANGESTANDARD"`, "unknown service plan", `"EXCHANGE_S_TYPO"`}},
		{"PlanTwiceInProduct", func(d *doc) { d.Products[2].ServicePlans = []string{"MCOEV", "MCOEV"} }, []string{`"MCOEV"`, "listed twice"}},
		{"ProductWithExclusivePlans", func(d *doc) { d.Products[0].ServicePlans = []string{"EXCHANGE_S_STANDARD", "EXCHANGE_S_ENTERPRISE"} }, []string{`"EXCHANGESTANDARD"`, "mutually exclusive", `"EXCHANGE_S_ENTERPRISE"`, `"EXCHANGE_S_STANDARD"`}},
		{"LowerCaseCountry", func(d *doc) { d.Products[3].AllowedCountries = []string{"fr"} }, []string{`"MCOPSTN1"`, "bad country code", `"fr"`}},
		{"ThreeLetterCountry", func(d *doc) { d.Products[3].AllowedCountries = []string{"FRA"} }, []string{`"MCOPSTN1"`, "bad country code", `"FRA"`}},
		{"CountryTwice", func(d *doc) { d.Products[3].AllowedCountries = []string{"FR", "FR"} }, []string{`"MCOPSTN1"`, `country "FR" listed twice`}},
		{"ExclusionNotAPair", func(d *doc) { d.MutuallyExclusive = [][]string{{"EXCHANGE_S_STANDARD"}} }, []string{"mutuallyExclusive[0]", "want 2", "got 1"}},
		{"ExclusionWithUnknownPlan", func(d *doc) { d.MutuallyExclusive = append(d.MutuallyExclusive, []string{"TEAMS1", "SKYPE_TYPO"}) }, []string{"mutuallyExclusive[1]", "unknown service plan", `"SKYPE_TYPO"`}},
		{"ExclusionWithItself", func(d *doc) { d.MutuallyExclusive = append(d.MutuallyExclusive, []string{"TEAMS1", "TEAMS1"}) }, []string{"mutuallyExclusive[1]", `"TEAMS1"`, "exclusive with itself"}},
		{"DuplicateExclusionReversed", func(d *doc) {
			d.MutuallyExclusive = append(d.MutuallyExclusive, []string{"EXCHANGE_S_ENTERPRISE", "EXCHANGE_S_STANDARD"})
		}, []string{"mutuallyExclusive[1]", "duplicate pair", `"EXCHANGE_S_ENTERPRISE"`}},
		{"DependencyOfUnknownPlan", func(d *doc) {
			d.Dependencies = append(d.Dependencies, dep{Plan: "FORMS_TYPO", Requires: []string{"TEAMS1"}})
		}, []string{"dependencies[1]", "unknown service plan", `"FORMS_TYPO"`}},
		{"DependencyOnUnknownPlan", func(d *doc) { d.Dependencies[0].Requires = []string{"MCOEV_TYPO"} }, []string{"dependencies[0]", `"MCOPSTN1"`, "unknown service plan", `"MCOEV_TYPO"`}},
		{"DependencyOnNothing", func(d *doc) { d.Dependencies[0].Requires = nil }, []string{"dependencies[0]", `"MCOPSTN1"`, "requires nothing"}},
		{"DependencyOnItself", func(d *doc) { d.Dependencies[0].Requires = []string{"MCOEV", "MCOPSTN1"} }, []string{"dependencies[0]", `"MCOPSTN1"`, "requires itself"}},
		{"RequirementTwice", func(d *doc) { d.Dependencies[0].Requires = []string{"MCOEV", "MCOEV"} }, []string{"dependencies[0]", `"MCOPSTN1"`, `"MCOEV" twice`}},
		{"SecondEntryForPlan", func(d *doc) {
			d.Dependencies = append(d.Dependencies, dep{Plan: "MCOPSTN1", Requires: []string{"TEAMS1"}})
		}, []string{"dependencies[1]", "second entry", `"MCOPSTN1"`}},
		{"DependencyCycle", func(d *doc) {
			d.Dependencies = append(d.Dependencies, dep{Plan: "MCOEV", Requires: []string{"TEAMS1"}}, dep{Plan: "TEAMS1", Requires: []string{"MCOPSTN1"}})
		}, []string{"dependency cycle", "MCOEV -> TEAMS1 -> MCOPSTN1 -> MCOEV"}},
		{"DependencyOnExclusivePlan", func(d *doc) {
			d.Dependencies = append(d.Dependencies, dep{Plan: "EXCHANGE_S_STANDARD", Requires: []string{"EXCHANGE_S_ENTERPRISE"}})
		}, []string{`"EXCHANGE_S_STANDARD" can never be enabled`, "mutually exclusive"}},
		{"IndirectDependencyOnExclusivePlans", func(d *doc) {
			d.Dependencies = append(d.Dependencies,
				dep{Plan: "TEAMS1", Requires: []string{"EXCHANGE_S_STANDARD", "MCOEV"}},
				dep{Plan: "MCOEV", Requires: []string{"EXCHANGE_S_ENTERPRISE"}})
		}, []string{`"TEAMS1" can never be enabled`, `"EXCHANGE_S_ENTERPRISE"`, `"EXCHANGE_S_STANDARD"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDoc()
			tt.change(&d)
			_, err := catalog.Load(bytes.NewReader(marshal(t, d)))
			if !errors.Is(err, catalog.ErrInvalid) {
				t.Fatalf("err = %v, want one wrapping ErrInvalid", err)
			}
			var verr *catalog.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if len(verr.Problems) != 1 {
				t.Fatalf("problems = %q, want exactly one", verr.Problems)
			}
			for _, w := range tt.want {
				if !strings.Contains(verr.Problems[0], w) {
					t.Errorf("problem %q does not mention %q", verr.Problems[0], w)
				}
			}
			if !strings.Contains(err.Error(), verr.Problems[0]) {
				t.Errorf("Error() = %q leaves out the problem", err)
			}
		})
	}
}

func TestLoadMalformed(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"Empty", "", "EOF"},
		{"Syntax", `{"servicePlans": [}`, "invalid character"},
		{"WrongType", `{"products": {"id": "SPB"}}`, "cannot unmarshal"},
		{"UnknownKey", `{"servicePlan": []}`, `unknown field "servicePlan"`},
		{"TrailingData", `{"servicePlans": []} {}`, "after the catalog object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := catalog.Load(strings.NewReader(tt.input))
			if !errors.Is(err, catalog.ErrInvalid) {
				t.Fatalf("err = %v, want one wrapping ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), "malformed JSON") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to mention malformed JSON and %q", err, tt.want)
			}
		})
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	d := validDoc()
	d.ServicePlans[2].Name = ""
	d.Products[3].AllowedCountries = []string{"France"}
	d.MutuallyExclusive = append(d.MutuallyExclusive, []string{"MCOEV", "MCOEV"})
	_, err := catalog.Load(bytes.NewReader(marshal(t, d)))
	var verr *catalog.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want a *ValidationError", err)
	}
	if len(verr.Problems) != 3 {
		t.Errorf("problems = %q, want 3", verr.Problems)
	}
	if !strings.Contains(err.Error(), "3 problems") {
		t.Errorf("Error() = %q", err)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	t.Run("Valid", func(t *testing.T) {
		path := filepath.Join(dir, "catalog.json")
		if err := os.WriteFile(path, marshal(t, validDoc()), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := catalog.LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := c.Product("MCOPSTN1"); !ok {
			t.Error("product MCOPSTN1 missing")
		}
	})
	t.Run("InvalidNamesTheFile", func(t *testing.T) {
		path := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(path, []byte(`{"products": []}`), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := catalog.LoadFile(path)
		if !errors.Is(err, catalog.ErrInvalid) || !strings.Contains(err.Error(), path) {
			t.Errorf("err = %v, want ErrInvalid naming %s", err, path)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		_, err := catalog.LoadFile(filepath.Join(dir, "absent.json"))
		if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("err = %v, want a not-exist error that is not ErrInvalid", err)
		}
	})
}
