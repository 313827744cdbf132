package audit

import (
	"strconv"
	"strings"

	"github.com/licensing-ledger/ledger/domain/catalog"
)

var guestColumns = []string{"userId", "productId", "productName", "direct", "groups", "enabledPlans"}

// GuestRow is one license a guest held at the end of the period.
type GuestRow struct {
	UserID       string   `json:"userId"`
	ProductID    string   `json:"productId"`
	ProductName  string   `json:"productName"`
	Direct       bool     `json:"direct"`
	Groups       []string `json:"groups"`
	EnabledPlans []string `json:"enabledPlans"`
}

// Values returns the row's cells; lists are separated by spaces.
func (r GuestRow) Values() []string {
	return []string{r.UserID, r.ProductID, r.ProductName, strconv.FormatBool(r.Direct), strings.Join(r.Groups, " "), strings.Join(r.EnabledPlans, " ")}
}

// buildGuests replays the read models to the end of the period and lists
// the licenses of the users who are guests.
func buildGuests(r *Report, src Source, cat *catalog.Catalog) error {
	v := newViews(cat, r.Tenant, r.To)
	at, err := replayUntil(src, r.Tenant, r.To, v)
	r.at(at)
	if err != nil {
		return err
	}
	for _, u := range v.userViews() {
		if !u.Guest {
			continue
		}
		for _, l := range u.Licenses {
			r.Rows = append(r.Rows, GuestRow{UserID: u.UserID, ProductID: l.ProductID, ProductName: l.Name, Direct: l.Direct, Groups: l.Groups, EnabledPlans: l.EnabledPlans})
		}
	}
	return nil
}
