package projections

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensing-ledger/ledger/domain/catalog"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// feed applies payloads as the tenant's events, in order, to the models.
func feed(t *testing.T, tenant string, models []Model, payloads ...proto.Message) {
	t.Helper()
	for i, p := range payloads {
		e, err := ledgerv1.NewEvent(p)
		require.NoError(t, err)
		e.Tenant, e.Sequence, e.Actor, e.Time = tenant, uint64(i+1), "admin", timestamppb.New(time.Now())
		for _, m := range models {
			m.Apply(e)
		}
	}
}

func TestDirectoryUsersSearchAndPages(t *testing.T) {
	d := NewDirectory()
	var evs []proto.Message
	for i := range 25 {
		evs = append(evs, &ledgerv1.UserRegistered{UserId: fmt.Sprintf("u%02d", i), DisplayName: fmt.Sprintf("User %d", i), Email: fmt.Sprintf("u%d@contoso.com", i), UsageLocation: "FR"})
	}
	evs = append(evs,
		&ledgerv1.UserRegistered{UserId: "alice", DisplayName: "Alice Martin", Email: "alice@contoso.com", UsageLocation: "US"},
		&ledgerv1.UserUpdated{UserId: "alice", DisplayName: "Alice Durand"},
		&ledgerv1.UserRegistered{UserId: "zed", DisplayName: "Zed", Email: "z@fabrikam.com", Guest: true},
		&ledgerv1.UserRemoved{UserId: "u03"},
	)
	feed(t, "contoso", []Model{d}, evs...)

	// Pages of 10 over 26 users, in id order, each cursor the last id.
	var all []string
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		users, next := d.Users("contoso", "", Page{After: cursor, Limit: 10})
		for _, u := range users {
			all = append(all, u.UserID)
		}
		if next == "" {
			break
		}
		assert.Equal(t, users[len(users)-1].UserID, next)
		cursor = next
	}
	assert.Len(t, all, 26)
	assert.Equal(t, "alice", all[0])
	assert.Equal(t, "zed", all[25])
	assert.NotContains(t, all, "u03")

	// Search by id, name (updated, any case) and email.
	byName, _ := d.Users("contoso", "durand", Page{})
	require.Len(t, byName, 1)
	assert.Equal(t, DirectoryUser{UserID: "alice", DisplayName: "Alice Durand", Email: "alice@contoso.com", UsageLocation: "US", Groups: []string{}}, byName[0])
	byEmail, _ := d.Users("contoso", "FABRIKAM", Page{})
	require.Len(t, byEmail, 1)
	assert.True(t, byEmail[0].Guest)
	byID, _ := d.Users("contoso", "u1", Page{})
	assert.Len(t, byID, 11) // u1 (in u1@...), u10-u19
	none, next := d.Users("other", "", Page{})
	assert.Empty(t, none)
	assert.Empty(t, next)
}

