package tail_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/audit/audittest"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/events/storetest"
	"github.com/licensing-ledger/ledger/events/tail"
	"github.com/licensing-ledger/ledger/infra/jetstream"
	"github.com/licensing-ledger/ledger/infra/kurrentdb"
	"github.com/licensing-ledger/ledger/infra/kurrentdb/kurrentdbtest"
)

// waitTimeout bounds every wait of these tests.
const waitTimeout = 20 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestConformance runs the store port's suite against the JetStream store
// with a tail serving its Subscribe, over a window of four records, so
// that the suite's subscriptions switch between reading the store and the
// window.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() events.Store {
		dir := t.TempDir()
		var env *jsEnv
		t.Cleanup(func() { env.stop() })
		return func() events.Store {
			env.stop()
			env = startJetStream(t, dir)
			return tail.Wrap(env.store, tail.Config{Records: 4, Logger: quiet})
		}
	})
}

// TestConformanceKurrentDB runs the suite against the KurrentDB store over
// its in-process stand-in, through a window of four records: its
// positions are commit positions in $all, and its head a record's.
func TestConformanceKurrentDB(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() events.Store {
		srv := kurrentdbtest.Start(t)
		return func() events.Store {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			store, err := kurrentdb.Open(ctx, srv.ConnectionString(), kurrentdb.WithLogger(quiet))
			require.NoError(t, err)
			return tail.Wrap(store, tail.Config{Records: 4, Logger: quiet})
		}
	})
}

// stores are the backends the behaviour tests run on: the in-memory store
// (dense positions, one record per position) and the JetStream store
// (sparse positions, several records per log message).
var stores = map[string]func(t *testing.T) events.Store{
	"memory": func(*testing.T) events.Store { return audittest.NewMemStore() },
	"jetstream": func(t *testing.T) events.Store {
		return startJetStream(t, t.TempDir()).store
	},
}

// TestSubscribersAtManyPositionsUnderAppends starts subscribers at the
// first event, in the middle of the history, at the head and while
// writers append: each gets every record after its position exactly once,
// in global order, across its switch from reading the store to the shared
// window; then they all share one subscription to the store.
func TestSubscribersAtManyPositionsUnderAppends(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			src := newSource(open(t))
			w := newWriter(t, src.Store)
			w.appendN(300)
			history := w.global()
			tl := tail.New(src, tail.Config{Records: 32, Logger: quiet})
			t.Cleanup(func() { tl.Close() })

			var subs []*collector
			for _, after := range []events.Position{0, history[49].Position, history[150].Position, history[299].Position} {
				subs = append(subs, collect(t, tl, after, nil))
			}
			var writers sync.WaitGroup
			for i := range 3 {
				writers.Go(func() { w.appendTenant(fmt.Sprintf("writer%d", i), 200) })
			}
			time.Sleep(5 * time.Millisecond)
			subs = append(subs, collect(t, tl, 0, nil), collect(t, tl, w.head(), nil))
			writers.Wait()

			all := w.global()
			for _, s := range subs {
				s.requireExactly(t, after(all, s.after))
			}
			require.Eventually(t, func() bool { return src.active.Load() == 1 }, waitTimeout, time.Millisecond,
				"every subscriber joined the shared subscription")
			require.Positive(t, tl.Stats().Joined)

			w.appendN(50)
			all = w.global()
			for _, s := range subs {
				s.requireExactly(t, after(all, s.after))
			}
			require.EqualValues(t, 1, src.active.Load(), "live records come from one subscription")
			for _, s := range subs {
				require.ErrorIs(t, s.stop(), context.Canceled)
			}
		})
	}
}

