// Package feedtest feeds the public LEDGER stream as ledgerd does, for the
// tests of its consumers: an embedded NATS server with JetStream, the
// JetStream event store, and the forwarder publishing its events into
// LEDGER. Tests append ledger events and read them back as a downstream
// service would.
package feedtest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/oklog/ulid/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/forward"
	"github.com/licensing-ledger/ledger/infra/jetstream"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// Feed is a running ledger event feed.
type Feed struct {
	t      testing.TB
	Server *server.Server
	// URL is where clients connect over TCP, without credentials.
	URL   string
	store *jetstream.Store

	mu      sync.Mutex
	cursors map[string]events.Cursor
	count   int
}

// Start starts the server, the store and the forwarder; the test's end
// stops them.
func Start(t testing.TB) *Feed {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	addr := freeAddr(t)
	ns, err := jetstream.StartEmbedded(jetstream.EmbeddedConfig{StoreDir: t.TempDir(), Listen: addr, Logger: quiet})
	must(t, err)
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	must(t, err)
	t.Cleanup(nc.Close)
	store, err := jetstream.Open(context.Background(), nc, jetstream.StreamConfig{})
	must(t, err)
	t.Cleanup(func() { _ = store.Close() })
	fwd, err := forward.New(store, nc, forward.Config{Source: "jetstream", Logger: quiet})
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = fwd.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &Feed{t: t, Server: ns, URL: "nats://" + addr, store: store, cursors: make(map[string]events.Cursor)}
}

// Connect returns a client connection to the feed's server, closed when
// the test ends.
func (f *Feed) Connect() *nats.Conn {
	f.t.Helper()
	nc, err := nats.Connect(f.URL)
	must(f.t, err)
	f.t.Cleanup(nc.Close)
	return nc
}

// Append stores one command's events in the tenant's history, one per
// payload, and waits until LEDGER holds them. It returns the events.
func (f *Feed) Append(tenant string, payloads ...proto.Message) []*ledgerv1.Event {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	cur := f.cursors[tenant]
	evs := make([]*ledgerv1.Event, len(payloads))
	recs := make([]events.Record, len(payloads))
	for i, p := range payloads {
		e, err := ledgerv1.NewEvent(p)
		must(f.t, err)
		e.Id, e.Tenant, e.Sequence = ulid.Make().String(), tenant, cur.Sequence+uint64(i)+1
		e.Time, e.Actor, e.Command = timestamppb.Now(), "admin@"+tenant, "Test"
		recs[i], err = events.NewRecord(e)
		must(f.t, err)
		evs[i] = e
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	next, err := f.store.Append(ctx, tenant, cur, recs)
	must(f.t, err)
	f.cursors[tenant] = next
	f.count += len(recs)
	f.awaitPublished(f.count)
	return evs
}

// awaitPublished waits until LEDGER holds n messages.
func (f *Feed) awaitPublished(n int) {
	f.t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(f.Server))
	must(f.t, err)
	defer nc.Close()
	js, err := natsjs.New(nc)
	must(f.t, err)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		stream, err := js.Stream(context.Background(), jetstream.StreamName)
		if err == nil && stream.CachedInfo().State.Msgs >= uint64(n) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.t.Fatalf("feedtest: LEDGER does not hold %d events after 15 s", n)
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("feedtest: %v", err)
	}
}