func TestDirectoryGroupsMembersAndErrors(t *testing.T) {
	d, lic := NewDirectory(), NewLicenses(catalog.Default())
	feed(t, "contoso", []Model{d, lic},
		&ledgerv1.UserRegistered{UserId: "alice", DisplayName: "Alice", UsageLocation: "US"},
		&ledgerv1.UserRegistered{UserId: "bob", DisplayName: "Bob", UsageLocation: "FR"},
		&ledgerv1.UserRegistered{UserId: "carol", DisplayName: "Carol", UsageLocation: "FR"},
		&ledgerv1.GroupCreated{GroupId: "sales", Name: "Sales"},
		&ledgerv1.GroupCreated{GroupId: "hr", Name: "Human resources"},
		&ledgerv1.GroupMemberAdded{GroupId: "sales", UserId: "bob"},
		&ledgerv1.GroupMemberAdded{GroupId: "sales", UserId: "alice"},
		&ledgerv1.GroupMemberAdded{GroupId: "sales", UserId: "carol"},
		&ledgerv1.GroupMemberAdded{GroupId: "hr", UserId: "alice"},
		&ledgerv1.GroupLicenseAssigned{GroupId: "sales", ProductId: "SPB", DisabledPlans: []string{"SWAY"}},
		&ledgerv1.LicenseAssigned{UserId: "alice", ProductId: "SPB", GroupId: "sales"},
		&ledgerv1.GroupLicenseMemberFailed{GroupId: "sales", ProductId: "SPB", UserId: "bob", Code: "CountViolation", Detail: "no seats"},
		&ledgerv1.GroupLicenseMemberFailed{GroupId: "sales", ProductId: "SPB", UserId: "carol", Code: "CountViolation", Detail: "no seats"},
		&ledgerv1.GroupMemberRemoved{GroupId: "sales", UserId: "carol"},
	)
	name := func(id string) string { p, _ := catalog.Default().Product(id); return p.Name }
	groups, next := d.Groups("contoso", "", Page{}, name)
	assert.Empty(t, next)
	require.Len(t, groups, 2)
	assert.Equal(t, "hr", groups[0].GroupID)
	assert.Equal(t, GroupView{GroupID: "sales", Name: "Sales", Members: 2, Products: []GroupProductView{{ProductID: "SPB", Name: "Microsoft 365 Business Premium", DisabledPlans: []string{"SWAY"}}}}, groups[1])
	found, _ := d.Groups("contoso", "human", Page{}, name)
	require.Len(t, found, 1)
	assert.Equal(t, "hr", found[0].GroupID)

	members, next, ok := d.Members("contoso", "sales", Page{Limit: 1})
	require.True(t, ok)
	assert.Equal(t, []Person{{UserID: "alice", DisplayName: "Alice"}}, members)
	members, next, _ = d.Members("contoso", "sales", Page{After: next, Limit: 1})
	assert.Equal(t, []Person{{UserID: "bob", DisplayName: "Bob"}}, members)
	assert.Empty(t, next)
	_, _, ok = d.Members("contoso", "nope", Page{})
	assert.False(t, ok)

	u, ok := d.UserEntry("contoso", "alice")
	require.True(t, ok)
	assert.Equal(t, []string{"hr", "sales"}, u.Groups)

	// Carol left the group: only Bob is in error.
	errs, _ := lic.GroupErrors("contoso", "sales", Page{})
	assert.Equal(t, []MemberError{{UserID: "bob", ProductID: "SPB", Code: "CountViolation", Detail: "no seats"}}, errs)
	assert.Equal(t, map[string]int{"sales": 1}, lic.GroupErrorCounts("contoso"))
}

func TestRequestsShareListsEachPersonOnceAndKeepTheProcess(t *testing.T) {
	m := NewRequests(time.Now)
	assert.Equal(t, RequestProcessView{}, m.Process("contoso"))
	feed(t, "contoso", []Model{m},
		&ledgerv1.LicenseRequested{RequestId: "r1", ProductId: "VISIOCLIENT", RequesterId: "alice", UserIds: []string{"alice"}},
		&ledgerv1.RequestShared{RequestId: "r1", RecipientUserIds: []string{"cfo", "bob"}},
		&ledgerv1.RequestShared{RequestId: "r1", RecipientUserIds: []string{"bob", "dan"}},
		&ledgerv1.RequestProcessConfigured{Enabled: true, Message: "Use the portal", Link: "https://it.contoso.com"},
	)
	r, ok := m.Get("contoso", "r1")
	require.True(t, ok)
	assert.Equal(t, []string{"cfo", "bob", "dan"}, r.SharedWith)
	assert.Equal(t, RequestProcessView{Enabled: true, Message: "Use the portal", Link: "https://it.contoso.com"}, m.Process("contoso"))
}

func TestFeedTellsListenersOfTheirTenantOnly(t *testing.T) {
	f := NewFeed()
	ch, stop := f.Listen("contoso")
	other, stopOther := f.Listen("northwind")
	defer stopOther()
	feed(t, "contoso", []Model{f}, &ledgerv1.UserRegistered{UserId: "alice"}, &ledgerv1.GroupCreated{GroupId: "g"})
	assert.Equal(t, Change{Tenant: "contoso", Sequence: 1, Type: "UserRegistered"}, <-ch)
	assert.Equal(t, Change{Tenant: "contoso", Sequence: 2, Type: "GroupCreated"}, <-ch)
	select {
	case c := <-other:
		t.Fatalf("northwind heard %+v", c)
	default:
	}
	stop()
	feed(t, "contoso", []Model{f}, &ledgerv1.UserRegistered{UserId: "bob"})
	select {
	case c := <-ch:
		t.Fatalf("a stopped listener heard %+v", c)
	default:
	}
}
