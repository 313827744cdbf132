package domain_test

import (
	"testing"

	"github.com/licensing-ledger/ledger/domain"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestA1_AssignToOneUser(t *testing.T) {
	Given(t, contoso, member("alice", "US"), bought("s1", "SPB", 5)).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice")}).
		Then(assigned("alice", "SPB"))
	Given(t, contoso, member("alice", "US"), bought("s1", "SPB", 5)).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("zoe")}).
		ThenViolations(domain.Violation{Subject: "zoe", Code: domain.CodeNotFound, Detail: "not in tenant"})
}

func TestA1_BulkAssignOf20(t *testing.T) {
	evs, ids := members(20, "US")
	var want []proto.Message
	for _, id := range ids {
		want = append(want, assigned(id, "SPB"))
	}
	Given(t, contoso, with(evs, bought("s1", "SPB", 20))...).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: ids}).
		Then(want...)
}

func TestA1_BulkAssignIsAllOrNothingWithAViolationPerFailingUser(t *testing.T) {
	evs, ids := members(16, "US")
	given := concat(evs, msgs(member("nolo", ""), guest("gus", "US"), member("exo", "US"),
		bought("s0", "EXCHANGESTANDARD", 1), assigned("exo", "EXCHANGESTANDARD")))
	ids = append(ids, "nolo", "gus", "zoe", "exo") // 20 users, 4 of whom cannot get E3

	e := Given(t, contoso, with(given, bought("s1", "ENTERPRISEPACK", 30))...).
		When(&ledgerv1.AssignLicense{ProductId: "ENTERPRISEPACK", UserIds: ids}).
		ThenViolations(
			domain.Violation{Subject: "nolo", Code: domain.CodeProhibitedUsageLocation, Detail: "no usage location"},
			domain.Violation{Subject: "gus", Code: domain.CodeForbidden, Detail: "GlobalAdministrator"},
			domain.Violation{Subject: "zoe", Code: domain.CodeNotFound, Detail: "not in tenant"},
			domain.Violation{Subject: "exo", Code: domain.CodeMutuallyExclusive, Detail: "EXCHANGE_S_ENTERPRISE and EXCHANGE_S_STANDARD"},
		)
	if want := "AssignLicense refused for 4 users; nothing was changed"; e.Detail != want {
		t.Errorf("detail %q, want %q", e.Detail, want)
	}

	// Too few seats for the others adds the shortfall.
	Given(t, contoso, with(given, bought("s1", "ENTERPRISEPACK", 10))...).
		When(&ledgerv1.AssignLicense{ProductId: "ENTERPRISEPACK", UserIds: ids}).
		ThenViolations(
			domain.Violation{Subject: "nolo", Code: domain.CodeProhibitedUsageLocation},
			domain.Violation{Subject: "gus", Code: domain.CodeForbidden},
			domain.Violation{Subject: "zoe", Code: domain.CodeNotFound},
			domain.Violation{Subject: "exo", Code: domain.CodeMutuallyExclusive},
			domain.Violation{Subject: "ENTERPRISEPACK", Code: domain.CodeCountViolation, Detail: "16 licenses needed, 10 available of 10: 6 short"},
		)
}

func TestA1_BulkActionsTakeAtMost20DistinctUsers(t *testing.T) {
	evs, ids := members(21, "US")
	given := with(evs, bought("s1", "SPB", 50))
	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: ids}).
		ThenError(domain.CodeValidationFailed, "21 users", "at most 20")
	Given(t, contoso, given...).
		When(&ledgerv1.RevokeAssignment{ProductId: "SPB", UserIds: ids}).
		ThenError(domain.CodeValidationFailed, "at most 20")
	Given(t, contoso, given...).
		When(&ledgerv1.UnassignAll{UserIds: ids}).
		ThenError(domain.CodeValidationFailed, "at most 20")
	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("user01", "user02", "user01")}).
		ThenError(domain.CodeValidationFailed, "user01", "listed twice")
	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "SPB"}).
		ThenError(domain.CodeValidationFailed, "at least one user")
}

