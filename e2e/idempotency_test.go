package e2e

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestL5_IdempotentRetries sends commands again with the same
// Idempotency-Key (L5): each is applied once and answered like the first
// time (same command id and events, "replayed": true, header
// Idempotent-Replayed), also under concurrent retries, after a restart and
// after a crash. Retries after JetStream's duplicate window are tested at
// the service level (ledger/idempotency_test.go): ledgerd has no flag to
// shorten the window.
func TestL5_IdempotentRetries(t *testing.T) {
	l := startLedgerd(t)
	for _, u := range []string{"alice", "bob", "carol"} {
		l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"`+u+`","usageLocation":"US","email":"`+u+`@contoso.com"}`)
	}
	l.mustCommand(t, adminToken, tenant, "PurchaseSubscription", `{"subscriptionId":"s1","productId":"SPB","seats":2}`)
	const assignBob = `{"productId":"SPB","userIds":["bob"]}`
	first := l.command(t, adminToken, tenant, "AssignLicense", assignBob, "Idempotency-Key", "assign-bob")
	require.Equal(t, http.StatusOK, first.Status, "%s", first.Raw)
	assert.Equal(t, false, first.Body["replayed"])
	assert.Empty(t, first.Header.Get("Idempotent-Replayed"))
	sameAsFirst := func(t *testing.T) {
		t.Helper()
		again := l.command(t, adminToken, tenant, "AssignLicense", assignBob, "Idempotency-Key", "assign-bob")
		requireReplayOf(t, first, again)
	}

	t.Run("SameKeyAnswersTheFirstTime", sameAsFirst)
	t.Run("ConcurrentRetriesApplyOnce", func(t *testing.T) { concurrentRetries(t, l) })
	t.Run("KeyReusedForAnotherCommand", func(t *testing.T) {
		before := streamDigest(t, l.NATS)
		r := l.command(t, adminToken, tenant, "RevokeAssignment", assignBob, "Idempotency-Key", "assign-bob")
		assert.Equal(t, http.StatusConflict, r.Status, "%s", r.Raw)
		assert.Equal(t, "Conflict", r.Code())
		assert.Contains(t, r.Body["detail"], "AssignLicense", "the refusal names the command the key was used for")
		assert.Equal(t, before, streamDigest(t, l.NATS), "nothing recorded")
	})
	t.Run("KeyReusedWithAnotherBody", func(t *testing.T) {
		again := l.command(t, adminToken, tenant, "AssignLicense", `{"productId":"SPB","userIds":["alice"]}`, "Idempotency-Key", "assign-bob")
		requireReplayOf(t, first, again)
		lic := l.get(t, adminToken, "/v1/tenants/contoso/users/alice/licenses")
		assert.Empty(t, lic.Body["licenses"], "the key was used: the second body is not applied")
	})
	t.Run("RefusalIsNotRecordedAndRefusedAgain", func(t *testing.T) {
		before := streamDigest(t, l.NATS)
		for range 2 {
			r := l.command(t, adminToken, tenant, "AssignLicense", `{"productId":"VISIOCLIENT","userIds":["carol"]}`, "Idempotency-Key", "no-seats")
			assert.Equal(t, "CountViolation", r.Code(), "%s", r.Raw)
		}
		assert.Equal(t, before, streamDigest(t, l.NATS))
	})
	t.Run("KeysArePerTenant", func(t *testing.T) {
		r := l.command(t, otherAdminTk, otherTenant, "RegisterUser", `{"userId":"nick"}`, "Idempotency-Key", "assign-bob")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
		assert.Equal(t, false, r.Body["replayed"], "another tenant's command with the same key is another command")
	})
	t.Run("KeyOfACommandTheSenderMayNotSend", func(t *testing.T) {
		r := l.command(t, aliceToken, tenant, "AssignLicense", assignBob, "Idempotency-Key", "assign-bob")
		assert.Equal(t, http.StatusForbidden, r.Status, "an ordinary user replaying an admin's key is refused: %s", r.Raw)
		r = l.command(t, otherAdminTk, tenant, "AssignLicense", assignBob, "Idempotency-Key", "assign-bob")
		assert.Equal(t, http.StatusForbidden, r.Status, "another tenant's admin replaying a key is refused: %s", r.Raw)
	})
	t.Run("AfterARestart", func(t *testing.T) {
		l.restart()
		sameAsFirst(t)
	})
	t.Run("AfterACrash", func(t *testing.T) {
		l.kill()
		l.start()
		sameAsFirst(t)
	})
}

// concurrentRetries sends one new command ten times at once with one key:
// one answer applies it, the others replay it, and it is stored once.
func concurrentRetries(t *testing.T, l *ledgerd) {
	rt := newRetrier(0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	answers := make([]answer, 10)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range answers {
		wg.Go(func() {
			<-start
			answers[i] = rt.send(ctx, l.HTTP, adminToken, tenant, "RegisterUser", `{"userId":"dora","usageLocation":"US"}`, "register-dora")
		})
	}
	close(start)
	wg.Wait()
	applied := 0
	for _, a := range answers {
		require.True(t, a.Acked(), a.String())
		require.Len(t, a.Events, 1)
		assert.Equal(t, answers[0].IDs(), a.IDs(), "every answer names the one event")
		if !a.Replayed {
			applied++
		} else {
			assert.Equal(t, "true", a.Header.Get("Idempotent-Replayed"))
		}
	}
	assert.Equal(t, 1, applied, "one answer applied the command")
	stream := readPublicStream(t, l.NATS, 1)
	assert.Len(t, checkPublicStream(t, stream)[commandKey(tenant, "register-dora")], 1, "the event is stored and published once")
}

// requireReplayOf checks that again answers first's command as a replay.
func requireReplayOf(t *testing.T, first, again response) {
	t.Helper()
	require.Equal(t, http.StatusOK, again.Status, "%s", again.Raw)
	assert.Equal(t, true, again.Body["replayed"])
	assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, first.Body["commandId"], again.Body["commandId"])
	assert.Equal(t, first.Events(), again.Events(), "the same events: ids, types, sequences and data")
}
