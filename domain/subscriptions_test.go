package domain_test

import (
	"testing"

	"github.com/licensing-ledger/ledger/domain"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
)

const (
	active    = ledgerv1.SubscriptionState_SUBSCRIPTION_STATE_ACTIVE
	grace     = ledgerv1.SubscriptionState_SUBSCRIPTION_STATE_GRACE
	suspended = ledgerv1.SubscriptionState_SUBSCRIPTION_STATE_SUSPENDED
	canceled  = ledgerv1.SubscriptionState_SUBSCRIPTION_STATE_CANCELED
)

func TestS1_PurchaseRecordsProductSeatsAndChannel(t *testing.T) {
	Given(t, contoso).As(globalAdmin).
		When(&ledgerv1.PurchaseSubscription{SubscriptionId: "s1", ProductId: "SPB", Seats: 5, Channel: ledgerv1.Channel_CHANNEL_NCE}).
		Then(&ledgerv1.SubscriptionPurchased{SubscriptionId: "s1", ProductId: "SPB", Seats: 5, Channel: ledgerv1.Channel_CHANNEL_NCE})
	// No channel means a direct purchase.
	Given(t, contoso).As(globalAdmin).
		When(&ledgerv1.PurchaseSubscription{SubscriptionId: "s1", ProductId: "SPB", Seats: 5}).
		Then(bought("s1", "SPB", 5))
	Given(t, contoso, member("alice", "US")).As(globalAdmin).
		When(&ledgerv1.PurchaseSubscription{SubscriptionId: "s1", ProductId: "POWER_BI_PRO", Seats: 1, Channel: ledgerv1.Channel_CHANNEL_SELF_SERVICE, PurchasedBy: "alice"}).
		Then(&ledgerv1.SubscriptionPurchased{SubscriptionId: "s1", ProductId: "POWER_BI_PRO", Seats: 1, Channel: ledgerv1.Channel_CHANNEL_SELF_SERVICE, PurchasedBy: "alice"})
}

func TestS1_PurchaseRefusesBadInput(t *testing.T) {
	buy := func(m *ledgerv1.PurchaseSubscription) *outcome {
		return Given(t, contoso, member("alice", "US"), bought("s1", "SPB", 5)).As(globalAdmin).When(m)
	}
	buy(&ledgerv1.PurchaseSubscription{SubscriptionId: "s2", ProductId: "SPB"}).
		ThenError(domain.CodeValidationFailed, "at least 1")
	buy(&ledgerv1.PurchaseSubscription{SubscriptionId: "s2", ProductId: "SPB", Seats: -3}).
		ThenError(domain.CodeValidationFailed, "seats")
	buy(&ledgerv1.PurchaseSubscription{SubscriptionId: "s2", ProductId: "SPB", Seats: domain.MaxSeats + 1}).
		ThenError(domain.CodeValidationFailed, "seats")
	buy(&ledgerv1.PurchaseSubscription{SubscriptionId: "s1", ProductId: "SPB", Seats: 1}).
		ThenError(domain.CodeConflict, "s1")
	buy(&ledgerv1.PurchaseSubscription{SubscriptionId: "s2", ProductId: "NOPE", Seats: 1}).
		ThenError(domain.CodeNotFound, "NOPE")
	buy(&ledgerv1.PurchaseSubscription{SubscriptionId: "s2", ProductId: "SPB", Seats: 1, PurchasedBy: "alice"}).
		ThenError(domain.CodeValidationFailed, "self-service")
	buy(&ledgerv1.PurchaseSubscription{SubscriptionId: "s2", ProductId: "SPB", Seats: 1, Channel: ledgerv1.Channel_CHANNEL_SELF_SERVICE}).
		ThenError(domain.CodeValidationFailed, "purchased_by")
	buy(&ledgerv1.PurchaseSubscription{SubscriptionId: "s2", ProductId: "SPB", Seats: 1, Channel: ledgerv1.Channel_CHANNEL_SELF_SERVICE, PurchasedBy: "zoe"}).
		ThenError(domain.CodeNotFound, "zoe")
	buy(&ledgerv1.PurchaseSubscription{SubscriptionId: "s2", ProductId: "SPB", Seats: 1, Channel: 42}).
		ThenError(domain.CodeValidationFailed, "channel")
}

