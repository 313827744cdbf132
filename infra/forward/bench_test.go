package forward_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/forward"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// forwardEvents is how many events each forwarding benchmark run publishes.
const forwardEvents = 20_000

// BenchmarkForward measures forwarding throughput as ledgerd runs it with
// the JetStream store: the commit log and LEDGER on one embedded server,
// the log filled beforehand with appends of 20 events over 8 tenants. Each
// run forwards the whole log into an empty LEDGER. Window 1 is the
// forwarder waiting for each acknowledgement; the connection is in process
// (embedded NATS) or TCP (as to an external server).
func BenchmarkForward(b *testing.B) {
	for _, conn := range []string{"inprocess", "tcp"} {
		for _, window := range []int{1, forward.DefaultWindow} {
			b.Run(fmt.Sprintf("conn=%s/window=%d", conn, window), func(b *testing.B) {
				nc, js := benchNATS(b, conn)
				src := openLog(b, nc)
				fillLog(b, src, forwardEvents)
				for b.Loop() {
					b.StopTimer()
					deleteLedger(b, js)
					b.StartTimer()
					forwardAll(b, src, nc, js, window)
				}
				b.ReportMetric(float64(b.N*forwardEvents)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

// benchNATS starts an embedded server and connects to it as conn says.
func benchNATS(b *testing.B, conn string) (*nats.Conn, natsjs.JetStream) {
	cfg := jetstream.EmbeddedConfig{StoreDir: b.TempDir(), Logger: quiet()}
	if conn == "tcp" {
		cfg.Listen = "127.0.0.1:0"
	}
	ns, err := jetstream.StartEmbedded(cfg)
	require.NoError(b, err)
	b.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	opts := []nats.Option{nats.InProcessServer(ns)}
	url := ""
	if conn == "tcp" {
		opts, url = nil, ns.ClientURL()
	}
	nc, err := nats.Connect(url, opts...)
	require.NoError(b, err)
	b.Cleanup(nc.Close)
	js, err := natsjs.New(nc)
	require.NoError(b, err)
	return nc, js
}

// fillLog appends n events to the store, 20 per append over 8 tenants.
func fillLog(b *testing.B, src events.Store, n int) {
	cursors := make([]events.Cursor, 8)
	for i := 0; i < n; i += 20 {
		t := i / 20 % len(cursors)
		cursors[t] = appendRecords(b, src, fmt.Sprintf("t%d", t), cursors[t], 20)
	}
}

// deleteLedger removes the LEDGER stream, if any, for the next run.
func deleteLedger(b *testing.B, js natsjs.JetStream) {
	err := js.DeleteStream(b.Context(), jetstream.StreamName)
	if err != nil && !errors.Is(err, natsjs.ErrStreamNotFound) {
		require.NoError(b, err)
	}
}

// forwardAll runs a forwarder until LEDGER holds every event of the log.
func forwardAll(b *testing.B, src events.Store, nc *nats.Conn, js natsjs.JetStream, window int) {
	fwd, err := forward.New(src, nc, forward.Config{Window: window, Logger: quiet()})
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- fwd.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		stream, err := js.Stream(ctx, jetstream.StreamName)
		if err == nil && stream.CachedInfo().State.Msgs >= forwardEvents {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.Fatal("forwarding did not finish within a minute")
}
