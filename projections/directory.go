package projections

import (
	"slices"
	"strings"
	"time"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// Directory is the read model of the tenant's directory as the console
// lists it (T2, U2): users with their names, emails and groups; groups with
// their members and products. Names let every page show a person's display
// name beside their id.
type Directory struct {
	tenants map[string]*tenantDirectory
}

type tenantDirectory struct {
	users    map[string]*DirectoryUser
	groups   map[string]*groupEntry
	partners map[string]PartnerView
}

// PartnerView is a partner's relationship with the tenant (T3): the roles
// it grants and, for a GDAP relationship, when it ends.
type PartnerView struct {
	PartnerID string    `json:"partnerId"`
	Roles     []string  `json:"roles"`
	GrantedAt time.Time `json:"grantedAt"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// DirectoryUser is one user of the Users page.
type DirectoryUser struct {
	UserID        string   `json:"userId"`
	DisplayName   string   `json:"displayName"`
	Email         string   `json:"email"`
	UsageLocation string   `json:"usageLocation"`
	Guest         bool     `json:"guest"`
	Groups        []string `json:"groups"` // sorted
}

type groupEntry struct {
	id, name string
	members  map[string]bool
	products map[string][]string // product -> disabled plans
}

// NewDirectory returns an empty Directory model.
func NewDirectory() *Directory {
	return &Directory{tenants: map[string]*tenantDirectory{}}
}

func (m *Directory) tenant(id string) *tenantDirectory {
	t := m.tenants[id]
	if t == nil {
		t = &tenantDirectory{users: map[string]*DirectoryUser{}, groups: map[string]*groupEntry{}, partners: map[string]PartnerView{}}
		m.tenants[id] = t
	}
	return t
}

// Apply evolves the model by one event.
func (m *Directory) Apply(e *ledgerv1.Event) {
	switch p := e.Payload.(type) {
	case *ledgerv1.Event_UserRegistered:
		u := p.UserRegistered
		m.tenant(e.GetTenant()).users[u.UserId] = &DirectoryUser{
			UserID: u.UserId, DisplayName: u.DisplayName, Email: u.Email, UsageLocation: u.UsageLocation, Guest: u.Guest, Groups: []string{},
		}
	case *ledgerv1.Event_UserUpdated:
		if u := m.tenant(e.GetTenant()).users[p.UserUpdated.UserId]; u != nil {
			c := p.UserUpdated
			if c.DisplayName != "" {
				u.DisplayName = c.DisplayName
			}
			if c.Email != "" {
				u.Email = c.Email
			}
			if c.UsageLocation != "" {
				u.UsageLocation = c.UsageLocation
			}
		}
	case *ledgerv1.Event_UserRemoved:
		t := m.tenant(e.GetTenant())
		if u := t.users[p.UserRemoved.UserId]; u != nil {
			for _, g := range u.Groups {
				if ge := t.groups[g]; ge != nil {
					delete(ge.members, u.UserID)
				}
			}
		}
		delete(t.users, p.UserRemoved.UserId)
	case *ledgerv1.Event_GroupCreated:
		g := p.GroupCreated
		m.tenant(e.GetTenant()).groups[g.GroupId] = &groupEntry{id: g.GroupId, name: g.Name, members: map[string]bool{}, products: map[string][]string{}}
	case *ledgerv1.Event_GroupMemberAdded:
		t := m.tenant(e.GetTenant())
		g, u := t.groups[p.GroupMemberAdded.GroupId], t.users[p.GroupMemberAdded.UserId]
		if g == nil || u == nil {
			return
		}
		g.members[u.UserID] = true
		if i, found := slices.BinarySearch(u.Groups, g.id); !found {
			u.Groups = slices.Insert(u.Groups, i, g.id)
		}
	case *ledgerv1.Event_GroupMemberRemoved:
		t := m.tenant(e.GetTenant())
		gid, uid := p.GroupMemberRemoved.GroupId, p.GroupMemberRemoved.UserId
		if g := t.groups[gid]; g != nil {
			delete(g.members, uid)
		}
		if u := t.users[uid]; u != nil {
			if i, found := slices.BinarySearch(u.Groups, gid); found {
				u.Groups = slices.Delete(u.Groups, i, i+1)
			}
		}
	case *ledgerv1.Event_GroupLicenseAssigned:
		if g := m.tenant(e.GetTenant()).groups[p.GroupLicenseAssigned.GroupId]; g != nil {
			g.products[p.GroupLicenseAssigned.ProductId] = p.GroupLicenseAssigned.DisabledPlans
		}
	case *ledgerv1.Event_PartnerDelegationGranted:
		g := p.PartnerDelegationGranted
		v := PartnerView{PartnerID: g.PartnerId, Roles: slices.Clone(g.Roles), GrantedAt: e.GetTime().AsTime()}
		if g.ExpiresAt != nil {
			v.ExpiresAt = g.ExpiresAt.AsTime()
		}
		m.tenant(e.GetTenant()).partners[g.PartnerId] = v
	case *ledgerv1.Event_PartnerDelegationRevoked:
		delete(m.tenant(e.GetTenant()).partners, p.PartnerDelegationRevoked.PartnerId)
	case *ledgerv1.Event_PartnerDelegationExpired:
		delete(m.tenant(e.GetTenant()).partners, p.PartnerDelegationExpired.PartnerId)
	case *ledgerv1.Event_GroupLicenseRemoved:
		if g := m.tenant(e.GetTenant()).groups[p.GroupLicenseRemoved.GroupId]; g != nil {
			delete(g.products, p.GroupLicenseRemoved.ProductId)
		}
	}
}

// Partners returns the partners' relationships with the tenant, by
// partner id, those whose end has passed but is not yet recorded included.
func (m *Directory) Partners(tenant string) []PartnerView {
	out := []PartnerView{}
	if t := m.tenants[tenant]; t != nil {
		for _, id := range sortedKeys(t.partners) {
			out = append(out, t.partners[id])
		}
	}
	return out
}

// DisplayName returns the user's display name, or "" for an unknown user.
func (m *Directory) DisplayName(tenant, userID string) string {
	if t := m.tenants[tenant]; t != nil {
		if u := t.users[userID]; u != nil {
			return u.DisplayName
		}
	}
	return ""
}

// UserEntry returns one user of the directory.
func (m *Directory) UserEntry(tenant, userID string) (DirectoryUser, bool) {
	if t := m.tenants[tenant]; t != nil {
		if u := t.users[userID]; u != nil {
			c := *u
			c.Groups = slices.Clone(u.Groups)
			return c, true
		}
	}
	return DirectoryUser{}, false
}

// Page is one page of a list: at most Limit items after the cursor, and the
// cursor of the next page ("" on the last one). Cursors are the id of the
// last item of a page, so a page stays right while items are added or
// removed before it.
type Page struct {
	After string
	Limit int
}

// MaxPageSize bounds a page of any list.
const MaxPageSize = 200

// page cuts the sorted ids to the page and returns the next cursor.
func page(ids []string, p Page) ([]string, string) {
	start, _ := slices.BinarySearch(ids, p.After)
	if p.After != "" && start < len(ids) && ids[start] == p.After {
		start++
	}
	ids = ids[start:]
	limit := p.Limit
	if limit <= 0 || limit > MaxPageSize {
		limit = MaxPageSize
	}
	if len(ids) <= limit {
		return ids, ""
	}
	return ids[:limit], ids[limit-1]
}

// matches reports whether any field holds the search text, ignoring case.
func matches(search string, fields ...string) bool {
	if search == "" {
		return true
	}
	search = strings.ToLower(search)
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), search) {
			return true
		}
	}
	return false
}

// Users returns a page of the tenant's users in id order, those whose id,
// display name or email contains search (ignoring case), and the cursor of
// the next page.
func (m *Directory) Users(tenant, search string, p Page) ([]DirectoryUser, string) {
	t := m.tenants[tenant]
	out := []DirectoryUser{}
	if t == nil {
		return out, ""
	}
	var ids []string
	for id, u := range t.users {
		if matches(search, u.UserID, u.DisplayName, u.Email) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	ids, next := page(ids, p)
	for _, id := range ids {
		u := *t.users[id]
		u.Groups = slices.Clone(u.Groups)
		out = append(out, u)
	}
	return out, next
}

// GroupView is one group of the Groups page.
type GroupView struct {
	GroupID  string             `json:"groupId"`
	Name     string             `json:"name"`
	Members  int                `json:"memberCount"`
	Products []GroupProductView `json:"products"`
}

// GroupProductView is a product assigned to a group, with the plans it
// switches off.
type GroupProductView struct {
	ProductID     string   `json:"productId"`
	Name          string   `json:"name"`
	DisabledPlans []string `json:"disabledPlans"`
}

// Person is a user id with the display name a reader sees beside it.
type Person struct {
	UserID      string `json:"userId"`
	DisplayName string `json:"displayName"`
}

func (t *tenantDirectory) groupView(g *groupEntry, name func(string) string) GroupView {
	v := GroupView{GroupID: g.id, Name: g.name, Members: len(g.members), Products: []GroupProductView{}}
	for _, pid := range sortedKeys(g.products) {
		disabled := g.products[pid]
		if disabled == nil {
			disabled = []string{}
		}
		v.Products = append(v.Products, GroupProductView{ProductID: pid, Name: name(pid), DisabledPlans: slices.Clone(disabled)})
	}
	return v
}

// Groups returns a page of the tenant's groups in id order, those whose id
// or name contains search; productName names their products.
func (m *Directory) Groups(tenant, search string, p Page, productName func(string) string) ([]GroupView, string) {
	t := m.tenants[tenant]
	out := []GroupView{}
	if t == nil {
		return out, ""
	}
	var ids []string
	for id, g := range t.groups {
		if matches(search, id, g.name) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	ids, next := page(ids, p)
	for _, id := range ids {
		out = append(out, t.groupView(t.groups[id], productName))
	}
	return out, next
}

// Group returns one group.
func (m *Directory) Group(tenant, groupID string, productName func(string) string) (GroupView, bool) {
	t := m.tenants[tenant]
	if t == nil || t.groups[groupID] == nil {
		return GroupView{}, false
	}
	return t.groupView(t.groups[groupID], productName), true
}

// Members returns a page of a group's members in id order, with their
// display names; false if there is no such group.
func (m *Directory) Members(tenant, groupID string, p Page) ([]Person, string, bool) {
	t := m.tenants[tenant]
	if t == nil || t.groups[groupID] == nil {
		return nil, "", false
	}
	ids, next := page(sortedKeys(t.groups[groupID].members), p)
	out := make([]Person, 0, len(ids))
	for _, id := range ids {
		name := ""
		if u := t.users[id]; u != nil {
			name = u.DisplayName
		}
		out = append(out, Person{UserID: id, DisplayName: name})
	}
	return out, next, true
}

// Named returns the request with the names a reader sees beside its ids:
// the product's (given), and the display name of every person it names
// (requester, users, recipients of shares, the admin who decided) whom the
// directory knows.
func (m *Directory) Named(tenant string, r RequestView, productName string) RequestView {
	r.ProductName = productName
	var ids []string
	add := func(list ...string) {
		for _, id := range list {
			if id != "" && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	add(r.RequesterID)
	add(r.UserIDs...)
	add(r.SharedWith...)
	add(r.DecidedBy)
	r.People = nil
	for _, id := range ids {
		if name := m.DisplayName(tenant, id); name != "" {
			r.People = append(r.People, Person{UserID: id, DisplayName: name})
		}
	}
	return r
}
