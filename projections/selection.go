package projections

import "slices"

// Selection statuses: how many of the selected users hold a product (A7).
const (
	SelectionAll  = "all"
	SelectionSome = "some"
	SelectionNone = "none"
)

// SelectionView is one product of the Licenses page seen for a selection of
// users (A7): whether all, some or none of them hold it, and which do, so an
// admin sees what "assign more" or "unassign all" would change before acting.
type SelectionView struct {
	ProductID string `json:"productId"`
	Name      string `json:"name"`
	Status    string `json:"status"` // all, some or none
	// Holders are the selected users who hold the product by any path
	// (directly or through a group), sorted.
	Holders   []string `json:"holders"`
	Available int      `json:"available"`
}

// Selection returns, for every product of the tenant's Licenses page, which
// of the users hold it. A user listed twice counts once; users the tenant
// does not know hold nothing (callers that must refuse them check
// UnknownUsers first).
func (m *Licenses) Selection(tenant string, users []string) []SelectionView {
	t := m.tenants[tenant]
	users = distinct(users)
	products := m.Products(tenant)
	out := make([]SelectionView, 0, len(products))
	for _, p := range products {
		holders := t.holdersAmong(p.ProductID, users)
		out = append(out, SelectionView{
			ProductID: p.ProductID, Name: p.Name, Status: selectionStatus(len(holders), len(users)),
			Holders: holders, Available: p.Available,
		})
	}
	return out
}

// UnknownUsers returns the users the tenant does not know, in the order given.
func (m *Licenses) UnknownUsers(tenant string, users []string) []string {
	t := m.tenants[tenant]
	var out []string
	for _, u := range users {
		if t == nil || t.users[u] == nil {
			out = append(out, u)
		}
	}
	return out
}

// holdersAmong returns the users of the list who hold the product, sorted.
func (t *tenantLicenses) holdersAmong(productID string, users []string) []string {
	out := []string{}
	if t == nil {
		return out
	}
	for _, id := range users {
		if u := t.users[id]; u != nil && u.licenses[productID] != nil {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func selectionStatus(holders, selected int) string {
	switch {
	case holders == 0:
		return SelectionNone
	case holders == selected:
		return SelectionAll
	}
	return SelectionSome
}

func distinct(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}
