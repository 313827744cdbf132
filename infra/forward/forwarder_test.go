package forward_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/forward"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

func TestForwardsEachEventOnceInOrder(t *testing.T) {
	eachSource(t, func(t *testing.T, src events.Store) {
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
	})
}

// TestMessagesAreTheSameWhicheverStore forwards the same records from each
// store: downstream consumers cannot tell the stores apart.
func TestMessagesAreTheSameWhicheverStore(t *testing.T) {
	recs := newRecords("acme", events.Cursor{}, 2)
	var got [][]*nats.Msg
	for _, s := range sources {
		src := s.open(t)
		_, err := src.Append(t.Context(), "acme", events.Cursor{}, recs)
		require.NoError(t, err)
		got = append(got, republishedBy(t, func(nc *nats.Conn) { startForwarder(t, src, nc) }))
	}
	kurrent, log := got[0], got[1]
	for i := range recs {
		assert.Equal(t, kurrent[i].Subject, log[i].Subject)
		assert.Equal(t, kurrent[i].Data, log[i].Data, "same payload bytes")
		for _, h := range []string{"Nats-Msg-Id", jetstream.LedgerSequenceHeader} {
			assert.Equal(t, kurrent[i].Header.Get(h), log[i].Header.Get(h), h)
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
	eachSource(t, func(t *testing.T, src events.Store) {
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
	})
}

// TestResumesInsideAnAppend resumes from a checkpoint that is not the last
// record of its append in the commit log: the log store re-reads the append
// and the forwarder publishes only what follows the checkpoint.
func TestResumesInsideAnAppend(t *testing.T) {
	src := logSource(t)
	nc := startNATS(t).connect()
	appendRecords(t, src, "acme", events.Cursor{}, 4)
	recs := global(t, src, 4)
	js := ledgerStream(t, nc)
	for i, rec := range recs[:2] {
		msg := jetstream.NewMsg(rec)
		msg.Header.Set(forward.PositionHeader, strconv.FormatUint(uint64(rec.Position), 10))
		_, err := js.PublishMsg(t.Context(), msg)
		require.NoError(t, err, "record %d", i)
	}
	startForwarder(t, src, nc)
	requireForwarded(t, recs, stored(t, nc, 4))
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
	eachSource(t, func(t *testing.T, src events.Store) {
		nc := startNATS(t).connect()
		startForwarder(t, src, nc)
		startForwarder(t, src, nc)
		var cur events.Cursor
		for range 20 {
			cur = appendRecords(t, src, "acme", cur, 2)
		}
		requireForwarded(t, global(t, src, 40), stored(t, nc, 40))
	})
}

// TestDroppedSubscriptionsLoseNothing: a source that drops its
// subscription every few records, with publishes still in flight, makes
// the forwarder resume from the checkpoint each time.
func TestDroppedSubscriptionsLoseNothing(t *testing.T) {
	src := logSource(t)
	nc := startNATS(t).connect()
	var cur events.Cursor
	for range 30 {
		cur = appendRecords(t, src, "acme", cur, 5)
	}
	startForwarderWith(t, &droppingSource{Source: src, every: 40}, nc, forward.Config{Window: 4})
	requireForwarded(t, global(t, src, 150), stored(t, nc, 150))
}

// droppingSource ends each subscription with an error after every records.
type droppingSource struct {
	forward.Source
	every int
}

var errDropped = errors.New("subscription dropped")

func (s *droppingSource) Subscribe(ctx context.Context, after events.Position, fn func(events.Record) error) error {
	n := 0
	return s.Source.Subscribe(ctx, after, func(r events.Record) error {
		if n++; n > s.every {
			return errDropped
		}
		return fn(r)
	})
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
			eachSource(t, func(t *testing.T, src events.Store) {
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
		})
	}
}

func TestNATSThatLostItsDataIsRefilledFromTheStart(t *testing.T) {
	eachSource(t, func(t *testing.T, src events.Store) {
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
	})
}

// TestForwardsFromTheLogInTheSameNATS runs the forwarder as ledgerd does
// with the JetStream store: the commit log and LEDGER in one server, over
// one connection, with appends of many records through a small window.
func TestForwardsFromTheLogInTheSameNATS(t *testing.T) {
	nc := startNATS(t).connect()
	src := openLog(t, nc)
	startForwarderWith(t, src, nc, forward.Config{Source: "jetstream", Window: 8})
	cursors := map[string]events.Cursor{}
	for i := range 40 {
		tenant := []string{"acme", "globex", "initech"}[i%3]
		cursors[tenant] = appendRecords(t, src, tenant, cursors[tenant], 1+i%25)
	}
	total := 0
	for i := range 40 {
		total += 1 + i%25
	}
	msgs := stored(t, nc, total)
	requireForwarded(t, global(t, src, total), msgs)
	assert.Equal(t, "jetstream", msgs[0].Header.Get(forward.SourceHeader))
}

func TestRefusesAStreamItDidNotWrite(t *testing.T) {
	src := logSource(t)
	appendRecords(t, src, "acme", events.Cursor{}, 1)

	t.Run("WithoutPositions", func(t *testing.T) {
		nc := startNATS(t).connect()
		_, err := ledgerStream(t, nc).PublishMsg(t.Context(), jetstream.NewMsg(newRecords("globex", events.Cursor{}, 1)[0]))
		require.NoError(t, err, "a message as the JetStream store stored them before the commit log")
		requireRefused(t, src, nc, forward.Config{Source: "jetstream"})
		assert.Len(t, stored(t, nc, 1), 1, "nothing forwarded into it")
	})
	t.Run("FromAnotherStore", func(t *testing.T) {
		nc := startNATS(t).connect()
		first := startForwarderWith(t, src, nc, forward.Config{Source: "kurrentdb"})
		stored(t, nc, 1)
		first.halt(t)
		requireRefused(t, src, nc, forward.Config{Source: "jetstream"})
	})
}

// requireRefused requires a forwarder so configured to refuse the stream,
// when checked and when run.
func requireRefused(t *testing.T, src forward.Source, nc *nats.Conn, cfg forward.Config) {
	t.Helper()
	cfg.Logger = quiet()
	fwd, err := forward.New(src, nc, cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.ErrorIs(t, fwd.Check(ctx), forward.ErrForeignStream)
	require.ErrorIs(t, fwd.Run(ctx), forward.ErrForeignStream)
}

// TestTheChainNotTheWindowKeepsEachEventOnce: LEDGER's duplicate window is
// short, because JetStream's memory of message ids is not what keeps an
// event from being stored twice: every publish expects the stream's last
// sequence. Two minutes of ids (the server's default) held 4.3 million
// entries at 36,000 events/s, scanned by every garbage collection of the
// process. Once the window has passed, a late publish of a stored event is
// still refused, and forwarders started again and again store nothing twice.
func TestTheChainNotTheWindowKeepsEachEventOnce(t *testing.T) {
	src := logSource(t)
	nc := startNATS(t).connect()
	first := startForwarder(t, src, nc)
	cur := appendRecords(t, src, "acme", events.Cursor{}, 3)
	msgs := stored(t, nc, 3)
	js, err := natsjs.New(nc)
	require.NoError(t, err)
	stream, err := js.Stream(t.Context(), jetstream.StreamName)
	require.NoError(t, err)
	window := stream.CachedInfo().Config.Duplicates
	require.LessOrEqual(t, window, time.Second, "LEDGER's duplicate window")

	time.Sleep(window + 200*time.Millisecond) // the server has forgotten the ids
	late := nats.NewMsg(strings.Replace(msgs[1].Subject, "ledger.", "ledger-in.", 1))
	late.Header = nats.Header(http.Header(msgs[1].Header).Clone())
	late.Header.Set(natsjs.ExpectedLastSeqHeader, strconv.FormatUint(msgs[0].Sequence, 10))
	late.Data = msgs[1].Data
	_, err = js.PublishMsg(t.Context(), late)
	require.Error(t, err, "a late publish of a stored event, after the window")

	first.halt(t)
	for range 3 {
		startForwarder(t, src, nc).halt(t)
	}
	startForwarder(t, src, nc)
	appendRecords(t, src, "acme", cur, 2)
	requireForwarded(t, global(t, src, 5), stored(t, nc, 5))
}
