package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/infra/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJourneyBulkAssignmentWithPlansOff is an admin's afternoon on the
// Licenses page: twenty new users get Business Premium from two
// subscriptions with two apps switched off (A1, A2, S2), a bulk action that
// fails for some users is refused whole with every user's reason (A1, A3,
// A4), one user gets every app back (A2), "assign more" adds a second
// product (A5), the selection view shows who holds what (A7), and "unassign
// all" takes everything back (A5, A8).
func TestJourneyBulkAssignmentWithPlansOff(t *testing.T) {
	l := startLedgerd(t)
	team := journeyUsers(20)
	for _, u := range team {
		l.mustCommand(t, adminToken, tenant, "RegisterUser", journeyBody(map[string]any{"userId": u, "displayName": u, "email": u + "@contoso.com", "usageLocation": "US"}))
	}
	l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"nolo","displayName":"No Location"}`)
	l.mustCommand(t, adminToken, tenant, "PurchaseSubscription", `{"subscriptionId":"spb-direct","productId":"SPB","seats":12,"channel":"CHANNEL_DIRECT"}`)
	l.mustCommand(t, adminToken, tenant, "PurchaseSubscription", `{"subscriptionId":"spb-csp","productId":"SPB","seats":10,"channel":"CHANNEL_PARTNER"}`)
	l.mustCommand(t, adminToken, tenant, "PurchaseSubscription", `{"subscriptionId":"pbi","productId":"POWER_BI_PRO","seats":2}`)
	l.mustCommand(t, adminToken, tenant, "PurchaseSubscription", `{"subscriptionId":"visio","productId":"VISIOCLIENT","seats":3}`)
	assert.Equal(t, map[string]any{"total": 22.0, "assigned": 0.0, "available": 22.0}, journeySeats(t, l, "SPB"), "12 + 10 seats add up (S2)")

	// Twenty users at once, Sway and Yammer off (A1, A2).
	off := []string{"SWAY", "YAMMER_ENTERPRISE"}
	assigned := l.mustCommand(t, adminToken, tenant, "AssignLicense", journeyBody(map[string]any{"productId": "SPB", "userIds": team, "disabledPlans": off}))
	require.Len(t, assigned.Events(), 20, "one LicenseAssigned per user")
	spb, _ := catalog.Default().Product("SPB")
	for _, u := range team {
		lic := journeyLicense(t, l, u, "SPB")
		assert.Equal(t, true, lic["direct"], u)
		assert.Equal(t, journeyAny(off), lic["disabledPlans"], u)
		assert.Equal(t, journeyAny(spb.EnabledPlans(off)), lic["enabledPlans"], u)
	}
	assert.Equal(t, map[string]any{"total": 22.0, "assigned": 20.0, "available": 2.0}, journeySeats(t, l, "SPB"))

	// A bulk action that fails for some users is refused whole, with the
	// reason for every one of them, and changes nothing (A1, A3, A4).
	before := l.get(t, adminToken, "/v1/tenants/contoso/licenses")
	refused := l.command(t, adminToken, tenant, "AssignLicense", `{"productId":"POWER_BI_PRO","userIds":["user01","nolo","user02","zoe","user03"]}`)
	assert.Equal(t, http.StatusConflict, refused.Status, string(refused.Raw))
	assert.Equal(t, "ProhibitedInUsageLocationViolation", refused.Code(), "the code of the first user's reason")
	assert.Equal(t, "AssignLicense refused for 3 users; nothing was changed", refused.Body["detail"])
	assert.Equal(t, []string{
		"nolo ProhibitedInUsageLocationViolation",
		"zoe NotFound",
		"POWER_BI_PRO CountViolation",
	}, journeyViolations(refused), "every user's reason, and the seats short for the others")
	assert.Contains(t, journeyViolationDetail(refused, "POWER_BI_PRO"), "3 licenses needed, 2 available of 2: 1 short")
	assert.Equal(t, before.Body, l.get(t, adminToken, "/v1/tenants/contoso/licenses").Body, "the refusal changed nothing")
	assert.Len(t, l.get(t, adminToken, "/v1/tenants/contoso/users/user01/licenses").Body["licenses"], 1, "user01 still holds only SPB")

	// One user gets every app back (A2).
	changed := l.mustCommand(t, adminToken, tenant, "ChangeAssignmentPlans", `{"productId":"SPB","userId":"user05","disabledPlans":[]}`)
	assert.Equal(t, journeyAny(off), changed.Events()[0]["data"].(map[string]any)["previousDisabledPlans"])
	assert.Equal(t, []any{}, journeyLicense(t, l, "user05", "SPB")["disabledPlans"])
	assert.Equal(t, journeyAny(off), journeyLicense(t, l, "user06", "SPB")["disabledPlans"], "the others keep theirs off")

	// "Assign more": a second product for users of whom some hold it (A5).
	l.mustCommand(t, adminToken, tenant, "ChangeSeats", `{"subscriptionId":"pbi","seats":10}`)
	l.mustCommand(t, adminToken, tenant, "AssignLicense", `{"productId":"POWER_BI_PRO","userIds":["user01","user02","user03"]}`)
	more := l.mustCommand(t, adminToken, tenant, "AssignLicense", `{"productId":"POWER_BI_PRO","userIds":["user01","user02","user03","user04","user05","user06"]}`)
	assert.Equal(t, []string{"user04", "user05", "user06"}, journeyEventUsers(more), "only those who lacked it get it")
	for _, u := range []string{"user01", "user04"} {
		held := l.get(t, adminToken, "/v1/tenants/contoso/users/"+u+"/licenses").Body["licenses"].([]any)
		assert.Len(t, held, 2, "%s keeps SPB and adds Power BI", u)
	}
	assert.Equal(t, map[string]any{"total": 10.0, "assigned": 6.0, "available": 4.0}, journeySeats(t, l, "POWER_BI_PRO"))

	// The selection view: all, some or none, and who (A7).
	sel := l.get(t, adminToken, "/v1/tenants/contoso/licenses/selection?users=user10,user04,user01")
	require.Equal(t, http.StatusOK, sel.Status, string(sel.Raw))
	assert.Equal(t, []any{"user01", "user04", "user10"}, sel.Body["users"], "the selection lists its users sorted")
	assert.Equal(t, map[string]string{
		"POWER_BI_PRO": "some [user01 user04] 4",
		"SPB":          "all [user01 user04 user10] 2",
		"VISIOCLIENT":  "none [] 3",
	}, journeySelection(sel))
	for query, code := range map[string]string{
		"users=user01,zoe,yan": "NotFound",
		"users=user01,user01":  "ValidationFailed",
		"users=":               "ValidationFailed",
		"users=" + strings.Join(journeyUsers(21), ","): "ValidationFailed",
	} {
		r := l.get(t, adminToken, "/v1/tenants/contoso/licenses/selection?"+query)
		assert.Equal(t, code, r.Code(), "%s: %s", query, r.Raw)
	}
	missing := l.get(t, adminToken, "/v1/tenants/contoso/licenses/selection?users=user01,zoe,yan")
	assert.Contains(t, missing.Body["detail"], `["zoe" "yan"]`, "the refusal names every missing user")
	assert.Equal(t, "Forbidden", l.get(t, aliceToken, "/v1/tenants/contoso/licenses/selection?users=user01").Code(), "the same rule as the Licenses page")

	// Unassign all: every license of the selected users goes, each removal
	// dated for the mailbox data (A5, A8).
	gone := l.mustCommand(t, adminToken, tenant, "UnassignAll", journeyBody(map[string]any{"userIds": team}))
	require.Len(t, gone.Events(), 26, "20 SPB and 6 Power BI licenses")
	for _, e := range gone.Events() {
		assert.Equal(t, "LicenseRemoved", e["type"])
		assert.Contains(t, e["data"], "dataRetainedUntil")
	}
	assert.Equal(t, map[string]any{"total": 22.0, "assigned": 0.0, "available": 22.0}, journeySeats(t, l, "SPB"))
	assert.Equal(t, map[string]any{"total": 10.0, "assigned": 0.0, "available": 10.0}, journeySeats(t, l, "POWER_BI_PRO"))
	after := journeySelection(l.get(t, adminToken, "/v1/tenants/contoso/licenses/selection?users=user01,user04,user10"))
	assert.Equal(t, map[string]string{"POWER_BI_PRO": "none [] 10", "SPB": "none [] 22", "VISIOCLIENT": "none [] 3"}, after)
}

// TestJourneyRequestApprovedInPartThroughAGroup follows license requests
// (Q1, Q2) from the users who ask to the mail service that tells them:
// Visio is assigned to a group, users request it naming colleagues, the
// admin approves some of them through the group — they join it and inherit
// the license, one seat each (A6) — and rejects or denies the others, and
// a NATS subscriber sees the outcome for every user named (L2).
func TestJourneyRequestApprovedInPartThroughAGroup(t *testing.T) {
	l := startLedgerdWithUsers(t, "dave")
	sub := subscribe(t, l.NATS)
	total := 0
	run := func(token, name, body string) response {
		t.Helper()
		r := l.mustCommand(t, token, tenant, name, body)
		total += len(r.Events())
		return r
	}
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin"} {
		run(adminToken, "RegisterUser", journeyBody(map[string]any{"userId": u, "displayName": u, "email": u + "@contoso.com", "usageLocation": "FR"}))
	}
	run(adminToken, "PurchaseSubscription", `{"subscriptionId":"visio","productId":"VISIOCLIENT","seats":5}`)
	run(adminToken, "CreateGroup", `{"groupId":"designers","name":"Designers"}`)
	grouped := run(adminToken, "AssignGroupLicense", `{"groupId":"designers","productId":"VISIOCLIENT"}`)
	assert.Equal(t, []string{"GroupLicenseAssigned"}, journeyTypes(grouped), "the group has no members yet")

	// Users ask, naming colleagues (Q1); add-ons cannot be asked for (C1).
	r1 := journeyRequestID(run(aliceToken, "RequestLicense", `{"productId":"VISIOCLIENT","userIds":["bob","carol"],"message":"for the floor plans"}`))
	r2 := journeyRequestID(run(tokenFor("dave"), "RequestLicense", `{"productId":"VISIOCLIENT","userIds":["erin"]}`))
	addOn := l.command(t, aliceToken, tenant, "RequestLicense", `{"productId":"SHAREPOINTSTORAGE"}`)
	assert.Equal(t, "ValidationFailed", addOn.Code(), string(addOn.Raw))
	assert.Len(t, l.get(t, adminToken, "/v1/tenants/contoso/requests?status=pending").Body["requests"], 2)

	// Through a group, members get the group's plans: none may be switched off.
	withPlans := l.command(t, adminToken, tenant, "ApproveRequest", journeyBody(map[string]any{"requestId": r1, "groupId": "designers", "disabledPlans": []string{"VISIOONLINE"}}))
	assert.Equal(t, "ValidationFailed", withPlans.Code(), string(withPlans.Raw))

	// Alice and bob approved through the group, carol rejected (Q2).
	approved := run(adminToken, "ApproveRequest", journeyBody(map[string]any{"requestId": r1, "approvedUserIds": []string{"alice", "bob"}, "groupId": "designers", "message": "welcome to the designers"}))
	assert.Equal(t, []string{"RequestDecided", "GroupMemberAdded", "LicenseAssigned", "GroupMemberAdded", "LicenseAssigned",
		"RequestOutcomeNotified", "RequestOutcomeNotified", "RequestOutcomeNotified"}, journeyTypes(approved))
	run(adminToken, "DenyRequest", journeyBody(map[string]any{"requestId": r2, "message": "not this quarter"}))

	assert.Empty(t, l.get(t, adminToken, "/v1/tenants/contoso/requests?status=pending").Body["requests"])
	completed := map[string]map[string]any{}
	for _, r := range l.get(t, adminToken, "/v1/tenants/contoso/requests?status=completed").Body["requests"].([]any) {
		completed[r.(map[string]any)["requestId"].(string)] = r.(map[string]any)
	}
	require.Len(t, completed, 2)
	assert.Equal(t, "partially_approved", completed[r1]["status"])
	assert.Equal(t, []any{"alice", "bob"}, completed[r1]["approvedUserIds"])
	assert.Equal(t, []any{"carol"}, completed[r1]["rejectedUserIds"])
	assert.Equal(t, "denied", completed[r2]["status"])

	// The approved users inherit the license from the group; alice reads her own.
	for user, token := range map[string]string{"alice": aliceToken, "bob": adminToken} {
		lic := journeyLicense(t, l, user, "VISIOCLIENT", token)
		assert.Equal(t, false, lic["direct"], user)
		assert.Equal(t, []any{"designers"}, lic["groups"], user)
	}
	for _, u := range []string{"carol", "dave", "erin"} {
		assert.Empty(t, l.get(t, adminToken, "/v1/tenants/contoso/users/"+u+"/licenses").Body["licenses"], u)
	}
	assert.Equal(t, map[string]any{"total": 5.0, "assigned": 2.0, "available": 3.0}, journeySeats(t, l, "VISIOCLIENT"), "one seat each")

	// Downstream, the mail service is told every named user's outcome.
	outcomes := map[string]string{}
	for _, e := range sub.received(t, total) {
		if n := e.GetRequestOutcomeNotified(); n != nil {
			outcomes[n.RequestId+"/"+n.UserId] = strings.TrimPrefix(n.Outcome.String(), "REQUEST_OUTCOME_")
		}
	}
	assert.Equal(t, map[string]string{
		r1 + "/alice": "APPROVED", r1 + "/bob": "APPROVED", r1 + "/carol": "REJECTED",
		r2 + "/dave": "DENIED", r2 + "/erin": "DENIED",
	}, outcomes)
}

// startLedgerdWithUsers starts ledgerd with the harness's principals plus,
// for each id, an ordinary user of contoso whose token is tokenFor(id).
func startLedgerdWithUsers(t *testing.T, ids ...string) *ledgerd {
	t.Helper()
	var users []auth.Entry
	for _, id := range ids {
		users = append(users, member(id, tenant))
	}
	return startLedgerd(t, "--auth-file", principalsFile(t, users...)) // the last --auth-file wins
}

// journeyUsers returns the ids user01 ... userNN.
func journeyUsers(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("user%02d", i+1)
	}
	return ids
}

// journeyBody encodes a command body.
func journeyBody(v map[string]any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(data)
}

// journeyAny is a list of strings as decoded from JSON.
func journeyAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// journeySeats returns a product's seat counts on the Licenses page.
func journeySeats(t *testing.T, l *ledgerd, productID string) map[string]any {
	t.Helper()
	r := l.get(t, adminToken, "/v1/tenants/contoso/licenses")
	require.Equal(t, http.StatusOK, r.Status, string(r.Raw))
	for _, p := range r.Body["products"].([]any) {
		if row := p.(map[string]any); row["productId"] == productID {
			return map[string]any{"total": row["total"], "assigned": row["assigned"], "available": row["available"]}
		}
	}
	t.Fatalf("%s is not on the Licenses page: %s", productID, r.Raw)
	return nil
}

// journeyLicense returns one license of a user's licenses, read as the
// admin or with the token given.
func journeyLicense(t *testing.T, l *ledgerd, user, productID string, token ...string) map[string]any {
	t.Helper()
	tok := adminToken
	if len(token) > 0 {
		tok = token[0]
	}
	r := l.get(t, tok, "/v1/tenants/contoso/users/"+user+"/licenses")
	require.Equal(t, http.StatusOK, r.Status, string(r.Raw))
	for _, lic := range r.Body["licenses"].([]any) {
		if lic.(map[string]any)["productId"] == productID {
			return lic.(map[string]any)
		}
	}
	t.Fatalf("%s does not hold %s: %s", user, productID, r.Raw)
	return nil
}

// journeyViolations lists a refusal's violations as "subject code".
func journeyViolations(r response) []string {
	var out []string
	for _, v := range r.Body["violations"].([]any) {
		v := v.(map[string]any)
		out = append(out, fmt.Sprintf("%s %s", v["subject"], v["code"]))
	}
	return out
}

func journeyViolationDetail(r response, subject string) string {
	for _, v := range r.Body["violations"].([]any) {
		if v := v.(map[string]any); v["subject"] == subject {
			return v["detail"].(string)
		}
	}
	return ""
}

// journeySelection sums up a selection view: product -> "status [holders] available".
func journeySelection(r response) map[string]string {
	out := map[string]string{}
	for _, p := range r.Body["products"].([]any) {
		p := p.(map[string]any)
		out[p["productId"].(string)] = fmt.Sprintf("%s %v %v", p["status"], p["holders"], p["available"])
	}
	return out
}

// journeyEventUsers returns the userId of each event of a command answer.
func journeyEventUsers(r response) []string {
	var out []string
	for _, e := range r.Events() {
		out = append(out, e["data"].(map[string]any)["userId"].(string))
	}
	return out
}

func journeyTypes(r response) []string {
	var out []string
	for _, e := range r.Events() {
		out = append(out, e["type"].(string))
	}
	return out
}

func journeyRequestID(r response) string {
	return r.Events()[0]["data"].(map[string]any)["requestId"].(string)
}
