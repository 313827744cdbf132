package domain_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/domain/catalog"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// agent is an agent of partner northwind holding roles.
func agent(roles ...domain.Role) domain.Principal {
	return domain.Principal{ID: "agent7", Partner: "northwind", Roles: roles}
}

func delegated(roles ...string) *ledgerv1.PartnerDelegationGranted {
	return &ledgerv1.PartnerDelegationGranted{PartnerId: "northwind", Roles: roles}
}

func TestT1_PrincipalOfAnotherTenantIsRefused(t *testing.T) {
	mallory := domain.Principal{ID: "mallory", Tenant: fabrikam, Roles: []domain.Role{domain.GlobalAdministrator}}
	Given(t, contoso, staff...).As(mallory).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice")}).
		ThenError(domain.CodeForbidden, `mallory belongs to tenant "fabrikam" and cannot act in tenant "contoso"`)
	Given(t, contoso, staff...).As(domain.Principal{ID: "alice", Tenant: fabrikam}).
		When(&ledgerv1.RequestLicense{ProductId: "SPB"}).
		ThenError(domain.CodeForbidden, "fabrikam")
}

func TestT1_TenantIDsAreOneSubjectToken(t *testing.T) {
	for id, valid := range map[string]bool{
		"contoso": true, "Contoso-EU_2": true, "": false, "contoso.eu": false, "a b": false, "*": false, ">": false,
		strings.Repeat("x", 64): true, strings.Repeat("x", 65): false,
	} {
		if domain.ValidTenantID(id) != valid || (domain.CheckTenantID(id) == nil) != valid {
			t.Errorf("tenant id %q: valid %v, want %v", id, !valid, valid)
		}
	}
	if err := domain.CheckTenantID("contoso.eu"); domain.ErrorCode(err) != domain.CodeValidationFailed {
		t.Errorf("CheckTenantID: %v, want ValidationFailed", err)
	}
}

func TestT1_EventsOfAnotherTenantNeverReachTheState(t *testing.T) {
	Given(t, contoso, bought("s1", "SPB", 5), envelope(t, fabrikam, t0, member("mallory", "US"))).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("mallory")}).
		ThenViolations(domain.Violation{Subject: "mallory", Code: domain.CodeNotFound, Detail: `not in tenant "contoso"`})
}

func TestT1_PartnerAgentActsThroughADelegation(t *testing.T) {
	given := with(staff, delegated("AdminAgent", "HelpdeskAgent"))
	Given(t, contoso, given...).As(agent(domain.AdminAgent)).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice")}).
		Then(assigned("alice", "SPB"))
	Given(t, contoso, given...).As(agent(domain.AdminAgent)).
		When(&ledgerv1.PurchaseSubscription{SubscriptionId: "s9", ProductId: "SPB", Seats: 10, Channel: ledgerv1.Channel_CHANNEL_PARTNER}).
		Then(&ledgerv1.SubscriptionPurchased{SubscriptionId: "s9", ProductId: "SPB", Seats: 10, Channel: ledgerv1.Channel_CHANNEL_PARTNER})
	// An agent cannot ask for a license as if they were a user of the tenant.
	Given(t, contoso, given...).As(agent(domain.AdminAgent)).
		When(&ledgerv1.RequestLicense{ProductId: "SPB"}).
		ThenError(domain.CodeForbidden, "only be sent by users")
}

func TestT1_PartnerAgentWithoutDelegationIsRefused(t *testing.T) {
	Given(t, contoso, staff...).As(agent(domain.AdminAgent)).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice")}).
		ThenError(domain.CodeForbidden, `partner "northwind" has no delegation in tenant "contoso"`, "AssignLicense needs the role", "AdminAgent")
	Given(t, contoso, with(staff, delegated("AdminAgent"), &ledgerv1.PartnerDelegationRevoked{PartnerId: "northwind"})...).As(agent(domain.AdminAgent)).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice")}).
		ThenError(domain.CodeForbidden, "no delegation")
	Given(t, contoso, staff...).As(agent(domain.AdminAgent)).
		When(&ledgerv1.RequestLicense{ProductId: "SPB"}).
		ThenError(domain.CodeForbidden, "RequestLicense may only be sent by users of tenant")
}