// TestSlowSubscriberFallsBehindAndCatchesUp blocks one subscriber while
// many more records than the window holds are appended: the others get
// them all meanwhile; once released, the slow one reads what left the
// window from the store, then joins the window again, missing nothing.
func TestSlowSubscriberFallsBehindAndCatchesUp(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			src := newSource(open(t))
			w := newWriter(t, src.Store)
			w.appendN(10)
			tl := tail.New(src, tail.Config{Records: 16, Logger: quiet})
			t.Cleanup(func() { tl.Close() })
			start := w.head()
			gate := make(chan struct{})
			slow := collect(t, tl, start, gate)
			fast := collect(t, tl, start, nil)
			require.Eventually(t, func() bool { return src.active.Load() == 1 }, waitTimeout, time.Millisecond, "%d subscriptions, %+v", src.active.Load(), tl.Stats())

			w.appendN(200)
			all := after(w.global(), start)
			fast.requireExactly(t, all)
			require.LessOrEqual(t, slow.count(), 1, "the slow subscriber is held in its first record")

			close(gate)
			slow.requireExactly(t, all)
			require.Positive(t, tl.Stats().Direct, "the slow subscriber read the store itself")
			require.Eventually(t, func() bool { return src.active.Load() == 1 }, waitTimeout, time.Millisecond,
				"the slow subscriber joined the window again: %d subscriptions, %+v", src.active.Load(), tl.Stats())
			w.appendN(20)
			all = after(w.global(), start)
			fast.requireExactly(t, all)
			slow.requireExactly(t, all)
			require.ErrorIs(t, slow.stop(), context.Canceled)
			require.ErrorIs(t, fast.stop(), context.Canceled)
		})
	}
}

// TestStoreFailuresAreResumed makes every subscription to the store fail
// after a few records, the shared one and the subscribers' own, and the
// store's head fail at first: the tail resumes each from its last record,
// and the subscribers see every record once and no error.
func TestStoreFailuresAreResumed(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			src := newSource(open(t))
			src.failAfter.Store(20)
			src.headFailures.Store(2)
			w := newWriter(t, src.Store)
			w.appendN(40)
			tl := tail.New(src, tail.Config{Records: 16, Logger: quiet})
			t.Cleanup(func() { tl.Close() })
			subs := []*collector{collect(t, tl, 0, nil), collect(t, tl, w.head(), nil)}
			var writers sync.WaitGroup
			for i := range 2 {
				writers.Go(func() { w.appendTenant(fmt.Sprintf("writer%d", i), 150) })
			}
			writers.Wait()
			all := w.global()
			for _, s := range subs {
				s.requireExactly(t, after(all, s.after))
			}
			require.Greater(t, src.failures.Load(), int64(10))
			src.failAfter.Store(0)
			w.appendN(10)
			all = w.global()
			for _, s := range subs {
				s.requireExactly(t, after(all, s.after))
				require.ErrorIs(t, s.stop(), context.Canceled, "no error reached the subscriber")
			}
		})
	}
}

// TestContextEndsSubscribe cancels subscribers served by the window, by
// the store, and one waiting for a tail whose store never answers.
func TestContextEndsSubscribe(t *testing.T) {
	src := newSource(audittest.NewMemStore())
	w := newWriter(t, src.Store)
	w.appendN(50)
	tl := tail.New(src, tail.Config{Records: 8, Logger: quiet})
	t.Cleanup(func() { tl.Close() })
	live := collect(t, tl, w.head(), nil)
	gate := make(chan struct{})
	direct := collect(t, tl, 0, gate)
	require.Eventually(t, func() bool { return src.active.Load() == 2 }, waitTimeout, time.Millisecond)
	require.ErrorIs(t, live.stop(), context.Canceled)
	require.ErrorIs(t, direct.stop(), context.Canceled)

	down := newSource(audittest.NewMemStore())
	down.headFailures.Store(1 << 30)
	tl2 := tail.New(down, tail.Config{Logger: quiet})
	t.Cleanup(func() { tl2.Close() })
	waiting := collect(t, tl2, 0, nil)
	time.Sleep(20 * time.Millisecond)
	require.ErrorIs(t, waiting.stop(), context.Canceled)
}

// TestFnErrorEndsSubscribe: the error of fn ends Subscribe and is
// returned, from the window and from the store.
func TestFnErrorEndsSubscribe(t *testing.T) {
	src := newSource(audittest.NewMemStore())
	w := newWriter(t, src.Store)
	w.appendN(50)
	tl := tail.New(src, tail.Config{Records: 8, Logger: quiet})
	t.Cleanup(func() { tl.Close() })
	head := w.head()
	stop := errors.New("stop here")
	for _, after := range []events.Position{0, head} {
		calls := 0
		done := make(chan error, 1)
		go func() {
			done <- tl.Subscribe(context.Background(), after, func(events.Record) error {
				calls++
				if calls == 2 {
					return stop
				}
				return nil
			})
		}()
		if after == head {
			require.Eventually(t, func() bool { return src.active.Load() == 1 }, waitTimeout, time.Millisecond)
			w.appendN(5)
		}
		select {
		case err := <-done:
			require.ErrorIs(t, err, stop, "after %d", after)
			require.Equal(t, 2, calls)
		case <-time.After(waitTimeout):
			t.Fatal("Subscribe did not return fn's error")
		}
	}
}

