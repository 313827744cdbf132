package ledger

import (
	"google.golang.org/protobuf/proto"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// newEvent returns an event holding the payload, as ledgerv1.NewEvent
// does, but setting the oneof directly: NewEvent sets it by reflection,
// which costs a few microseconds per event. A payload type missing from
// setPayload, or a nil one, takes NewEvent's way.
func newEvent(p proto.Message) (*ledgerv1.Event, error) {
	e := &ledgerv1.Event{}
	if p == nil || !p.ProtoReflect().IsValid() || !setPayload(e, p) {
		return ledgerv1.NewEvent(p)
	}
	return e, nil
}

// setPayload sets the event's payload oneof to p and reports whether it
// knows p's type (newevent_test.go checks that it knows every payload).
func setPayload(e *ledgerv1.Event, p proto.Message) bool {
	switch p := p.(type) {
	case *ledgerv1.UserRegistered:
		e.Payload = &ledgerv1.Event_UserRegistered{UserRegistered: p}
	case *ledgerv1.UserUpdated:
		e.Payload = &ledgerv1.Event_UserUpdated{UserUpdated: p}
	case *ledgerv1.UserRemoved:
		e.Payload = &ledgerv1.Event_UserRemoved{UserRemoved: p}
	case *ledgerv1.GroupCreated:
		e.Payload = &ledgerv1.Event_GroupCreated{GroupCreated: p}
	case *ledgerv1.GroupMemberAdded:
		e.Payload = &ledgerv1.Event_GroupMemberAdded{GroupMemberAdded: p}
	case *ledgerv1.GroupMemberRemoved:
		e.Payload = &ledgerv1.Event_GroupMemberRemoved{GroupMemberRemoved: p}
	case *ledgerv1.PartnerDelegationGranted:
		e.Payload = &ledgerv1.Event_PartnerDelegationGranted{PartnerDelegationGranted: p}
	case *ledgerv1.PartnerDelegationRevoked:
		e.Payload = &ledgerv1.Event_PartnerDelegationRevoked{PartnerDelegationRevoked: p}
	case *ledgerv1.PartnerDelegationExpired:
		e.Payload = &ledgerv1.Event_PartnerDelegationExpired{PartnerDelegationExpired: p}
	case *ledgerv1.SubscriptionPurchased:
		e.Payload = &ledgerv1.Event_SubscriptionPurchased{SubscriptionPurchased: p}
	case *ledgerv1.SeatsChanged:
		e.Payload = &ledgerv1.Event_SeatsChanged{SeatsChanged: p}
	case *ledgerv1.SubscriptionStateChanged:
		e.Payload = &ledgerv1.Event_SubscriptionStateChanged{SubscriptionStateChanged: p}
	case *ledgerv1.SubscriptionTakenOver:
		e.Payload = &ledgerv1.Event_SubscriptionTakenOver{SubscriptionTakenOver: p}
	case *ledgerv1.LicenseAssigned:
		e.Payload = &ledgerv1.Event_LicenseAssigned{LicenseAssigned: p}
	case *ledgerv1.LicenseRemoved:
		e.Payload = &ledgerv1.Event_LicenseRemoved{LicenseRemoved: p}
	case *ledgerv1.AssignmentPlansChanged:
		e.Payload = &ledgerv1.Event_AssignmentPlansChanged{AssignmentPlansChanged: p}
	case *ledgerv1.GroupLicenseAssigned:
		e.Payload = &ledgerv1.Event_GroupLicenseAssigned{GroupLicenseAssigned: p}
	case *ledgerv1.GroupLicenseRemoved:
		e.Payload = &ledgerv1.Event_GroupLicenseRemoved{GroupLicenseRemoved: p}
	case *ledgerv1.GroupLicenseMemberFailed:
		e.Payload = &ledgerv1.Event_GroupLicenseMemberFailed{GroupLicenseMemberFailed: p}
	case *ledgerv1.LicenseRequested:
		e.Payload = &ledgerv1.Event_LicenseRequested{LicenseRequested: p}
	case *ledgerv1.RequestDecided:
		e.Payload = &ledgerv1.Event_RequestDecided{RequestDecided: p}
	case *ledgerv1.RequestOutcomeNotified:
		e.Payload = &ledgerv1.Event_RequestOutcomeNotified{RequestOutcomeNotified: p}
	case *ledgerv1.RequestExpired:
		e.Payload = &ledgerv1.Event_RequestExpired{RequestExpired: p}
	case *ledgerv1.RequestProcessConfigured:
		e.Payload = &ledgerv1.Event_RequestProcessConfigured{RequestProcessConfigured: p}
	case *ledgerv1.RequestShared:
		e.Payload = &ledgerv1.Event_RequestShared{RequestShared: p}
	case *ledgerv1.SelfServicePolicyChanged:
		e.Payload = &ledgerv1.Event_SelfServicePolicyChanged{SelfServicePolicyChanged: p}
	default:
		return false
	}
	return true
}
