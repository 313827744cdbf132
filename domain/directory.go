package domain

import (
	"slices"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// MaxGroupMembersPerCommand bounds one membership change.
const MaxGroupMembersPerCommand = 100

func (d decider) registerUser(m *ledgerv1.RegisterUser) ([]proto.Message, error) {
	if err := d.checkUserFields(m.UserId, m.DisplayName, m.Email, m.UsageLocation); err != nil {
		return nil, err
	}
	if d.s.Users[m.UserId] != nil {
		return nil, Errorf(CodeConflict, "user %q is already registered in tenant %q", m.UserId, d.s.Tenant)
	}
	if m.Guest && !d.hasRole(GlobalAdministrator, UserAdministrator, AdminAgent, UserManagementAdmin) {
		return nil, Errorf(CodeForbidden, "inviting a guest needs the role %s", UserAdministrator)
	}
	return []proto.Message{&ledgerv1.UserRegistered{
		UserId: m.UserId, DisplayName: m.DisplayName, Email: m.Email, UsageLocation: m.UsageLocation, Guest: m.Guest,
	}}, nil
}

func (d decider) checkUserFields(id, name, email, location string) error {
	err := firstErr(checkID("user_id", id), checkText("display_name", name), checkText("email", email))
	if err == nil && location != "" {
		err = checkCountry(location)
	}
	return err
}

func (d decider) updateUser(m *ledgerv1.UpdateUser) ([]proto.Message, error) {
	if err := d.checkUserFields(m.UserId, m.DisplayName, m.Email, m.UsageLocation); err != nil {
		return nil, err
	}
	u, err := d.user(m.UserId)
	if err != nil {
		return nil, err
	}
	if m.UsageLocation != "" && m.UsageLocation != u.UsageLocation {
		if err := d.checkRelocation(u, m.UsageLocation); err != nil {
			return nil, err
		}
	}
	return []proto.Message{&ledgerv1.UserUpdated{UserId: m.UserId, DisplayName: m.DisplayName, Email: m.Email, UsageLocation: m.UsageLocation}}, nil
}

// checkRelocation refuses a usage location where a license the user holds
// may not be used (A4).
func (d decider) checkRelocation(u *User, country string) error {
	for _, pid := range sortedKeys(u.Licenses) {
		if p, ok := d.c.Catalog.ProductView(pid); ok && !p.AllowedIn(country) {
			return Errorf(CodeProhibitedUsageLocation, "%s holds %s, which may not be used in %s: remove it before moving the user", u.ID, p.Name, country)
		}
	}
	return nil
}

func (d decider) removeUser(m *ledgerv1.RemoveUser) ([]proto.Message, error) {
	if err := checkID("user_id", m.UserId); err != nil {
		return nil, err
	}
	u, err := d.user(m.UserId)
	if err != nil {
		return nil, err
	}
	var evs []proto.Message
	for _, pid := range sortedKeys(u.Licenses) {
		evs = append(evs, d.removeAllPaths(u, pid)...)
	}
	for _, gid := range sortedKeys(u.Groups) {
		evs = append(evs, &ledgerv1.GroupMemberRemoved{GroupId: gid, UserId: u.ID})
	}
	return append(evs, &ledgerv1.UserRemoved{UserId: u.ID}), nil
}

// removeAllPaths removes every path of the user's license of productID.
func (d decider) removeAllPaths(u *User, productID string) []proto.Message {
	l := u.Licenses[productID]
	var evs []proto.Message
	left := &License{ProductID: productID, Direct: l.Direct, Groups: l.Groups}
	for _, gid := range sortedKeys(l.Groups) {
		left = &License{ProductID: productID, Direct: left.Direct, Groups: without(left.Groups, gid)}
		evs = append(evs, d.licenseRemoved(u.ID, productID, gid, left))
	}
	if l.Direct {
		evs = append(evs, d.licenseRemoved(u.ID, productID, "", nil))
	}
	return evs
}

func (d decider) createGroup(m *ledgerv1.CreateGroup) ([]proto.Message, error) {
	if err := firstErr(checkID("group_id", m.GroupId), checkText("name", m.Name)); err != nil {
		return nil, err
	}
	if d.s.Groups[m.GroupId] != nil {
		return nil, Errorf(CodeConflict, "group %q already exists in tenant %q", m.GroupId, d.s.Tenant)
	}
	return []proto.Message{&ledgerv1.GroupCreated{GroupId: m.GroupId, Name: m.Name}}, nil
}

func (d decider) addGroupMembers(m *ledgerv1.AddGroupMembers) ([]proto.Message, error) {
	g, users, err := d.membershipChange(m.GroupId, m.UserIds)
	if err != nil {
		return nil, err
	}
	gr := d.newGrants(len(users) * len(g.Licenses))
	var evs []proto.Message
	for _, u := range users {
		if g.Members[u.ID] {
			continue
		}
		joined, _ := gr.join(u, g)
		evs = append(evs, joined...)
	}
	return evs, nil
}

func (d decider) removeGroupMembers(m *ledgerv1.RemoveGroupMembers) ([]proto.Message, error) {
	g, users, err := d.membershipChange(m.GroupId, m.UserIds)
	if err != nil {
		return nil, err
	}
	var evs []proto.Message
	for _, u := range users {
		if !g.Members[u.ID] {
			continue
		}
		for _, pid := range sortedKeys(g.Licenses) {
			evs = append(evs, d.dropInherited(g, pid, []string{u.ID})...)
		}
		evs = append(evs, &ledgerv1.GroupMemberRemoved{GroupId: g.ID, UserId: u.ID})
	}
	return evs, nil
}

// membershipChange checks the group and the users of a membership command.
func (d decider) membershipChange(groupID string, userIDs []string) (*Group, []*User, error) {
	if err := firstErr(checkID("group_id", groupID), checkUserList(userIDs, MaxGroupMembersPerCommand)); err != nil {
		return nil, nil, err
	}
	g, err := d.group(groupID)
	if err != nil {
		return nil, nil, err
	}
	users := make([]*User, 0, len(userIDs))
	var vs []Violation
	for _, id := range userIDs {
		u, err := d.user(id)
		if err != nil {
			vs = append(vs, Violation{Subject: id, Code: CodeNotFound, Detail: err.(*Error).Detail})
			continue
		}
		users = append(users, u)
	}
	return g, users, violationsError("membership change", vs)
}

func (d decider) grantDelegation(m *ledgerv1.GrantPartnerDelegation) ([]proto.Message, error) {
	if err := checkID("partner_id", m.PartnerId); err != nil {
		return nil, err
	}
	if len(m.Roles) == 0 {
		return nil, Errorf(CodeValidationFailed, "roles needs at least one role: %s, or a legacy agent role: %s", rolesString(GDAPRoles), rolesString(PartnerRoles))
	}
	if m.DurationDays > MaxDelegationDays {
		return nil, Errorf(CodeValidationFailed, "duration_days is %d; a GDAP relationship lasts at most %d days (two years)", m.DurationDays, MaxDelegationDays)
	}
	for _, r := range m.Roles {
		switch {
		case isPartnerRole(Role(r)):
		case slices.Contains(GDAPRoles, Role(r)):
			if m.DurationDays == 0 {
				return nil, Errorf(CodeValidationFailed, "%s is granted through GDAP, for a duration: set duration_days (1 to %d)", r, MaxDelegationDays)
			}
		default:
			return nil, Errorf(CodeValidationFailed, "%q cannot be delegated; use %s, or a legacy agent role: %s", r, rolesString(GDAPRoles), rolesString(PartnerRoles))
		}
	}
	g := &ledgerv1.PartnerDelegationGranted{PartnerId: m.PartnerId, Roles: m.Roles}
	if m.DurationDays > 0 {
		g.ExpiresAt = timestamppb.New(d.c.Now.AddDate(0, 0, int(m.DurationDays)))
	}
	return []proto.Message{g}, nil
}

func (d decider) revokeDelegation(m *ledgerv1.RevokePartnerDelegation) ([]proto.Message, error) {
	if err := checkID("partner_id", m.PartnerId); err != nil {
		return nil, err
	}
	if _, ok := d.s.Delegations[m.PartnerId]; !ok {
		return nil, Errorf(CodeNotFound, "partner %q has no delegation in tenant %q", m.PartnerId, d.s.Tenant)
	}
	return []proto.Message{&ledgerv1.PartnerDelegationRevoked{PartnerId: m.PartnerId}}, nil
}

func isPartnerRole(r Role) bool {
	for _, p := range PartnerRoles {
		if p == r {
			return true
		}
	}
	return false
}
