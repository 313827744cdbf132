package e2e

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/licensing-ledger/ledger/infra/jetstream"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// badInput is one hostile or malformed request and the refusal it must get.
type badInput struct {
	name    string
	method  string // POST by default
	path    string // relative to /v1/tenants/; a command when it has no '/'
	token   string
	body    string
	headers []string
	status  int
	code    string
}

// TestBadInputChangesNothing sends hostile and malformed requests (L7): each
// gets its documented code and status, and the ledger's stream is byte for
// byte the same afterwards.
func TestBadInputChangesNothing(t *testing.T) {
	l := startLedgerd(t)
	for _, u := range []string{"alice", "bob"} {
		l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"`+u+`","usageLocation":"US","email":"`+u+`@contoso.com"}`)
	}
	l.mustCommand(t, adminToken, tenant, "PurchaseSubscription", `{"subscriptionId":"s1","productId":"SPB","seats":2}`)
	l.mustCommand(t, adminToken, tenant, "AssignLicense", `{"productId":"SPB","userIds":["bob"]}`)
	l.mustCommand(t, adminToken, tenant, "CreateGroup", `{"groupId":"sales","name":"Sales"}`)
	req := l.mustCommand(t, aliceToken, tenant, "RequestLicense", `{"productId":"VISIOCLIENT"}`)
	requestID := req.Events()[0]["data"].(map[string]any)["requestId"].(string)
	before := streamDigest(t, l.NATS)

	for _, c := range badInputs(requestID) {
		t.Run(c.name, func(t *testing.T) {
			r := l.send(t, c)
			assert.Equal(t, c.status, r.Status, "body: %s", r.Raw)
			assert.Equal(t, c.code, r.Code(), "body: %s", r.Raw)
			if r.Status >= 400 {
				assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
				assert.NotEmpty(t, r.Body["detail"], "a refusal says what is wrong")
			}
		})
	}
	assert.Equal(t, before, streamDigest(t, l.NATS), "bad input recorded nothing")
}

func badInputs(requestID string) []badInput {
	cmd := func(name, command, body string, status int, code string) badInput {
		return badInput{name: name, path: "contoso/commands/" + command, token: adminToken, body: body, status: status, code: code}
	}
	const bad, notFound, conflict, forbidden = http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusForbidden
	vf, nf := "ValidationFailed", "NotFound"
	users21 := make([]string, 21)
	for i := range users21 {
		users21[i] = fmt.Sprintf(`"u%d"`, i)
	}
	cases := []badInput{
		cmd("MalformedJSON", "AssignLicense", `{`, bad, vf),
		cmd("NotJSON", "AssignLicense", `hello`, bad, vf),
		cmd("JSONArray", "AssignLicense", `[]`, bad, vf),
		cmd("TrailingGarbage", "RegisterUser", `{"userId":"x"} xyz`, bad, vf),
		cmd("UnknownField", "AssignLicense", `{"productId":"SPB","userIds":["alice"],"force":true}`, bad, vf),
		cmd("StringForList", "AssignLicense", `{"productId":"SPB","userIds":"alice"}`, bad, vf),
		cmd("NumberForString", "RegisterUser", `{"userId":5}`, bad, vf),
		cmd("StringForNumber", "PurchaseSubscription", `{"subscriptionId":"s9","productId":"SPB","seats":"five"}`, bad, vf),
		cmd("FloatSeats", "PurchaseSubscription", `{"subscriptionId":"s9","productId":"SPB","seats":1.5}`, bad, vf),
		cmd("NegativeSeats", "PurchaseSubscription", `{"subscriptionId":"s9","productId":"SPB","seats":-1}`, bad, vf),
		cmd("OverflowingSeats", "PurchaseSubscription", `{"subscriptionId":"s9","productId":"SPB","seats":99999999999}`, bad, vf),
		cmd("TooManySeats", "PurchaseSubscription", `{"subscriptionId":"s9","productId":"SPB","seats":2000000}`, bad, vf),
		cmd("ZeroSeatPurchase", "PurchaseSubscription", `{"subscriptionId":"s9","productId":"SPB","seats":0}`, bad, vf),
		cmd("NegativeSeatChange", "ChangeSeats", `{"subscriptionId":"s1","seats":-5}`, bad, vf),
		cmd("UnknownChannelName", "PurchaseSubscription", `{"subscriptionId":"s9","productId":"SPB","seats":1,"channel":"CHANNEL_NOPE"}`, bad, vf),
		cmd("UnknownChannelNumber", "PurchaseSubscription", `{"subscriptionId":"s9","productId":"SPB","seats":1,"channel":99}`, bad, vf),
		cmd("UnspecifiedState", "ChangeSubscriptionState", `{"subscriptionId":"s1","state":"SUBSCRIPTION_STATE_UNSPECIFIED"}`, bad, vf),
		cmd("EmptyProduct", "AssignLicense", `{"productId":"","userIds":["alice"]}`, bad, vf),
		cmd("NullProduct", "AssignLicense", `{"productId":null,"userIds":["alice"]}`, bad, vf),
		cmd("EmptyUserList", "AssignLicense", `{"productId":"SPB","userIds":[]}`, bad, vf),
		cmd("EmptyBody", "AssignLicense", ``, bad, vf),
		cmd("HugeUserID", "RegisterUser", `{"userId":"`+strings.Repeat("a", 200)+`"}`, bad, vf),
		cmd("HugeDisplayName", "RegisterUser", `{"userId":"zed","displayName":"`+strings.Repeat("n", 5000)+`"}`, bad, vf),
		cmd("SubjectCharsInUserID", "RegisterUser", `{"userId":"a>b"}`, bad, vf),
		cmd("SpaceInUserID", "RegisterUser", `{"userId":"a b"}`, bad, vf),
		cmd("ControlCharInUserID", "RegisterUser", `{"userId":"a\u0000b"}`, bad, vf),
		cmd("LowercaseCountry", "RegisterUser", `{"userId":"zed","usageLocation":"us"}`, bad, vf),
		cmd("ThreeLetterCountry", "RegisterUser", `{"userId":"zed","usageLocation":"USA"}`, bad, vf),
		cmd("TwentyOneUsers", "AssignLicense", `{"productId":"SPB","userIds":[`+strings.Join(users21, ",")+`]}`, bad, vf),
		cmd("DuplicatedUsers", "AssignLicense", `{"productId":"SPB","userIds":["alice","alice"]}`, bad, vf),
		cmd("PlanNotInProduct", "AssignLicense", `{"productId":"SPB","userIds":["alice"],"disabledPlans":["VISIO_CLIENT_SUBSCRIPTION"]}`, bad, vf),
		cmd("UnknownRole", "GrantPartnerDelegation", `{"partnerId":"fabrikam","roles":["Overlord"]}`, bad, vf),
		cmd("ScriptLink", "ConfigureRequestProcess", `{"enabled":true,"message":"x","link":"javascript:alert(1)"}`, bad, vf),
		cmd("NotAssignableProduct", "AssignLicense", `{"productId":"SHAREPOINTSTORAGE","userIds":["alice"]}`, bad, vf),
		cmd("UnknownProduct", "AssignLicense", `{"productId":"NOPE","userIds":["alice"]}`, notFound, nf),
		cmd("UnknownUser", "AssignLicense", `{"productId":"SPB","userIds":["nobody"]}`, notFound, nf),
		cmd("UnknownGroup", "AddGroupMembers", `{"groupId":"nope","userIds":["alice"]}`, notFound, nf),
		cmd("UnknownSubscription", "ChangeSeats", `{"subscriptionId":"nope","seats":3}`, notFound, nf),
		cmd("UnknownRequest", "ApproveRequest", `{"requestId":"nope"}`, notFound, nf),
		cmd("UnknownCommand", "FlyToTheMoon", `{}`, notFound, nf),
		cmd("UnresolvedRecipient", "ShareRequest", `{"requestId":"`+requestID+`","recipients":["stranger@example.com"]}`, notFound, nf),
		cmd("DuplicateUser", "RegisterUser", `{"userId":"alice"}`, conflict, "Conflict"),
		cmd("DuplicateGroup", "CreateGroup", `{"groupId":"sales"}`, conflict, "Conflict"),
		cmd("OneUnknownUserInBulk", "AssignLicense", `{"productId":"SPB","userIds":["alice","bob","zed"]}`, notFound, nf),
		cmd("SeatsBelowAssigned", "ChangeSeats", `{"subscriptionId":"s1","seats":0}`, conflict, "CountViolation"),
		cmd("ReportedShortfall", "AssignLicense", `{"productId":"VISIOCLIENT","userIds":["alice"]}`, conflict, "CountViolation"),
		{name: "TenantWithDot", path: "a.b/commands/RegisterUser", token: adminToken, body: `{"userId":"x"}`, status: bad, code: vf},
		{name: "TenantStar", path: "*/commands/RegisterUser", token: adminToken, body: `{"userId":"x"}`, status: bad, code: vf},
		{name: "TenantGreaterThan", path: ">/commands/RegisterUser", token: adminToken, body: `{"userId":"x"}`, status: bad, code: vf},
		{name: "TenantWithSpace", path: "a%20b/commands/RegisterUser", token: adminToken, body: `{"userId":"x"}`, status: bad, code: vf},
		{name: "TenantTooLong", path: strings.Repeat("t", 65) + "/commands/RegisterUser", token: adminToken, body: `{"userId":"x"}`, status: bad, code: vf},
		{name: "UnknownTenant", path: "fabrikam-co/commands/RegisterUser", token: adminToken, body: `{"userId":"x"}`, status: forbidden, code: "Forbidden"},
		{name: "OversizedBody", path: "contoso/commands/RegisterUser", token: adminToken, body: `{"userId":"x","displayName":"` + strings.Repeat("x", 2<<20) + `"}`, status: http.StatusRequestEntityTooLarge, code: "PayloadTooLarge"},
		{name: "BadToken", path: "contoso/commands/RegisterUser", token: "not-a-token-at-all", body: `{"userId":"x"}`, status: http.StatusUnauthorized, code: "Unauthorized"},
		{name: "NoToken", path: "contoso/commands/RegisterUser", body: `{"userId":"x"}`, status: http.StatusUnauthorized, code: "Unauthorized"},
		{name: "OtherTenantsToken", path: "contoso/commands/RegisterUser", token: otherAdminTk, body: `{"userId":"x"}`, status: forbidden, code: "Forbidden"},
		{name: "PartnerWithoutDelegation", path: "contoso/commands/AssignLicense", token: fabrikamTok, body: `{"productId":"SPB","userIds":["alice"]}`, status: forbidden, code: "Forbidden"},
		{name: "UserAssigning", path: "contoso/commands/AssignLicense", token: aliceToken, body: `{"productId":"SPB","userIds":["alice"]}`, status: forbidden, code: "Forbidden"},
		{name: "UserReadingOthers", method: http.MethodGet, path: "contoso/users/bob/licenses", token: aliceToken, status: forbidden, code: "Forbidden"},
		{name: "KeyWithSpaces", path: "contoso/commands/RegisterUser", token: adminToken, body: `{"userId":"x"}`, headers: []string{"Idempotency-Key", "a key"}, status: bad, code: vf},
		{name: "KeyTooLong", path: "contoso/commands/RegisterUser", token: adminToken, body: `{"userId":"x"}`, headers: []string{"Idempotency-Key", strings.Repeat("k", 200)}, status: bad, code: vf},
		{name: "BadStatusFilter", method: http.MethodGet, path: "contoso/requests?status=bogus", token: adminToken, status: bad, code: vf},
		{name: "UnknownUserQuery", method: http.MethodGet, path: "contoso/users/nobody/licenses", token: adminToken, status: notFound, code: nf},
		{name: "UnknownRoute", method: http.MethodGet, path: "contoso/nothing-here", token: adminToken, status: notFound, code: nf},
		{name: "WrongMethod", method: http.MethodDelete, path: "contoso/licenses", token: adminToken, status: notFound, code: nf},
	}
	return cases
}

// send sends one bad input.
func (l *ledgerd) send(t *testing.T, c badInput) response {
	t.Helper()
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequest(method, l.HTTP+"/v1/tenants/"+c.path, strings.NewReader(c.body))
	require.NoError(t, err)
	for i := 0; i+1 < len(c.headers); i += 2 {
		req.Header.Set(c.headers[i], c.headers[i+1])
	}
	return do(t, req, c.token)
}

// streamDigest returns the state and a digest of every stored message
// (sequence, subject, headers and bytes) of the commit log and of the public
// LEDGER stream. Publication is asynchronous, so it first waits until LEDGER
// holds every event of the log.
func streamDigest(t *testing.T, url string) string {
	t.Helper()
	js, ctx := jetStreamClient(t, url)
	awaitPublished(t, ctx, js)
	return jetstream.LogStreamName + ": " + digestStream(t, ctx, js, jetstream.LogStreamName) +
		"; " + jetstream.StreamName + ": " + digestStream(t, ctx, js, jetstream.StreamName)
}

// digestStream returns a stream's state and a digest of its messages.
func digestStream(t *testing.T, ctx context.Context, js natsjs.JetStream, name string) string {
	t.Helper()
	stream, err := js.Stream(ctx, name)
	require.NoError(t, err)
	info, err := stream.Info(ctx)
	require.NoError(t, err)
	h := sha256.New()
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		require.NoError(t, err)
		fmt.Fprintf(h, "%d %s %v %x\n", m.Sequence, m.Subject, m.Header, m.Data)
	}
	return fmt.Sprintf("msgs=%d bytes=%d last=%d digest=%x", info.State.Msgs, info.State.Bytes, info.State.LastSeq, h.Sum(nil))
}