// TestCloseEndsSubscribers: closing the tail ends its subscribers, those
// on the window and those reading the store, with ErrClosed.
func TestCloseEndsSubscribers(t *testing.T) {
	src := newSource(audittest.NewMemStore())
	w := newWriter(t, src.Store)
	w.appendN(50)
	tl := tail.New(src, tail.Config{Records: 8, Logger: quiet})
	live := collect(t, tl, w.head(), nil)
	gate := make(chan struct{})
	direct := collect(t, tl, 0, gate)
	require.Eventually(t, func() bool { return src.active.Load() == 2 }, waitTimeout, time.Millisecond)
	require.NoError(t, tl.Close())
	close(gate)
	require.Eventually(t, func() bool { return src.active.Load() == 0 }, waitTimeout, time.Millisecond)
	for _, s := range []*collector{live, direct} {
		select {
		case err := <-s.done:
			s.done <- err // for the cleanup's stop
			require.ErrorIs(t, err, tail.ErrClosed)
		case <-time.After(waitTimeout):
			t.Fatal("Subscribe did not end with the tail")
		}
	}
	err := tl.Subscribe(context.Background(), 0, func(events.Record) error { return nil })
	require.ErrorIs(t, err, tail.ErrClosed)
}

// TestBytesBoundTheWindow: records are evicted to keep the window under its
// byte bound, and a subscriber behind it still gets everything.
func TestBytesBoundTheWindow(t *testing.T) {
	src := newSource(audittest.NewMemStore())
	w := newWriter(t, src.Store)
	tl := tail.New(src, tail.Config{Records: 1000, Bytes: 2000, Logger: quiet})
	t.Cleanup(func() { tl.Close() })
	gate := make(chan struct{})
	slow := collect(t, tl, 0, gate)
	require.Eventually(t, func() bool { return src.active.Load() == 1 }, waitTimeout, time.Millisecond)
	w.appendN(100) // about 100 bytes each
	close(gate)
	slow.requireExactly(t, w.global())
	require.Positive(t, tl.Stats().Direct, "fell out of a window of 2,000 bytes")
}

// source is a store that counts the subscriptions open on it and can make
// them fail: each Subscribe after failAfter records (0: never), and Head
// headFailures times.
type source struct {
	events.Store
	active, failures        atomic.Int64
	failAfter, headFailures atomic.Int64
}

var errInjected = errors.New("injected failure")

func newSource(s events.Store) *source { return &source{Store: s} }

func (s *source) Subscribe(ctx context.Context, after events.Position, fn func(events.Record) error) error {
	s.active.Add(1)
	defer s.active.Add(-1)
	limit, n := s.failAfter.Load(), int64(0)
	err := s.Store.Subscribe(ctx, after, func(r events.Record) error {
		if limit > 0 && n == limit {
			return errInjected
		}
		n++
		return fn(r)
	})
	if errors.Is(err, errInjected) {
		s.failures.Add(1)
	}
	return err
}

func (s *source) Head(ctx context.Context) (events.Position, error) {
	if s.headFailures.Add(-1) >= 0 {
		s.failures.Add(1)
		return 0, errInjected
	}
	return s.Store.Head(ctx)
}

// writer appends records to tenants and knows their cursors.
type writer struct {
	t     *testing.T
	store events.Store
	mu    sync.Mutex
	tails map[string]events.Cursor
	n     int
}

func newWriter(t *testing.T, store events.Store) *writer {
	return &writer{t: t, store: store, tails: map[string]events.Cursor{}}
}

// appendN appends n records to three tenants in turn, one to three per
// append.
func (w *writer) appendN(n int) {
	for i := 0; i < n; {
		k := min(1+i%3, n-i)
		w.append([]string{"acme", "globex", "initech"}[i%3], k)
		i += k
	}
}

// appendTenant appends n records to one tenant, one to three per append.
func (w *writer) appendTenant(tenant string, n int) {
	for i := 0; i < n; {
		k := min(1+i%3, n-i)
		w.append(tenant, k)
		i += k
	}
}

