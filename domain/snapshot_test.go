package domain_test

import (
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/domain/catalog"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
)

// TestSnapshotDecidesLikeTheEvents checks that a state restored from a
// snapshot decides every command exactly as the state built from the events.
func TestSnapshotDecidesLikeTheEvents(t *testing.T) {
	history := []proto.Message{
		&ledgerv1.UserRegistered{UserId: "alice", UsageLocation: "US", Email: "alice@contoso.com"},
		&ledgerv1.UserRegistered{UserId: "bob", UsageLocation: "FR", Guest: true},
		&ledgerv1.UserRegistered{UserId: "carol", UsageLocation: "US"},
		&ledgerv1.GroupCreated{GroupId: "sales", Name: "Sales"},
		&ledgerv1.GroupCreated{GroupId: "empty"},
		&ledgerv1.SubscriptionPurchased{SubscriptionId: "s1", ProductId: "SPB", Seats: 3, Channel: ledgerv1.Channel_CHANNEL_DIRECT},
		&ledgerv1.SubscriptionPurchased{SubscriptionId: "s2", ProductId: "POWER_BI_PRO", Seats: 1, Channel: ledgerv1.Channel_CHANNEL_SELF_SERVICE, PurchasedBy: "carol"},
		&ledgerv1.GroupLicenseAssigned{GroupId: "sales", ProductId: "SPB"},
		&ledgerv1.GroupMemberAdded{GroupId: "sales", UserId: "alice"},
		&ledgerv1.LicenseAssigned{UserId: "alice", ProductId: "SPB", GroupId: "sales"},
		&ledgerv1.LicenseAssigned{UserId: "alice", ProductId: "SPB", DisabledPlans: []string{"SWAY"}},
		&ledgerv1.LicenseRequested{RequestId: "r1", ProductId: "SPB", RequesterId: "carol", UserIds: []string{"carol", "bob"}},
		&ledgerv1.PartnerDelegationGranted{PartnerId: "fabrikam", Roles: []string{"AdminAgent"}},
		&ledgerv1.RequestProcessConfigured{Enabled: false, Message: "x"},
	}
	fromEvents := domain.NewState(contoso)
	for _, p := range history {
		fromEvents.Apply(envelope(t, contoso, t0, p))
	}
	data, err := domain.EncodeState(fromEvents)
	if err != nil {
		t.Fatal(err)
	}
	restored, err := domain.DecodeState(data)
	if err != nil {
		t.Fatal(err)
	}
	commands := []proto.Message{
		&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"alice", "bob", "carol"}},
		&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"carol"}},
		&ledgerv1.RevokeAssignment{ProductId: "SPB", UserIds: []string{"alice"}},
		&ledgerv1.RemoveGroupMembers{GroupId: "sales", UserIds: []string{"alice"}},
		&ledgerv1.AddGroupMembers{GroupId: "sales", UserIds: []string{"bob", "carol"}},
		&ledgerv1.ApproveRequest{RequestId: "r1", ApprovedUserIds: []string{"carol"}},
		&ledgerv1.ChangeSeats{SubscriptionId: "s1", Seats: 1},
		&ledgerv1.AssignLicense{ProductId: "POWER_BI_PRO", UserIds: []string{"alice"}},
		&ledgerv1.RemoveUser{UserId: "alice"},
		&ledgerv1.AddGroupMembers{GroupId: "empty", UserIds: []string{"alice"}},
	}
	for _, cmd := range commands {
		want, wantErr := domain.Decide(fromEvents, cmd, snapshotContext())
		got, gotErr := domain.Decide(restored, cmd, snapshotContext())
		if domain.ErrorCode(wantErr) != domain.ErrorCode(gotErr) || len(want.Events) != len(got.Events) {
			t.Fatalf("%T: from events %v %v, from snapshot %v %v", cmd, want.Events, wantErr, got.Events, gotErr)
		}
		for i := range want.Events {
			if !proto.Equal(want.Events[i], got.Events[i]) {
				t.Fatalf("%T event %d: from events %v, from snapshot %v", cmd, i, want.Events[i], got.Events[i])
			}
		}
	}
	if restored.Assigned("SPB") != fromEvents.Assigned("SPB") || restored.Seats("SPB") != fromEvents.Seats("SPB") {
		t.Fatalf("seat counts differ after a snapshot")
	}
}

func TestSnapshotOfAnotherFormatIsRefused(t *testing.T) {
	if _, err := domain.DecodeState([]byte{99, 1, 2}); err == nil {
		t.Fatal("a snapshot of an unknown format must be refused")
	}
	if _, err := domain.DecodeState(nil); err == nil {
		t.Fatal("an empty snapshot must be refused")
	}
}

func snapshotContext() domain.Context {
	n := 0
	return domain.Context{
		Principal: globalAdmin, Roles: globalAdmin.Roles, Now: t0.Add(time.Hour), Catalog: catalog.Default(),
		NewID: func() string { n++; return string(rune('a' + n)) },
	}
}
