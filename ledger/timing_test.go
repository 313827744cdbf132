package ledger_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/ledger"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// manualClock is a clock that moves only when the test moves it, so that
// the phases of a command have exact lengths whatever the machine's speed.
// It counts how often it is read.
type manualClock struct {
	mu    sync.Mutex
	read  *sync.Cond
	at    time.Time
	reads int
}

func newManualClock() *manualClock {
	c := &manualClock{at: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	c.read = sync.NewCond(&c.mu)
	return c
}

func (c *manualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	c.read.Broadcast()
	return c.at
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}

func (c *manualClock) readCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// waitReads waits until the clock has been read n times in all.
func (c *manualClock) waitReads(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.reads < n {
		c.read.Wait()
	}
}

// hookedStore runs a hook before each append; the hook may fail the try
// instead of appending.
type hookedStore struct {
	events.Store
	mu    sync.Mutex
	tries int
	hook  func(try int) error
}

func (s *hookedStore) Append(ctx context.Context, tenant string, expected events.Cursor, recs []events.Record) (events.Cursor, error) {
	s.mu.Lock()
	s.tries++
	try := s.tries
	s.mu.Unlock()
	if err := s.hook(try); err != nil {
		return events.Cursor{}, err
	}
	return s.Store.Append(ctx, tenant, expected, recs)
}

// slowService returns a service over the real store with the hook, timed
// by the clock, logging JSON into the buffer.
func slowService(t *testing.T, clock *manualClock, threshold time.Duration, hook func(try int) error) (*ledger.Service, *bytes.Buffer) {
	var logs bytes.Buffer
	store := &hookedStore{Store: newBackend(t).store, hook: hook}
	return ledger.New(store, ledger.Options{
		Now: clock.now, SlowCommand: threshold, Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	}), &logs
}

// slowWarnings returns the slow-command warnings logged, by command id.
func slowWarnings(t *testing.T, logs *bytes.Buffer) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	lines := bufio.NewScanner(bytes.NewReader(logs.Bytes()))
	for lines.Scan() {
		var line map[string]any
		require.NoError(t, json.Unmarshal(lines.Bytes(), &line), lines.Text())
		if line["msg"] == "slow command" {
			assert.Equal(t, "WARN", line["level"])
			out[line["command"].(string)] = line
		}
	}
	return out
}

// assertPhases checks the durations a warning gives (JSON numbers of
// nanoseconds); a phase not named took no time.
func assertPhases(t *testing.T, warning map[string]any, want map[string]time.Duration) {
	t.Helper()
	for _, phase := range []string{"took", "lock", "load", "decide", "append", "commit"} {
		assert.EqualValues(t, want[phase], warning[phase], phase)
	}
}

func register(svc *ledger.Service, id, user string) error {
	_, err := svc.Execute(context.Background(), ledger.Command{
		Tenant: "contoso", Principal: admin, ID: id, Message: &ledgerv1.RegisterUser{UserId: user, UsageLocation: "US"},
	})
	return err
}

// TestASlowCommandSaysWhereItsTimeWent: a command that takes the threshold
// or longer is logged once, as a warning, with the time of each phase and
// how often it was decided and appended; a quicker one is not, nor any
// when the threshold is negative.
func TestASlowCommandSaysWhereItsTimeWent(t *testing.T) {
	clock := newManualClock()
	svc, logs := slowService(t, clock, time.Second, func(try int) error {
		switch try {
		case 2: // the store takes 3 s to answer
			clock.advance(3 * time.Second)
		case 3: // the answer is lost after 10 s; the service tries again
			clock.advance(10 * time.Second)
			return fmt.Errorf("%w: the answer timed out", events.ErrUnavailable)
		}
		return nil
	})
	require.NoError(t, register(svc, "quick", "u0"))
	require.NoError(t, register(svc, "slow", "u1"))
	require.NoError(t, register(svc, "retried", "u2"))

	warnings := slowWarnings(t, logs)
	require.Len(t, warnings, 2, "the quick command is not logged")
	slow := warnings["slow"]
	assertPhases(t, slow, map[string]time.Duration{"took": 3 * time.Second, "append": 3 * time.Second})
	assert.Equal(t, map[string]any{"tenant": "contoso", "type": "RegisterUser", "attempts": 1.0, "append_tries": 1.0},
		map[string]any{"tenant": slow["tenant"], "type": slow["type"], "attempts": slow["attempts"], "append_tries": slow["append_tries"]})
	assert.NotContains(t, slow, "append_err")
	assert.NotContains(t, slow, "err")

	retried := warnings["retried"]
	assertPhases(t, retried, map[string]time.Duration{"took": 10 * time.Second, "append": 10 * time.Second})
	assert.EqualValues(t, 2, retried["append_tries"])
	assert.Contains(t, retried["append_err"], "the answer timed out")

	never, neverLogs := slowService(t, clock, -1, func(int) error { clock.advance(time.Hour); return nil })
	require.NoError(t, register(never, "", "u0"))
	assert.Empty(t, slowWarnings(t, neverLogs))
}

// TestASlowCommandTellsItsWaitForTheTenant: a command queued behind
// another of its tenant logs the wait for the tenant's lock apart from its
// own work, and the command it waited for logs its slow append.
func TestASlowCommandTellsItsWaitForTheTenant(t *testing.T) {
	clock := newManualClock()
	entered, release := make(chan struct{}), make(chan struct{})
	svc, logs := slowService(t, clock, time.Second, func(try int) error {
		if try == 1 {
			close(entered)
			<-release
		}
		return nil
	})
	first := make(chan error, 1)
	go func() { first <- register(svc, "first", "u0") }()
	<-entered // the first command holds the tenant and reads the clock no more
	reads := clock.readCount()
	second := make(chan error, 1)
	go func() { second <- register(svc, "second", "u1") }()
	clock.waitReads(reads + 1) // the second command has started its timing
	clock.advance(2 * time.Second)
	close(release)
	require.NoError(t, <-first)
	require.NoError(t, <-second)

	warnings := slowWarnings(t, logs)
	assertPhases(t, warnings["first"], map[string]time.Duration{"took": 2 * time.Second, "append": 2 * time.Second})
	assertPhases(t, warnings["second"], map[string]time.Duration{"took": 2 * time.Second, "lock": 2 * time.Second})
}
