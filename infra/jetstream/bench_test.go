package jetstream_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// appendSizes are the append sizes the append benchmarks compare: a single
// event, a bulk assign of 20 users, and a group of 200 members.
var appendSizes = []int{1, 20, 200}

// BenchmarkAppend appends to one tenant, one append at a time: a
// multi-record append is one message, so it should cost about what a
// single record costs.
func BenchmarkAppend(b *testing.B) {
	for _, n := range appendSizes {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			env := startEnv(b, b.TempDir(), jetstream.StreamConfig{})
			cur := events.Cursor{}
			for b.Loop() {
				cur = env.append(b, "acme", cur, testRecords("acme", cur, n))
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkAppendParallel appends from 8 writers at once, each to its own
// tenant, as a busy ledger does: the stream-wide cost of an append.
func BenchmarkAppendParallel(b *testing.B) {
	for _, n := range appendSizes {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			env := startEnv(b, b.TempDir(), jetstream.StreamConfig{})
			var writers atomic.Int64
			b.SetParallelism(4) // 8 writers on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				tenant := fmt.Sprintf("t%d", writers.Add(1))
				cur := events.Cursor{}
				for pb.Next() {
					cur = env.append(b, tenant, cur, testRecords(tenant, cur, n))
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkRead loads one tenant's events, as a cold tenant load does, from
// a log where three other tenants' appends are interleaved with them.
func BenchmarkRead(b *testing.B) {
	for _, n := range []int{0, 100, 10_000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			env := startEnv(b, b.TempDir(), jetstream.StreamConfig{})
			populate(b, env, n)
			for b.Loop() {
				count := 0
				err := env.store.Read(env.ctx, "bench", events.Cursor{}, func(events.Record) error {
					count++
					return nil
				})
				if err != nil || count != n {
					b.Fatalf("read %d of %d events: %v", count, n, err)
				}
			}
			reportPerEvent(b, n)
		})
	}
}

// BenchmarkReadBeyondOnePage loads a tenant of 5,000 single-event appends:
// Read gets the first 1,000 log messages by direct get, the other 4,000
// through an ordered consumer.
func BenchmarkReadBeyondOnePage(b *testing.B) {
	const n = 5000
	env := startEnv(b, b.TempDir(), jetstream.StreamConfig{})
	cur := events.Cursor{}
	for range n {
		recs := testRecords("bench", cur, 1)
		recs[0].Data = make([]byte, 256)
		cur = env.append(b, "bench", cur, recs)
	}
	for b.Loop() {
		if recs := env.read(b, "bench"); len(recs) != n {
			b.Fatalf("read %d of %d events", len(recs), n)
		}
	}
	reportPerEvent(b, n)
}

// BenchmarkReadOrderedConsumer loads the same events' log messages with an
// ordered consumer alone, the alternative Read does not use for a first
// page, for comparison (it counts records without decoding them).
func BenchmarkReadOrderedConsumer(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			env := startEnv(b, b.TempDir(), jetstream.StreamConfig{})
			populate(b, env, n)
			stream := env.logStream(b)
			for b.Loop() {
				if count := consumeAll(b, env.ctx, stream, n); count != n {
					b.Fatalf("read %d of %d events", count, n)
				}
			}
			reportPerEvent(b, n)
		})
	}
}

// consumeAll reads the bench tenant's first n events with a new ordered
// consumer, and deletes it (the server would keep it five minutes). It
// fetches without waiting: the events are fewer log messages than n, so a
// fetch of n that waits would wait out its whole expiry.
func consumeAll(b *testing.B, ctx context.Context, stream natsjs.Stream, n int) int {
	cons, err := stream.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{
		FilterSubjects: []string{jetstream.LogSubject("bench")},
	})
	require.NoError(b, err)
	defer func() {
		require.NoError(b, stream.DeleteConsumer(ctx, cons.CachedInfo().Name))
	}()
	count := 0
	for count < n {
		batch, err := cons.FetchNoWait(n)
		require.NoError(b, err)
		for msg := range batch.Messages() {
			records, err := strconv.Atoi(msg.Headers().Get(jetstream.CountHeader))
			require.NoError(b, err)
			count += records
		}
		require.NoError(b, batch.Error())
	}
	return count
}

// populate stores n events of tenant "bench" in appends of up to 100,
// each followed by as many events of three other tenants.
func populate(b *testing.B, env *testEnv, n int) {
	b.Helper()
	tenants := []string{"bench", "other1", "other2", "other3"}
	cursors := make(map[string]events.Cursor)
	for left := n; left > 0; left -= 100 {
		for _, tenant := range tenants {
			recs := testRecords(tenant, cursors[tenant], min(left, 100))
			for i := range recs {
				recs[i].Data = make([]byte, 256)
			}
			cursors[tenant] = env.append(b, tenant, cursors[tenant], recs)
		}
	}
}

// reportPerEvent reports the time per event read and the read throughput.
func reportPerEvent(b *testing.B, n int) {
	if n == 0 {
		return
	}
	events := float64(b.N * n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
}