func TestA1_BulkUnassignIsAllOrNothing(t *testing.T) {
	given := msgs(member("alice", "US"), member("bob", "US"), member("carol", "US"), bought("s1", "SPB", 5),
		assigned("alice", "SPB"), assigned("bob", "SPB"))
	Given(t, contoso, given...).
		When(&ledgerv1.RevokeAssignment{ProductId: "SPB", UserIds: users("alice", "bob")}).
		Then(lost("alice", "SPB", ""), lost("bob", "SPB", ""))
	Given(t, contoso, given...).
		When(&ledgerv1.RevokeAssignment{ProductId: "SPB", UserIds: users("alice", "carol", "zoe")}).
		ThenViolations(
			domain.Violation{Subject: "carol", Code: domain.CodeNotFound, Detail: "does not hold Microsoft 365 Business Premium"},
			domain.Violation{Subject: "zoe", Code: domain.CodeNotFound, Detail: "not in tenant"},
		)
}

func TestA2_AssignWithServicePlansSwitchedOff(t *testing.T) {
	Given(t, contoso, member("alice", "US"), bought("s1", "SPB", 5)).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice"), DisabledPlans: []string{"SWAY", "YAMMER_ENTERPRISE"}}).
		Then(assigned("alice", "SPB", "SWAY", "YAMMER_ENTERPRISE"))
	Given(t, contoso, member("alice", "US"), bought("s1", "SPB", 5)).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice"), DisabledPlans: []string{"SWAY", "SWAY"}}).
		ThenError(domain.CodeValidationFailed, "SWAY", "listed twice")
}

func TestA2_AdminChangesEnabledPlansLater(t *testing.T) {
	given := msgs(member("alice", "US"), member("bob", "US"), bought("s1", "SPB", 5),
		assigned("alice", "SPB", "SWAY"), groupCreated("sales"), joined("sales", "bob"), inherited("bob", "SPB", "sales"))

	Given(t, contoso, given...).
		When(&ledgerv1.ChangeAssignmentPlans{UserId: "alice", ProductId: "SPB", DisabledPlans: []string{"YAMMER_ENTERPRISE"}}).
		Then(&ledgerv1.AssignmentPlansChanged{UserId: "alice", ProductId: "SPB", DisabledPlans: []string{"YAMMER_ENTERPRISE"}, PreviousDisabledPlans: []string{"SWAY"}})
	Given(t, contoso, given...).
		When(&ledgerv1.ChangeAssignmentPlans{UserId: "alice", ProductId: "SPB"}).
		Then(&ledgerv1.AssignmentPlansChanged{UserId: "alice", ProductId: "SPB", PreviousDisabledPlans: []string{"SWAY"}})
	Given(t, contoso, given...).
		When(&ledgerv1.ChangeAssignmentPlans{UserId: "alice", ProductId: "SPB", DisabledPlans: []string{"VISIOONLINE"}}).
		ThenError(domain.CodeValidationFailed, "VISIOONLINE")
	// Plans of an inherited license are the group's.
	Given(t, contoso, given...).
		When(&ledgerv1.ChangeAssignmentPlans{UserId: "bob", ProductId: "SPB", DisabledPlans: []string{"SWAY"}}).
		ThenError(domain.CodeNotFound, "no direct license")
}

func TestA3_CountViolationNamesProductAndShortfall(t *testing.T) {
	Given(t, contoso, member("alice", "US"), member("bob", "US"), member("carol", "US"),
		bought("s1", "SPB", 2), assigned("alice", "SPB")).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice", "bob", "carol")}).
		ThenError(domain.CodeCountViolation, "Microsoft 365 Business Premium (SPB)", "2 licenses needed, 1 available of 2: 1 short", "buy 1 more")
	// A product nobody bought is short of every seat.
	Given(t, contoso, member("alice", "US")).
		When(&ledgerv1.AssignLicense{ProductId: "VISIOCLIENT", UserIds: users("alice")}).
		ThenError(domain.CodeCountViolation, "Visio Plan 2", "1 short", "buy 1 more")
}

func TestA3_UsersWhoHoldTheProductAlreadyNeedNoSeat(t *testing.T) {
	o := Given(t, contoso, member("alice", "US"), bought("s1", "SPB", 1),
		groupCreated("sales"), joined("sales", "alice"), groupLicense("sales", "SPB"), inherited("alice", "SPB", "sales")).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice")}).
		Then(assigned("alice", "SPB"))
	if st := o.State(); st.Assigned("SPB") != 1 || st.Available("SPB") != 0 {
		t.Errorf("SPB: %d assigned, %d available; want 1, 0", st.Assigned("SPB"), st.Available("SPB"))
	}
}

