package domain

import (
	"slices"
	"time"
)

// Permission tables (T3): every command and query the ledger accepts, and who
// may send it. This is the one place that decides access; the HTTP layer and
// the tests read it, nothing else encodes a role.

// Query names, for the permission table.
const (
	QueryLicenses     = "ListLicenses"      // seats per product
	QueryRequests     = "ListRequests"      // pending and completed requests
	QueryUserLicenses = "ListUserLicenses"  // one user's licenses
	QueryUsers        = "ListUsers"         // the directory
	QueryGroups       = "ListGroups"        // groups, their members and members in error
	QueryCatalog      = "ListCatalog"       // products, service plans, exclusions, dependencies
	QueryProcess      = "GetRequestProcess" // the organization's own request process (Q4)
	QueryPartners     = "ListPartners"      // the partners' relationships with the tenant (T3)
	QueryHistory      = "ListHistory"       // the history of one user, product, subscription, request or group (L3)
	QueryState        = "ListStateAsOf"     // the tenant's state as of an instant (L3)
	QueryExport       = "ListEvents"        // the tenant's events as stored, to verify offline (L3)
	QueryReports      = "ListReports"       // compliance reports (L4)
)

// rule says who may perform an action in a tenant.
type rule struct {
	roles   []Role // any of these effective roles
	members bool   // any user of the tenant, whatever their roles
	self    bool   // a user about themselves (queries naming a user)
	system  bool   // only the ledger itself
}

var (
	// Managing licenses and requests is one capability (T3): the administrators
	// and every partner role that manages a customer's licenses.
	licenseManagers      = []Role{GlobalAdministrator, LicenseAdministrator, UserAdministrator, DirectoryWriters, AdminAgent, HelpdeskAgent, SalesAgent, UserManagementAdmin}
	directoryManagers    = []Role{GlobalAdministrator, UserAdministrator, DirectoryWriters, AdminAgent, UserManagementAdmin}
	subscriptionManagers = []Role{GlobalAdministrator, AdminAgent, SalesAgent}
	delegationManagers   = []Role{GlobalAdministrator}
	// licenseReaders read the live views; GlobalReader reads, never writes.
	licenseReaders = append(slices.Clone(licenseManagers), GlobalReader)
	// auditors read past states, histories and reports (L3, L4); exporters
	// take every event of the tenant, every message and address included.
	auditors  = []Role{GlobalAdministrator, LicenseAdministrator, UserAdministrator, GlobalReader, AdminAgent}
	exporters = []Role{GlobalAdministrator, GlobalReader}
)

// permissions maps each command and query name to its rule.
var permissions = map[string]rule{
	"RegisterUser":            {roles: directoryManagers},
	"UpdateUser":              {roles: directoryManagers},
	"RemoveUser":              {roles: directoryManagers},
	"CreateGroup":             {roles: directoryManagers},
	"AddGroupMembers":         {roles: directoryManagers},
	"RemoveGroupMembers":      {roles: directoryManagers},
	"GrantPartnerDelegation":  {roles: delegationManagers},
	"RevokePartnerDelegation": {roles: delegationManagers},

	"PurchaseSubscription":    {roles: subscriptionManagers},
	"ChangeSeats":             {roles: subscriptionManagers},
	"ChangeSubscriptionState": {roles: subscriptionManagers},
	"TakeOverSubscription":    {roles: subscriptionManagers},

	"AssignLicense":          {roles: licenseManagers},
	"RevokeAssignment":       {roles: licenseManagers},
	"ChangeAssignmentPlans":  {roles: licenseManagers},
	"UnassignAll":            {roles: licenseManagers},
	"AssignGroupLicense":     {roles: licenseManagers},
	"RevokeGroupLicense":     {roles: licenseManagers},
	"ReprocessGroupLicenses": {roles: licenseManagers},

	"RequestLicense":          {members: true},
	"ApproveRequest":          {roles: licenseManagers},
	"DenyRequest":             {roles: licenseManagers},
	"ShareRequest":            {roles: licenseManagers},
	"ConfigureRequestProcess": {roles: licenseManagers},
	"SetSelfServicePolicy":    {roles: licenseManagers},
	"ExpireRequests":          {system: true},

	QueryLicenses: {roles: licenseReaders},
	QueryRequests: {roles: licenseReaders},
	QueryUsers:    {roles: licenseReaders},
	QueryGroups:   {roles: licenseReaders},
	// Any user reads the catalog and the request process: they request
	// licenses by product and are shown the organization's process.
	QueryCatalog: {roles: licenseReaders, members: true},
	QueryProcess: {roles: licenseReaders, members: true},
	// The tenant's own administrators see which partners may act there.
	QueryPartners:     {roles: []Role{GlobalAdministrator, LicenseAdministrator, UserAdministrator, GlobalReader}},
	QueryUserLicenses: {roles: licenseReaders, self: true},
	QueryHistory:      {roles: auditors, self: true},
	QueryState:        {roles: auditors},
	QueryExport:       {roles: exporters},
	QueryReports:      {roles: auditors},
}

