package httpapi

import (
	"errors"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/domain/catalog"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
)

// FuzzDecodeCommand feeds arbitrary bodies to every command's decoder and
// decides what decodes against a small tenant: nothing may panic, and every
// failure must be a *domain.Error with a code the API documents.
func FuzzDecodeCommand(f *testing.F) {
	names := domain.Commands()
	seeds := []string{
		`{"productId":"SPB","userIds":["alice","bob"],"disabledPlans":["SWAY"]}`,
		`{"subscriptionId":"s1","productId":"SPB","seats":5,"channel":"CHANNEL_PARTNER"}`,
		`{"userId":"zed","usageLocation":"FR","guest":true}`,
		`{"requestId":"r1","approvedUserIds":["alice"],"groupId":"sales"}`,
		`{"seats":-1}`, `{"seats":99999999999}`, `{`, `[]`, `null`, `{"userIds":"x"}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	state := fuzzState()
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		msg, _ := domain.NewCommand(names[int(which)%len(names)])
		err := DecodeCommand(body, msg)
		if err == nil {
			_, err = domain.Decide(state, msg, fuzzContext())
		}
		var de *domain.Error
		if err != nil && !errors.As(err, &de) {
			t.Fatalf("%T error without a code: %v", err, err)
		}
		if de != nil && Status(de.Code) == 500 {
			t.Fatalf("internal error for %s: %v", body, err)
		}
	})
}

// fuzzState is a tenant with users, a group, seats and a pending request.
func fuzzState() *domain.State {
	s := domain.NewState("contoso")
	for i, p := range []proto.Message{
		&ledgerv1.UserRegistered{UserId: "alice", UsageLocation: "US", Email: "alice@contoso.com"},
		&ledgerv1.UserRegistered{UserId: "bob", UsageLocation: "FR", Guest: true},
		&ledgerv1.GroupCreated{GroupId: "sales"},
		&ledgerv1.GroupMemberAdded{GroupId: "sales", UserId: "alice"},
		&ledgerv1.SubscriptionPurchased{SubscriptionId: "s1", ProductId: "SPB", Seats: 3, Channel: ledgerv1.Channel_CHANNEL_DIRECT},
		&ledgerv1.LicenseAssigned{UserId: "alice", ProductId: "SPB"},
		&ledgerv1.LicenseRequested{RequestId: "r1", ProductId: "SPB", RequesterId: "bob", UserIds: []string{"bob"}},
	} {
		e, _ := ledgerv1.NewEvent(p)
		e.Tenant, e.Sequence = "contoso", uint64(i+1)
		s.Apply(e)
	}
	return s
}

func fuzzContext() domain.Context {
	n := 0
	return domain.Context{
		Principal: domain.Principal{ID: "admin", Tenant: "contoso", Roles: []domain.Role{domain.GlobalAdministrator}},
		Roles:     []domain.Role{domain.GlobalAdministrator},
		Now:       time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC),
		Catalog:   catalog.Default(),
		NewID:     func() string { n++; return string(rune('a' + n)) },
	}
}
