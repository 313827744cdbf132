package forward_test

import (
	"context"
	"errors"
	"fmt"
	"syscall"
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
// forwarder waiting for each acknowledgement, ack=1 asks for every
// acknowledgement without waiting for each; the connection is in process
// (embedded NATS) or TCP (as to an external server). CPU-µs/event is the
// process's CPU time (server included) per event forwarded.
func BenchmarkForward(b *testing.B) {
	configs := []forward.Config{
		{Window: 1},
		{Window: forward.DefaultWindow, AckEvery: 1},
		{Window: forward.DefaultWindow, AckEvery: forward.DefaultAckEvery},
	}
	for _, conn := range []string{"inprocess", "tcp"} {
		for _, cfg := range configs {
			b.Run(fmt.Sprintf("conn=%s/window=%d/ack=%d", conn, cfg.Window, max(cfg.AckEvery, 1)), func(b *testing.B) {
				nc, js := benchNATS(b, conn)
				src := openLog(b, nc)
				fillLog(b, src, forwardEvents)
				var cpu time.Duration
				for b.Loop() {
					b.StopTimer()
					deleteLedger(b, js)
					b.StartTimer()
					start := cpuTime()
					forwardAll(b, src, nc, js, cfg)
					cpu += cpuTime() - start
				}
				b.ReportMetric(float64(b.N*forwardEvents)/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*forwardEvents), "CPU-µs/event")
			})
		}
	}
}

// cpuTime is the user and system time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
func forwardAll(b *testing.B, src events.Store, nc *nats.Conn, js natsjs.JetStream, cfg forward.Config) {
	cfg.Logger = quiet()
	fwd, err := forward.New(src, nc, cfg)
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
