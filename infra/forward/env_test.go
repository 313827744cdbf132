package forward_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/forward"
	"github.com/licensing-ledger/ledger/infra/jetstream"
	"github.com/licensing-ledger/ledger/infra/kurrentdb"
	"github.com/licensing-ledger/ledger/infra/kurrentdb/kurrentdbtest"
)

// quiet drops log lines below errors: the tests provoke warnings on purpose.
func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// sources are the stores the forwarder reads in ledgerd, each opened on its
// own backend: the tests stop and wipe the NATS the forwarder writes to
// while the source goes on.
var sources = []struct {
	name string
	open func(t *testing.T) events.Store
}{
	{"kurrentdb", kurrentdbSource},
	{"jetstream", logSource},
}

// eachSource runs test as a subtest for each source.
func eachSource(t *testing.T, test func(t *testing.T, src events.Store)) {
	for _, s := range sources {
		t.Run(s.name, func(t *testing.T) { test(t, s.open(t)) })
	}
}

// kurrentdbSource starts an in-process KurrentDB stand-in and opens a store
// on it.
func kurrentdbSource(t *testing.T) events.Store {
	t.Helper()
	srv := kurrentdbtest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	store, err := kurrentdb.Open(ctx, srv.ConnectionString(), kurrentdb.WithLogger(quiet()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	return store
}

// logSource starts an embedded NATS of its own and opens the JetStream
// store (the commit log) on it.
func logSource(t *testing.T) events.Store {
	t.Helper()
	ns, err := jetstream.StartEmbedded(jetstream.EmbeddedConfig{StoreDir: t.TempDir(), Logger: quiet()})
	require.NoError(t, err)
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return openLog(t, nc)
}

// openLog opens the JetStream store over nc.
func openLog(t testing.TB, nc *nats.Conn) *jetstream.Store {
	t.Helper()
	store, err := jetstream.Open(context.Background(), nc, jetstream.StreamConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	return store
}

// natsServer is an embedded NATS that can be stopped and started again on
// the same store directory and client port.
type natsServer struct {
	t    *testing.T
	dir  string
	addr string
	ns   *server.Server
}

// startNATS starts an embedded NATS with JetStream listening on a free
// loopback port.
func startNATS(t *testing.T) *natsServer {
	t.Helper()
	s := &natsServer{t: t, dir: t.TempDir(), addr: freeAddr(t)}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *natsServer) start() {
	s.t.Helper()
	ns, err := jetstream.StartEmbedded(jetstream.EmbeddedConfig{StoreDir: s.dir, Listen: s.addr, Logger: quiet()})
	require.NoError(s.t, err)
	s.ns = ns
}

// stop shuts the server down; idempotent.
func (s *natsServer) stop() {
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
		s.ns = nil
	}
}

// url is where clients connect.
func (s *natsServer) url() string { return "nats://" + s.addr }

// connect connects as a client that reconnects forever, quickly.
func (s *natsServer) connect(opts ...nats.Option) *nats.Conn {
	s.t.Helper()
	opts = append([]nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(50 * time.Millisecond)}, opts...)
	nc, err := nats.Connect(s.url(), opts...)
	require.NoError(s.t, err)
	s.t.Cleanup(nc.Close)
	return nc
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// running is a forwarder running in the background.
type running struct {
	stop context.CancelFunc
	done chan error
}

// startForwarder runs a forwarder from src to nc until stopped or the test
// ends.
func startForwarder(t *testing.T, src forward.Source, nc *nats.Conn) *running {
	t.Helper()
	return startForwarderWith(t, src, nc, forward.Config{})
}

// startForwarderWith runs a forwarder configured so.
func startForwarderWith(t *testing.T, src forward.Source, nc *nats.Conn, cfg forward.Config) *running {
	t.Helper()
	cfg.Logger = quiet()
	fwd, err := forward.New(src, nc, cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- fwd.Run(ctx) }()
	t.Cleanup(func() { r.halt(t) })
	return r
}

// halt stops the forwarder and waits until it has returned.
func (r *running) halt(t *testing.T) {
	t.Helper()
	r.stop()
	select {
	case err := <-r.done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("forwarder: %v", err)
		}
		r.done <- context.Canceled // later halts return at once
	case <-time.After(10 * time.Second):
		t.Fatal("the forwarder did not stop")
	}
}

// appendRecords appends n records to the tenant after the cursor, in one
// atomic append.
func appendRecords(t testing.TB, store events.Store, tenant string, after events.Cursor, n int) events.Cursor {
	t.Helper()
	recs := newRecords(tenant, after, n)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cur, err := store.Append(ctx, tenant, after, recs)
	require.NoError(t, err)
	return cur
}

// newRecords makes n records of the tenant following the cursor.
func newRecords(tenant string, after events.Cursor, n int) []events.Record {
	recs := make([]events.Record, n)
	for i := range recs {
		seq := after.Sequence + uint64(i) + 1
		recs[i] = events.Record{ID: ulid.Make().String(), Tenant: tenant, Type: "SeatsChanged", Sequence: seq, Data: fmt.Appendf(nil, "%s #%d", tenant, seq)}
	}
	return recs
}

// global returns the first n records of the store in its global order, with
// their positions.
func global(t *testing.T, store events.Store, n int) []events.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var out []events.Record
	errEnough := errors.New("enough")
	err := store.Subscribe(ctx, 0, func(r events.Record) error {
		out = append(out, r)
		if len(out) == n {
			return errEnough
		}
		return nil
	})
	require.ErrorIs(t, err, errEnough)
	return out
}

