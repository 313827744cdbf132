package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The crash test's load: how many clients, how many crashes, and how long
// clients may take to get every command answered once the crashes stop.
const (
	crashClients  = 8
	crashKills    = 24
	crashDeadline = 60 * time.Second
)

// crashTenant is a tenant the crash test's clients write to.
type crashTenant struct {
	id         string
	adminToken string
	requester  string // a user who requests licenses
}

var crashTenants = []crashTenant{
	{id: tenant, adminToken: adminToken, requester: "rita"},
	{id: otherTenant, adminToken: otherAdminTk, requester: "nina"},
}

// TestAcknowledgedMeansKept drives the real ledgerd with concurrent clients
// while killing it (SIGKILL) at random moments, and with an external NATS
// server kills that too. Clients send every command again with the same
// Idempotency-Key until it is answered. Then every acknowledged command's
// events are in the public stream exactly once, nothing refused is, the
// stream holds each event once in tenant order, and the read models equal a
// replay from the first event. With --sync (every write fsynced) the same
// holds, checked with fewer crashes.
func TestAcknowledgedMeansKept(t *testing.T) {
	principals := func(t *testing.T) string {
		return principalsFile(t, member("rita", tenant), member("nina", otherTenant))
	}
	t.Run("EmbeddedNATS", func(t *testing.T) {
		l := startLedgerd(t, "--auth-file", principals(t))
		crashAndCheck(t, &crashTarget{l: l, kills: crashKills})
	})
	t.Run("EmbeddedNATSWithSync", func(t *testing.T) {
		l := startLedgerd(t, "--auth-file", principals(t), "--sync")
		crashAndCheck(t, &crashTarget{l: l, kills: crashKills / 3})
	})
	t.Run("ExternalNATS", func(t *testing.T) {
		ns := startNATSServer(t)
		l := startLedgerdOn(t, ns, "--auth-file", principals(t))
		crashAndCheck(t, &crashTarget{l: l, ns: ns, kills: crashKills})
	})
}

// crashTarget is what the crash test kills: ledgerd, and the NATS server
// when it is external.
type crashTarget struct {
	l     *ledgerd
	ns    *natsServer
	kills int
}

// crashAndCheck runs the clients, crashes the target meanwhile, and checks
// what the ledger kept.
func crashAndCheck(t *testing.T, c *crashTarget) {
	start := time.Now()
	rt := newRetrier(0)
	sent := &sentLog{}
	for _, ten := range crashTenants {
		setupCrashTenant(t, c.l, rt, sent, ten)
	}
	ctx, cancel := context.WithTimeout(context.Background(), crashDeadline)
	defer cancel()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range crashClients {
		w := newCrashClient(i, crashTenants[i%len(crashTenants)], c.l.HTTP, rt, sent)
		wg.Go(func() { w.run(ctx, stop) })
	}
	lk, nk := c.crash(t, rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7)))
	close(stop)
	wg.Wait()
	t.Logf("%d commands (%d acknowledged, %d refused; %d sent more than once, %d answered as replays) through %d kills of ledgerd and %d of nats-server in %s",
		len(sent.all()), sent.count(answer.Acked), sent.count(answer.Refused), sent.count(func(a answer) bool { return a.Attempts > 1 }),
		sent.count(func(a answer) bool { return a.Replayed }), lk, nk, time.Since(start).Round(time.Millisecond))
	checked := time.Now()
	checkKept(t, c.l, rt, sent)
	t.Logf("checked in %s", time.Since(checked).Round(time.Millisecond))
}

// setupCrashTenant registers the requester and buys the first seats.
func setupCrashTenant(t *testing.T, l *ledgerd, rt *retrier, sent *sentLog, ten crashTenant) {
	t.Helper()
	cmds := [][2]string{
		{"RegisterUser", `{"userId":"` + ten.requester + `","usageLocation":"US"}`},
		{"PurchaseSubscription", `{"subscriptionId":"base-spb","productId":"SPB","seats":12}`},
		{"PurchaseSubscription", `{"subscriptionId":"base-visio","productId":"VISIOCLIENT","seats":4}`},
		{"PurchaseSubscription", `{"subscriptionId":"base-pbi","productId":"POWER_BI_PRO","seats":4}`},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, c := range cmds {
		a := rt.send(ctx, l.HTTP, ten.adminToken, ten.id, c[0], c[1], fmt.Sprintf("setup-%d", i))
		require.True(t, a.Acked(), "%s: %s", c[0], a)
		sent.add(sentCommand{tenant: ten.id, key: fmt.Sprintf("setup-%d", i), name: c[0], answer: a})
	}
}

// crash kills ledgerd or the NATS server c.kills times, at random
// moments, restarting each at once on the same data. It returns how many
// times each was killed.
func (c *crashTarget) crash(t *testing.T, rnd *rand.Rand) (ledgerdKills, natsKills int) {
	t.Helper()
	for k := 1; k <= c.kills; k++ {
		time.Sleep(time.Duration(100+rnd.IntN(350)) * time.Millisecond)
		switch {
		case c.ns != nil && k%8 == 0: // both at once
			c.l.kill()
			c.ns.restart()
			c.l.start()
			ledgerdKills, natsKills = ledgerdKills+1, natsKills+1
		case c.ns != nil && k%6 == 0:
			c.ns.restart()
			natsKills++
		default:
			c.l.kill()
			c.l.start()
			ledgerdKills++
		}
	}
	return ledgerdKills, natsKills
}

// sentCommand is one command a client sent and its final answer.
type sentCommand struct {
	tenant, key, name, body, token string
	answer                         answer
}

// sentLog collects the commands of every client.
type sentLog struct {
	mu   sync.Mutex
	cmds []sentCommand
}

// add records one command and its answer.
func (s *sentLog) add(c sentCommand) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cmds = append(s.cmds, c)
}