func TestA4_MutuallyExclusivePlans(t *testing.T) {
	given := msgs(member("alice", "US"), bought("s1", "EXCHANGESTANDARD", 5), bought("s2", "ENTERPRISEPACK", 5),
		assigned("alice", "EXCHANGESTANDARD"))

	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "ENTERPRISEPACK", UserIds: users("alice")}).
		ThenError(domain.CodeMutuallyExclusive, "EXCHANGE_S_ENTERPRISE and EXCHANGE_S_STANDARD", "Office 365 E3")
	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "ENTERPRISEPACK", UserIds: users("alice"), DisabledPlans: []string{"EXCHANGE_S_ENTERPRISE"}}).
		Then(assigned("alice", "ENTERPRISEPACK", "EXCHANGE_S_ENTERPRISE"))
}

// A2 and A4: plans switched off on assignment, then changed; turning on a
// plan that conflicts with another license is refused.
func TestA4_TurningOnAConflictingPlanIsRefused(t *testing.T) {
	given := msgs(member("alice", "US"), bought("s1", "EXCHANGESTANDARD", 5), bought("s2", "ENTERPRISEPACK", 5),
		assigned("alice", "EXCHANGESTANDARD"), assigned("alice", "ENTERPRISEPACK", "EXCHANGE_S_ENTERPRISE", "SWAY"))

	Given(t, contoso, given...).
		When(&ledgerv1.ChangeAssignmentPlans{UserId: "alice", ProductId: "ENTERPRISEPACK", DisabledPlans: []string{"EXCHANGE_S_ENTERPRISE"}}).
		Then(&ledgerv1.AssignmentPlansChanged{UserId: "alice", ProductId: "ENTERPRISEPACK",
			DisabledPlans: []string{"EXCHANGE_S_ENTERPRISE"}, PreviousDisabledPlans: []string{"EXCHANGE_S_ENTERPRISE", "SWAY"}})
	Given(t, contoso, given...).
		When(&ledgerv1.ChangeAssignmentPlans{UserId: "alice", ProductId: "ENTERPRISEPACK", DisabledPlans: []string{"SWAY"}}).
		ThenError(domain.CodeMutuallyExclusive, "EXCHANGE_S_ENTERPRISE and EXCHANGE_S_STANDARD")

	// Once Exchange Plan 2 is on, Exchange Plan 1 cannot be added.
	Given(t, contoso, member("bob", "US"), bought("s1", "EXCHANGESTANDARD", 5), bought("s2", "ENTERPRISEPACK", 5),
		assigned("bob", "ENTERPRISEPACK", "EXCHANGE_S_ENTERPRISE"),
		&ledgerv1.AssignmentPlansChanged{UserId: "bob", ProductId: "ENTERPRISEPACK", PreviousDisabledPlans: []string{"EXCHANGE_S_ENTERPRISE"}}).
		When(&ledgerv1.AssignLicense{ProductId: "EXCHANGESTANDARD", UserIds: users("bob")}).
		ThenError(domain.CodeMutuallyExclusive, "EXCHANGE_S_ENTERPRISE and EXCHANGE_S_STANDARD", "Exchange Online (Plan 1)")
}

func TestA4_PlanWhoseDependencyIsMissing(t *testing.T) {
	given := msgs(member("alice", "US"), bought("s1", "MCOPSTN1", 5), bought("s2", "ENTERPRISEPREMIUM", 5))

	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "MCOPSTN1", UserIds: users("alice")}).
		ThenError(domain.CodeDependency, "MCOPSTN1", "needs MCOEV")
	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "ENTERPRISEPREMIUM", UserIds: users("alice"), DisabledPlans: []string{"MCOSTANDARD"}}).
		ThenError(domain.CodeDependency, "MCOEV", "needs MCOSTANDARD")
	Given(t, contoso, with(given, assigned("alice", "ENTERPRISEPREMIUM"))...).
		When(&ledgerv1.AssignLicense{ProductId: "MCOPSTN1", UserIds: users("alice")}).
		Then(assigned("alice", "MCOPSTN1"))
}

