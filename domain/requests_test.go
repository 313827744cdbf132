package domain_test

import (
	"strings"
	"testing"

	"github.com/licensing-ledger/ledger/domain"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// staff are the users of the request scenarios, with 5 seats of SPB and
// ENTERPRISEPACK.
var staff = msgs(member("alice", "US"), member("bob", "US"), member("carol", "US"),
	bought("s1", "SPB", 5), bought("s2", "ENTERPRISEPACK", 5))

// pending is staff with request r1 of alice for SPB, for bob and carol too.
var pending = with(staff, requested("r1", "SPB", "alice", "bob", "carol"))

func TestQ1_UserRequestsALicenseForThemselvesAndOthers(t *testing.T) {
	o := Given(t, contoso, staff...).As(as("alice")).
		When(&ledgerv1.RequestLicense{ProductId: "SPB", UserIds: users("bob", "carol"), Message: "for the trade fair"}).
		Then(&ledgerv1.LicenseRequested{RequestId: "id1", ProductId: "SPB", RequesterId: "alice", UserIds: users("alice", "bob", "carol"), Message: "for the trade fair"})
	r := o.State().Requests["id1"]
	if r == nil || !r.Pending() || !r.Created.Equal(t0) || r.RequesterID != "alice" {
		t.Errorf("request recorded as %+v; want pending, created at %v, by alice", r, t0)
	}

	Given(t, contoso, staff...).As(as("alice")).
		When(&ledgerv1.RequestLicense{ProductId: "SPB", RequestId: "req-7"}).
		Then(&ledgerv1.LicenseRequested{RequestId: "req-7", ProductId: "SPB", RequesterId: "alice", UserIds: users("alice")})
}

func TestQ1_RequestRefusals(t *testing.T) {
	request := func(m *ledgerv1.RequestLicense) *outcome {
		return Given(t, contoso, pending...).As(as("alice")).When(m)
	}
	request(&ledgerv1.RequestLicense{ProductId: "SPB", UserIds: users("bob", "zoe")}).
		ThenError(domain.CodeNotFound, "zoe")
	request(&ledgerv1.RequestLicense{ProductId: "SPB", UserIds: users("alice", "bob")}).
		ThenError(domain.CodeValidationFailed, "requester alice")
	request(&ledgerv1.RequestLicense{ProductId: "SPB", UserIds: users("bob", "bob")}).
		ThenError(domain.CodeValidationFailed, "listed twice")
	request(&ledgerv1.RequestLicense{ProductId: "NOPE"}).
		ThenError(domain.CodeNotFound, "NOPE")
	request(&ledgerv1.RequestLicense{ProductId: "SPB", RequestId: "r1"}).
		ThenError(domain.CodeConflict, "r1")
	request(&ledgerv1.RequestLicense{ProductId: "SPB", Message: strings.Repeat("please ", 1000)}).
		ThenError(domain.CodeValidationFailed, "message is longer than 4096 bytes")
	request(&ledgerv1.RequestLicense{ProductId: "SHAREPOINTSTORAGE"}).
		ThenError(domain.CodeValidationFailed, "Office 365 Extra File Storage", "cannot be requested")

	_, others := members(20, "US")
	Given(t, contoso, pending...).As(as("alice")).
		When(&ledgerv1.RequestLicense{ProductId: "SPB", UserIds: others}).
		ThenError(domain.CodeValidationFailed, "at most 19 other users")
	// Only registered users of the tenant request.
	Given(t, contoso, pending...).As(as("ghost")).
		When(&ledgerv1.RequestLicense{ProductId: "SPB"}).
		ThenError(domain.CodeNotFound, "ghost", "not a registered user")
	// Where users may buy the product themselves, they do not request it.
	Given(t, contoso, with(pending, &ledgerv1.SelfServicePolicyChanged{ProductId: "SPB", Allowed: true})...).As(as("alice")).
		When(&ledgerv1.RequestLicense{ProductId: "SPB"}).
		ThenError(domain.CodeConflict, "buy it yourself")
}

func TestQ1_AdminsAllowOrBlockSelfServicePurchase(t *testing.T) {
	Given(t, contoso, staff...).
		When(&ledgerv1.SetSelfServicePolicy{ProductId: "POWER_BI_PRO", Allowed: true}).
		Then(&ledgerv1.SelfServicePolicyChanged{ProductId: "POWER_BI_PRO", Allowed: true})
	Given(t, contoso, staff...).
		When(&ledgerv1.SetSelfServicePolicy{ProductId: "POWER_BI_PRO"}).
		Then() // blocked already
	Given(t, contoso, staff...).
		When(&ledgerv1.SetSelfServicePolicy{ProductId: "NOPE", Allowed: true}).
		ThenError(domain.CodeNotFound, "NOPE")
}

func TestQ2_ApproveTheWholeRequest(t *testing.T) {
	o := Given(t, contoso, pending...).
		When(&ledgerv1.ApproveRequest{RequestId: "r1", Message: "welcome"}).
		Then(
			&ledgerv1.RequestDecided{RequestId: "r1", Outcome: approved, ApprovedUserIds: users("alice", "bob", "carol"), ProductId: "SPB", Message: "welcome"},
			assigned("alice", "SPB"), assigned("bob", "SPB"), assigned("carol", "SPB"),
			notified("r1", "alice", approved, "SPB", "welcome"), notified("r1", "bob", approved, "SPB", "welcome"), notified("r1", "carol", approved, "SPB", "welcome"),
		)
	if r := o.State().Requests["r1"]; r.Pending() || r.Outcome != approved || !r.Decided.Equal(t0) {
		t.Errorf("request after approval: %+v", r)
	}
}

func TestQ2_ApproveSomeUsersAndRejectTheOthers(t *testing.T) {
	Given(t, contoso, pending...).
		When(&ledgerv1.ApproveRequest{RequestId: "r1", ApprovedUserIds: users("bob")}).
		Then(
			&ledgerv1.RequestDecided{RequestId: "r1", Outcome: partially, ApprovedUserIds: users("bob"), RejectedUserIds: users("alice", "carol"), ProductId: "SPB"},
			assigned("bob", "SPB"),
			notified("r1", "bob", approved, "SPB", ""), notified("r1", "alice", rejected, "SPB", ""), notified("r1", "carol", rejected, "SPB", ""),
		)
	Given(t, contoso, pending...).
		When(&ledgerv1.ApproveRequest{RequestId: "r1", ApprovedUserIds: users("bob", "dave")}).
		ThenError(domain.CodeValidationFailed, "dave is not named in request r1")
}

func TestQ2_DenyARequest(t *testing.T) {
	Given(t, contoso, pending...).
		When(&ledgerv1.DenyRequest{RequestId: "r1", Message: "no budget this quarter"}).
		Then(
			&ledgerv1.RequestDecided{RequestId: "r1", Outcome: denied, RejectedUserIds: users("alice", "bob", "carol"), ProductId: "SPB", Message: "no budget this quarter"},
			notified("r1", "alice", denied, "SPB", "no budget this quarter"),
			notified("r1", "bob", denied, "SPB", "no budget this quarter"),
			notified("r1", "carol", denied, "SPB", "no budget this quarter"),
		)
}

func TestQ2_ApproveAnotherProductWithPlansSwitchedOff(t *testing.T) {
	Given(t, contoso, pending...).
		When(&ledgerv1.ApproveRequest{RequestId: "r1", ApprovedUserIds: users("alice"), ProductId: "ENTERPRISEPACK", DisabledPlans: []string{"SWAY"}}).
		Then(
			&ledgerv1.RequestDecided{RequestId: "r1", Outcome: partially, ApprovedUserIds: users("alice"), RejectedUserIds: users("bob", "carol"),
				ProductId: "ENTERPRISEPACK", DisabledPlans: []string{"SWAY"}},
			assigned("alice", "ENTERPRISEPACK", "SWAY"),
			notified("r1", "alice", approved, "ENTERPRISEPACK", ""),
			notified("r1", "bob", rejected, "ENTERPRISEPACK", ""), notified("r1", "carol", rejected, "ENTERPRISEPACK", ""),
		)
}

func TestQ2_ApproveThroughAGroupAddsTheUsersToIt(t *testing.T) {
	given := with(pending, bought("s3", "CONTOSO_FIELDSERVICE", 5), groupCreated("sales"), joined("sales", "bob"),
		groupLicense("sales", "SPB", "SWAY"), inherited("bob", "SPB", "sales", "SWAY"), groupLicense("sales", "CONTOSO_FIELDSERVICE"),
		inherited("bob", "CONTOSO_FIELDSERVICE", "sales"), groupCreated("empty"))

	// New members inherit every product of the group; bob is a member already.
	Given(t, contoso, given...).
		When(&ledgerv1.ApproveRequest{RequestId: "r1", ApprovedUserIds: users("alice", "bob"), GroupId: "sales"}).
		Then(
			&ledgerv1.RequestDecided{RequestId: "r1", Outcome: partially, ApprovedUserIds: users("alice", "bob"), RejectedUserIds: users("carol"), ProductId: "SPB", GroupId: "sales"},
			joined("sales", "alice"), inherited("alice", "SPB", "sales", "SWAY"), inherited("alice", "CONTOSO_FIELDSERVICE", "sales"),
			notified("r1", "alice", approved, "SPB", ""), notified("r1", "bob", approved, "SPB", ""), notified("r1", "carol", rejected, "SPB", ""),
		)
	Given(t, contoso, given...).
		When(&ledgerv1.ApproveRequest{RequestId: "r1", GroupId: "empty"}).
		ThenError(domain.CodeValidationFailed, "group empty does not hold Microsoft 365 Business Premium")
	Given(t, contoso, given...).
		When(&ledgerv1.ApproveRequest{RequestId: "r1", GroupId: "nogroup"}).
		ThenError(domain.CodeNotFound, "nogroup")
	// Joining the group must give the approved product: all or nothing.
	Given(t, contoso, with(given, &ledgerv1.SeatsChanged{SubscriptionId: "s1", ProductId: "SPB", Seats: 2})...).
		When(&ledgerv1.ApproveRequest{RequestId: "r1", GroupId: "sales"}).
		ThenViolations(domain.Violation{Subject: "carol", Code: domain.CodeCountViolation, Detail: "1 short"})
	Given(t, contoso, with(given, guest("gus", "US"), requested("r2", "SPB", "gus"))...).
		When(&ledgerv1.ApproveRequest{RequestId: "r2", GroupId: "sales"}).
		ThenViolations(domain.Violation{Subject: "gus", Code: domain.CodeForbidden, Detail: "GlobalAdministrator"})
	// The group's plans apply: plans switched off here would be ignored.
	Given(t, contoso, given...).
		When(&ledgerv1.ApproveRequest{RequestId: "r1", GroupId: "sales", DisabledPlans: []string{"TEAMS1"}}).
		ThenError(domain.CodeValidationFailed, "disabled_plans", "group")
}

func TestQ2_ApprovingGivesAMemberInErrorTheGroupsLicense(t *testing.T) {
	given := with(pending, groupCreated("sales"), joined("sales", "alice"), groupLicense("sales", "SPB"),
		failed("sales", "SPB", "alice", domain.CodeCountViolation, "no seat then"))
	Given(t, contoso, given...).
		When(&ledgerv1.ApproveRequest{RequestId: "r1", ApprovedUserIds: users("alice"), GroupId: "sales"}).
		Then(
			&ledgerv1.RequestDecided{RequestId: "r1", Outcome: partially, ApprovedUserIds: users("alice"), RejectedUserIds: users("bob", "carol"), ProductId: "SPB", GroupId: "sales"},
			inherited("alice", "SPB", "sales"),
			notified("r1", "alice", approved, "SPB", ""), notified("r1", "bob", rejected, "SPB", ""), notified("r1", "carol", rejected, "SPB", ""),
		)
}

func TestQ2_ApprovalIsAllOrNothing(t *testing.T) {
	given := msgs(member("alice", "US"), member("bob", "US"), member("carol", "US"), bought("s1", "SPB", 2), assigned("carol", "SPB"),
		requested("r1", "SPB", "alice", "bob"))
	Given(t, contoso, given...).
		When(&ledgerv1.ApproveRequest{RequestId: "r1"}).
		ThenViolations(domain.Violation{Subject: "bob", Code: domain.CodeCountViolation, Detail: "1 short; buy 1 more"})
	// A user who left the tenant since cannot be approved.
	Given(t, contoso, with(given, &ledgerv1.UserRemoved{UserId: "bob"})...).
		When(&ledgerv1.ApproveRequest{RequestId: "r1"}).
		ThenViolations(domain.Violation{Subject: "bob", Code: domain.CodeNotFound, Detail: "has left"})
}

func TestQ2_ADecidedRequestCannotBeDecidedAgain(t *testing.T) {
	decided := with(pending, &ledgerv1.RequestDecided{RequestId: "r1", Outcome: denied, RejectedUserIds: users("alice", "bob", "carol"), ProductId: "SPB"})
	Given(t, contoso, decided...).
		When(&ledgerv1.ApproveRequest{RequestId: "r1"}).
		ThenError(domain.CodeConflict, "r1 was already closed (denied)")
	Given(t, contoso, decided...).
		When(&ledgerv1.DenyRequest{RequestId: "r1"}).
		ThenError(domain.CodeConflict, "already closed")
	Given(t, contoso, with(pending, &ledgerv1.RequestExpired{RequestId: "r1"})...).
		When(&ledgerv1.ApproveRequest{RequestId: "r1"}).
		ThenError(domain.CodeConflict, "already closed (expired)")
	Given(t, contoso, pending...).
		When(&ledgerv1.DenyRequest{RequestId: "r9"}).
		ThenError(domain.CodeNotFound, "r9")
}

func TestQ3_PendingRequestsExpireAfter12Months(t *testing.T) {
	o := Given(t, contoso, with(staff,
		on(t, t0.AddDate(-1, 0, -1), requested("old", "SPB", "alice", "bob")),
		on(t, t0.AddDate(-1, 0, -2), requested("old-decided", "SPB", "carol")),
		on(t, t0.AddDate(0, -1, 0), &ledgerv1.RequestDecided{RequestId: "old-decided", Outcome: denied}),
		on(t, t0.AddDate(0, -11, 0), requested("recent", "SPB", "carol")),
	)...).As(system).
		When(&ledgerv1.ExpireRequests{}).
		Then(&ledgerv1.RequestExpired{RequestId: "old"}, notified("old", "alice", expired, "SPB", ""), notified("old", "bob", expired, "SPB", ""))
	st := o.State()
	if r := st.Requests["old"]; r.Outcome != expired || !r.Decided.Equal(t0) {
		t.Errorf("old request after expiry: %+v", r)
	}
	if !st.Requests["recent"].Pending() {
		t.Error("the recent request was closed")
	}
}

func TestQ3_OnlyTheLedgerExpiresRequests(t *testing.T) {
	Given(t, contoso, pending...).As(globalAdmin).
		When(&ledgerv1.ExpireRequests{}).
		ThenError(domain.CodeForbidden, "only by the ledger")
}

func TestQ4_OwnRequestProcessShowsItsMessageAndRecordsNothing(t *testing.T) {
	Given(t, contoso, pending...).
		When(&ledgerv1.ConfigureRequestProcess{Enabled: true, Message: "Ask IT on the intranet", Link: "https://intranet.contoso.com/licenses"}).
		Then(&ledgerv1.RequestProcessConfigured{Enabled: true, Message: "Ask IT on the intranet", Link: "https://intranet.contoso.com/licenses"})

	own := with(pending, &ledgerv1.RequestProcessConfigured{Enabled: true, Message: "Ask IT on the intranet", Link: "https://intranet.contoso.com/licenses"})
	Given(t, contoso, own...).As(as("bob")).
		When(&ledgerv1.RequestLicense{ProductId: "ENTERPRISEPACK", UserIds: users("carol")}).
		ThenNotice(domain.Notice{Message: "Ask IT on the intranet", Link: "https://intranet.contoso.com/licenses"})
	// Requests made before stay until approved or denied.
	Given(t, contoso, own...).
		When(&ledgerv1.DenyRequest{RequestId: "r1"}).
		Then(&ledgerv1.RequestDecided{RequestId: "r1", Outcome: denied, RejectedUserIds: users("alice", "bob", "carol"), ProductId: "SPB"},
			notified("r1", "alice", denied, "SPB", ""), notified("r1", "bob", denied, "SPB", ""), notified("r1", "carol", denied, "SPB", ""))
	Given(t, contoso, own...).
		When(&ledgerv1.ApproveRequest{RequestId: "r1", ApprovedUserIds: users("alice")}).
		Then(&ledgerv1.RequestDecided{RequestId: "r1", Outcome: partially, ApprovedUserIds: users("alice"), RejectedUserIds: users("bob", "carol"), ProductId: "SPB"},
			assigned("alice", "SPB"),
			notified("r1", "alice", approved, "SPB", ""), notified("r1", "bob", rejected, "SPB", ""), notified("r1", "carol", rejected, "SPB", ""))
}

func TestQ4_OwnRequestProcessCanBeTurnedOff(t *testing.T) {
	off := with(pending,
		&ledgerv1.RequestProcessConfigured{Enabled: true, Message: "Ask IT"},
		&ledgerv1.RequestProcessConfigured{})
	Given(t, contoso, off[:len(off)-1]...).
		When(&ledgerv1.ConfigureRequestProcess{}).
		Then(&ledgerv1.RequestProcessConfigured{})
	Given(t, contoso, off...).As(as("bob")).
		When(&ledgerv1.RequestLicense{ProductId: "ENTERPRISEPACK"}).
		Then(&ledgerv1.LicenseRequested{RequestId: "id1", ProductId: "ENTERPRISEPACK", RequesterId: "bob", UserIds: users("bob")})
}

func TestQ4_OwnRequestProcessNeedsAMessageAndAWebLink(t *testing.T) {
	Given(t, contoso).
		When(&ledgerv1.ConfigureRequestProcess{Enabled: true, Link: "https://intranet.contoso.com"}).
		ThenError(domain.CodeValidationFailed, "message is required")
	Given(t, contoso).
		When(&ledgerv1.ConfigureRequestProcess{Enabled: true, Message: "Ask IT", Link: "javascript:alert(1)"}).
		ThenError(domain.CodeValidationFailed, "not an http(s) address")
}

func TestQ5_ShareARequestWithPeopleWhoDecide(t *testing.T) {
	Given(t, contoso, pending...).
		When(&ledgerv1.ShareRequest{RequestId: "r1", Recipients: []string{"Bob@Contoso.com", "carol@contoso.com"}, Subject: "Please decide", Message: "Budget owner?"}).
		Then(&ledgerv1.RequestShared{RequestId: "r1", RecipientUserIds: users("bob", "carol"),
			Recipients: []string{"Bob@Contoso.com", "carol@contoso.com"}, Subject: "Please decide", Message: "Budget owner?"})
	Given(t, contoso, pending...).
		When(&ledgerv1.ShareRequest{RequestId: "r1", Recipients: []string{"bob@contoso.com"}}).
		Then(&ledgerv1.RequestShared{RequestId: "r1", RecipientUserIds: users("bob"), Recipients: []string{"bob@contoso.com"}})
}

func TestQ5_ShareRefusedWhenAnAddressDoesNotResolve(t *testing.T) {
	Given(t, contoso, pending...).
		When(&ledgerv1.ShareRequest{RequestId: "r1", Recipients: []string{"bob@contoso.com", "boss@elsewhere.example"}}).
		ThenError(domain.CodeNotFound, "boss@elsewhere.example", "nothing was shared")
	Given(t, contoso, pending...).
		When(&ledgerv1.ShareRequest{RequestId: "r1"}).
		ThenError(domain.CodeValidationFailed, "recipients")
	Given(t, contoso, pending...).
		When(&ledgerv1.ShareRequest{RequestId: "r9", Recipients: []string{"bob@contoso.com"}}).
		ThenError(domain.CodeNotFound, "r9")
}
