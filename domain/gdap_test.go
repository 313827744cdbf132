package domain_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensing-ledger/ledger/domain"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// gdap is a GDAP relationship of partner northwind granted at t0 for days.
func gdap(days int, roles ...string) *ledgerv1.PartnerDelegationGranted {
	return &ledgerv1.PartnerDelegationGranted{PartnerId: "northwind", Roles: roles, ExpiresAt: timestamppb.New(t0.AddDate(0, 0, days))}
}

func TestT3_GDAPGrantsTenantRolesForADuration(t *testing.T) {
	Given(t, contoso, staff...).As(globalAdmin).
		When(&ledgerv1.GrantPartnerDelegation{PartnerId: "northwind", Roles: []string{"LicenseAdministrator", "DirectoryWriters", "GlobalReader", "AdminAgent"}, DurationDays: 30}).
		Then(&ledgerv1.PartnerDelegationGranted{PartnerId: "northwind", Roles: []string{"LicenseAdministrator", "DirectoryWriters", "GlobalReader", "AdminAgent"}, ExpiresAt: timestamppb.New(t0.AddDate(0, 0, 30))})
	// Legacy agent roles alone may still be granted without an end (DAP).
	Given(t, contoso, staff...).As(globalAdmin).
		When(&ledgerv1.GrantPartnerDelegation{PartnerId: "northwind", Roles: []string{"AdminAgent"}}).
		Then(delegated("AdminAgent"))
}

func TestT3_GDAPRefusesTenantRolesWithoutAnEndLongerThanTwoYearsAndGlobalAdmin(t *testing.T) {
	Given(t, contoso, staff...).As(globalAdmin).
		When(&ledgerv1.GrantPartnerDelegation{PartnerId: "northwind", Roles: []string{"LicenseAdministrator"}}).
		ThenError(domain.CodeValidationFailed, "LicenseAdministrator is granted through GDAP, for a duration: set duration_days (1 to 730)")
	Given(t, contoso, staff...).As(globalAdmin).
		When(&ledgerv1.GrantPartnerDelegation{PartnerId: "northwind", Roles: []string{"UserAdministrator"}, DurationDays: 731}).
		ThenError(domain.CodeValidationFailed, "at most 730 days (two years)")
	Given(t, contoso, staff...).As(globalAdmin).
		When(&ledgerv1.GrantPartnerDelegation{PartnerId: "northwind", Roles: []string{"GlobalAdministrator"}, DurationDays: 30}).
		ThenError(domain.CodeValidationFailed, `"GlobalAdministrator" cannot be delegated`)
	Given(t, contoso, staff...).As(licenseAdmin).
		When(&ledgerv1.GrantPartnerDelegation{PartnerId: "northwind", Roles: []string{"GlobalReader"}, DurationDays: 30}).
		ThenError(domain.CodeForbidden, "GrantPartnerDelegation needs the role GlobalAdministrator")
}

func TestT3_AnAgentActsWithTheRolesBothHeldAndGrantedUntilTheRelationshipEnds(t *testing.T) {
	given := with(staff, gdap(30, "LicenseAdministrator", "DirectoryWriters"))
	lic := agent(domain.LicenseAdministrator)
	Given(t, contoso, given...).As(lic).At(t0.AddDate(0, 0, 29)).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice")}).
		Then(assigned("alice", "SPB"))
	// An agent holding a role the relationship does not grant gets nothing from it.
	Given(t, contoso, given...).As(agent(domain.GlobalReader)).At(t0.AddDate(0, 0, 1)).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice")}).
		ThenError(domain.CodeForbidden, "AssignLicense needs the role")
	// Directory Writers manage licenses and the directory (the seed's GDAP roles).
	Given(t, contoso, given...).As(agent(domain.DirectoryWriters)).At(t0.AddDate(0, 0, 1)).
		When(&ledgerv1.CreateGroup{GroupId: "field", Name: "Field"}).
		Then(&ledgerv1.GroupCreated{GroupId: "field", Name: "Field"})
	// At the end, access ends by itself, before the ledger records it.
	Given(t, contoso, given...).As(lic).At(t0.AddDate(0, 0, 30)).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice")}).
		ThenError(domain.CodeForbidden, `the GDAP relationship of partner "northwind" with tenant "contoso" ended at 2025-04-02T09:00:00Z`)
	st := Given(t, contoso, given...).state()
	if err := domain.AuthorizeAt(lic, st, domain.QueryLicenses, "", t0.AddDate(0, 0, 31)); domain.ErrorCode(err) != domain.CodeForbidden {
		t.Errorf("a query after the end: %v, want Forbidden", err)
	}
	if roles := domain.EffectiveRolesAt(lic, st, t0.AddDate(0, 0, 31)); len(roles) != 0 {
		t.Errorf("roles after the end: %v", roles)
	}
}

func TestT3_TheSweepRecordsTheEndOfRelationships(t *testing.T) {
	given := with(staff, gdap(30, "LicenseAdministrator"),
		&ledgerv1.PartnerDelegationGranted{PartnerId: "fabrikam", Roles: []string{"UserAdministrator"}, ExpiresAt: timestamppb.New(t0.AddDate(1, 0, 0))},
		&ledgerv1.PartnerDelegationGranted{PartnerId: "legacy", Roles: []string{"AdminAgent"}})
	o := Given(t, contoso, given...).As(system).At(t0.AddDate(0, 0, 30)).
		When(&ledgerv1.ExpireRequests{}).
		Then(&ledgerv1.PartnerDelegationExpired{PartnerId: "northwind", ExpiredAt: timestamppb.New(t0.AddDate(0, 0, 30))})
	st := o.State()
	if _, ok := st.Delegations["northwind"]; ok {
		t.Error("the expired relationship is still in the state")
	}
	if len(st.Delegations["fabrikam"]) != 1 || len(st.Delegations["legacy"]) != 1 {
		t.Errorf("the other relationships changed: %v", st.Delegations)
	}
	// A relationship granted before GDAP (no end) never ends by itself.
	Given(t, contoso, with(staff, delegated("AdminAgent"))...).As(agent(domain.AdminAgent)).At(t0.Add(5 * 365 * 24 * time.Hour)).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice")}).
		Then(assigned("alice", "SPB"))
	// A relationship granted again for longer replaces the first end.
	st2 := Given(t, contoso, with(staff, gdap(30, "LicenseAdministrator"), gdap(60, "LicenseAdministrator"))...).state()
	if !st2.DelegationEnds["northwind"].Equal(t0.AddDate(0, 0, 60)) {
		t.Errorf("end %v", st2.DelegationEnds["northwind"])
	}
}