// all returns every command recorded so far.
func (s *sentLog) all() []sentCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.cmds)
}

// count returns how many commands got an answer that is so.
func (s *sentLog) count(is func(answer) bool) int {
	n := 0
	for _, c := range s.all() {
		if is(c.answer) {
			n++
		}
	}
	return n
}

// checkKept checks the ledger against the answers the clients got.
func checkKept(t *testing.T, l *ledgerd, rt *retrier, sent *sentLog) {
	cmds := sent.all()
	want := 0
	for _, c := range cmds {
		require.True(t, c.answer.Acked() || c.answer.Refused(), "%s %s %s: every command gets a definitive answer, never a 5xx: %s", c.tenant, c.key, c.name, c.answer)
		want += len(c.answer.Events)
	}
	stream := readPublicStream(t, l.NATS, want)
	byCommand := checkPublicStream(t, stream)
	checkCommandsInStream(t, cmds, byCommand)
	assert.Len(t, stream, want, "the public stream holds the events of the acknowledged commands and nothing else")
	var views []tenantViews
	for _, ten := range crashTenants {
		views = append(views, tenantViews{id: ten.id, token: ten.adminToken, users: registeredUsers(stream, ten.id)})
		requireNoOversale(t, l, ten.adminToken, ten.id)
	}
	requireViewsEqualReplay(t, l, views...)
	l.restart()
	requireViewsEqualReplay(t, l, views...)
	checkRetriesReplay(t, l, rt, cmds)
}

// checkCommandsInStream checks that each acknowledged command's events are
// in the stream once, as answered, and that no refused command left any.
func checkCommandsInStream(t *testing.T, cmds []sentCommand, byCommand map[string][]*ledgerv1.Event) {
	t.Helper()
	known := map[string]bool{}
	for _, c := range cmds {
		k := commandKey(c.tenant, c.key)
		known[k] = true
		stored := byCommand[k]
		if c.answer.Refused() {
			assert.Empty(t, stored, "%s %s was refused (%s) but left events", k, c.name, c.answer.Code)
			continue
		}
		var ids, types []string
		for _, e := range stored {
			ids, types = append(ids, e.GetId()), append(types, e.TypeName())
		}
		if !assert.Equal(t, c.answer.IDs(), ids, "%s %s: the events answered are the events stored, once (attempts %d)", k, c.name, c.answer.Attempts) {
			continue
		}
		for i, e := range c.answer.Events {
			assert.Equal(t, e.Type, types[i], "%s event %d", k, i)
			assert.Equal(t, e.Sequence, stored[i].GetSequence(), "%s event %d", k, i)
		}
	}
	for k, evs := range byCommand {
		assert.True(t, known[k], "%d events of %s, a command no client sent", len(evs), k)
	}
}

// checkRetriesReplay sends acknowledged commands again with their keys:
// each answers its first events, marked replayed (L5).
func checkRetriesReplay(t *testing.T, l *ledgerd, rt *retrier, cmds []sentCommand) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	checked := 0
	for _, c := range cmds {
		if !c.answer.Acked() || len(c.answer.Events) == 0 || c.token == "" || checked == 60 {
			continue
		}
		checked++
		again := rt.send(ctx, l.HTTP, c.token, c.tenant, c.name, c.body, c.key)
		if assert.Equal(t, http.StatusOK, again.Status, "%s %s sent again: %s", c.key, c.name, again) {
			assert.True(t, again.Replayed, "%s %s sent again is replayed", c.key, c.name)
			assert.Equal(t, c.answer.IDs(), again.IDs(), "%s %s sent again answers its first events", c.key, c.name)
		}
	}
}

// crashClient is one client of the crash test: an admin of one tenant who
// registers users, buys seats, assigns and revokes licenses directly and
// through a group, and decides the requests a user of the tenant sends.
type crashClient struct {
	id      int
	ten     crashTenant
	base    string
	rt      *retrier
	sent    *sentLog
	rnd     *rand.Rand
	n       int
	users   []string
	subs    []string
	group   string
	grouped bool
	pending []string // requests to decide
}

// newCrashClient returns client id of the tenant, with its own random source.
func newCrashClient(id int, ten crashTenant, base string, rt *retrier, sent *sentLog) *crashClient {
	return &crashClient{id: id, ten: ten, base: base, rt: rt, sent: sent, rnd: rand.New(rand.NewPCG(uint64(id), uint64(time.Now().UnixNano())))}
}