func TestS1_SeatsAreBoughtAndRemovedButNeverBelowTheAssigned(t *testing.T) {
	evs, ids := members(7, "US")
	given := concat(evs, msgs(bought("s1", "SPB", 5), bought("s2", "SPB", 5)))
	for _, id := range ids {
		given = with(given, assigned(id, "SPB"))
	}

	Given(t, contoso, given...).As(globalAdmin).
		When(&ledgerv1.ChangeSeats{SubscriptionId: "s1", Seats: 8}).
		Then(&ledgerv1.SeatsChanged{SubscriptionId: "s1", ProductId: "SPB", Seats: 8, PreviousSeats: 5})
	Given(t, contoso, given...).As(globalAdmin).
		When(&ledgerv1.ChangeSeats{SubscriptionId: "s1", Seats: 2}).
		Then(&ledgerv1.SeatsChanged{SubscriptionId: "s1", ProductId: "SPB", Seats: 2, PreviousSeats: 5})
	Given(t, contoso, given...).As(globalAdmin).
		When(&ledgerv1.ChangeSeats{SubscriptionId: "s1", Seats: 1}).
		ThenError(domain.CodeCountViolation, "Microsoft 365 Business Premium", "7 licenses assigned", "leave 6 seats", "unassign 1")
	Given(t, contoso, given...).As(globalAdmin).
		When(&ledgerv1.ChangeSeats{SubscriptionId: "s1", Seats: 5}).
		Then() // nothing changes
	Given(t, contoso, given...).As(globalAdmin).
		When(&ledgerv1.ChangeSeats{SubscriptionId: "s9", Seats: 5}).
		ThenError(domain.CodeNotFound, "s9")
}

func TestS1_SuspendingRefusedWhenItWouldOverAssign(t *testing.T) {
	evs, ids := members(7, "US")
	given := concat(evs, msgs(bought("s1", "SPB", 5), bought("s2", "SPB", 5)))
	for _, id := range ids {
		given = with(given, assigned(id, "SPB"))
	}

	Given(t, contoso, given...).As(globalAdmin).
		When(&ledgerv1.ChangeSubscriptionState{SubscriptionId: "s2", State: suspended}).
		ThenError(domain.CodeCountViolation, "Microsoft 365 Business Premium", "unassign 2")
	Given(t, contoso, given...).As(globalAdmin).
		When(&ledgerv1.ChangeSubscriptionState{SubscriptionId: "s2", State: canceled}).
		ThenError(domain.CodeCountViolation, "unassign 2")
	// An expired subscription in grace still holds its licenses.
	Given(t, contoso, given...).As(globalAdmin).
		When(&ledgerv1.ChangeSubscriptionState{SubscriptionId: "s2", State: grace}).
		Then(&ledgerv1.SubscriptionStateChanged{SubscriptionId: "s2", ProductId: "SPB", State: grace, PreviousState: active})

	// Once two licenses are unassigned, the 5 seats of s1 hold the 5 left.
	fewer := concat(given[:len(given)-2], msgs(&ledgerv1.SubscriptionStateChanged{SubscriptionId: "s2", ProductId: "SPB", State: grace}))
	Given(t, contoso, fewer...).As(globalAdmin).
		When(&ledgerv1.ChangeSubscriptionState{SubscriptionId: "s2", State: suspended}).
		Then(&ledgerv1.SubscriptionStateChanged{SubscriptionId: "s2", ProductId: "SPB", State: suspended, PreviousState: grace})
}

func TestS1_SuspendedSeatsCannotBeAssignedAndCanceledIsFinal(t *testing.T) {
	given := msgs(member("alice", "US"), bought("s1", "SPB", 5),
		&ledgerv1.SubscriptionStateChanged{SubscriptionId: "s1", ProductId: "SPB", State: suspended})
	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice")}).
		ThenViolations(domain.Violation{Subject: "SPB", Code: domain.CodeCountViolation, Detail: "0 available of 0"})
	Given(t, contoso, given...).As(globalAdmin).
		When(&ledgerv1.ChangeSubscriptionState{SubscriptionId: "s1", State: active}).
		Then(&ledgerv1.SubscriptionStateChanged{SubscriptionId: "s1", ProductId: "SPB", State: active, PreviousState: suspended})

	given = with(given, &ledgerv1.SubscriptionStateChanged{SubscriptionId: "s1", ProductId: "SPB", State: canceled})
	Given(t, contoso, given...).As(globalAdmin).
		When(&ledgerv1.ChangeSubscriptionState{SubscriptionId: "s1", State: active}).
		ThenError(domain.CodeConflict, "canceled")
	Given(t, contoso, given...).As(globalAdmin).
		When(&ledgerv1.ChangeSeats{SubscriptionId: "s1", Seats: 10}).
		ThenError(domain.CodeConflict, "canceled")
	Given(t, contoso, given...).As(globalAdmin).
		When(&ledgerv1.ChangeSubscriptionState{SubscriptionId: "s1"}).
		ThenError(domain.CodeValidationFailed, "state")
}

func TestS2_SeatsAddUpAcrossSubscriptions(t *testing.T) {
	evs, ids := members(14, "US")
	given := concat(evs, msgs(bought("s1", "SPB", 5), bought("s2", "SPB", 8)))

	o := Given(t, contoso, given...).When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: ids[:13]})
	var want []proto.Message
	for _, id := range ids[:13] {
		want = append(want, assigned(id, "SPB"))
	}
	o.Then(want...)
	if st := o.State(); st.Seats("SPB") != 13 || st.Assigned("SPB") != 13 || st.Available("SPB") != 0 {
		t.Errorf("SPB: %d seats, %d assigned, %d available; want 13, 13, 0", st.Seats("SPB"), st.Assigned("SPB"), st.Available("SPB"))
	}

	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: ids}).
		ThenViolations(domain.Violation{Subject: "SPB", Code: domain.CodeCountViolation, Detail: "14 licenses needed, 13 available of 13: 1 short"})
}