func TestT1_PartnerAgentHoldsOnlyTheRolesDelegated(t *testing.T) {
	given := with(staff, delegated("HelpdeskAgent"))
	Given(t, contoso, given...).As(agent(domain.AdminAgent, domain.HelpdeskAgent)).
		When(&ledgerv1.PurchaseSubscription{SubscriptionId: "s9", ProductId: "SPB", Seats: 10}).
		ThenError(domain.CodeForbidden, "PurchaseSubscription needs the role GlobalAdministrator or AdminAgent or SalesAgent", "agent7 (partner northwind)")
	Given(t, contoso, given...).As(agent(domain.SalesAgent)).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice")}).
		ThenError(domain.CodeForbidden, "AssignLicense needs the role")
}

func TestT1_OnlyAGlobalAdministratorManagesDelegations(t *testing.T) {
	Given(t, contoso).As(globalAdmin).
		When(&ledgerv1.GrantPartnerDelegation{PartnerId: "northwind", Roles: []string{"AdminAgent", "SalesAgent"}}).
		Then(delegated("AdminAgent", "SalesAgent"))
	Given(t, contoso).
		When(&ledgerv1.GrantPartnerDelegation{PartnerId: "northwind", Roles: []string{"AdminAgent"}}).
		ThenError(domain.CodeForbidden, "GrantPartnerDelegation needs the role GlobalAdministrator")
	Given(t, contoso).As(globalAdmin).
		When(&ledgerv1.GrantPartnerDelegation{PartnerId: "northwind", Roles: []string{"GlobalAdministrator"}}).
		ThenError(domain.CodeValidationFailed, "cannot be delegated")
	Given(t, contoso).As(globalAdmin).
		When(&ledgerv1.GrantPartnerDelegation{PartnerId: "northwind"}).
		ThenError(domain.CodeValidationFailed, "at least one role")
	Given(t, contoso, delegated("AdminAgent")).As(globalAdmin).
		When(&ledgerv1.RevokePartnerDelegation{PartnerId: "northwind"}).
		Then(&ledgerv1.PartnerDelegationRevoked{PartnerId: "northwind"})
	Given(t, contoso).As(globalAdmin).
		When(&ledgerv1.RevokePartnerDelegation{PartnerId: "northwind"}).
		ThenError(domain.CodeNotFound, "northwind")
}

func TestT3_RefusalsNameTheMissingRole(t *testing.T) {
	for _, c := range []struct {
		p    domain.Principal
		cmd  proto.Message
		want string
	}{
		{as("alice"), &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("bob")}, "AssignLicense needs the role GlobalAdministrator or LicenseAdministrator or UserAdministrator"},
		{as("alice"), &ledgerv1.ApproveRequest{RequestId: "r1"}, "ApproveRequest needs the role GlobalAdministrator or LicenseAdministrator or UserAdministrator or DirectoryWriters or AdminAgent"},
		{as("alice"), &ledgerv1.ShareRequest{RequestId: "r1"}, "ShareRequest needs the role GlobalAdministrator or LicenseAdministrator"},
		{licenseAdmin, &ledgerv1.PurchaseSubscription{SubscriptionId: "s9", ProductId: "SPB", Seats: 1}, "needs the role GlobalAdministrator or AdminAgent or SalesAgent"},
		{licenseAdmin, &ledgerv1.RegisterUser{UserId: "dave"}, "RegisterUser needs the role GlobalAdministrator or UserAdministrator"},
		{userAdmin, &ledgerv1.GrantPartnerDelegation{PartnerId: "northwind", Roles: []string{"AdminAgent"}}, "needs the role GlobalAdministrator"},
	} {
		e := Given(t, contoso, pending...).As(c.p).When(c.cmd).ThenError(domain.CodeForbidden, c.want)
		if !strings.Contains(e.Detail, c.p.ID+" has none of them") {
			t.Errorf("%s refusal %q does not name %s", domain.CommandName(c.cmd), e.Detail, c.p.ID)
		}
	}
}

func TestT3_LicenseAndUserAdministratorsManageLicensesAndRequests(t *testing.T) {
	for _, p := range []domain.Principal{licenseAdmin, userAdmin, globalAdmin} {
		Given(t, contoso, pending...).As(p).
			When(&ledgerv1.AssignLicense{ProductId: "ENTERPRISEPACK", UserIds: users("alice")}).
			Then(assigned("alice", "ENTERPRISEPACK"))
		Given(t, contoso, pending...).As(p).
			When(&ledgerv1.DenyRequest{RequestId: "r1"}).
			Then(&ledgerv1.RequestDecided{RequestId: "r1", Outcome: denied, RejectedUserIds: users("alice", "bob", "carol"), ProductId: "SPB"},
				notified("r1", "alice", denied, "SPB", ""), notified("r1", "bob", denied, "SPB", ""), notified("r1", "carol", denied, "SPB", ""))
	}
}