func TestA4_RemovingADependencyIsRefused(t *testing.T) {
	given := msgs(member("alice", "US"), bought("s1", "SPB", 5), bought("s2", "CONTOSO_FIELDSERVICE", 5),
		bought("s3", "ENTERPRISEPREMIUM", 5), bought("s4", "MCOPSTN1", 5), bought("s5", "Microsoft_Teams_Enterprise_New", 5),
		assigned("alice", "SPB"), assigned("alice", "CONTOSO_FIELDSERVICE"))

	Given(t, contoso, given...).
		When(&ledgerv1.RevokeAssignment{ProductId: "SPB", UserIds: users("alice")}).
		ThenError(domain.CodeDependency, "CONTOSO_FIELDSERVICE_APP", "needs TEAMS1")
	Given(t, contoso, given...).
		When(&ledgerv1.ChangeAssignmentPlans{UserId: "alice", ProductId: "SPB", DisabledPlans: []string{"TEAMS1"}}).
		ThenError(domain.CodeDependency, "CONTOSO_FIELDSERVICE_APP", "needs TEAMS1")
	// With Teams from another license, SPB can go.
	Given(t, contoso, with(given, assigned("alice", "Microsoft_Teams_Enterprise_New"))...).
		When(&ledgerv1.RevokeAssignment{ProductId: "SPB", UserIds: users("alice")}).
		Then(lost("alice", "SPB", ""))

	phone := msgs(member("bob", "US"), bought("s3", "ENTERPRISEPREMIUM", 5), bought("s4", "MCOPSTN1", 5),
		assigned("bob", "ENTERPRISEPREMIUM"), assigned("bob", "MCOPSTN1"))
	Given(t, contoso, phone...).
		When(&ledgerv1.ChangeAssignmentPlans{UserId: "bob", ProductId: "ENTERPRISEPREMIUM", DisabledPlans: []string{"MCOEV"}}).
		ThenError(domain.CodeDependency, "MCOPSTN1", "needs MCOEV")
	// Switching off a plan that nothing needs is fine.
	Given(t, contoso, phone...).
		When(&ledgerv1.ChangeAssignmentPlans{UserId: "bob", ProductId: "ENTERPRISEPREMIUM", DisabledPlans: []string{"MCOMEETADV"}}).
		Then(&ledgerv1.AssignmentPlansChanged{UserId: "bob", ProductId: "ENTERPRISEPREMIUM", DisabledPlans: []string{"MCOMEETADV"}})
}

func TestA4_ProductProhibitedInTheUsageLocation(t *testing.T) {
	given := msgs(member("alice", "JP"), member("bob", ""), member("carol", "FR"), bought("s1", "MCOPSTN1", 5),
		bought("s2", "ENTERPRISEPREMIUM", 5), bought("s3", "SPB", 5), bought("s4", "CONTOSO_FIELDSERVICE", 5),
		assigned("alice", "ENTERPRISEPREMIUM"), assigned("carol", "SPB"))

	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "MCOPSTN1", UserIds: users("alice")}).
		ThenError(domain.CodeProhibitedUsageLocation, "Microsoft 365 Domestic Calling Plan is not available in JP")
	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("bob")}).
		ThenError(domain.CodeProhibitedUsageLocation, "bob has no usage location")
	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "CONTOSO_FIELDSERVICE", UserIds: users("carol")}).
		ThenError(domain.CodeProhibitedUsageLocation, "not available in FR", "CA, GB, IE, US")
}

func TestA5_AssignMoreKeepsExistingLicensesAndSkipsDirectHolders(t *testing.T) {
	o := Given(t, contoso, member("alice", "US"), member("bob", "US"), member("carol", "US"),
		bought("s1", "SPB", 3), bought("s2", "POWER_BI_PRO", 3),
		assigned("alice", "SPB", "SWAY"), assigned("alice", "POWER_BI_PRO"),
		groupCreated("sales"), joined("sales", "bob"), groupLicense("sales", "SPB"), inherited("bob", "SPB", "sales")).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users("alice", "bob", "carol")}).
		Then(assigned("bob", "SPB"), assigned("carol", "SPB")) // bob adds a direct path to his inherited license

	st := o.State()
	if l := st.Users["alice"].Licenses["SPB"]; len(l.DirectDisabled) != 1 || st.Users["alice"].Licenses["POWER_BI_PRO"] == nil {
		t.Errorf("alice's licenses changed: %+v", st.Users["alice"].Licenses)
	}
	if st.Assigned("SPB") != 3 {
		t.Errorf("SPB assigned %d, want 3", st.Assigned("SPB"))
	}
}

