package domain_test

import (
	"testing"

	"github.com/licensing-ledger/ledger/domain"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

func failed(group, product, user string, code domain.Code, detail string) *ledgerv1.GroupLicenseMemberFailed {
	return &ledgerv1.GroupLicenseMemberFailed{GroupId: group, ProductId: product, UserId: user, Code: string(code), Detail: detail}
}

// sales is a group with alice and bob.
var sales = msgs(member("alice", "US"), member("bob", "US"), groupCreated("sales"), joined("sales", "alice"), joined("sales", "bob"))

func TestA6_GroupLicenseIsHeldByEachMember(t *testing.T) {
	o := Given(t, contoso, with(sales, bought("s1", "SPB", 5))...).
		When(&ledgerv1.AssignGroupLicense{GroupId: "sales", ProductId: "SPB", DisabledPlans: []string{"SWAY"}}).
		Then(groupLicense("sales", "SPB", "SWAY"), inherited("alice", "SPB", "sales", "SWAY"), inherited("bob", "SPB", "sales", "SWAY"))
	if st := o.State(); st.Assigned("SPB") != 2 {
		t.Errorf("SPB assigned %d, want 2", st.Assigned("SPB"))
	}

	given := concat(sales, msgs(bought("s1", "SPB", 5), groupLicense("sales", "SPB"), inherited("alice", "SPB", "sales"), inherited("bob", "SPB", "sales")))
	Given(t, contoso, given...).
		When(&ledgerv1.AssignGroupLicense{GroupId: "sales", ProductId: "SPB"}).
		ThenError(domain.CodeConflict, "already holds")
	Given(t, contoso, given...).
		When(&ledgerv1.AssignGroupLicense{GroupId: "marketing", ProductId: "SPB"}).
		ThenError(domain.CodeNotFound, "marketing")
	Given(t, contoso, given...).
		When(&ledgerv1.AssignGroupLicense{GroupId: "sales", ProductId: "SHAREPOINTSTORAGE"}).
		ThenError(domain.CodeValidationFailed, "cannot be assigned")
}

func TestA6_OneSeatPerUserHoweverManyGroups(t *testing.T) {
	given := concat(sales, msgs(groupCreated("support"), joined("support", "alice"),
		groupLicense("support", "SPB"), inherited("alice", "SPB", "support")))

	o := Given(t, contoso, with(given, bought("s1", "SPB", 2))...).
		When(&ledgerv1.AssignGroupLicense{GroupId: "sales", ProductId: "SPB"}).
		Then(groupLicense("sales", "SPB"), inherited("alice", "SPB", "sales"), inherited("bob", "SPB", "sales"))
	if st := o.State(); st.Assigned("SPB") != 2 || st.Available("SPB") != 0 {
		t.Errorf("SPB: %d assigned, %d available; want 2, 0", st.Assigned("SPB"), st.Available("SPB"))
	}
}

func TestA6_InheritedLicenseCannotBeRevokedOnTheUser(t *testing.T) {
	given := concat(sales, msgs(bought("s1", "SPB", 5), groupLicense("sales", "SPB"), inherited("alice", "SPB", "sales")))
	Given(t, contoso, given...).
		When(&ledgerv1.RevokeAssignment{ProductId: "SPB", UserIds: users("alice")}).
		ThenViolations(domain.Violation{Subject: "alice", Code: domain.CodeConflict, Detail: "only through group sales"})
	Given(t, contoso, given...).
		When(&ledgerv1.UnassignAll{UserIds: users("alice")}).
		Then() // unassign all removes direct licenses only
}

func TestA6_MemberThatCannotGetItIsRecordedInErrorAndTheGroupKeepsTheLicense(t *testing.T) {
	o := Given(t, contoso, with(sales, bought("s1", "SPB", 1))...).
		When(&ledgerv1.AssignGroupLicense{GroupId: "sales", ProductId: "SPB"}).
		Then(groupLicense("sales", "SPB"), inherited("alice", "SPB", "sales"),
			failed("sales", "SPB", "bob", domain.CodeCountViolation, "Microsoft 365 Business Premium (SPB): 1 license needed, 0 available of 1: 1 short; buy 1 more or unassign some"))
	if _, ok := o.State().Groups["sales"].Licenses["SPB"]; !ok {
		t.Error("sales lost its license")
	}

	Given(t, contoso, with(sales, member("carol", "US"), member("nolo", ""), joined("sales", "carol"), joined("sales", "nolo"),
		bought("s0", "EXCHANGESTANDARD", 5), assigned("carol", "EXCHANGESTANDARD"), bought("s1", "ENTERPRISEPACK", 5))...).
		When(&ledgerv1.AssignGroupLicense{GroupId: "sales", ProductId: "ENTERPRISEPACK"}).
		Then(groupLicense("sales", "ENTERPRISEPACK"), inherited("alice", "ENTERPRISEPACK", "sales"), inherited("bob", "ENTERPRISEPACK", "sales"),
			failed("sales", "ENTERPRISEPACK", "carol", domain.CodeMutuallyExclusive, "service plans EXCHANGE_S_ENTERPRISE and EXCHANGE_S_STANDARD are mutually exclusive: carol would get both with Office 365 E3; switch one off or remove the license that holds the other"),
			failed("sales", "ENTERPRISEPACK", "nolo", domain.CodeProhibitedUsageLocation, "nolo has no usage location: set one before assigning Office 365 E3"))
}

func TestA6_LicenseFollowsMembershipChanges(t *testing.T) {
	given := concat(sales, msgs(member("carol", "US"), bought("s1", "SPB", 3), bought("s2", "POWER_BI_PRO", 1),
		groupLicense("sales", "SPB"), inherited("alice", "SPB", "sales"), inherited("bob", "SPB", "sales"),
		groupLicense("sales", "POWER_BI_PRO"), inherited("alice", "POWER_BI_PRO", "sales"), failed("sales", "POWER_BI_PRO", "bob", domain.CodeCountViolation, "..."),
		assigned("bob", "SPB")))

	Given(t, contoso, given...).As(userAdmin).
		When(&ledgerv1.AddGroupMembers{GroupId: "sales", UserIds: users("carol")}).
		Then(joined("sales", "carol"), inherited("carol", "SPB", "sales"),
			failed("sales", "POWER_BI_PRO", "carol", domain.CodeCountViolation, "Power BI Pro (POWER_BI_PRO): 1 license needed, 0 available of 1: 1 short; buy 1 more or unassign some"))
	Given(t, contoso, given...).As(userAdmin).
		When(&ledgerv1.RemoveGroupMembers{GroupId: "sales", UserIds: users("alice", "bob")}).
		Then(lost("alice", "POWER_BI_PRO", "sales"), lost("alice", "SPB", "sales"), left("sales", "alice"),
			removed("bob", "SPB", "sales"), left("sales", "bob")) // bob keeps SPB directly
}

func TestA6_ISVAppsAreAssignedToGroups(t *testing.T) {
	given := concat(sales, msgs(bought("s1", "SPB", 5), bought("s2", "CONTOSO_FIELDSERVICE", 5), assigned("alice", "SPB")))
	Given(t, contoso, given...).
		When(&ledgerv1.AssignGroupLicense{GroupId: "sales", ProductId: "CONTOSO_FIELDSERVICE"}).
		Then(groupLicense("sales", "CONTOSO_FIELDSERVICE"), inherited("alice", "CONTOSO_FIELDSERVICE", "sales"),
			failed("sales", "CONTOSO_FIELDSERVICE", "bob", domain.CodeDependency, "service plan CONTOSO_FIELDSERVICE_APP of Contoso Field Service for Teams needs TEAMS1, which bob would not have on; turn it on or switch CONTOSO_FIELDSERVICE_APP off"))

	// A new member of a group holding both the app and the Teams it needs
	// gets both, whatever the order of the group's products.
	Given(t, contoso, with(given, member("dave", "US"), groupLicense("sales", "SPB"), groupLicense("sales", "CONTOSO_FIELDSERVICE"))...).As(userAdmin).
		When(&ledgerv1.AddGroupMembers{GroupId: "sales", UserIds: users("dave")}).
		Then(joined("sales", "dave"), inherited("dave", "SPB", "sales"), inherited("dave", "CONTOSO_FIELDSERVICE", "sales"))
}

func TestA6_RevokeGroupLicenseRemovesWhatMembersHoldOnlyThroughIt(t *testing.T) {
	given := concat(sales, msgs(bought("s1", "SPB", 5), groupLicense("sales", "SPB"),
		inherited("alice", "SPB", "sales"), inherited("bob", "SPB", "sales"), assigned("bob", "SPB")))
	o := Given(t, contoso, given...).
		When(&ledgerv1.RevokeGroupLicense{GroupId: "sales", ProductId: "SPB"}).
		Then(&ledgerv1.GroupLicenseRemoved{GroupId: "sales", ProductId: "SPB"}, lost("alice", "SPB", "sales"), removed("bob", "SPB", "sales"))
	if st := o.State(); st.Assigned("SPB") != 1 {
		t.Errorf("SPB assigned %d, want 1 (bob's direct license)", st.Assigned("SPB"))
	}
	Given(t, contoso, given...).
		When(&ledgerv1.RevokeGroupLicense{GroupId: "sales", ProductId: "ENTERPRISEPACK"}).
		ThenError(domain.CodeNotFound, "ENTERPRISEPACK")
}

// TestA4_A6_RevokingAGroupLicenseADependencyNeedsIsRefused: taking a group's
// product away is refused, listing the members, when they keep a plan that
// needs one only that product gave them.
func TestA4_A6_RevokingAGroupLicenseADependencyNeedsIsRefused(t *testing.T) {
	given := concat(sales, msgs(bought("s1", "SPB", 5), bought("s2", "CONTOSO_FIELDSERVICE", 5),
		groupLicense("sales", "SPB"), inherited("alice", "SPB", "sales"), inherited("bob", "SPB", "sales"),
		assigned("alice", "CONTOSO_FIELDSERVICE")))
	Given(t, contoso, given...).
		When(&ledgerv1.RevokeGroupLicense{GroupId: "sales", ProductId: "SPB"}).
		ThenError(domain.CodeDependency, "alice", "CONTOSO_FIELDSERVICE_APP", "TEAMS1")
	// Once the app is gone, the group's license can go.
	Given(t, contoso, with(given, &ledgerv1.LicenseRemoved{UserId: "alice", ProductId: "CONTOSO_FIELDSERVICE"})...).
		When(&ledgerv1.RevokeGroupLicense{GroupId: "sales", ProductId: "SPB"}).
		Then(&ledgerv1.GroupLicenseRemoved{GroupId: "sales", ProductId: "SPB"}, lost("alice", "SPB", "sales"), lost("bob", "SPB", "sales"))
}

// guestRule is why a guest is in error for a group's product when the
// command was not a Global Administrator's (T3).
const guestRule = "gus is a guest: assigning a license to a guest needs the role GlobalAdministrator"

func TestT3_AGuestInheritsALicenseOnlyByAGlobalAdministratorsCommand(t *testing.T) {
	given := with(sales, guest("gus", "US"), bought("s1", "SPB", 5))
	Given(t, contoso, with(given, joined("sales", "gus"))...).
		When(&ledgerv1.AssignGroupLicense{GroupId: "sales", ProductId: "SPB"}).
		Then(groupLicense("sales", "SPB"), inherited("alice", "SPB", "sales"), inherited("bob", "SPB", "sales"),
			failed("sales", "SPB", "gus", domain.CodeForbidden, guestRule))
	Given(t, contoso, with(given, joined("sales", "gus"))...).As(globalAdmin).
		When(&ledgerv1.AssignGroupLicense{GroupId: "sales", ProductId: "SPB"}).
		Then(groupLicense("sales", "SPB"), inherited("alice", "SPB", "sales"), inherited("bob", "SPB", "sales"), inherited("gus", "SPB", "sales"))

	licensed := with(given, groupLicense("sales", "SPB"), inherited("alice", "SPB", "sales"), inherited("bob", "SPB", "sales"))
	Given(t, contoso, licensed...).As(userAdmin).
		When(&ledgerv1.AddGroupMembers{GroupId: "sales", UserIds: users("gus")}).
		Then(joined("sales", "gus"), failed("sales", "SPB", "gus", domain.CodeForbidden, guestRule))
	Given(t, contoso, licensed...).As(globalAdmin).
		When(&ledgerv1.AddGroupMembers{GroupId: "sales", UserIds: users("gus")}).
		Then(joined("sales", "gus"), inherited("gus", "SPB", "sales"))
}

func TestA6_ReprocessGivesMembersInErrorWhatTheyCanNowGet(t *testing.T) {
	inError := with(sales, member("carol", "US"), guest("gus", "US"), joined("sales", "carol"), joined("sales", "gus"),
		bought("s1", "SPB", 1), groupLicense("sales", "SPB"), inherited("alice", "SPB", "sales"),
		failed("sales", "SPB", "bob", domain.CodeCountViolation, "..."), failed("sales", "SPB", "carol", domain.CodeCountViolation, "..."),
		failed("sales", "SPB", "gus", domain.CodeForbidden, guestRule))

	t.Run("MoreSeats", func(t *testing.T) {
		o := Given(t, contoso, with(inError, bought("s2", "SPB", 1))...).
			When(&ledgerv1.ReprocessGroupLicenses{GroupId: "sales"}).
			Then(inherited("bob", "SPB", "sales"),
				failed("sales", "SPB", "carol", domain.CodeCountViolation, "Microsoft 365 Business Premium (SPB): 1 license needed, 0 available of 2: 1 short; buy 1 more or unassign some"),
				failed("sales", "SPB", "gus", domain.CodeForbidden, guestRule))
		if st := o.State(); st.Assigned("SPB") != 2 {
			t.Errorf("SPB assigned %d, want 2", st.Assigned("SPB"))
		}
	})
	t.Run("ByAGlobalAdministrator", func(t *testing.T) {
		Given(t, contoso, with(inError, bought("s2", "SPB", 3))...).As(globalAdmin).
			When(&ledgerv1.ReprocessGroupLicenses{GroupId: "sales"}).
			Then(inherited("bob", "SPB", "sales"), inherited("carol", "SPB", "sales"), inherited("gus", "SPB", "sales"))
	})
	t.Run("NothingInError", func(t *testing.T) {
		Given(t, contoso, with(sales, bought("s1", "SPB", 2), groupLicense("sales", "SPB"),
			inherited("alice", "SPB", "sales"), inherited("bob", "SPB", "sales"))...).
			When(&ledgerv1.ReprocessGroupLicenses{GroupId: "sales"}).
			Then()
	})
	t.Run("UnknownGroup", func(t *testing.T) {
		Given(t, contoso, inError...).
			When(&ledgerv1.ReprocessGroupLicenses{GroupId: "marketing"}).
			ThenError(domain.CodeNotFound, "marketing")
		Given(t, contoso, inError...).
			When(&ledgerv1.ReprocessGroupLicenses{GroupId: ""}).
			ThenError(domain.CodeValidationFailed, "group_id")
	})
}