func TestS2_OnlyUsableAdminManagedSeatsCount(t *testing.T) {
	o := Given(t, contoso, member("alice", "US"),
		bought("s1", "SPB", 5), bought("s2", "SPB", 8), bought("s3", "SPB", 2), bought("s4", "SPB", 3),
		&ledgerv1.SubscriptionStateChanged{SubscriptionId: "s2", State: suspended},
		&ledgerv1.SubscriptionStateChanged{SubscriptionId: "s3", State: grace},
		&ledgerv1.SubscriptionPurchased{SubscriptionId: "s5", ProductId: "SPB", Seats: 10, Channel: ledgerv1.Channel_CHANNEL_SELF_SERVICE, PurchasedBy: "alice"},
		bought("s6", "ENTERPRISEPACK", 50),
	).When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice")})
	o.Then(assigned("alice", "SPB"))
	if st := o.State(); st.Seats("SPB") != 10 || st.Available("SPB") != 9 {
		t.Errorf("SPB: %d seats, %d available; want 10 (5 active + 2 in grace + 3), 9", st.Seats("SPB"), st.Available("SPB"))
	}
}

func TestS3_SelfServiceSubscriptionNotAssignableUntilTakenOver(t *testing.T) {
	given := msgs(member("alice", "US"), member("bob", "US"), groupCreated("sales"),
		&ledgerv1.SubscriptionPurchased{SubscriptionId: "s1", ProductId: "POWER_BI_PRO", Seats: 3, Channel: ledgerv1.Channel_CHANNEL_SELF_SERVICE, PurchasedBy: "alice"})

	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "POWER_BI_PRO", UserIds: users("bob")}).
		ThenError(domain.CodeConflict, "s1", "alice", "take it over")
	Given(t, contoso, given...).
		When(&ledgerv1.AssignGroupLicense{GroupId: "sales", ProductId: "POWER_BI_PRO"}).
		ThenError(domain.CodeConflict, "take it over")
	Given(t, contoso, given...).As(globalAdmin).
		When(&ledgerv1.TakeOverSubscription{SubscriptionId: "s1"}).
		Then(&ledgerv1.SubscriptionTakenOver{SubscriptionId: "s1", ProductId: "POWER_BI_PRO", PreviousOwner: "alice"})

	given = with(given, &ledgerv1.SubscriptionTakenOver{SubscriptionId: "s1", ProductId: "POWER_BI_PRO", PreviousOwner: "alice"})
	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "POWER_BI_PRO", UserIds: users("bob")}).
		Then(assigned("bob", "POWER_BI_PRO"))
	Given(t, contoso, given...).As(globalAdmin).
		When(&ledgerv1.TakeOverSubscription{SubscriptionId: "s1"}).
		ThenError(domain.CodeConflict, "already managed")
}

func TestC1_CatalogSaysWhatCanBeAssigned(t *testing.T) {
	given := msgs(member("alice", "US"), bought("s1", "SHAREPOINTSTORAGE", 10), bought("s2", "CONTOSO_FIELDSERVICE", 5), bought("s3", "SPB", 5))

	// Extra storage is bought but never assigned to a user.
	Given(t, contoso, given...).As(globalAdmin).
		When(&ledgerv1.PurchaseSubscription{SubscriptionId: "s4", ProductId: "SHAREPOINTSTORAGE", Seats: 1}).
		Then(bought("s4", "SHAREPOINTSTORAGE", 1))
	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "SHAREPOINTSTORAGE", UserIds: users("alice")}).
		ThenError(domain.CodeValidationFailed, "Office 365 Extra File Storage", "cannot be assigned")
	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "VISIOCLIENT_X", UserIds: users("alice")}).
		ThenError(domain.CodeNotFound, "VISIOCLIENT_X", "catalog")
	// Plans switched off must be plans of the product.
	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice"), DisabledPlans: []string{"EXCHANGE_S_ENTERPRISE"}}).
		ThenError(domain.CodeValidationFailed, "EXCHANGE_S_ENTERPRISE", "not part of product \"SPB\"")
	// An ISV app is a product like the others; its service plan needs Teams.
	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "CONTOSO_FIELDSERVICE", UserIds: users("alice")}).
		ThenError(domain.CodeDependency, "CONTOSO_FIELDSERVICE_APP", "TEAMS1")
	Given(t, contoso, with(given, assigned("alice", "SPB"))...).
		When(&ledgerv1.AssignLicense{ProductId: "CONTOSO_FIELDSERVICE", UserIds: users("alice")}).
		Then(assigned("alice", "CONTOSO_FIELDSERVICE"))
}
