package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/infra/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The seats the concurrency test's clients race for.
const (
	raceSPBSeats   = 10 // in two subscriptions, 6 + 4 (S2)
	raceVisioSeats = 5
	racePBISeats   = 4
	raceUsers      = 40
	raceRequesters = 12
)

// TestL6_NeverOversold runs three ledgerd processes on one nats-server and
// has many clients race, through all three, for the last seats of a
// product: direct assignments, approvals of requests, and group members
// inheriting a group's license. Exactly as many licenses are held as there
// were seats; every loser is told CountViolation (or, for a request another
// admin decided first, Conflict); nothing is silently dropped and nothing
// answers 500. Every process's API and a replay agree on the counts.
func TestL6_NeverOversold(t *testing.T) {
	ns := startNATSServer(t)
	var extra []auth.Entry
	for i := range raceRequesters {
		extra = append(extra, member(requesterID(i), tenant))
	}
	principals := principalsFile(t, extra...)
	var cluster []*ledgerd
	for range 3 {
		cluster = append(cluster, startLedgerdOn(t, ns, "--auth-file", principals))
	}
	rc := &raceClients{cluster: cluster, rt: newRetrier(3), want: map[string]float64{}}
	rc.setup(t)

	t.Run("LastSeats", rc.lastSeats)
	t.Run("CompetingApprovals", rc.competingApprovals)
	t.Run("GroupMembership", rc.groupMembership)
	t.Run("SameKeyOnEveryProcess", rc.sameKeyOnEveryProcess)
	t.Run("StaleProcess", rc.staleProcess)
	t.Run("LastSeatsRoundAfterRound", rc.lastSeatsRoundAfterRound)

	stream := readPublicStream(t, ns.URL, 1)
	checkPublicStream(t, stream)
	users := registeredUsers(stream, tenant)
	for _, l := range cluster {
		requireViewsEqualReplay(t, l, tenantViews{id: tenant, token: adminToken, users: users})
		requireAssigned(t, l, rc.want)
	}
	licenses, _ := replay(t, ns.URL)
	for _, p := range licenses.Products(tenant) {
		if n, ok := rc.want[p.ProductID]; ok {
			assert.EqualValues(t, n, p.Assigned, "%s: a replay holds as many licenses as seats", p.ProductID)
		}
	}
}

// raceClients sends the race's commands to the processes in turn.
type raceClients struct {
	cluster []*ledgerd
	rt      *retrier
	want    map[string]float64 // licenses assigned at the end, per product raced for
	holders []string           // the users who won the last race for SPB
}

// requesterID names the users who request licenses in the race.
func requesterID(i int) string { return fmt.Sprintf("r%02d", i) }

// raceUser names the users licenses are assigned to in the race.
func raceUser(i int) string { return fmt.Sprintf("u%02d", i) }

// setup registers the users, buys the seats and licenses the group, then
// has each requester ask for Visio.
func (rc *raceClients) setup(t *testing.T) {
	l := rc.cluster[0]
	for i := range raceUsers {
		l.mustCommand(t, adminToken, tenant, "RegisterUser", fmt.Sprintf(`{"userId":"%s","usageLocation":"US"}`, raceUser(i)))
	}
	for i := range raceRequesters {
		l.mustCommand(t, adminToken, tenant, "RegisterUser", fmt.Sprintf(`{"userId":"%s","usageLocation":"US"}`, requesterID(i)))
	}
	l.mustCommand(t, adminToken, tenant, "PurchaseSubscription", `{"subscriptionId":"spb-a","productId":"SPB","seats":6}`)
	l.mustCommand(t, adminToken, tenant, "PurchaseSubscription", `{"subscriptionId":"spb-b","productId":"SPB","seats":4}`)
	l.mustCommand(t, adminToken, tenant, "PurchaseSubscription", fmt.Sprintf(`{"subscriptionId":"visio","productId":"VISIOCLIENT","seats":%d}`, raceVisioSeats))
	l.mustCommand(t, adminToken, tenant, "PurchaseSubscription", fmt.Sprintf(`{"subscriptionId":"pbi","productId":"POWER_BI_PRO","seats":%d}`, racePBISeats))
	l.mustCommand(t, adminToken, tenant, "CreateGroup", `{"groupId":"team","name":"Team"}`)
	l.mustCommand(t, adminToken, tenant, "AssignGroupLicense", `{"groupId":"team","productId":"POWER_BI_PRO"}`)
}

