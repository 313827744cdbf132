package jetstream_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// droppableConns hands out the server's in-process connections, the last
// of which the test can make deaf, losing what the server sends, and then
// drop: as a network failure or a server closing a slow client would.
type droppableConns struct {
	ns   *server.Server
	mu   sync.Mutex
	last *droppableConn
}

func (d *droppableConns) InProcessConn() (net.Conn, error) {
	c, err := d.ns.InProcessConn()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = &droppableConn{Conn: c, dropped: make(chan struct{})}
	return d.last, nil
}

func (d *droppableConns) current() *droppableConn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last
}

type droppableConn struct {
	net.Conn
	deaf    atomic.Bool
	dropped chan struct{}
	once    sync.Once
}

// Read loses what arrives once the connection is deaf, and then waits for
// the drop.
func (c *droppableConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if c.deaf.Load() {
		<-c.dropped
		return 0, net.ErrClosed
	}
	return n, err
}

func (c *droppableConn) Close() error {
	c.once.Do(func() { close(c.dropped) })
	return c.Conn.Close()
}

// TestAnAppendInFlightEndsWhenTheConnectionDrops: the server stores an
// append, but the connection drops before the answer arrives. Append
// answers at once that the store is unavailable, instead of waiting out its
// time out for an answer that went with the connection; the same append,
// tried again, finds the records stored and answers with their place.
func TestAnAppendInFlightEndsWhenTheConnectionDrops(t *testing.T) {
	ctx := context.Background()
	ns, err := jetstream.StartEmbedded(jetstream.EmbeddedConfig{StoreDir: t.TempDir(), Logger: quietLogger()})
	require.NoError(t, err)
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	conns := &droppableConns{ns: ns}
	nc, err := nats.Connect("", nats.InProcessServer(conns), nats.MaxReconnects(-1), nats.ReconnectWait(time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	store, err := jetstream.Open(ctx, nc, jetstream.StreamConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	observer, err := nats.Connect("", nats.InProcessServer(ns))
	require.NoError(t, err)
	t.Cleanup(observer.Close)
	published, err := observer.SubscribeSync(jetstream.LogSubject("acme"))
	require.NoError(t, err)
	require.NoError(t, observer.Flush())

	recs := testRecords("acme", events.Cursor{}, 2)
	conn := conns.current()
	conn.deaf.Store(true)
	appended := make(chan error, 1)
	go func() {
		_, err := store.Append(ctx, "acme", events.Cursor{}, recs)
		appended <- err
	}()
	_, err = published.NextMsg(time.Minute)
	require.NoError(t, err, "the server got the append")
	require.NoError(t, conn.Close())
	err = <-appended
	require.ErrorIs(t, err, events.ErrUnavailable)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "Append waited out its time out")
	assert.ErrorContains(t, err, "the connection to NATS dropped")

	cur, err := store.Append(ctx, "acme", events.Cursor{}, recs)
	require.NoError(t, err, "the retry finds the records stored")
	assert.Equal(t, uint64(2), cur.Sequence)
	var stored []events.Record
	require.NoError(t, store.Read(ctx, "acme", events.Cursor{}, func(r events.Record) error {
		stored = append(stored, r)
		return nil
	}))
	requireSameRecords(t, recs, stored)
}
