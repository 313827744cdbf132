package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/internal/smalldisk"
)

// commandBound is the --command-timeout the health tests give ledgerd, and
// slack what a command may take beyond it (a loaded 2-core machine).
const (
	commandBound = 2 * time.Second
	slack        = 2 * time.Second
)

// TestReadinessDuringANATSOutage stops the external nats-server under a
// running ledgerd: /healthz (liveness) stays 200, /readyz answers 503
// naming the store, commands answer 503 with Retry-After within the
// command time out, those queued behind one tenant's lock too, saying
// whether they may have been applied; when NATS is back, /readyz is 200
// again and commands succeed, without a restart of ledgerd (O2).
func TestReadinessDuringANATSOutage(t *testing.T) {
	n := startNATSServer(t)
	l := startLedgerdOn(t, n, "--command-timeout", commandBound.String())
	l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"before","usageLocation":"US"}`)
	requireReady(t, l, 10*time.Second)

	n.kill()
	requireNotReady(t, l, "store", "store unreachable", 10*time.Second)
	requireLive(t, l)

	t.Run("CommandsAnswerWithinTheBound", func(t *testing.T) {
		answers := sendAtOnce(t, l, 4)
		for _, a := range answers {
			t.Logf("%d in %s: %s", a.r.Status, a.took.Round(time.Millisecond), a.r.Body["detail"])
			assert.Equal(t, http.StatusServiceUnavailable, a.r.Status, "%s", a.r.Raw)
			assert.Equal(t, "Unavailable", a.r.Code(), "%s", a.r.Raw)
			assert.NotEmpty(t, a.r.Header.Get("Retry-After"), "a 503 says when to retry")
			assert.Regexp(t, `(not applied|may have been applied)`, a.r.Body["detail"])
			assert.Less(t, a.took, commandBound+slack, "answered within the command time out")
		}
	})

	n.start()
	requireReady(t, l, 15*time.Second)
	requireLive(t, l)
	eventually(t, 10*time.Second, func() error {
		r := l.command(t, adminToken, tenant, "RegisterUser", `{"userId":"after","usageLocation":"US"}`)
		if r.Status != http.StatusOK {
			return fmt.Errorf("%d %s", r.Status, r.Raw)
		}
		return nil
	})
}

// timedAnswer is a command's answer and how long it took.
type timedAnswer struct {
	r    response
	took time.Duration
}

// sendAtOnce sends n commands to one tenant at the same time, so that all
// but one wait for the tenant's lock.
func sendAtOnce(t *testing.T, l *ledgerd, n int) []timedAnswer {
	t.Helper()
	out := make([]timedAnswer, n)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			start := time.Now()
			r := l.command(t, adminToken, tenant, "RegisterUser", fmt.Sprintf(`{"userId":"during-%d","usageLocation":"US"}`, i),
				"Idempotency-Key", fmt.Sprintf("outage-%d-%d", i, start.UnixNano()))
			out[i] = timedAnswer{r: r, took: time.Since(start)}
		})
	}
	wg.Wait()
	return out
}

// TestAFullDiskAnswersQuicklyAndRecovers runs ledgerd on a data directory
// of 8 MiB (a tmpfs) and fills it: commands answer 503 quickly and /readyz
// names the store refusing writes; once space is freed, commands succeed
// within seconds, without a restart, the read models and the public stream
// LEDGER follow again, and every acknowledged command is still there (a
// retry with its key answers it as a replay), after a restart too.
func TestAFullDiskAnswersQuicklyAndRecovers(t *testing.T) {
	disk := smalldisk.Mount(t)
	l := startLedgerd(t, "--data", disk, "--command-timeout", commandBound.String())
	acked := ackedCommands{}
	for i := range 5 {
		acked.send(t, l, fmt.Sprintf("u-%d", i))
	}
	requireReady(t, l, 10*time.Second)

	filler := smalldisk.Fill(t, disk)
	first := firstRefusal(t, l, &acked)
	t.Logf("the first command refused on the full disk took %s", first)
	t.Run("RefusedQuickly", func(t *testing.T) {
		requireNotReady(t, l, "store", "store refusing writes", 5*time.Second)
		for i := range 3 {
			start := time.Now()
			r := l.command(t, adminToken, tenant, "RegisterUser", fmt.Sprintf(`{"userId":"full-%d","usageLocation":"US"}`, i))
			took := time.Since(start)
			assert.Equal(t, http.StatusServiceUnavailable, r.Status, "%s", r.Raw)
			assert.NotEmpty(t, r.Header.Get("Retry-After"))
			assert.Contains(t, r.Body["detail"], "not applied")
			assert.Less(t, took, time.Second, "a refusing store answers at once")
		}
		requireLive(t, l)
	})

	require.NoError(t, os.Remove(filler))
	freed := time.Now()
	eventually(t, 20*time.Second, func() error { return acked.try(t, l, "recovered") })
	t.Logf("commands succeed again %s after the space was freed", time.Since(freed).Round(time.Millisecond))
	requireReady(t, l, 5*time.Second)
	js, ctx := jetStreamClient(t, l.NATS)
	awaitPublished(t, ctx, js)

	acked.requireKept(t, l)
	l.restart()
	acked.requireKept(t, l)
}

// firstRefusal sends commands until one is refused, and returns how long
// that one took: the disk may still take a few small writes.
func firstRefusal(t *testing.T, l *ledgerd, acked *ackedCommands) time.Duration {
	t.Helper()
	for i := range 200 {
		start := time.Now()
		r, key := acked.sendKeyed(t, l, fmt.Sprintf("fill-%d", i))
		took := time.Since(start)
		if r.Status == http.StatusOK {
			continue
		}
		require.Equal(t, http.StatusServiceUnavailable, r.Status, "%s", r.Raw)
		require.Less(t, took, commandBound+slack, "the first refusal comes within the command time out")
		acked.unknown = append(acked.unknown, key)
		return took
	}
	t.Fatal("200 commands were accepted on a full disk")
	return 0
}

// ackedCommands remembers the commands acknowledged, to check that none is
// lost.
type ackedCommands struct {
	keys    []string // Idempotency-Keys of acknowledged RegisterUser commands
	events  map[string]string
	unknown []string // commands answered 503: applied or not
}

// send sends a RegisterUser that must be acknowledged.
func (a *ackedCommands) send(t *testing.T, l *ledgerd, user string) {
	t.Helper()
	r, _ := a.sendKeyed(t, l, user)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
}

// sendKeyed sends a RegisterUser with an Idempotency-Key and remembers it
// if acknowledged.
func (a *ackedCommands) sendKeyed(t *testing.T, l *ledgerd, user string) (response, string) {
	t.Helper()
	key := "key-" + user
	r := l.command(t, adminToken, tenant, "RegisterUser", fmt.Sprintf(`{"userId":%q,"usageLocation":"US"}`, user), "Idempotency-Key", key)
	if r.Status == http.StatusOK {
		if a.events == nil {
			a.events = map[string]string{}
		}
		a.keys = append(a.keys, key)
		a.events[key] = r.Events()[0]["id"].(string)
	}
	return r, key
}

// try sends one command and says why it was not acknowledged.
func (a *ackedCommands) try(t *testing.T, l *ledgerd, user string) error {
	t.Helper()
	r, _ := a.sendKeyed(t, l, user)
	if r.Status != http.StatusOK {
		return fmt.Errorf("%d %s", r.Status, r.Raw)
	}
	return nil
}

// requireKept sends every acknowledged command again with its key: each is
// answered as a replay with its first event, read back from the store.
func (a *ackedCommands) requireKept(t *testing.T, l *ledgerd) {
	t.Helper()
	require.NotEmpty(t, a.keys)
	for _, key := range a.keys {
		user := strings.TrimPrefix(key, "key-")
		r := l.command(t, adminToken, tenant, "RegisterUser", fmt.Sprintf(`{"userId":%q,"usageLocation":"US"}`, user), "Idempotency-Key", key)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", key, r.Raw)
		require.Equal(t, true, r.Body["replayed"], "%s was stored", key)
		require.Equal(t, a.events[key], r.Events()[0]["id"], key)
	}
}

// requireReady waits until /readyz answers 200 and lists its checks.
func requireReady(t *testing.T, l *ledgerd, within time.Duration) {
	t.Helper()
	eventually(t, within, func() error {
		r := l.get(t, "", "/readyz")
		if r.Status != http.StatusOK {
			return fmt.Errorf("/readyz: %d %s", r.Status, r.Raw)
		}
		if checks, _ := r.Body["checks"].([]any); len(checks) < 2 {
			return fmt.Errorf("/readyz lists no checks: %s", r.Raw)
		}
		return nil
	})
}

// requireNotReady waits until /readyz answers 503 as problem+json naming
// the failing check and saying why.
func requireNotReady(t *testing.T, l *ledgerd, check, reason string, within time.Duration) {
	t.Helper()
	eventually(t, within, func() error {
		start := time.Now()
		r := l.get(t, "", "/readyz")
		took := time.Since(start)
		if r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Raw), reason) {
			return fmt.Errorf("/readyz: %d %s", r.Status, r.Raw)
		}
		if took > 3*time.Second {
			return fmt.Errorf("/readyz took %s", took)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
			return fmt.Errorf("/readyz Content-Type %q", ct)
		}
		if failing(r, check) == "" {
			return fmt.Errorf("/readyz does not name %q: %s", check, r.Raw)
		}
		return nil
	})
}

// failing returns the detail of the named check of a /readyz answer, if it
// fails.
func failing(r response, name string) string {
	checks, _ := r.Body["checks"].([]any)
	for _, c := range checks {
		m, _ := c.(map[string]any)
		if m["name"] == name && m["ok"] == false {
			d, _ := m["detail"].(string)
			return d + " "
		}
	}
	return ""
}

// requireLive checks that /healthz, the liveness probe, answers 200.
func requireLive(t *testing.T, l *ledgerd) {
	t.Helper()
	r := l.get(t, "", "/healthz")
	require.Equal(t, http.StatusOK, r.Status, "/healthz is liveness: %s", r.Raw)
}

// eventually retries fn until it succeeds or the time is up.
func eventually(t *testing.T, within time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	err := errors.New("never tried")
	for time.Now().Before(deadline) {
		if err = fn(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("not within %s: %v", within, err)
}