// run sends commands until stop is closed, each until it is answered.
func (w *crashClient) run(ctx context.Context, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		w.n++
		token, name, body := w.next()
		key := fmt.Sprintf("c%d-%d", w.id, w.n)
		a := w.rt.send(ctx, w.base, token, w.ten.id, name, body, key)
		w.sent.add(sentCommand{tenant: w.ten.id, key: key, name: name, body: body, token: token, answer: a})
		if a.Acked() {
			w.learn(name, body, a)
		}
		if a.Status == 0 {
			return // the deadline passed: checkKept reports it
		}
	}
}

// next chooses the next command: a realistic mix once the client has a few
// users and a licensed group.
func (w *crashClient) next() (token, name, body string) {
	admin := w.ten.adminToken
	switch {
	case len(w.users) < 3:
		return admin, "RegisterUser", w.newUser()
	case w.group == "":
		return admin, "CreateGroup", fmt.Sprintf(`{"groupId":"g%d","name":"Group %d"}`, w.id, w.id)
	case !w.grouped:
		return admin, "AssignGroupLicense", fmt.Sprintf(`{"groupId":"%s","productId":"POWER_BI_PRO"}`, w.group)
	}
	switch r := w.rnd.IntN(100); {
	case r < 8 && len(w.users) < 15:
		return admin, "RegisterUser", w.newUser()
	case r < 14 && len(w.subs) < 3:
		return admin, "PurchaseSubscription", fmt.Sprintf(`{"subscriptionId":"s%d-%d","productId":"SPB","seats":%d}`, w.id, w.n, 1+w.rnd.IntN(3))
	case r < 20 && len(w.subs) > 0:
		return admin, "ChangeSeats", fmt.Sprintf(`{"subscriptionId":"%s","seats":%d}`, w.pick(w.subs), w.rnd.IntN(5))
	case r < 42:
		return admin, "AssignLicense", fmt.Sprintf(`{"productId":"%s","userIds":%s}`, w.pick([]string{"SPB", "SPB", "VISIOCLIENT"}), w.someUsers())
	case r < 52:
		return admin, "RevokeAssignment", fmt.Sprintf(`{"productId":"SPB","userIds":["%s"]}`, w.pick(w.users))
	case r < 56:
		return admin, "UnassignAll", fmt.Sprintf(`{"userIds":["%s"]}`, w.pick(w.users))
	case r < 66:
		return admin, "AddGroupMembers", fmt.Sprintf(`{"groupId":"%s","userIds":["%s"]}`, w.group, w.pick(w.users))
	case r < 71:
		return admin, "RemoveGroupMembers", fmt.Sprintf(`{"groupId":"%s","userIds":["%s"]}`, w.group, w.pick(w.users))
	case r < 85 || len(w.pending) == 0:
		return tokenFor(w.ten.requester), "RequestLicense", fmt.Sprintf(`{"productId":"VISIOCLIENT","userIds":["%s"],"message":"client %d"}`, w.pick(w.users), w.id)
	case r < 95:
		return admin, "ApproveRequest", fmt.Sprintf(`{"requestId":"%s","message":"approved"}`, w.decide())
	default:
		return admin, "DenyRequest", fmt.Sprintf(`{"requestId":"%s","message":"not now"}`, w.decide())
	}
}

// newUser is the body registering a new user of this client.
func (w *crashClient) newUser() string {
	return fmt.Sprintf(`{"userId":"c%d-u%d","displayName":"User %d","usageLocation":"US"}`, w.id, w.n, w.n)
}

// someUsers returns one to three distinct users of this client, as JSON.
func (w *crashClient) someUsers() string {
	users := slices.Clone(w.users)
	w.rnd.Shuffle(len(users), func(i, j int) { users[i], users[j] = users[j], users[i] })
	n := min(1+w.rnd.IntN(3), len(users))
	return fmt.Sprintf("%q", users[:n])
}

// decide takes a pending request off the list, to approve or deny it.
func (w *crashClient) decide() string {
	i := w.rnd.IntN(len(w.pending))
	id := w.pending[i]
	w.pending = slices.Delete(w.pending, i, i+1)
	return id
}

// pick returns one of from, at random.
func (w *crashClient) pick(from []string) string { return from[w.rnd.IntN(len(from))] }

// learn keeps what an acknowledged command created, for later commands.
func (w *crashClient) learn(name, body string, a answer) {
	switch name {
	case "RegisterUser":
		w.users = append(w.users, fmt.Sprintf("c%d-u%d", w.id, w.n))
	case "PurchaseSubscription":
		w.subs = append(w.subs, fmt.Sprintf("s%d-%d", w.id, w.n))
	case "CreateGroup":
		w.group = fmt.Sprintf("g%d", w.id)
	case "AssignGroupLicense":
		w.grouped = true
	case "RequestLicense":
		if len(a.Events) > 0 {
			if id, ok := a.Events[0].Data["requestId"].(string); ok {
				w.pending = append(w.pending, id)
			}
		}
	}
}