// race sends every command at once, each to the next process, and returns
// the answers in the order of cmds.
func (rc *raceClients) race(cmds []raceCommand) []answer {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	answers := make([]answer, len(cmds))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range cmds {
		l := rc.cluster[i%len(rc.cluster)]
		wg.Go(func() {
			<-start
			answers[i] = rc.rt.send(ctx, l.HTTP, c.token, tenant, c.name, c.body, c.key)
		})
	}
	close(start)
	wg.Wait()
	return answers
}

// raceCommand is one command of a race.
type raceCommand struct {
	token, name, body, key string
	user                   string // the user it gives a license to
}

// lastSeats: 30 admins assign SPB to 30 users at once; 10 seats.
func (rc *raceClients) lastSeats(t *testing.T) {
	rc.want["SPB"] = raceSPBSeats
	rc.raceForSPB(t, "seat-")
}

// raceForSPB has 30 admins assign SPB to 30 users at once, with keys that
// start with prefix, and records who won.
func (rc *raceClients) raceForSPB(t *testing.T, prefix string) {
	var cmds []raceCommand
	for i := range 30 {
		u := raceUser(i)
		cmds = append(cmds, raceCommand{token: adminToken, name: "AssignLicense", body: `{"productId":"SPB","userIds":["` + u + `"]}`, key: prefix + u, user: u})
	}
	answers := rc.race(cmds)
	won := rc.tally(t, cmds, answers, "LicenseAssigned")
	assert.Equal(t, raceSPBSeats, won, "as many assignments succeed as there were seats")
	rc.holders = rc.holders[:0]
	for i, a := range answers {
		if a.Acked() {
			rc.holders = append(rc.holders, cmds[i].user)
		}
	}
}

// lastSeatsRoundAfterRound: one process takes back every seat of SPB, then
// the 30 admins race again for the same users, round after round. The
// other processes still hold the last round's winners in their cached
// state; an assignment they would answer "already holds it" is decided on
// the current state: each round exactly the seats are won, every other
// answer is a CountViolation, and no answer is a 200 that recorded nothing.
func (rc *raceClients) lastSeatsRoundAfterRound(t *testing.T) {
	for round := range 3 {
		holders, _ := json.Marshal(rc.holders)
		rc.cluster[round%len(rc.cluster)].mustCommand(t, adminToken, tenant, "RevokeAssignment", `{"productId":"SPB","userIds":`+string(holders)+`}`)
		rc.raceForSPB(t, fmt.Sprintf("seat-round-%d-", round))
	}
}

// competingApprovals: 12 requests for Visio, 5 seats; an admin approves
// each request while others deny four of them, on other processes.
func (rc *raceClients) competingApprovals(t *testing.T) {
	rc.want["VISIOCLIENT"] = raceVisioSeats
	var cmds []raceCommand
	var denies []raceCommand
	for i := range raceRequesters {
		r := rc.cluster[0].mustCommand(t, tokenFor(requesterID(i)), tenant, "RequestLicense", `{"productId":"VISIOCLIENT"}`)
		id := r.Events()[0]["data"].(map[string]any)["requestId"].(string)
		cmds = append(cmds, raceCommand{token: adminToken, name: "ApproveRequest", body: `{"requestId":"` + id + `"}`, key: "approve-" + id, user: requesterID(i)})
		if i%3 == 0 {
			denies = append(denies, raceCommand{token: adminToken, name: "DenyRequest", body: `{"requestId":"` + id + `","message":"no"}`, key: "deny-" + id})
		}
	}
	answers := rc.race(append(slices.Clone(cmds), denies...))
	approved := rc.tally(t, cmds, answers[:len(cmds)], "LicenseAssigned")
	assert.Equal(t, raceVisioSeats, approved, "as many approvals succeed as there were seats")
	for i, a := range answers[len(cmds):] {
		if !a.Acked() {
			assert.Equal(t, "Conflict", a.Code, "%s: a request approved first is not denied: %s", denies[i].key, a)
		}
	}
}

