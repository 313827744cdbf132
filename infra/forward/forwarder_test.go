package forward_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/forward"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

func TestForwardsEachEventOnceInOrder(t *testing.T) {
	src := source(t)
	ns := startNATS(t)
	nc := ns.connect()
	sub, err := nc.SubscribeSync(jetstream.PublicSubjects)
	require.NoError(t, err)
	require.NoError(t, nc.Flush())

	acme := appendRecords(t, src, "acme", events.Cursor{}, 1)
	appendRecords(t, src, "globex", events.Cursor{}, 3)
	startForwarder(t, src, nc)
	appendRecords(t, src, "acme", acme, 2)

	want := global(t, src, 6)
	requireForwarded(t, want, stored(t, nc, 6))
	for i, w := range want {
		msg, err := sub.NextMsg(2 * time.Second)
		require.NoError(t, err, "republished message %d", i)
		got, err := jetstream.RecordFromMsg(msg)
		require.NoError(t, err)
		got.Position = w.Position // the stream's own sequence here
		require.Equal(t, w, got, "republished message %d", i)
	}
	_, err = sub.NextMsg(100 * time.Millisecond)
	require.ErrorIs(t, err, nats.ErrTimeout, "nothing beyond the events")
}

func TestMessagesAreTheJetStreamStoresOwn(t *testing.T) {
	src := source(t)
	appendRecords(t, src, "acme", events.Cursor{}, 2)
	recs := global(t, src, 2)
	forwarded := republishedBy(t, func(nc *nats.Conn) { startForwarder(t, src, nc) })
	written := republishedBy(t, func(nc *nats.Conn) {
		store, err := jetstream.Open(t.Context(), nc, jetstream.StreamConfig{})
		require.NoError(t, err)
		_, err = store.Append(t.Context(), "acme", events.Cursor{}, recs)
		require.NoError(t, err)
	})

	for i := range recs {
		f, w := forwarded[i], written[i]
		assert.Equal(t, w.Subject, f.Subject)
		assert.Equal(t, w.Data, f.Data, "same payload bytes")
		for _, h := range []string{"Nats-Msg-Id", jetstream.LedgerSequenceHeader} {
			assert.Equal(t, w.Header.Get(h), f.Header.Get(h), h)
		}
	}
}

// republishedBy runs fill against a new NATS server and returns the first
// two messages republished on ledger.>.
func republishedBy(t *testing.T, fill func(*nats.Conn)) []*nats.Msg {
	nc := startNATS(t).connect()
	sub, err := nc.SubscribeSync(jetstream.PublicSubjects)
	require.NoError(t, err)
	require.NoError(t, nc.Flush())
	fill(nc)
	var out []*nats.Msg
	for range 2 {
		msg, err := sub.NextMsg(5 * time.Second)
		require.NoError(t, err)
		out = append(out, msg)
	}
	return out
}

func TestRestartResumesAfterTheLastForwardedEvent(t *testing.T) {
	src := source(t)
	nc := startNATS(t).connect()
	cur := appendRecords(t, src, "acme", events.Cursor{}, 3)
	first := startForwarder(t, src, nc)
	stored(t, nc, 3)
	first.halt(t)

	appendRecords(t, src, "acme", cur, 2)
	resumed := &recordingSource{Source: src}
	startForwarder(t, resumed, nc)
	want := global(t, src, 5)
	requireForwarded(t, want, stored(t, nc, 5))
	assert.Equal(t, []events.Position{want[2].Position}, resumed.starts(), "resumed right after the last event forwarded")
}

// recordingSource records where each subscription starts.
type recordingSource struct {
	forward.Source
	mu    sync.Mutex
	after []events.Position
}

func (s *recordingSource) Subscribe(ctx context.Context, after events.Position, fn func(events.Record) error) error {
	s.mu.Lock()
	s.after = append(s.after, after)
	s.mu.Unlock()
	return s.Source.Subscribe(ctx, after, fn)
}

func (s *recordingSource) starts() []events.Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]events.Position(nil), s.after...)
}

func TestTwoForwardersStoreEachEventOnce(t *testing.T) {
	src := source(t)
	nc := startNATS(t).connect()
	startForwarder(t, src, nc)
	startForwarder(t, src, nc)
	var cur events.Cursor
	for range 20 {
		cur = appendRecords(t, src, "acme", cur, 2)
	}
	requireForwarded(t, global(t, src, 40), stored(t, nc, 40))
}

// TestNATSRestartLosesNothing stops NATS while events are appended. A
// client buffers publishes while it reconnects (the default), so a short
// outage delays the forwarder; without the buffer every publish fails and
// the forwarder retries from its checkpoint.
func TestNATSRestartLosesNothing(t *testing.T) {
	for name, opt := range map[string]nats.Option{
		"buffered while reconnecting": nats.ReconnectBufSize(8 << 20),
		"failing while reconnecting":  nats.ReconnectBufSize(-1),
	} {
		t.Run(name, func(t *testing.T) {
			src := source(t)
			ns := startNATS(t)
			nc := ns.connect(opt)
			startForwarder(t, src, nc)
			cur := appendRecords(t, src, "acme", events.Cursor{}, 2)
			stored(t, nc, 2)

			ns.stop()
			cur = appendRecords(t, src, "acme", cur, 3)
			time.Sleep(300 * time.Millisecond) // the forwarder tries meanwhile
			ns.start()
			appendRecords(t, src, "acme", cur, 1)
			requireForwarded(t, global(t, src, 6), stored(t, nc, 6))
		})
	}
}

func TestNATSThatLostItsDataIsRefilledFromTheStart(t *testing.T) {
	src := source(t)
	ns := startNATS(t)
	nc := ns.connect()
	startForwarder(t, src, nc)
	cur := appendRecords(t, src, "acme", events.Cursor{}, 2)
	stored(t, nc, 2)

	ns.stop()
	require.NoError(t, os.RemoveAll(ns.dir))
	ns.start()
	appendRecords(t, src, "acme", cur, 1)
	requireForwarded(t, global(t, src, 3), stored(t, nc, 3))
}

func TestRefusesAStreamTheJetStreamStoreWrote(t *testing.T) {
	src := source(t)
	appendRecords(t, src, "acme", events.Cursor{}, 1)
	nc := startNATS(t).connect()
	store, err := jetstream.Open(t.Context(), nc, jetstream.StreamConfig{})
	require.NoError(t, err)
	appendRecords(t, store, "globex", events.Cursor{}, 1)

	fwd, err := forward.New(src, nc, forward.Config{Logger: quiet()})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.ErrorIs(t, fwd.Run(ctx), forward.ErrForeignStream)
	assert.Len(t, stored(t, nc, 1), 1, "nothing forwarded into it")
}
