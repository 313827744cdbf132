package projections_test

import (
	"encoding/json"
	"testing"

	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/projections"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// licensesAfter returns a Licenses model that has applied the payloads as
// events of tenant, in order.
func licensesAfter(t *testing.T, tenant string, payloads ...proto.Message) *projections.Licenses {
	t.Helper()
	m := projections.NewLicenses(catalog.Default())
	for _, p := range payloads {
		e, err := ledgerv1.NewEvent(p)
		require.NoError(t, err)
		e.Tenant = tenant
		m.Apply(e)
	}
	return m
}

// selectionGiven is a tenant where alice, bob and carol hold Power BI Pro,
// alice SPB directly and bob SPB through group sales, nobody Visio, and the
// tenant also has an add-on (never a license, C1).
func selectionGiven() []proto.Message {
	return []proto.Message{
		&ledgerv1.UserRegistered{UserId: "alice", UsageLocation: "US"},
		&ledgerv1.UserRegistered{UserId: "bob", UsageLocation: "US"},
		&ledgerv1.UserRegistered{UserId: "carol", UsageLocation: "US"},
		&ledgerv1.SubscriptionPurchased{SubscriptionId: "s1", ProductId: "SPB", Seats: 5},
		&ledgerv1.SubscriptionPurchased{SubscriptionId: "s2", ProductId: "POWER_BI_PRO", Seats: 3},
		&ledgerv1.SubscriptionPurchased{SubscriptionId: "s3", ProductId: "VISIOCLIENT", Seats: 2},
		&ledgerv1.SubscriptionPurchased{SubscriptionId: "s4", ProductId: "SHAREPOINTSTORAGE", Seats: 10},
		&ledgerv1.LicenseAssigned{UserId: "carol", ProductId: "POWER_BI_PRO"},
		&ledgerv1.LicenseAssigned{UserId: "alice", ProductId: "POWER_BI_PRO"},
		&ledgerv1.LicenseAssigned{UserId: "bob", ProductId: "POWER_BI_PRO"},
		&ledgerv1.LicenseAssigned{UserId: "alice", ProductId: "SPB"},
		&ledgerv1.LicenseAssigned{UserId: "bob", ProductId: "SPB", GroupId: "sales"},
	}
}

func TestA7_SelectionShowsAllSomeNoneAndWhoHoldsEachProduct(t *testing.T) {
	m := licensesAfter(t, "contoso", selectionGiven()...)
	got := m.Selection("contoso", []string{"carol", "bob", "alice"})
	assert.Equal(t, []projections.SelectionView{
		{ProductID: "POWER_BI_PRO", Name: "Power BI Pro", Status: "all", Holders: []string{"alice", "bob", "carol"}, Available: 0},
		{ProductID: "SPB", Name: "Microsoft 365 Business Premium", Status: "some", Holders: []string{"alice", "bob"}, Available: 3},
		{ProductID: "VISIOCLIENT", Name: "Visio Plan 2", Status: "none", Holders: []string{}, Available: 2},
	}, got, "add-ons are not listed; a license through a group counts like a direct one")

	only := m.Selection("contoso", []string{"bob"})
	assert.Equal(t, "all", only[1].Status, "bob alone holds SPB: all of the selection")
	assert.Equal(t, []string{"bob"}, only[1].Holders)
}

func TestA7_SelectionFollowsRemovalsPathByPath(t *testing.T) {
	evs := append(selectionGiven(),
		&ledgerv1.LicenseAssigned{UserId: "bob", ProductId: "SPB"},                  // bob: direct and sales
		&ledgerv1.LicenseRemoved{UserId: "bob", ProductId: "SPB", GroupId: "sales"}, // still direct
		&ledgerv1.LicenseRemoved{UserId: "alice", ProductId: "SPB"},                 // gone
	)
	got := licensesAfter(t, "contoso", evs...).Selection("contoso", []string{"alice", "bob"})
	assert.Equal(t, "SPB", got[1].ProductID)
	assert.Equal(t, "some", got[1].Status)
	assert.Equal(t, []string{"bob"}, got[1].Holders)
	assert.Equal(t, 4, got[1].Available)
}

func TestA7_SelectionCountsAUserListedTwiceOnce(t *testing.T) {
	got := licensesAfter(t, "contoso", selectionGiven()...).Selection("contoso", []string{"alice", "alice"})
	assert.Equal(t, "all", got[1].Status, "alice holds SPB: all of a selection naming only her")
	assert.Equal(t, []string{"alice"}, got[1].Holders)
}

func TestA7_UnknownUsersHoldNothingAndAreReported(t *testing.T) {
	m := licensesAfter(t, "contoso", append(selectionGiven(), &ledgerv1.UserRemoved{UserId: "carol"})...)
	assert.Equal(t, []string{"zoe", "carol"}, m.UnknownUsers("contoso", []string{"alice", "zoe", "carol"}))
	assert.Empty(t, m.UnknownUsers("contoso", []string{"alice", "bob"}))
	assert.Equal(t, []string{"alice"}, m.UnknownUsers("northwind", []string{"alice"}), "nothing crosses tenants (T1)")
	got := m.Selection("contoso", []string{"alice", "zoe"})
	assert.Equal(t, "some", got[0].Status)
	assert.Equal(t, []string{"alice"}, got[0].Holders)
}

func TestA7_SelectionOfAnotherTenantIsEmpty(t *testing.T) {
	m := licensesAfter(t, "contoso", selectionGiven()...)
	got := m.Selection("northwind", []string{"alice"})
	assert.NotNil(t, got)
	assert.Empty(t, got)
}

func TestA7_SelectionJSONListsNoHoldersAsAnEmptyArray(t *testing.T) {
	got := licensesAfter(t, "contoso", selectionGiven()...).Selection("contoso", []string{"alice"})
	data, err := json.Marshal(got[2])
	require.NoError(t, err)
	assert.JSONEq(t, `{"productId":"VISIOCLIENT","name":"Visio Plan 2","status":"none","holders":[],"available":2}`, string(data))
}