func TestT3_OrdinaryUserMayOnlyRequestAndReadTheirOwnLicenses(t *testing.T) {
	st := domain.NewState(contoso)
	alice := as("alice")
	if err := domain.Authorize(alice, st, domain.QueryUserLicenses, "alice"); err != nil {
		t.Errorf("alice reading her own licenses: %v", err)
	}
	for _, q := range []struct{ action, subject string }{
		{domain.QueryUserLicenses, "bob"}, {domain.QueryLicenses, ""}, {domain.QueryRequests, ""}, {domain.QueryUsers, ""},
	} {
		err := domain.Authorize(alice, st, q.action, q.subject)
		if domain.ErrorCode(err) != domain.CodeForbidden || !strings.Contains(err.Error(), "LicenseAdministrator") {
			t.Errorf("alice %s %s: %v, want Forbidden naming LicenseAdministrator", q.action, q.subject, err)
		}
	}
	for _, cmd := range domain.Commands() {
		err := domain.Authorize(alice, st, cmd, "")
		if allowed := err == nil; allowed != (cmd == "RequestLicense") {
			t.Errorf("alice sending %s: %v", cmd, err)
		}
	}
}

func TestT3_AssigningALicenseToAGuestNeedsGlobalAdministrator(t *testing.T) {
	given := with(staff, guest("gus", "US"), requested("r1", "SPB", "gus"))
	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("gus")}).
		ThenViolations(domain.Violation{Subject: "gus", Code: domain.CodeForbidden, Detail: "gus is a guest: assigning a license to a guest needs the role GlobalAdministrator"})
	Given(t, contoso, given...).As(globalAdmin).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("gus")}).
		Then(assigned("gus", "SPB"))
	Given(t, contoso, given...).
		When(&ledgerv1.ApproveRequest{RequestId: "r1"}).
		ThenViolations(domain.Violation{Subject: "gus", Code: domain.CodeForbidden, Detail: "GlobalAdministrator"})
	Given(t, contoso, given...).As(globalAdmin).
		When(&ledgerv1.ApproveRequest{RequestId: "r1"}).
		Then(&ledgerv1.RequestDecided{RequestId: "r1", Outcome: approved, ApprovedUserIds: users("gus"), ProductId: "SPB"},
			assigned("gus", "SPB"), notified("r1", "gus", approved, "SPB", ""))
}

// Every command message of ledger.v1 has a permission rule, and Decide
// knows it: a command added to the protos but forgotten here would be
// refused as unknown everywhere.
func TestT3_EveryCommandHasAPermissionRuleAndADecision(t *testing.T) {
	commands := domain.Commands()
	protoregistry.GlobalFiles.RangeFilesByPackage("ledger.v1", func(f protoreflect.FileDescriptor) bool {
		for i := 0; i < f.Messages().Len(); i++ {
			name := string(f.Messages().Get(i).Name())
			if name != "Event" && !ledgerv1.IsEventType(name) && !slices.Contains(commands, name) {
				t.Errorf("command %s has no permission rule", name)
			}
		}
		return true
	})
	st := domain.NewState(contoso)
	for _, name := range commands {
		cmd, ok := domain.NewCommand(name)
		if !ok {
			t.Fatalf("NewCommand(%q) failed", name)
		}
		_, err := domain.Decide(st, cmd, domain.Context{Principal: system, Now: t0, Catalog: catalog.Default(), NewID: func() string { return "id1" }})
		if err != nil && strings.Contains(err.Error(), "unknown command") {
			t.Errorf("Decide does not know %s", name)
		}
	}
	if _, err := domain.Decide(st, &ledgerv1.UserRegistered{UserId: "x"}, domain.Context{Catalog: catalog.Default()}); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("deciding an event: %v, want NotFound", err)
	}
	if err := domain.Authorize(globalAdmin, st, "DropTenant", ""); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("authorizing an unknown command: %v, want NotFound", err)
	}
}
