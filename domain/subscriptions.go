package domain

import (
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
)

func (d decider) purchaseSubscription(m *ledgerv1.PurchaseSubscription) ([]proto.Message, error) {
	if err := firstErr(checkID("subscription_id", m.SubscriptionId), checkID("product_id", m.ProductId), checkSeats(m.Seats)); err != nil {
		return nil, err
	}
	if m.Seats == 0 {
		return nil, Errorf(CodeValidationFailed, "seats must be at least 1 for a purchase")
	}
	if d.s.Subscriptions[m.SubscriptionId] != nil {
		return nil, Errorf(CodeConflict, "subscription %q already exists in tenant %q", m.SubscriptionId, d.s.Tenant)
	}
	if _, err := d.product(m.ProductId); err != nil {
		return nil, err
	}
	channel, err := d.checkChannel(m.Channel, m.PurchasedBy)
	if err != nil {
		return nil, err
	}
	return []proto.Message{&ledgerv1.SubscriptionPurchased{
		SubscriptionId: m.SubscriptionId, ProductId: m.ProductId, Seats: m.Seats, Channel: channel, PurchasedBy: m.PurchasedBy,
	}}, nil
}

// checkChannel validates the channel and the buyer a self-service purchase
// names (S1, S3); an unspecified channel means a direct purchase.
func (d decider) checkChannel(c ledgerv1.Channel, buyer string) (ledgerv1.Channel, error) {
	if _, ok := ledgerv1.Channel_name[int32(c)]; !ok {
		return c, Errorf(CodeValidationFailed, "channel %d is not a known channel", c)
	}
	if c == ledgerv1.Channel_CHANNEL_UNSPECIFIED {
		c = ledgerv1.Channel_CHANNEL_DIRECT
	}
	if c != ledgerv1.Channel_CHANNEL_SELF_SERVICE {
		if buyer != "" {
			return c, Errorf(CodeValidationFailed, "purchased_by is only for self-service purchases")
		}
		return c, nil
	}
	if err := checkID("purchased_by", buyer); err != nil {
		return c, err
	}
	_, err := d.user(buyer)
	return c, err
}

func (d decider) changeSeats(m *ledgerv1.ChangeSeats) ([]proto.Message, error) {
	if err := firstErr(checkID("subscription_id", m.SubscriptionId), checkSeats(m.Seats)); err != nil {
		return nil, err
	}
	sub, err := d.subscription(m.SubscriptionId)
	if err != nil {
		return nil, err
	}
	if sub.State == ledgerv1.SubscriptionState_SUBSCRIPTION_STATE_CANCELED {
		return nil, Errorf(CodeConflict, "subscription %s is canceled: its seats cannot change", sub.ID)
	}
	if m.Seats == sub.Seats {
		return nil, nil
	}
	if sub.Usable() && sub.Managed() {
		if err := d.checkSeatLoss(sub.ProductID, int(sub.Seats-m.Seats)); err != nil {
			return nil, err
		}
	}
	return []proto.Message{&ledgerv1.SeatsChanged{
		SubscriptionId: sub.ID, ProductId: sub.ProductID, Seats: m.Seats, PreviousSeats: sub.Seats,
	}}, nil
}

// checkSeatLoss refuses to remove lost seats of a product when that would
// leave fewer seats than licenses assigned (S1).
func (d decider) checkSeatLoss(productID string, lost int) error {
	if lost <= 0 {
		return nil
	}
	left := d.s.Seats(productID) - lost
	if assigned := d.s.Assigned(productID); left < assigned {
		name := productID
		if p, ok := d.c.Catalog.ProductView(productID); ok {
			name = p.Name
		}
		return Errorf(CodeCountViolation, "%s has %d licenses assigned; this change would leave %d seats: unassign %d licenses first",
			name, assigned, left, assigned-left)
	}
	return nil
}

func (d decider) changeSubscriptionState(m *ledgerv1.ChangeSubscriptionState) ([]proto.Message, error) {
	if err := checkID("subscription_id", m.SubscriptionId); err != nil {
		return nil, err
	}
	if _, ok := ledgerv1.SubscriptionState_name[int32(m.State)]; !ok || m.State == ledgerv1.SubscriptionState_SUBSCRIPTION_STATE_UNSPECIFIED {
		return nil, Errorf(CodeValidationFailed, "state must be one of ACTIVE, GRACE, SUSPENDED, CANCELED")
	}
	sub, err := d.subscription(m.SubscriptionId)
	if err != nil {
		return nil, err
	}
	if sub.State == m.State {
		return nil, nil
	}
	if sub.State == ledgerv1.SubscriptionState_SUBSCRIPTION_STATE_CANCELED {
		return nil, Errorf(CodeConflict, "subscription %s is canceled; buy a new one instead", sub.ID)
	}
	after := Subscription{State: m.State}
	if sub.Usable() && !after.Usable() && sub.Managed() {
		if err := d.checkSeatLoss(sub.ProductID, int(sub.Seats)); err != nil {
			return nil, err
		}
	}
	return []proto.Message{&ledgerv1.SubscriptionStateChanged{
		SubscriptionId: sub.ID, ProductId: sub.ProductID, State: m.State, PreviousState: sub.State,
	}}, nil
}

func (d decider) takeOverSubscription(m *ledgerv1.TakeOverSubscription) ([]proto.Message, error) {
	if err := checkID("subscription_id", m.SubscriptionId); err != nil {
		return nil, err
	}
	sub, err := d.subscription(m.SubscriptionId)
	if err != nil {
		return nil, err
	}
	if sub.Managed() {
		return nil, Errorf(CodeConflict, "subscription %s is already managed by admins", sub.ID)
	}
	return []proto.Message{&ledgerv1.SubscriptionTakenOver{SubscriptionId: sub.ID, ProductId: sub.ProductID, PreviousOwner: sub.PurchasedBy}}, nil
}
