package e2e

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLedgerEndToEnd plays the spine's scenario against the real binary,
// on each event store: users, two subscriptions adding up, assignment and
// revocation, a request approved in part, NATS delivery, and a restart that
// loses nothing. On KurrentDB the events reach NATS through the forwarder,
// and the replay reads the forwarded stream.
func TestLedgerEndToEnd(t *testing.T) {
	for _, store := range eventStores {
		t.Run(store.name, func(t *testing.T) {
			spine(t, startLedgerd(t, store.args(t)...))
		})
	}
}

// spine is the scenario of TestLedgerEndToEnd, on a ledgerd just started.
func spine(t *testing.T, l *ledgerd) {
	sub := subscribe(t, l.NATS)
	total := 0
	run := func(token, name, body string) response {
		t.Helper()
		r := l.mustCommand(t, token, tenant, name, body)
		total += len(r.Events())
		return r
	}

	for _, u := range []string{"alice", "bob", "carol", "dave", "erin"} {
		run(adminToken, "RegisterUser", `{"userId":"`+u+`","displayName":"`+u+`","usageLocation":"US","email":"`+u+`@contoso.com"}`)
	}
	run(adminToken, "PurchaseSubscription", `{"subscriptionId":"sub-a","productId":"SPB","seats":5,"channel":"CHANNEL_DIRECT"}`)
	run(adminToken, "PurchaseSubscription", `{"subscriptionId":"sub-b","productId":"SPB","seats":8,"channel":"CHANNEL_PARTNER"}`)
	spb := product(t, l, "SPB")
	assert.EqualValues(t, 13, spb["total"], "5 + 8 seats add up for the product (S2)")
	assert.Len(t, spb["subscriptions"], 2)

	run(adminToken, "AssignLicense", `{"productId":"SPB","userIds":["dave","erin"]}`)
	revoked := run(adminToken, "RevokeAssignment", `{"productId":"SPB","userIds":["erin"]}`)
	assert.Contains(t, revoked.Events()[0]["data"], "dataRetainedUntil", "a removal records the data retention date (A8)")
	spb = product(t, l, "SPB")
	assert.EqualValues(t, 1, spb["assigned"])
	assert.EqualValues(t, 12, spb["available"])

	req := run(aliceToken, "RequestLicense", `{"productId":"SPB","userIds":["bob","carol"],"message":"we start on Monday"}`)
	requestID := req.Events()[0]["data"].(map[string]any)["requestId"].(string)
	pending := l.get(t, adminToken, "/v1/tenants/contoso/requests?status=pending")
	require.Len(t, pending.Body["requests"], 1)

	approved := run(adminToken, "ApproveRequest", `{"requestId":"`+requestID+`","approvedUserIds":["alice","bob"],"message":"approved for the project"}`)
	assert.Equal(t, []string{"RequestDecided", "LicenseAssigned", "LicenseAssigned", "RequestOutcomeNotified", "RequestOutcomeNotified", "RequestOutcomeNotified"}, types(approved))
	assert.Empty(t, l.get(t, adminToken, "/v1/tenants/contoso/requests?status=pending").Body["requests"])
	completed := l.get(t, adminToken, "/v1/tenants/contoso/requests?status=completed").Body["requests"].([]any)
	require.Len(t, completed, 1)
	assert.Equal(t, "partially_approved", completed[0].(map[string]any)["status"])
	assert.Equal(t, []any{"carol"}, completed[0].(map[string]any)["rejectedUserIds"])

	spb = product(t, l, "SPB")
	assert.EqualValues(t, 3, spb["assigned"], "dave, alice and bob hold it")
	assert.EqualValues(t, 10, spb["available"])
	for user, holds := range map[string]bool{"alice": true, "bob": true, "carol": false, "dave": true, "erin": false} {
		lic := l.get(t, adminToken, "/v1/tenants/contoso/users/"+user+"/licenses")
		require.Equal(t, http.StatusOK, lic.Status)
		assert.Equal(t, holds, len(lic.Body["licenses"].([]any)) == 1, user)
	}
	refusal := l.command(t, adminToken, tenant, "AssignLicense", `{"productId":"SPB","userIds":["nobody"]}`)
	assert.Equal(t, http.StatusNotFound, refusal.Status)
	assert.Equal(t, "application/problem+json", refusal.Header.Get("Content-Type"))

	evs := sub.received(t, total)
	require.Len(t, evs, total, "every event is published once")
	for i, e := range evs {
		assert.EqualValues(t, i+1, e.GetSequence(), "events arrive in tenant order")
	}

	before := views(t, l)
	l.restart()
	assert.Equal(t, before, views(t, l), "the read models are rebuilt the same after a restart")
	licenses, requests := replay(t, l.NATS)
	sameJSON(t, map[string]any{"tenant": tenant, "products": licenses.Products(tenant)}, before["licenses"], "licenses equal a replay from the first event")
	sameJSON(t, map[string]any{"tenant": tenant, "requests": requests.List(tenant, "")}, before["requests"], "requests equal a replay")
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin"} {
		v, _ := licenses.User(tenant, u)
		sameJSON(t, v, before["user:"+u], u+"'s licenses equal a replay")
	}

	after := l.mustCommand(t, adminToken, tenant, "AssignLicense", `{"productId":"SPB","userIds":["carol"]}`)
	assert.EqualValues(t, total+1, after.Events()[0]["sequence"], "the stream continues where it stopped")
}

// product returns one product row of the Licenses view.
func product(t *testing.T, l *ledgerd, id string) map[string]any {
	t.Helper()
	r := l.get(t, adminToken, "/v1/tenants/contoso/licenses")
	require.Equal(t, http.StatusOK, r.Status, string(r.Raw))
	for _, p := range r.Body["products"].([]any) {
		if p.(map[string]any)["productId"] == id {
			return p.(map[string]any)
		}
	}
	t.Fatalf("product %s not in %s", id, r.Raw)
	return nil
}

// views returns every query answer of the scenario's tenant.
func views(t *testing.T, l *ledgerd) map[string]map[string]any {
	out := map[string]map[string]any{
		"licenses": l.get(t, adminToken, "/v1/tenants/contoso/licenses").Body,
		"requests": l.get(t, adminToken, "/v1/tenants/contoso/requests").Body,
	}
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin"} {
		out["user:"+u] = l.get(t, adminToken, "/v1/tenants/contoso/users/"+u+"/licenses").Body
	}
	return out
}

func types(r response) []string {
	var out []string
	for _, e := range r.Events() {
		out = append(out, e["type"].(string))
	}
	return out
}