// groupMembership: 12 users join the licensed group while 6 others get
// the group's product directly; 4 seats.
func (rc *raceClients) groupMembership(t *testing.T) {
	rc.want["POWER_BI_PRO"] = racePBISeats
	var joins, direct []raceCommand
	for i := 30; i < 40; i++ {
		u := raceUser(i)
		joins = append(joins, raceCommand{token: adminToken, name: "AddGroupMembers", body: `{"groupId":"team","userIds":["` + u + `"]}`, key: "join-" + u, user: u})
	}
	for i := range 6 {
		u := raceUser(i)
		direct = append(direct, raceCommand{token: adminToken, name: "AssignLicense", body: `{"productId":"POWER_BI_PRO","userIds":["` + u + `"]}`, key: "pbi-" + u, user: u})
	}
	answers := rc.race(append(slices.Clone(joins), direct...))
	joined := 0
	for i, a := range answers[:len(joins)] {
		require.True(t, a.Acked(), "%s: joining a group is never refused for want of seats: %s", joins[i].key, a)
		types := answeredTypes(a)
		assert.Contains(t, types, "GroupMemberAdded", joins[i].key)
		if slices.Contains(types, "LicenseAssigned") {
			joined++
		} else {
			assert.Contains(t, types, "GroupLicenseMemberFailed", "%s: a member without a seat is recorded in error (A6), not dropped", joins[i].key)
		}
	}
	assigned := rc.tally(t, direct, answers[len(joins):], "LicenseAssigned")
	assert.Equal(t, racePBISeats, joined+assigned, "members and direct assignments together hold as many licenses as seats")
}

// sameKeyOnEveryProcess: one command sent three times to each process at
// once, with one key, is applied once; every answer names the same events.
func (rc *raceClients) sameKeyOnEveryProcess(t *testing.T) {
	var cmds []raceCommand
	for range 9 {
		cmds = append(cmds, raceCommand{token: adminToken, name: "PurchaseSubscription", body: `{"subscriptionId":"extra","productId":"EXCHANGESTANDARD","seats":3}`, key: "same-key-everywhere"})
	}
	answers := rc.race(cmds)
	first := 0
	for _, a := range answers {
		require.True(t, a.Acked(), a.String())
		assert.Equal(t, answers[0].IDs(), a.IDs(), "every answer names the events of the one application")
		if !a.Replayed {
			first++
		}
	}
	assert.Equal(t, 1, first, "one answer applied it, the others replayed it")
	assert.Len(t, answers[0].Events, 1)
}

