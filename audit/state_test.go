package audit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/audit"
	"github.com/licensing-ledger/ledger/audit/audittest"
	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/projections"
	v1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

func TestStateAsOfEqualsTheLiveViewsOfThatInstant(t *testing.T) {
	p := playStory(t)
	for _, m := range p.marks {
		t.Run(m.Name, func(t *testing.T) {
			st, err := audit.StateAsOf(p.source(), catalog.Default(), tenant, m.At)
			require.NoError(t, err)
			want := p.live[m.Name]
			assert.Equal(t, asJSON(t, want.Products), asJSON(t, st.Products), "products")
			assert.Equal(t, asJSON(t, want.Subscriptions), asJSON(t, st.Subscriptions), "subscriptions")
			assert.Equal(t, asJSON(t, want.Users), asJSON(t, st.Users), "users")
			assert.Equal(t, asJSON(t, want.Requests), asJSON(t, st.Requests), "requests")
		})
	}
}

func TestStateAsOfKnowsWhoHeldWhat(t *testing.T) {
	p := playStory(t)
	st, err := audit.StateAsOf(p.source(), catalog.Default(), tenant, p.mark("assigned"))
	require.NoError(t, err)
	spb := product(t, st, "SPB")
	assert.Equal(t, 13, spb.Total, "5 + 8 seats add up (S2)")
	assert.Equal(t, 2, spb.Assigned)
	alice := user(t, st, "alice")
	require.Len(t, alice.Licenses, 1)
	assert.Contains(t, alice.Licenses[0].DisabledPlans, "SWAY", "alice's SPB had SWAY off then")
	assert.Equal(t, []string{"sales"}, user(t, st, "carol").Licenses[0].Groups)

	later, err := audit.StateAsOf(p.source(), catalog.Default(), tenant, p.mark("changed"))
	require.NoError(t, err)
	assert.Empty(t, user(t, later, "alice").Licenses[0].DisabledPlans, "plans switched back on")
	assert.Equal(t, 11, product(t, later, "SPB").Total, "3 + 8 after the seat change")
	assert.Len(t, user(t, later, "erin").Errors, 1, "erin could not get the group's E3")
	assert.Greater(t, later.Sequence, st.Sequence)
	assert.NotEqual(t, st.Head, later.Head)
}

func TestStateBeforeTheFirstEventIsEmpty(t *testing.T) {
	p := playStory(t)
	st, err := audit.StateAsOf(p.source(), catalog.Default(), tenant, audittest.StoryStart.Add(-time.Second))
	require.NoError(t, err)
	assert.Zero(t, st.Sequence)
	assert.Empty(t, st.Head)
	assert.Empty(t, st.Products)
	assert.Empty(t, st.Users)
	assert.Empty(t, st.Requests)
}

func TestStateAsOfStopsAtTheFirstLaterEvent(t *testing.T) {
	s := audittest.NewScenario(tenant, audittest.StoryStart)
	s.Run(t, s.Admin(), &v1.RegisterUser{UserId: "alice", UsageLocation: "US"})
	cut := s.Now()
	s.Advance(time.Hour)
	s.Run(t, s.Admin(), &v1.RegisterUser{UserId: "bob", UsageLocation: "US"})
	s.Advance(-2 * time.Hour) // a clock that went back: later events, earlier times
	s.Run(t, s.Admin(), &v1.RegisterUser{UserId: "carol", UsageLocation: "US"})

	st, err := audit.StateAsOf(audit.RecordsSource(s.Store.Records(tenant)), catalog.Default(), tenant, cut)
	require.NoError(t, err)
	assert.EqualValues(t, 1, st.Sequence, "carol's event is not applied although its time is before the cut: the state is a prefix")
	require.Len(t, st.Users, 1)
	assert.Equal(t, "alice", st.Users[0].UserID)
}

func TestStateRefusesABrokenChain(t *testing.T) {
	p := playStory(t)
	recs := append(p.records[:3:3], p.records[4:]...)
	_, err := audit.StateAsOf(audit.RecordsSource(recs), catalog.Default(), tenant, time.Now())
	var b *audit.Break
	require.ErrorAs(t, err, &b)
	assert.Equal(t, audit.KindMissing, b.Kind)
}

func product(t *testing.T, st *audit.State, id string) projections.ProductView {
	t.Helper()
	for _, p := range st.Products {
		if p.ProductID == id {
			return p
		}
	}
	t.Fatalf("no product %s", id)
	return projections.ProductView{}
}

func user(t *testing.T, st *audit.State, id string) projections.UserView {
	t.Helper()
	for _, u := range st.Users {
		if u.UserID == id {
			return u
		}
	}
	t.Fatalf("no user %s", id)
	return projections.UserView{}
}
