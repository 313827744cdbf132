package jetstream_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// TestSubscribeSlowReader holds the subscriber's fn while the server answers
// its pulls, as a busy projector or forwarder does, and requires every
// record to arrive with nothing dropped by the client. It takes about six
// seconds: the server sends its first idle heartbeat after five.
//
// Through the iterator of nats.go (Messages), the last record arrived only
// with the next append: the iterator buffers in a channel with a slot per
// message pulled, and the server's status messages take slots it does not
// count, the "409 Batch Completed" after each answered pull (pulls with a
// byte limit) and the idle heartbeats. With two of them queued while fn
// held, the last message of the next pull found the channel full and the
// client dropped it; the ordered consumer sees a gap only when a later
// message comes, and the heartbeats kept it from resetting.
func TestSubscribeSlowReader(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	drops := make(chan error, 1)
	env.nc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case drops <- err:
		default:
		}
	})
	spy := spyInboxes(t, env)
	const first, later = 500, 251
	cur := appendSingles(t, env, events.Cursor{}, first)

	ctx, cancel := context.WithTimeout(env.ctx, 20*time.Second)
	defer cancel()
	got := 0
	err := env.store.Subscribe(ctx, 0, func(events.Record) error {
		switch got++; got {
		case 1: // held until the first pull is answered, and its status
			spy.await(t, func(data int, status map[string]int) bool { return data >= first && status["409"] > 0 }, time.Second)
		case first/2 + 2: // (the iterator pulled again as it took this one) held past
			// an idle heartbeat, while the next pull is answered
			spy.await(t, func(_ int, status map[string]int) bool { return status["100"] > 0 }, 8*time.Second)
			cur = appendSingles(t, env, cur, later)
			spy.await(t, func(data int, _ map[string]int) bool { return data >= first+later }, 5*time.Second)
		case first + later:
			cancel()
		}
		return env.nc.Flush() // the store's connection has what the spy saw
	})
	require.ErrorIs(t, err, context.Canceled, "received %d of %d records", got, first+later)
	require.Empty(t, drops, "the client dropped messages")
}

// appendSingles appends n records to tenant acme, one per append.
func appendSingles(t testing.TB, env *testEnv, cur events.Cursor, n int) events.Cursor {
	for range n {
		cur = env.append(t, "acme", cur, testRecords("acme", cur, 1))
	}
	return cur
}

// inboxSpy counts, from a connection of its own, the log messages and the
// status messages (by code) the server sends to the store's inboxes.
type inboxSpy struct {
	mu     sync.Mutex
	data   int
	status map[string]int
}

// spyInboxes starts an inbox spy on the test's server.
func spyInboxes(t *testing.T, env *testEnv) *inboxSpy {
	nc, err := nats.Connect("", nats.InProcessServer(env.ns))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	spy := &inboxSpy{status: make(map[string]int)}
	_, err = nc.Subscribe(nats.InboxPrefix+">", spy.count)
	require.NoError(t, err)
	require.NoError(t, nc.Flush())
	return spy
}

func (s *inboxSpy) count(msg *nats.Msg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code := msg.Header.Get("Status"); code != "" {
		s.status[code]++
	} else if strings.HasPrefix(msg.Subject, jetstream.LogSubject("")) {
		s.data++
	}
}

// await waits up to limit for cond to hold, and logs if it did not: it
// waits for what made the iterator drop a message, which the test does not
// require (the store's pulls now ask for bytes, not for a number of
// messages, so none ends with a "409 Batch Completed").
func (s *inboxSpy) await(t *testing.T, cond func(data int, status map[string]int) bool, limit time.Duration) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.mu.Lock()
		ok := cond(s.data, s.status)
		s.mu.Unlock()
		if ok {
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Logf("not within %v: so far %d log messages, statuses %v", limit, s.data, s.status)
}

// TestSubscribeEndsWhenTheConnectionCloses requires a subscription to end,
// as unavailable, when its connection closes under it: the consumer's
// error handler hears of it, not the reader.
func TestSubscribeEndsWhenTheConnectionCloses(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	appendSingles(t, env, events.Cursor{}, 1)
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- env.store.Subscribe(env.ctx, 0, func(events.Record) error {
			select {
			case <-started:
			default:
				close(started)
			}
			return nil
		})
	}()
	<-started
	env.nc.Close()
	select {
	case err := <-done:
		require.ErrorIs(t, err, events.ErrUnavailable)
	case <-time.After(10 * time.Second):
		t.Fatal("Subscribe did not end when the connection closed")
	}
}