// staleProcess: a process that has not seen another's latest writes still
// decides on the tenant's current state: it accepts what they made valid,
// recognizes a command they applied, and lets in a partner they delegated
// to. ARCHITECTURE.md: "A refusal is never the product of a stale state".
func (rc *raceClients) staleProcess(t *testing.T) {
	a, b := rc.cluster[0], rc.cluster[1] // b has loaded the tenant: it answered SameKeyOnEveryProcess
	t.Run("UserRegisteredElsewhere", func(t *testing.T) {
		a.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"late-1","usageLocation":"US"}`)
		r := b.command(t, adminToken, tenant, "AssignLicense", `{"productId":"EXCHANGESTANDARD","userIds":["late-1"]}`)
		assert.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	})
	t.Run("RetryOfACommandAppliedElsewhere", func(t *testing.T) {
		a.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"late-2","usageLocation":"US"}`)
		body := `{"productId":"EXCHANGESTANDARD","userIds":["late-2"]}`
		first := a.command(t, adminToken, tenant, "AssignLicense", body, "Idempotency-Key", "late-assign")
		require.Equal(t, http.StatusOK, first.Status, "%s", first.Raw)
		again := b.command(t, adminToken, tenant, "AssignLicense", body, "Idempotency-Key", "late-assign")
		require.Equal(t, http.StatusOK, again.Status, "a retry on another process answers the first application: %s", again.Raw)
		assert.Equal(t, true, again.Body["replayed"])
		assert.Equal(t, first.Events(), again.Events())
	})
	t.Run("LicenseRevokedElsewhere", func(t *testing.T) {
		a.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"late-3","usageLocation":"US"}`)
		assign := `{"productId":"EXCHANGESTANDARD","userIds":["late-3"]}`
		b.mustCommand(t, adminToken, tenant, "AssignLicense", assign)
		a.mustCommand(t, adminToken, tenant, "RevokeAssignment", assign)
		r := b.command(t, adminToken, tenant, "AssignLicense", assign)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
		var types []string
		for _, e := range r.Events() {
			types = append(types, e["type"].(string))
		}
		assert.Equal(t, []string{"LicenseAssigned"}, types, "b cached late-3 as holding it; the license revoked on a is assigned again, not answered as already held")
	})
	t.Run("DelegationGrantedElsewhere", func(t *testing.T) {
		a.mustCommand(t, adminToken, tenant, "GrantPartnerDelegation", `{"partnerId":"fabrikam","roles":["AdminAgent"]}`)
		r := b.get(t, fabrikamTok, "/v1/tenants/"+tenant+"/licenses")
		assert.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	})
}

// tally checks the answers of commands that each give one user a license:
// an answer is a success holding eventType for that user, or CountViolation.
// It returns the successes.
func (rc *raceClients) tally(t *testing.T, cmds []raceCommand, answers []answer, eventType string) int {
	t.Helper()
	won := 0
	for i, a := range answers {
		switch {
		case a.Acked():
			won++
			assert.Contains(t, licensedUsers(a, eventType), cmds[i].user, "%s: a success assigns the license, never silently nothing", cmds[i].key)
		case a.Code == "CountViolation":
			assert.Contains(t, a.Detail, "short", "%s: the refusal says how many seats are missing", cmds[i].key)
		case a.Code == "Conflict" && cmds[i].name == "ApproveRequest":
			assert.Contains(t, a.Detail, "already closed", "%s: the request was denied first", cmds[i].key)
		default:
			t.Errorf("%s %s: want success or CountViolation, got %s", cmds[i].key, cmds[i].name, a)
		}
	}
	return won
}

// licensedUsers returns the users of an answer's events of that type.
func licensedUsers(a answer, eventType string) []string {
	var users []string
	for _, e := range a.Events {
		if u, ok := e.Data["userId"].(string); ok && e.Type == eventType {
			users = append(users, u)
		}
	}
	return users
}

// answeredTypes returns the types of an answer's events, in order.
func answeredTypes(a answer) []string {
	var types []string
	for _, e := range a.Events {
		types = append(types, e.Type)
	}
	return types
}

// requireAssigned checks, through one process's API, that every seat of
// each product is assigned and none is available. A process that did not
// write the last events gets 20 s to apply them.
func requireAssigned(t *testing.T, l *ledgerd, want map[string]float64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows := productRows(t, l)
		got := map[string]float64{}
		for id := range want {
			got[id], _ = rows[id]["assigned"].(float64)
		}
		if !assert.ObjectsAreEqual(want, got) && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		require.Equal(t, want, got, "licenses assigned, through %s", l.HTTP)
		for id := range want {
			assert.Equal(t, rows[id]["total"], rows[id]["assigned"], "%s on %s: every seat is taken", id, l.HTTP)
			assert.Equal(t, 0.0, rows[id]["available"], "%s on %s", id, l.HTTP)
		}
		return
	}
}

// productRows returns the rows of the Licenses view by product id.
func productRows(t *testing.T, l *ledgerd) map[string]map[string]any {
	t.Helper()
	r := l.get(t, adminToken, "/v1/tenants/"+tenant+"/licenses")
	require.Equal(t, http.StatusOK, r.Status, string(r.Raw))
	rows := map[string]map[string]any{}
	for _, p := range r.Body["products"].([]any) {
		row := p.(map[string]any)
		rows[row["productId"].(string)] = row
	}
	return rows
}
