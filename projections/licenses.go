package projections

import (
	"maps"
	"slices"
	"strings"

	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/internal/intern"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// Licenses is the read model of seats and of who holds what: the Licenses
// page (seats per product over all its subscriptions, S2), the Products page
// (one row per subscription), and each user's licenses.
type Licenses struct {
	catalog *catalog.Catalog
	tenants map[string]*tenantLicenses
}

type tenantLicenses struct {
	subs    map[string]*SubscriptionView
	users   map[string]*userLicenses
	holders map[string]int // product -> users holding it by any path
	names   intern.Strings // one copy of each product id its licenses name
}

// userLicenses is what one user holds; its maps stay nil until used, since
// a tenant has many users and most have few licenses and no errors.
type userLicenses struct {
	guest    bool
	licenses map[string]*heldLicense
	errors   map[[2]string]LicenseError // (group, product) -> why the member lacks it
}

type heldLicense struct {
	direct         bool
	directDisabled []string
	groups         map[string][]string // nil when inherited from no group
}

// NewLicenses returns an empty Licenses model naming products from cat.
func NewLicenses(cat *catalog.Catalog) *Licenses {
	return &Licenses{catalog: cat, tenants: map[string]*tenantLicenses{}}
}

func (m *Licenses) tenant(id string) *tenantLicenses {
	t := m.tenants[id]
	if t == nil {
		t = &tenantLicenses{subs: map[string]*SubscriptionView{}, users: map[string]*userLicenses{}, holders: map[string]int{}}
		m.tenants[id] = t
	}
	return t
}

// Apply evolves the model by one event.
func (m *Licenses) Apply(e *ledgerv1.Event) {
	t := m.tenant(e.GetTenant())
	switch p := e.Payload.(type) {
	case *ledgerv1.Event_SubscriptionPurchased:
		s := p.SubscriptionPurchased
		t.subs[s.SubscriptionId] = &SubscriptionView{
			SubscriptionID: s.SubscriptionId, ProductID: s.ProductId, Seats: int(s.Seats),
			Channel: enumName(s.Channel.String(), "CHANNEL_"), State: "active", SelfServiceOwner: s.PurchasedBy,
		}
	case *ledgerv1.Event_SeatsChanged:
		if s := t.subs[p.SeatsChanged.SubscriptionId]; s != nil {
			s.Seats = int(p.SeatsChanged.Seats)
		}
	case *ledgerv1.Event_SubscriptionStateChanged:
		if s := t.subs[p.SubscriptionStateChanged.SubscriptionId]; s != nil {
			s.State = enumName(p.SubscriptionStateChanged.State.String(), "SUBSCRIPTION_STATE_")
		}
	case *ledgerv1.Event_SubscriptionTakenOver:
		if s := t.subs[p.SubscriptionTakenOver.SubscriptionId]; s != nil {
			s.SelfServiceOwner = ""
		}
	case *ledgerv1.Event_UserRegistered:
		t.users[p.UserRegistered.UserId] = &userLicenses{guest: p.UserRegistered.Guest}
	case *ledgerv1.Event_UserRemoved:
		delete(t.users, p.UserRemoved.UserId)
	case *ledgerv1.Event_LicenseAssigned:
		t.assign(p.LicenseAssigned)
	case *ledgerv1.Event_LicenseRemoved:
		t.remove(p.LicenseRemoved)
	case *ledgerv1.Event_AssignmentPlansChanged:
		if u := t.users[p.AssignmentPlansChanged.UserId]; u != nil {
			if l := u.licenses[p.AssignmentPlansChanged.ProductId]; l != nil {
				l.directDisabled = p.AssignmentPlansChanged.DisabledPlans
			}
		}
	case *ledgerv1.Event_GroupLicenseMemberFailed:
		f := p.GroupLicenseMemberFailed
		if u := t.users[f.UserId]; u != nil {
			if u.errors == nil {
				u.errors = map[[2]string]LicenseError{}
			}
			u.errors[[2]string{f.GroupId, f.ProductId}] = LicenseError{GroupID: f.GroupId, ProductID: f.ProductId, Code: f.Code, Detail: f.Detail}
		}
	case *ledgerv1.Event_GroupLicenseRemoved:
		key := [2]string{p.GroupLicenseRemoved.GroupId, p.GroupLicenseRemoved.ProductId}
		for _, u := range t.users {
			delete(u.errors, key) // the group no longer means them to hold it
		}
	case *ledgerv1.Event_GroupMemberRemoved:
		if u := t.users[p.GroupMemberRemoved.UserId]; u != nil {
			for k := range u.errors {
				if k[0] == p.GroupMemberRemoved.GroupId {
					delete(u.errors, k)
				}
			}
		}
	}
}

func (t *tenantLicenses) assign(e *ledgerv1.LicenseAssigned) {
	u := t.users[e.UserId]
	if u == nil {
		return
	}
	l := u.licenses[e.ProductId]
	if l == nil {
		if u.licenses == nil {
			u.licenses = map[string]*heldLicense{}
		}
		l = &heldLicense{}
		u.licenses[t.names.Of(e.ProductId)] = l
		t.holders[e.ProductId]++
	}
	if e.GroupId == "" {
		l.direct, l.directDisabled = true, e.DisabledPlans
		return
	}
	if l.groups == nil {
		l.groups = map[string][]string{}
	}
	l.groups[e.GroupId] = e.DisabledPlans
	delete(u.errors, [2]string{e.GroupId, e.ProductId})
}

func (t *tenantLicenses) remove(e *ledgerv1.LicenseRemoved) {
	u := t.users[e.UserId]
	if u == nil || u.licenses[e.ProductId] == nil {
		return
	}
	l := u.licenses[e.ProductId]
	if e.GroupId == "" {
		l.direct, l.directDisabled = false, nil
	} else {
		delete(l.groups, e.GroupId)
	}
	if !l.direct && len(l.groups) == 0 {
		delete(u.licenses, e.ProductId)
		t.holders[e.ProductId]--
	}
}

// ProductView is one row of the Licenses page: a product's seats added up
// over all its subscriptions (S2).
type ProductView struct {
	ProductID     string             `json:"productId"`
	Name          string             `json:"name"`
	Total         int                `json:"total"`
	Assigned      int                `json:"assigned"`
	Available     int                `json:"available"`
	Subscriptions []SubscriptionView `json:"subscriptions"`
}

// SubscriptionView is one row of the Products page: one subscription.
type SubscriptionView struct {
	SubscriptionID string `json:"subscriptionId"`
	ProductID      string `json:"productId"`
	Seats          int    `json:"seats"`
	Channel        string `json:"channel"`
	State          string `json:"state"`
	// SelfServiceOwner is the user who bought it through self-service and
	// still manages it; its seats count once an admin takes it over (S3).
	SelfServiceOwner string `json:"selfServiceOwner,omitempty"`
}

// counts reports whether the subscription's seats can be assigned by admins.
func (s *SubscriptionView) counts() bool {
	return (s.State == "active" || s.State == "grace") && s.SelfServiceOwner == ""
}

// Products returns the Licenses page of a tenant: every assignable product
// it has a subscription for, in product id order.
func (m *Licenses) Products(tenant string) []ProductView {
	t := m.tenants[tenant]
	if t == nil {
		return []ProductView{}
	}
	byProduct := map[string]*ProductView{}
	for _, id := range sortedKeys(t.subs) {
		s := t.subs[id]
		p, ok := m.catalog.Product(s.ProductID)
		if ok && !p.Assignable {
			continue // add-ons appear among products, never among licenses (C1)
		}
		v := byProduct[s.ProductID]
		if v == nil {
			v = &ProductView{ProductID: s.ProductID, Name: p.Name, Assigned: t.holders[s.ProductID], Subscriptions: []SubscriptionView{}}
			byProduct[s.ProductID] = v
		}
		if s.counts() {
			v.Total += s.Seats
		}
		v.Subscriptions = append(v.Subscriptions, *s)
	}
	out := make([]ProductView, 0, len(byProduct))
	for _, id := range sortedKeys(byProduct) {
		v := byProduct[id]
		v.Available = v.Total - v.Assigned
		out = append(out, *v)
	}
	return out
}

// Subscriptions returns the Products page of a tenant: one row per
// subscription, add-ons included.
func (m *Licenses) Subscriptions(tenant string) []SubscriptionView {
	t := m.tenants[tenant]
	out := []SubscriptionView{}
	if t == nil {
		return out
	}
	for _, id := range sortedKeys(t.subs) {
		out = append(out, *t.subs[id])
	}
	return out
}

// UserLicense is one product a user holds, with how and which plans are on.
type UserLicense struct {
	ProductID     string   `json:"productId"`
	Name          string   `json:"name"`
	Direct        bool     `json:"direct"`
	Groups        []string `json:"groups"`
	DisabledPlans []string `json:"disabledPlans"`
	EnabledPlans  []string `json:"enabledPlans"`
}

// LicenseError is a group's product a member could not get (A6).
type LicenseError struct {
	GroupID   string `json:"groupId"`
	ProductID string `json:"productId"`
	Code      string `json:"code"`
	Detail    string `json:"detail"`
}

// UserView is a user's licenses and license errors.
type UserView struct {
	UserID   string         `json:"userId"`
	Guest    bool           `json:"guest"`
	Licenses []UserLicense  `json:"licenses"`
	Errors   []LicenseError `json:"errors"`
}

// User returns a user's licenses, or false if the tenant has no such user.
func (m *Licenses) User(tenant, userID string) (UserView, bool) {
	t := m.tenants[tenant]
	if t == nil || t.users[userID] == nil {
		return UserView{}, false
	}
	u := t.users[userID]
	v := UserView{UserID: userID, Guest: u.guest, Licenses: []UserLicense{}, Errors: []LicenseError{}}
	for _, pid := range sortedKeys(u.licenses) {
		v.Licenses = append(v.Licenses, m.userLicense(pid, u.licenses[pid]))
	}
	for _, k := range sortedErrorKeys(u.errors) {
		v.Errors = append(v.Errors, u.errors[k])
	}
	return v, true
}

func (m *Licenses) userLicense(productID string, l *heldLicense) UserLicense {
	p, _ := m.catalog.Product(productID)
	ul := UserLicense{ProductID: productID, Name: p.Name, Direct: l.direct, Groups: sortedKeys(l.groups), DisabledPlans: []string{}, EnabledPlans: []string{}}
	for _, plan := range p.ServicePlans {
		if enabledOnAnyPath(l, plan) {
			ul.EnabledPlans = append(ul.EnabledPlans, plan)
		} else {
			ul.DisabledPlans = append(ul.DisabledPlans, plan)
		}
	}
	return ul
}

func enabledOnAnyPath(l *heldLicense, plan string) bool {
	if l.direct && !slices.Contains(l.directDisabled, plan) {
		return true
	}
	for _, disabled := range l.groups {
		if !slices.Contains(disabled, plan) {
			return true
		}
	}
	return false
}

// Holders returns, for each product of the tenant, how many users hold it.
func (m *Licenses) Holders(tenant string) map[string]int {
	out := map[string]int{}
	if t := m.tenants[tenant]; t != nil {
		for p, n := range t.holders {
			if n > 0 {
				out[p] = n
			}
		}
	}
	return out
}

func enumName(s, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(s, prefix))
}

// sortedKeys returns the keys of m in order (never nil), for deterministic
// output.
func sortedKeys[V any](m map[string]V) []string {
	keys := slices.AppendSeq(make([]string, 0, len(m)), maps.Keys(m))
	slices.Sort(keys)
	return keys
}

func sortedErrorKeys(m map[[2]string]LicenseError) [][2]string {
	out := make([][2]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1]) })
	return out
}