// Actions lists every command and query name in the permission table.
func Actions() []string {
	names := make([]string, 0, len(permissions))
	for n := range permissions {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// GDAPRoles are the tenant roles a partner's GDAP relationship may grant,
// for at most MaxDelegationDays (T3); Global Administrator is never
// delegated here.
var GDAPRoles = []Role{LicenseAdministrator, UserAdministrator, DirectoryWriters, GlobalReader}

// MaxDelegationDays is the longest a GDAP relationship lasts: two years.
const MaxDelegationDays = 730

// delegated returns the roles the tenant grants the partner at now: none
// once a relationship granted for a duration has ended, even before the
// ledger records its end (PartnerDelegationExpired). A zero now ignores the
// end, for callers that know no time.
func delegated(s *State, partner string, now time.Time) []Role {
	if end, ok := s.DelegationEnds[partner]; ok && !now.IsZero() && !now.Before(end) {
		return nil
	}
	return s.Delegations[partner]
}

// DelegationEnded reports whether the partner's relationship with the
// tenant ended by now (granted for a duration that has passed).
func DelegationEnded(s *State, partner string, now time.Time) bool {
	end, ok := s.DelegationEnds[partner]
	return ok && !now.Before(end)
}

// EffectiveRoles returns the roles p holds in the tenant whose state is s: its
// own roles in its home tenant, and for a partner's agent the roles both held
// by the agent and granted to the partner by the tenant's delegation. It does
// not look at when delegations end; EffectiveRolesAt does.
func EffectiveRoles(p Principal, s *State) []Role {
	return EffectiveRolesAt(p, s, time.Time{})
}

// EffectiveRolesAt is EffectiveRoles at the instant now: a relationship that
// has ended grants nothing.
func EffectiveRolesAt(p Principal, s *State, now time.Time) []Role {
	switch {
	case p.Partner != "":
		granted := delegated(s, p.Partner, now)
		var roles []Role
		for _, r := range p.Roles {
			if slices.Contains(granted, r) {
				roles = append(roles, r)
			}
		}
		return roles
	case p.Tenant == s.Tenant:
		return p.Roles
	}
	return nil
}

// Authorize decides whether p may perform action in the tenant whose state is
// s. subjectUser names the user a query is about, for "self" rules. A refusal
// names the roles that were missing.
func Authorize(p Principal, s *State, action, subjectUser string) error {
	return AuthorizeAt(p, s, action, subjectUser, time.Time{})
}

// AuthorizeAt is Authorize at the instant now, when a partner's GDAP
// relationship may have ended.
func AuthorizeAt(p Principal, s *State, action, subjectUser string, now time.Time) error {
	r, ok := permissions[action]
	if !ok {
		return Errorf(CodeNotFound, "unknown command or query %q", action)
	}
	if p.System {
		return nil
	}
	if r.system {
		return Errorf(CodeForbidden, "%s is sent only by the ledger itself", action)
	}
	member := p.Partner == "" && p.Tenant == s.Tenant
	if p.Partner == "" && !member {
		return Errorf(CodeForbidden, "%s belongs to tenant %q and cannot act in tenant %q", p.ID, p.Tenant, s.Tenant)
	}
	if p.Partner != "" && len(r.roles) > 0 && !now.IsZero() && DelegationEnded(s, p.Partner, now) {
		return Errorf(CodeForbidden, "the GDAP relationship of partner %q with tenant %q ended at %s; %s needs the role %s", p.Partner, s.Tenant, s.DelegationEnds[p.Partner].UTC().Format(time.RFC3339), action, rolesString(r.roles))
	}
	if p.Partner != "" && len(s.Delegations[p.Partner]) == 0 && len(r.roles) > 0 {
		return Errorf(CodeForbidden, "partner %q has no delegation in tenant %q; %s needs the role %s", p.Partner, s.Tenant, action, rolesString(r.roles))
	}
	roles := EffectiveRolesAt(p, s, now)
	if hasAny(roles, r.roles) || (r.members && member) || (r.self && member && subjectUser == p.ID) {
		return nil
	}
	if len(r.roles) == 0 {
		return Errorf(CodeForbidden, "%s may only be sent by users of tenant %q", action, s.Tenant)
	}
	return Errorf(CodeForbidden, "%s needs the role %s in tenant %q; %s has none of them", action, rolesString(r.roles), s.Tenant, p)
}

func hasAny(have, want []Role) bool {
	for _, r := range want {
		if slices.Contains(have, r) {
			return true
		}
	}
	return false
}

// RolesFor names who may send an action: its roles, "any user of the
// tenant" or "the ledger itself", for documentation.
func RolesFor(action string) []string {
	r, ok := permissions[action]
	if !ok {
		return nil
	}
	var out []string
	for _, role := range r.roles {
		out = append(out, string(role))
	}
	if r.members {
		out = append(out, "any user of the tenant")
	}
	if r.system {
		out = append(out, "the ledger itself")
	}
	return out
}