// stored waits until the LEDGER stream holds n messages, then returns every
// message it holds, in order.
func stored(t *testing.T, nc *nats.Conn, n int) []*natsjs.RawStreamMsg {
	t.Helper()
	js, err := natsjs.New(nc)
	require.NoError(t, err)
	var state natsjs.StreamState
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		stream, err := js.Stream(ctx, jetstream.StreamName)
		if err != nil {
			return false
		}
		state = stream.CachedInfo().State
		return state.Msgs >= uint64(n)
	}, 15*time.Second, 20*time.Millisecond, "waiting for %d messages in %s", n, jetstream.StreamName)
	time.Sleep(100 * time.Millisecond) // anything extra would be stored by now
	return readStream(t, js)
}

// readStream returns every message of the LEDGER stream.
func readStream(t *testing.T, js natsjs.JetStream) []*natsjs.RawStreamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, jetstream.StreamName)
	require.NoError(t, err)
	var out []*natsjs.RawStreamMsg
	for seq := stream.CachedInfo().State.FirstSeq; seq <= stream.CachedInfo().State.LastSeq; seq++ {
		msg, err := stream.GetMsg(ctx, seq)
		require.NoError(t, err)
		out = append(out, msg)
	}
	return out
}

// requireForwarded checks that the stream holds exactly the records, in
// order, each as the JetStream store would have stored it, plus the
// position header.
func requireForwarded(t *testing.T, want []events.Record, got []*natsjs.RawStreamMsg) {
	t.Helper()
	require.Len(t, got, len(want), "each event once")
	for i, w := range want {
		m := got[i]
		require.Equal(t, fmt.Sprintf("ledger.%s.%s", w.Tenant, w.Type), m.Subject, "message %d", i)
		require.Equal(t, w.ID, m.Header.Get("Nats-Msg-Id"), "message %d", i)
		require.Equal(t, fmt.Sprint(w.Sequence), m.Header.Get(jetstream.LedgerSequenceHeader), "message %d", i)
		require.Equal(t, fmt.Sprint(uint64(w.Position)), m.Header.Get(forward.PositionHeader), "message %d", i)
		require.Equal(t, w.Data, m.Data, "message %d", i)
	}
}

// ledgerStream creates the LEDGER stream on nc's server and returns a
// JetStream context to publish into it directly.
func ledgerStream(t *testing.T, nc *nats.Conn) natsjs.JetStream {
	t.Helper()
	js, err := natsjs.New(nc)
	require.NoError(t, err)
	_, err = jetstream.EnsureStream(t.Context(), js, jetstream.StreamConfig{})
	require.NoError(t, err)
	return js
}
