package main

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/infra/auth"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

const (
	// bulkSize is the number of users of a bulk command (the most one takes).
	bulkSize = domain.MaxBulkUsers
	// minUsers is the fewest users a tenant of the command runs may have.
	minUsers = 2 * bulkSize
	// requesters is how many users of each tenant send license requests;
	// each has a token for the HTTP run.
	requesters = 4
)

// benchProducts are the products the workloads assign: none of their
// service plans conflict or depend on another, so any user may hold all.
var benchProducts = []string{"SPB", "POWER_BI_PRO", "VISIOCLIENT", "O365_BUSINESS"}

// tenantModel is what a client knows of one tenant it owns: the users, who
// holds which product, the seats and the pending requests. No other client
// writes to the tenant, so the model is exact and the commands built from
// it are accepted.
type tenantModel struct {
	id       string
	users    []string
	holds    [][]bool // [product][user]
	holders  []int    // per product
	seats    []int    // per product, one subscription each
	pending  []pendingRequest
	requests int // requests sent, to name the next one
}

// pendingRequest is a request waiting for a decision.
type pendingRequest struct {
	id      string
	product int
	users   []int
}

// newTenantModel returns the model of a tenant with users users and no
// subscriptions yet.
func newTenantModel(id string, users int) *tenantModel {
	m := &tenantModel{id: id, users: userNames(users), holders: make([]int, len(benchProducts)), seats: make([]int, len(benchProducts))}
	for range benchProducts {
		m.holds = append(m.holds, make([]bool, users))
	}
	return m
}

// userNames returns the ids of a tenant's n users.
func userNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("u%04d", i)
	}
	return out
}

// free returns the seats of product p nobody uses.
func (m *tenantModel) free(p int) int { return m.seats[p] - m.holders[p] }

// grant records that user u holds product p.
func (m *tenantModel) grant(p, u int) {
	if !m.holds[p][u] {
		m.holds[p][u] = true
		m.holders[p]++
	}
}

// revoke records that user u no longer holds product p.
func (m *tenantModel) revoke(p, u int) {
	if m.holds[p][u] {
		m.holds[p][u] = false
		m.holders[p]--
	}
}

func subscriptionID(product string) string { return "sub-" + product }

// seed writes the tenant's starting point through w, one command per user
// registered and per subscription bought: seats for half the users and a
// quarter of them holding each product, assigned in bulk commands.
func (m *tenantModel) seed(ctx context.Context, w *eventWriter) error {
	for _, u := range m.users {
		if err := w.command(ctx, "RegisterUser", registered(u)); err != nil {
			return err
		}
	}
	for p, prod := range benchProducts {
		m.seats[p] = max(len(m.users)/2, bulkSize)
		if err := w.command(ctx, "PurchaseSubscription", purchased(prod, m.seats[p])); err != nil {
			return err
		}
		if err := m.seedHolders(ctx, w, p, len(m.users)/4); err != nil {
			return err
		}
	}
	return w.flush(ctx)
}

// seedHolders assigns product p to the first n users, in bulk commands.
func (m *tenantModel) seedHolders(ctx context.Context, w *eventWriter, p, n int) error {
	for start := 0; start < n; start += bulkSize {
		var evs []proto.Message
		for u := start; u < min(start+bulkSize, n); u++ {
			evs = append(evs, &ledgerv1.LicenseAssigned{UserId: m.users[u], ProductId: benchProducts[p]})
			m.grant(p, u)
		}
		if err := w.command(ctx, "AssignLicense", evs...); err != nil {
			return err
		}
	}
	return nil
}

func registered(user string) *ledgerv1.UserRegistered {
	return &ledgerv1.UserRegistered{UserId: user, DisplayName: "User " + user, Email: user + "@example.com", UsageLocation: "US"}
}

func purchased(product string, seats int) *ledgerv1.SubscriptionPurchased {
	return &ledgerv1.SubscriptionPurchased{SubscriptionId: subscriptionID(product), ProductId: product, Seats: int32(seats), Channel: ledgerv1.Channel_CHANNEL_DIRECT}
}

// admin is the tenant's Global Administrator.
func (m *tenantModel) admin() domain.Principal {
	return domain.Principal{ID: "admin", Tenant: m.id, Roles: []domain.Role{domain.GlobalAdministrator}}
}

// requester is the i-th user who sends requests.
func (m *tenantModel) requester(i int) domain.Principal {
	return domain.Principal{ID: m.users[i], Tenant: m.id}
}

func (m *tenantModel) adminToken() string { return "bench-admin-token-" + m.id }

func (m *tenantModel) requesterToken(i int) string {
	return "bench-user-token-" + m.id + "-" + m.users[i]
}

// authFile lists the principals of the tenants with their tokens: each
// tenant's administrator and its requesters.
func authFile(tenants []*tenantModel) auth.File {
	var f auth.File
	for _, m := range tenants {
		f.Principals = append(f.Principals, auth.Entry{ID: "admin", Tenant: m.id, Roles: []string{string(domain.GlobalAdministrator)}, Token: m.adminToken()})
		for i := range requesters {
			f.Principals = append(f.Principals, auth.Entry{ID: m.users[i], Tenant: m.id, Token: m.requesterToken(i)})
		}
	}
	return f
}
