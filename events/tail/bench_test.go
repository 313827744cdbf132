package tail_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/events/tail"
)

// BenchmarkThreeFollowers appends b.N commands of three events to the
// JetStream store while three followers (as ledgerd's projector,
// forwarder and checkpoint issuer) take every record live: each with a
// subscription of its own to the store, or all three through one tail.
// It reports the process's CPU (embedded server, appends and followers)
// per event: the difference is what the two extra subscriptions cost.
//
//	go test ./events/tail -run XXX -bench ThreeFollowers -benchtime 20000x -count 3
func BenchmarkThreeFollowers(b *testing.B) {
	for _, shared := range []bool{false, true} {
		name := map[bool]string{false: "own-subscriptions", true: "one-tail"}[shared]
		b.Run(name, func(b *testing.B) {
			env := startJetStream(b, b.TempDir())
			defer env.stop()
			var follow interface {
				Subscribe(context.Context, events.Position, func(events.Record) error) error
			} = env.store
			if shared {
				tl := tail.New(env.store, tail.Config{Logger: quiet})
				defer tl.Close()
				follow = tl
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var seen [3]atomic.Int64
			for i := range seen {
				go func() {
					_ = follow.Subscribe(ctx, 0, func(events.Record) error {
						seen[i].Add(1)
						return nil
					})
				}()
			}
			time.Sleep(100 * time.Millisecond)
			const perCommand = 3
			want := int64(b.N * perCommand)
			cpu0 := cpuTime()
			b.ResetTimer()
			cursors := map[string]events.Cursor{}
			for n := range b.N {
				tenant := fmt.Sprintf("t%d", n%100)
				cur := cursors[tenant]
				recs := make([]events.Record, perCommand)
				for i := range recs {
					id := ulid.Make().String()
					recs[i] = events.Record{ID: id, Tenant: tenant, Type: "LicenseAssigned", Sequence: cur.Sequence + uint64(i) + 1,
						Data: fmt.Appendf(nil, `{"tenant":%q,"id":%q,"padding":"%0150d"}`, tenant, id, i)}
				}
				next, err := env.store.Append(ctx, tenant, cur, recs)
				if err != nil {
					b.Fatal(err)
				}
				cursors[tenant] = next
			}
			deadline := time.Now().Add(time.Minute)
			for i := range seen {
				for seen[i].Load() < want {
					if time.Now().After(deadline) {
						b.Fatalf("follower %d took %d of %d records", i, seen[i].Load(), want)
					}
					time.Sleep(time.Millisecond)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(want), "cpu-µs/event")
		})
	}
}

// cpuTime returns the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
