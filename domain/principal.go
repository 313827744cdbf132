package domain

import (
	"fmt"
	"slices"
	"strings"
)

// Role is a tenant role or a partner's delegated role (T3).
type Role string

// Tenant roles.
const (
	GlobalAdministrator  Role = "GlobalAdministrator"
	LicenseAdministrator Role = "LicenseAdministrator"
	UserAdministrator    Role = "UserAdministrator"
	// GlobalReader reads what administrators read, the audit trail
	// included (L3, L4), and changes nothing: no command's rule names it.
	GlobalReader Role = "GlobalReader"
	// DirectoryWriters writes the directory and manages licenses: one of
	// the roles a partner's GDAP relationship grants to manage a customer's
	// licenses (the seed "Gérer les autorisations et les licences").
	DirectoryWriters Role = "DirectoryWriters"
)

// Partner (delegated) roles, held by a CSP partner's agents and granted in a
// customer tenant through a delegation.
const (
	AdminAgent          Role = "AdminAgent"
	HelpdeskAgent       Role = "HelpdeskAgent"
	SalesAgent          Role = "SalesAgent"
	UserManagementAdmin Role = "UserManagementAdmin"
)

// TenantRoles and PartnerRoles list the known roles, to validate configuration.
var (
	TenantRoles  = []Role{GlobalAdministrator, LicenseAdministrator, UserAdministrator, GlobalReader, DirectoryWriters}
	PartnerRoles = []Role{AdminAgent, HelpdeskAgent, SalesAgent, UserManagementAdmin}
)

// SystemActor is the actor of commands the ledger sends itself (expiry).
const SystemActor = "system"

// Principal is who sends a command or a query. A tenant principal belongs to
// one tenant; a partner principal belongs to a partner and acts in the
// customer tenants that granted that partner a delegation.
type Principal struct {
	ID      string // the actor recorded in events; for a user, their user id
	Tenant  string // home tenant; empty for partner principals
	Partner string // partner id, for a partner's agents
	Roles   []Role
	System  bool // the ledger itself
}

// String names the principal for logs and messages.
func (p Principal) String() string {
	if p.Partner != "" {
		return fmt.Sprintf("%s (partner %s)", p.ID, p.Partner)
	}
	return p.ID
}

// Has reports whether the principal holds one of roles.
func (p Principal) Has(roles ...Role) bool {
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

// ValidRole reports whether r is a known tenant or partner role.
func ValidRole(r Role) bool {
	return slices.Contains(TenantRoles, r) || slices.Contains(PartnerRoles, r)
}

func rolesString(roles []Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}
