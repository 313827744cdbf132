package domain

import (
	"time"

	"slices"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// Apply evolves the state by one event. It never fails: an event is a fact,
// already accepted; an event about something the state does not know (which
// a correct ledger never writes) is ignored rather than invented, and so is
// an event of another tenant: nothing crosses tenants (T1).
func (s *State) Apply(e *ledgerv1.Event) {
	if t := e.GetTenant(); t != "" && t != s.Tenant {
		return
	}
	switch p := e.Payload.(type) {
	case *ledgerv1.Event_UserRegistered:
		s.applyUserRegistered(p.UserRegistered)
	case *ledgerv1.Event_UserUpdated:
		s.applyUserUpdated(p.UserUpdated)
	case *ledgerv1.Event_UserRemoved:
		delete(s.Users, p.UserRemoved.UserId)
	case *ledgerv1.Event_GroupCreated:
		g := p.GroupCreated
		s.Groups[g.GroupId] = &Group{ID: g.GroupId, Name: g.Name, Members: map[string]bool{}, Licenses: map[string][]string{}}
	case *ledgerv1.Event_GroupMemberAdded:
		s.applyMembership(p.GroupMemberAdded.GroupId, p.GroupMemberAdded.UserId, true)
	case *ledgerv1.Event_GroupMemberRemoved:
		s.applyMembership(p.GroupMemberRemoved.GroupId, p.GroupMemberRemoved.UserId, false)
	case *ledgerv1.Event_PartnerDelegationGranted:
		g := p.PartnerDelegationGranted
		s.Delegations[g.PartnerId] = toRoles(g.Roles)
		if g.ExpiresAt != nil {
			if s.DelegationEnds == nil {
				s.DelegationEnds = map[string]time.Time{}
			}
			s.DelegationEnds[g.PartnerId] = g.ExpiresAt.AsTime()
		} else {
			delete(s.DelegationEnds, g.PartnerId)
		}
	case *ledgerv1.Event_PartnerDelegationRevoked:
		delete(s.Delegations, p.PartnerDelegationRevoked.PartnerId)
		delete(s.DelegationEnds, p.PartnerDelegationRevoked.PartnerId)
	case *ledgerv1.Event_PartnerDelegationExpired:
		delete(s.Delegations, p.PartnerDelegationExpired.PartnerId)
		delete(s.DelegationEnds, p.PartnerDelegationExpired.PartnerId)

	case *ledgerv1.Event_SubscriptionPurchased:
		s.applySubscriptionPurchased(p.SubscriptionPurchased)
	case *ledgerv1.Event_SeatsChanged:
		if sub := s.Subscriptions[p.SeatsChanged.SubscriptionId]; sub != nil {
			sub.Seats = p.SeatsChanged.Seats
		}
	case *ledgerv1.Event_SubscriptionStateChanged:
		if sub := s.Subscriptions[p.SubscriptionStateChanged.SubscriptionId]; sub != nil {
			sub.State = p.SubscriptionStateChanged.State
		}
	case *ledgerv1.Event_SubscriptionTakenOver:
		if sub := s.Subscriptions[p.SubscriptionTakenOver.SubscriptionId]; sub != nil {
			sub.PurchasedBy = ""
		}

	case *ledgerv1.Event_LicenseAssigned:
		s.applyLicenseAssigned(p.LicenseAssigned)
	case *ledgerv1.Event_LicenseRemoved:
		s.applyLicenseRemoved(p.LicenseRemoved)
	case *ledgerv1.Event_AssignmentPlansChanged:
		s.applyPlansChanged(p.AssignmentPlansChanged)
	case *ledgerv1.Event_GroupLicenseAssigned:
		if g := s.Groups[p.GroupLicenseAssigned.GroupId]; g != nil {
			g.Licenses[p.GroupLicenseAssigned.ProductId] = p.GroupLicenseAssigned.DisabledPlans
		}
	case *ledgerv1.Event_GroupLicenseRemoved:
		if g := s.Groups[p.GroupLicenseRemoved.GroupId]; g != nil {
			delete(g.Licenses, p.GroupLicenseRemoved.ProductId)
		}
	case *ledgerv1.Event_GroupLicenseMemberFailed:
		// Recorded for admins and read models; the group keeps its intent.

	case *ledgerv1.Event_LicenseRequested:
		s.applyLicenseRequested(e, p.LicenseRequested)
	case *ledgerv1.Event_RequestDecided:
		if r := s.Requests[p.RequestDecided.RequestId]; r != nil {
			r.Outcome = p.RequestDecided.Outcome
			r.Decided = e.GetTime().AsTime()
		}
	case *ledgerv1.Event_RequestExpired:
		if r := s.Requests[p.RequestExpired.RequestId]; r != nil {
			r.Outcome = ledgerv1.RequestOutcome_REQUEST_OUTCOME_EXPIRED
			r.Decided = e.GetTime().AsTime()
		}
	case *ledgerv1.Event_RequestProcessConfigured:
		c := p.RequestProcessConfigured
		s.RequestProcess = RequestProcess{Enabled: c.Enabled, Message: c.Message, Link: c.Link}
	case *ledgerv1.Event_SelfServicePolicyChanged:
		s.SelfServiceAllowed[p.SelfServicePolicyChanged.ProductId] = p.SelfServicePolicyChanged.Allowed
	case *ledgerv1.Event_RequestOutcomeNotified, *ledgerv1.Event_RequestShared:
		// Notifications for downstream services; no state of their own.
	}
}

// applyUserRegistered adds the user. Their groups and licenses stay nil
// until they get one: a tenant holds many users, most in few groups.
func (s *State) applyUserRegistered(e *ledgerv1.UserRegistered) {
	s.Users[e.UserId] = &User{
		ID: e.UserId, DisplayName: e.DisplayName, Email: e.Email,
		UsageLocation: s.names.Of(e.UsageLocation), Guest: e.Guest,
	}
}

func (s *State) applyUserUpdated(e *ledgerv1.UserUpdated) {
	u := s.Users[e.UserId]
	if u == nil {
		return
	}
	if e.DisplayName != "" {
		u.DisplayName = e.DisplayName
	}
	if e.Email != "" {
		u.Email = e.Email
	}
	if e.UsageLocation != "" {
		u.UsageLocation = e.UsageLocation
	}
}

func (s *State) applyMembership(groupID, userID string, member bool) {
	g, u := s.Groups[groupID], s.Users[userID]
	if g == nil || u == nil {
		return
	}
	if member {
		if u.Groups == nil {
			u.Groups = map[string]bool{}
		}
		g.Members[userID], u.Groups[groupID] = true, true
		return
	}
	delete(g.Members, userID)
	delete(u.Groups, groupID)
}

func (s *State) applySubscriptionPurchased(e *ledgerv1.SubscriptionPurchased) {
	s.Subscriptions[e.SubscriptionId] = &Subscription{
		ID: e.SubscriptionId, ProductID: e.ProductId, Seats: e.Seats,
		Channel: e.Channel, PurchasedBy: e.PurchasedBy,
		State: ledgerv1.SubscriptionState_SUBSCRIPTION_STATE_ACTIVE,
	}
}

func (s *State) applyLicenseAssigned(e *ledgerv1.LicenseAssigned) {
	u := s.Users[e.UserId]
	if u == nil {
		return
	}
	l := u.Licenses[e.ProductId]
	if l == nil {
		if u.Licenses == nil {
			u.Licenses = map[string]*License{}
		}
		pid := s.names.Of(e.ProductId)
		l = &License{ProductID: pid}
		u.Licenses[pid] = l
		s.holders[pid]++
	}
	if e.GroupId == "" {
		l.Direct, l.DirectDisabled = true, e.DisabledPlans
		return
	}
	if l.Groups == nil {
		l.Groups = map[string][]string{}
	}
	l.Groups[e.GroupId] = e.DisabledPlans
}

func (s *State) applyLicenseRemoved(e *ledgerv1.LicenseRemoved) {
	u := s.Users[e.UserId]
	if u == nil || u.Licenses[e.ProductId] == nil {
		return
	}
	l := u.Licenses[e.ProductId]
	if e.GroupId == "" {
		l.Direct, l.DirectDisabled = false, nil
	} else {
		delete(l.Groups, e.GroupId)
	}
	if !l.Held() {
		delete(u.Licenses, e.ProductId)
		s.holders[e.ProductId]--
	}
}

func (s *State) applyPlansChanged(e *ledgerv1.AssignmentPlansChanged) {
	if u := s.Users[e.UserId]; u != nil {
		if l := u.Licenses[e.ProductId]; l != nil && l.Direct {
			l.DirectDisabled = e.DisabledPlans
		}
	}
}

func (s *State) applyLicenseRequested(env *ledgerv1.Event, e *ledgerv1.LicenseRequested) {
	s.Requests[e.RequestId] = &Request{
		ID: e.RequestId, ProductID: e.ProductId, RequesterID: e.RequesterId,
		UserIDs: slices.Clone(e.UserIds), Message: e.Message,
		Created: env.GetTime().AsTime(),
	}
}

func toRoles(names []string) []Role {
	roles := make([]Role, len(names))
	for i, n := range names {
		roles[i] = Role(n)
	}
	return roles
}