func (w *writer) append(tenant string, k int) {
	w.mu.Lock()
	cur := w.tails[tenant]
	w.mu.Unlock()
	recs := make([]events.Record, k)
	for i := range recs {
		id := ulid.Make().String()
		recs[i] = events.Record{ID: id, Tenant: tenant, Type: "LicenseAssigned", Sequence: cur.Sequence + uint64(i) + 1,
			Data: fmt.Appendf(nil, `{"tenant":%q,"id":%q,"padding":"%040d"}`, tenant, id, i)}
	}
	next, err := w.store.Append(context.Background(), tenant, cur, recs)
	if !assert.NoError(w.t, err) {
		return
	}
	w.mu.Lock()
	w.tails[tenant] = next
	w.mu.Unlock()
}

// global returns every record stored, in global order.
func (w *writer) global() []events.Record {
	w.mu.Lock()
	tenants := make([]string, 0, len(w.tails))
	for tenant := range w.tails {
		tenants = append(tenants, tenant)
	}
	w.mu.Unlock()
	var all []events.Record
	for _, tenant := range tenants {
		require.NoError(w.t, w.store.Read(context.Background(), tenant, events.Cursor{}, func(r events.Record) error {
			all = append(all, r)
			return nil
		}))
	}
	slices.SortFunc(all, func(a, b events.Record) int { return cmp.Compare(a.Position, b.Position) })
	return all
}

// head returns the position of the newest record.
func (w *writer) head() events.Position {
	pos, err := w.store.Head(context.Background())
	require.NoError(w.t, err)
	return pos
}

// after returns the records after the position.
func after(all []events.Record, pos events.Position) []events.Record {
	i, _ := slices.BinarySearchFunc(all, pos+1, func(r events.Record, p events.Position) int { return cmp.Compare(r.Position, p) })
	return all[i:]
}

// collector is a running subscription that keeps what it gets.
type collector struct {
	after  events.Position
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	got    []events.Record
}

// collect subscribes to the tail after the position; with a gate, fn
// waits for it to close before it takes its first record.
func collect(t *testing.T, tl *tail.Tail, after events.Position, gate <-chan struct{}) *collector {
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{after: after, cancel: cancel, done: make(chan error, 1)}
	go func() {
		c.done <- tl.Subscribe(ctx, after, func(r events.Record) error {
			if gate != nil {
				select {
				case <-gate:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			c.mu.Lock()
			c.got = append(c.got, r)
			c.mu.Unlock()
			return nil
		})
	}()
	t.Cleanup(func() { c.stop() })
	return c
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

// requireExactly waits until the collector holds as many records as want,
// then requires them to be want: same ids, in the same order, at the same
// positions, and nothing more.
func (c *collector) requireExactly(t *testing.T, want []events.Record) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for c.count() < len(want) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // time for a record too many
	c.mu.Lock()
	got := slices.Clone(c.got)
	c.mu.Unlock()
	require.Len(t, got, len(want), "subscriber after %d", c.after)
	for i := range want {
		require.Equal(t, want[i].ID, got[i].ID, "record %d after %d", i, c.after)
		require.Equal(t, want[i].Position, got[i].Position, "record %d after %d", i, c.after)
		require.Equal(t, want[i].Data, got[i].Data, "record %d after %d", i, c.after)
	}
}

// stop cancels the subscription and returns what Subscribe returned.
func (c *collector) stop() error {
	c.cancel()
	select {
	case err := <-c.done:
		c.done <- err
		return err
	case <-time.After(waitTimeout):
		return errors.New("Subscribe did not return after its context ended")
	}
}

// jsEnv is an embedded NATS server with the JetStream store open on it.
type jsEnv struct {
	ns interface {
		Shutdown()
		WaitForShutdown()
	}
	nc    *nats.Conn
	store *jetstream.Store
}

func startJetStream(t testing.TB, dir string) *jsEnv {
	t.Helper()
	ns, err := jetstream.StartEmbedded(jetstream.EmbeddedConfig{StoreDir: dir, Logger: quiet})
	require.NoError(t, err)
	env := &jsEnv{ns: ns}
	t.Cleanup(env.stop)
	env.nc, err = nats.Connect("", nats.InProcessServer(ns))
	require.NoError(t, err)
	env.store, err = jetstream.Open(context.Background(), env.nc, jetstream.StreamConfig{})
	require.NoError(t, err)
	return env
}

// stop closes the store, the connection and the server; nil-safe and
// idempotent.
func (e *jsEnv) stop() {
	if e == nil || e.nc == nil {
		return
	}
	_ = e.store.Close()
	e.nc.Close()
	e.ns.Shutdown()
	e.ns.WaitForShutdown()
	e.nc = nil
}
