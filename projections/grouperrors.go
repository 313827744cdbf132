package projections

import "slices"

// MemberError is a group member who could not get one of the group's
// products, and why (A6): what the Groups page lists as members in error.
type MemberError struct {
	UserID    string `json:"userId"`
	ProductID string `json:"productId"`
	Code      string `json:"code"`
	Detail    string `json:"detail"`
}

// GroupErrors returns a page of the members of the group in error, in user
// id order, every product each lacks; the cursor is the last user id of the
// page.
func (m *Licenses) GroupErrors(tenant, groupID string, p Page) ([]MemberError, string) {
	out := []MemberError{}
	t := m.tenants[tenant]
	if t == nil {
		return out, ""
	}
	byUser := map[string][]MemberError{}
	for id, u := range t.users {
		for k, e := range u.errors {
			if k[0] == groupID {
				byUser[id] = append(byUser[id], MemberError{UserID: id, ProductID: e.ProductID, Code: e.Code, Detail: e.Detail})
			}
		}
	}
	ids, next := page(sortedKeys(byUser), p)
	for _, id := range ids {
		errs := byUser[id]
		slices.SortFunc(errs, func(a, b MemberError) int { return compareStrings(a.ProductID, b.ProductID) })
		out = append(out, errs...)
	}
	return out, next
}

// GroupErrorCounts returns, per group of the tenant, how many of its
// members are in error.
func (m *Licenses) GroupErrorCounts(tenant string) map[string]int {
	out := map[string]int{}
	t := m.tenants[tenant]
	if t == nil {
		return out
	}
	for _, u := range t.users {
		seen := map[string]bool{}
		for k := range u.errors {
			if !seen[k[0]] {
				seen[k[0]] = true
				out[k[0]]++
			}
		}
	}
	return out
}

// ProductHolder is a user who holds a product, and how: the Licenses
// page's list of a product's users.
type ProductHolder struct {
	UserID        string   `json:"userId"`
	Direct        bool     `json:"direct"`
	Groups        []string `json:"groups"`
	DisabledPlans []string `json:"disabledPlans"`
}

// ProductUsers returns a page of the users holding the product, in id order.
func (m *Licenses) ProductUsers(tenant, productID string, p Page) ([]ProductHolder, string) {
	out := []ProductHolder{}
	t := m.tenants[tenant]
	if t == nil {
		return out, ""
	}
	var ids []string
	for id, u := range t.users {
		if u.licenses[productID] != nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	ids, next := page(ids, p)
	for _, id := range ids {
		l := t.users[id].licenses[productID]
		ul := m.userLicense(productID, l)
		out = append(out, ProductHolder{UserID: id, Direct: l.direct, Groups: ul.Groups, DisabledPlans: ul.DisabledPlans})
	}
	return out, next
}