func TestA5_UnassignAllRemovesEveryDirectLicenseOfTheSelectedUsers(t *testing.T) {
	given := msgs(member("alice", "US"), member("bob", "US"), member("carol", "US"),
		bought("s1", "SPB", 5), bought("s2", "CONTOSO_FIELDSERVICE", 5), bought("s3", "MCOEV", 5), bought("s4", "POWER_BI_PRO", 5),
		// alice's licenses depend on each other: they go together.
		assigned("alice", "SPB"), assigned("alice", "CONTOSO_FIELDSERVICE"), assigned("alice", "MCOEV"),
		// bob keeps what he inherits.
		groupCreated("sales"), joined("sales", "bob"), groupLicense("sales", "SPB"), inherited("bob", "SPB", "sales"),
		assigned("bob", "POWER_BI_PRO"), assigned("bob", "SPB"),
		// carol's inherited phone system needs the Skype plan of her direct SPB.
		groupCreated("phones"), joined("phones", "carol"), groupLicense("phones", "MCOEV"), assigned("carol", "SPB"), inherited("carol", "MCOEV", "phones"),
	)

	Given(t, contoso, given...).
		When(&ledgerv1.UnassignAll{UserIds: users("alice", "bob")}).
		Then(
			lost("alice", "CONTOSO_FIELDSERVICE", ""), lost("alice", "MCOEV", ""), lost("alice", "SPB", ""),
			lost("bob", "POWER_BI_PRO", ""), removed("bob", "SPB", ""),
		)
	Given(t, contoso, given...).
		When(&ledgerv1.UnassignAll{UserIds: users("alice", "carol", "zoe")}).
		ThenViolations(
			domain.Violation{Subject: "carol", Code: domain.CodeDependency, Detail: "MCOEV, which needs MCOSTANDARD"},
			domain.Violation{Subject: "zoe", Code: domain.CodeNotFound},
		)
}

// holdersAmong answers A7 from the state: which of the selected users hold
// the product, by any path.
func holdersAmong(st *domain.State, productID string, selection []string) []string {
	var out []string
	for _, id := range selection {
		if u := st.Users[id]; u != nil && u.Licenses[productID] != nil && u.Licenses[productID].Held() {
			out = append(out, id)
		}
	}
	return out
}

func TestA7_ForASelectionEachProductShowsWhoHoldsIt(t *testing.T) {
	given := msgs(member("alice", "US"), member("bob", "US"), member("carol", "US"),
		bought("s1", "SPB", 5), bought("s2", "POWER_BI_PRO", 5), bought("s3", "VISIOCLIENT", 5),
		assigned("alice", "POWER_BI_PRO"), assigned("bob", "POWER_BI_PRO"), assigned("carol", "POWER_BI_PRO"),
		assigned("alice", "SPB"), groupCreated("sales"), joined("sales", "bob"), groupLicense("sales", "SPB"), inherited("bob", "SPB", "sales"))
	selection := users("alice", "bob", "carol")

	st := Given(t, contoso, given...).When(&ledgerv1.UnassignAll{UserIds: users("carol")}).
		Then(lost("carol", "POWER_BI_PRO", "")).State()
	for product, want := range map[string][]string{
		"POWER_BI_PRO": {"alice", "bob"}, // some (all of them before carol's went)
		"SPB":          {"alice", "bob"}, // some, directly or through a group
		"VISIOCLIENT":  nil,              // none
	} {
		if got := holdersAmong(st, product, selection); !equalStrings(got, want) {
			t.Errorf("%s held by %v, want %v", product, got, want)
		}
	}
	// "Assign more" on the selection adds only those who lack it.
	Given(t, contoso, given...).
		When(&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: selection}).
		Then(assigned("bob", "SPB"), assigned("carol", "SPB"))
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestA8_LicenseRemovedRecordsDataRetentionOnlyWhenTheProductIsLost(t *testing.T) {
	both := msgs(member("alice", "US"), bought("s1", "SPB", 5),
		groupCreated("sales"), joined("sales", "alice"), groupLicense("sales", "SPB"),
		inherited("alice", "SPB", "sales"), assigned("alice", "SPB"))

	Given(t, contoso, both...).
		When(&ledgerv1.RevokeAssignment{ProductId: "SPB", UserIds: users("alice")}).
		Then(removed("alice", "SPB", "")) // still held through sales: no date
	Given(t, contoso, both[:len(both)-1]...).
		When(&ledgerv1.RevokeGroupLicense{GroupId: "sales", ProductId: "SPB"}).
		Then(&ledgerv1.GroupLicenseRemoved{GroupId: "sales", ProductId: "SPB"}, lost("alice", "SPB", "sales"))

	// The date is 30 days after the removal.
	later := t0.AddDate(0, 2, 0)
	Given(t, contoso, both[:len(both)-1]...).As(userAdmin).At(later).
		When(&ledgerv1.RemoveGroupMembers{GroupId: "sales", UserIds: users("alice")}).
		Then(&ledgerv1.LicenseRemoved{UserId: "alice", ProductId: "SPB", GroupId: "sales", DataRetainedUntil: timestamppb.New(later.AddDate(0, 0, 30))},
			left("sales", "alice"))
}
