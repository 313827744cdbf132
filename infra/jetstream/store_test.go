package jetstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/events/storetest"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// TestConformance runs the port's suite; every open restarts the embedded
// server on the same store directory, so the suite's restart case proves
// that events survive a server restart, not just a new client.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() events.Store {
		dir := t.TempDir()
		var env *testEnv
		t.Cleanup(func() { env.stop() })
		return func() events.Store {
			env.stop()
			env = startEnv(t, dir, jetstream.StreamConfig{})
			return env.store
		}
	})
}

func TestRepublishedEventsAreExactlyTheStoredOnes(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	sub, err := env.nc.SubscribeSync(jetstream.PublicSubjects)
	require.NoError(t, err)
	require.NoError(t, env.nc.Flush())

	one := testRecords("acme", events.Cursor{}, 1)
	c1 := env.append(t, "acme", events.Cursor{}, one)
	three := testRecords("acme", c1, 3)
	c2 := env.append(t, "acme", c1, three)
	_, err = env.store.Append(env.ctx, "acme", c1, testRecords("acme", c1, 1))
	require.ErrorIs(t, err, events.ErrConflict, "a refused single record")
	_, err = env.store.Append(env.ctx, "acme", c1, testRecords("acme", c1, 2))
	require.ErrorIs(t, err, events.ErrConflict, "a refused batch")
	require.Equal(t, c1, env.append(t, "acme", events.Cursor{}, one), "a duplicated single record")
	require.Equal(t, c2, env.append(t, "acme", c1, three), "a duplicated batch")
	marker := testRecords("globex", events.Cursor{}, 1)
	env.append(t, "globex", events.Cursor{}, marker)

	want := append(env.read(t, "acme"), env.read(t, "globex")...)
	for i, w := range want {
		msg, err := sub.NextMsg(2 * time.Second)
		require.NoError(t, err, "message %d", i)
		require.Equal(t, fmt.Sprintf("ledger.%s.%s", w.Tenant, w.Type), msg.Subject)
		require.Equal(t, w.ID, msg.Header.Get("Nats-Msg-Id"))
		got, err := jetstream.RecordFromMsg(msg)
		require.NoError(t, err)
		require.Equal(t, w, got)
	}
	_, err = sub.NextMsg(100 * time.Millisecond)
	require.ErrorIs(t, err, nats.ErrTimeout, "nothing beyond the stored events")
}

func TestStoredSubjectsArePublic(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	recs := testRecords("acme", events.Cursor{}, 2)
	cur := env.append(t, "acme", events.Cursor{}, recs)

	stream, err := env.js.Stream(env.ctx, jetstream.StreamName)
	require.NoError(t, err)
	msg, err := stream.GetMsg(env.ctx, uint64(cur.Position))
	require.NoError(t, err)
	require.Equal(t, "ledger.acme."+recs[1].Type, msg.Subject)
	require.Equal(t, recs[1].ID, msg.Header.Get("Nats-Msg-Id"))
	require.Equal(t, "2", msg.Header.Get(jetstream.LedgerSequenceHeader))
	require.Equal(t, recs[1].Data, msg.Data)
}

func TestAppendRefusesMoreThanMaxAppend(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	_, err := env.store.Append(env.ctx, "acme", events.Cursor{}, testRecords("acme", events.Cursor{}, jetstream.MaxAppend+1))
	require.ErrorContains(t, err, "at most 1000")
	require.NotErrorIs(t, err, events.ErrConflict)
	require.Equal(t, events.Position(0), env.head(t))

	recs := testRecords("acme", events.Cursor{}, jetstream.MaxAppend)
	cur := env.append(t, "acme", events.Cursor{}, recs)
	require.Equal(t, events.Position(jetstream.MaxAppend), cur.Position)
}

func TestAppendRefusesMalformedRecords(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	cases := map[string]func(recs []events.Record){
		"other tenant":    func(recs []events.Record) { recs[1].Tenant = "globex" },
		"repeated id":     func(recs []events.Record) { recs[1].ID = recs[0].ID },
		"empty id":        func(recs []events.Record) { recs[0].ID = "" },
		"id with newline": func(recs []events.Record) { recs[0].ID = "a\r\nb" },
		"too large":       func(recs []events.Record) { recs[1].Data = make([]byte, 2<<20) },
	}
	for name, spoil := range cases {
		recs := testRecords("acme", events.Cursor{}, 2)
		spoil(recs)
		_, err := env.store.Append(env.ctx, "acme", events.Cursor{}, recs)
		require.Error(t, err, name)
		require.NotErrorIs(t, err, events.ErrConflict, name)
		require.NotErrorIs(t, err, events.ErrUnavailable, name)
	}
	require.Equal(t, events.Position(0), env.head(t))
}

// TestRetryAfterDuplicateWindow retries appends once JetStream has forgotten
// their ids: the sequence check refuses them and the store recognises them.
func TestRetryAfterDuplicateWindow(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{Duplicates: 100 * time.Millisecond})
	one := testRecords("acme", events.Cursor{}, 1)
	c1 := env.append(t, "acme", events.Cursor{}, one)
	three := testRecords("acme", c1, 3)
	c2 := env.append(t, "acme", c1, three)
	time.Sleep(400 * time.Millisecond)

	require.Equal(t, c1, env.append(t, "acme", events.Cursor{}, one))
	require.Equal(t, c2, env.append(t, "acme", c1, three))
	require.Len(t, env.read(t, "acme"), 4)
}

// TestServerRefusals pins the server behaviour Append relies on, so that a
// server upgrade that changes it fails here first.
func TestServerRefusals(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	one := testRecords("acme", events.Cursor{}, 1)
	c1 := env.append(t, "acme", events.Cursor{}, one)
	batch := testRecords("acme", c1, 2)
	env.append(t, "acme", c1, batch)

	single := jetstream.NewMsg(one[0])
	expect(single, 0, "acme")
	require.Equal(t, 10071, env.rawAppend(t, single), "a retried record fails the sequence check first")

	first, last := jetstream.NewMsg(batch[0]), jetstream.NewMsg(batch[1])
	expect(first, uint64(c1.Position), "acme")
	inBatch(first, "retry", 1, false)
	inBatch(last, "retry", 2, true)
	require.NoError(t, env.nc.PublishMsg(first))
	require.Equal(t, 10201, env.rawAppend(t, last), "a retried batch fails on its ids first")
}

// TestReadBeyondOnePage reads tenants too long for one direct get page,
// which Read finishes with an ordered consumer that it then deletes.
func TestReadBeyondOnePage(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	var want []events.Record
	cur, other := events.Cursor{}, events.Cursor{}
	for _, n := range []int{1000, 700, 900} {
		recs := testRecords("acme", cur, n)
		cur = env.append(t, "acme", cur, recs)
		want = append(want, recs...)
		other = env.append(t, "globex", other, testRecords("globex", other, 10))
	}
	got := env.read(t, "acme")
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, want[i].ID, got[i].ID)
		require.Equal(t, want[i].Sequence, got[i].Sequence)
	}

	var after []events.Record
	require.NoError(t, env.store.Read(env.ctx, "acme", got[499].Cursor(), func(r events.Record) error {
		after = append(after, r)
		return nil
	}))
	require.Equal(t, got[500:], after)

	stop := errors.New("stop")
	calls := 0
	err := env.store.Read(env.ctx, "acme", events.Cursor{}, func(events.Record) error {
		if calls++; calls == 1500 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1500, calls)

	stream, err := env.js.Stream(env.ctx, jetstream.StreamName)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		info, err := stream.Info(env.ctx)
		return err == nil && info.State.Consumers == 0
	}, 2*time.Second, 10*time.Millisecond, "read's consumers are deleted")
}

func TestStartEmbeddedReportsPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = l.Close() }()
	_, err = jetstream.StartEmbedded(jetstream.EmbeddedConfig{
		StoreDir: t.TempDir(), Listen: l.Addr().String(), Logger: quietLogger(),
	})
	require.ErrorContains(t, err, "listen")
}

func TestStartEmbeddedReportsUnusableStoreDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err := jetstream.StartEmbedded(jetstream.EmbeddedConfig{StoreDir: file, Logger: quietLogger()})
	require.ErrorContains(t, err, "JetStream")

	_, err = jetstream.StartEmbedded(jetstream.EmbeddedConfig{})
	require.ErrorContains(t, err, "StoreDir")
}

func TestStartEmbeddedListensOnTCP(t *testing.T) {
	ns, err := jetstream.StartEmbedded(jetstream.EmbeddedConfig{
		StoreDir: t.TempDir(), Listen: "127.0.0.1:0", SyncAlways: true, ServerName: "ledger-test", Logger: quietLogger(),
	})
	require.NoError(t, err)
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	nc, err := nats.Connect(ns.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	store, err := jetstream.Open(context.Background(), nc, jetstream.StreamConfig{})
	require.NoError(t, err)
	defer func() { _ = store.Close() }()
	_, err = store.Append(context.Background(), "acme", events.Cursor{}, testRecords("acme", events.Cursor{}, 2))
	require.NoError(t, err)
}

func TestCloseLeavesTheConnectionOpen(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	done := make(chan error, 1)
	go func() {
		done <- env.store.Subscribe(env.ctx, 0, func(events.Record) error { return nil })
	}()
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, env.store.Close())
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("Subscribe did not end on Close")
	}
	require.True(t, env.nc.IsConnected())
	_, err := env.store.Append(env.ctx, "acme", events.Cursor{}, testRecords("acme", events.Cursor{}, 1))
	require.ErrorIs(t, err, jetstream.ErrClosed)

	again, err := jetstream.Open(env.ctx, env.nc, jetstream.StreamConfig{})
	require.NoError(t, err, "opening over an existing stream")
	require.NoError(t, again.Close())
}

func TestUnreachableServerIsUnavailable(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	env.ns.Shutdown()
	env.ns.WaitForShutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := env.store.Append(ctx, "acme", events.Cursor{}, testRecords("acme", events.Cursor{}, 2))
	require.ErrorIs(t, err, events.ErrUnavailable)
	err = env.store.Read(ctx, "acme", events.Cursor{}, func(events.Record) error { return nil })
	require.ErrorIs(t, err, events.ErrUnavailable)
	_, err = env.store.Head(ctx)
	require.ErrorIs(t, err, events.ErrUnavailable)
}

func TestValidToken(t *testing.T) {
	for _, s := range []string{"acme", "tenant-1", "Tenant_42", "LicenseAssigned", "01J9Z3", "ünïcode"} {
		assert.True(t, jetstream.ValidToken(s), s)
	}
	for _, s := range []string{"", "a.b", ".", "*", ">", "a*", "a>", "a b", "a\tb", "a\nb", "a\x00", "a\u00a0b", "\xff"} {
		assert.False(t, jetstream.ValidToken(s), "%q", s)
	}
}

// testEnv is an embedded server, a connection to it and a store over it.
type testEnv struct {
	ns    *server.Server
	nc    *nats.Conn
	js    natsjs.JetStream
	store *jetstream.Store
	ctx   context.Context
}

// startEnv starts a server on dir and opens a store; the test's cleanup
// stops everything.
func startEnv(t testing.TB, dir string, cfg jetstream.StreamConfig) *testEnv {
	t.Helper()
	ns, err := jetstream.StartEmbedded(jetstream.EmbeddedConfig{StoreDir: dir, Logger: quietLogger()})
	require.NoError(t, err)
	env := &testEnv{ns: ns, ctx: context.Background()}
	t.Cleanup(env.stop)
	env.nc, err = nats.Connect("", nats.InProcessServer(ns))
	require.NoError(t, err)
	env.js, err = natsjs.New(env.nc)
	require.NoError(t, err)
	env.store, err = jetstream.Open(env.ctx, env.nc, cfg)
	require.NoError(t, err)
	return env
}

// stop closes the connection and shuts the server down; nil-safe and
// idempotent.
func (e *testEnv) stop() {
	if e == nil {
		return
	}
	e.nc.Close()
	e.ns.Shutdown()
	e.ns.WaitForShutdown()
}

func (e *testEnv) append(t testing.TB, tenant string, expected events.Cursor, recs []events.Record) events.Cursor {
	t.Helper()
	cur, err := e.store.Append(e.ctx, tenant, expected, recs)
	require.NoError(t, err)
	return cur
}

func (e *testEnv) read(t testing.TB, tenant string) []events.Record {
	t.Helper()
	var recs []events.Record
	require.NoError(t, e.store.Read(e.ctx, tenant, events.Cursor{}, func(r events.Record) error {
		recs = append(recs, r)
		return nil
	}))
	return recs
}

func (e *testEnv) head(t testing.TB) events.Position {
	t.Helper()
	pos, err := e.store.Head(e.ctx)
	require.NoError(t, err)
	return pos
}

// rawAppend sends msg as a request and returns the err_code of the reply.
func (e *testEnv) rawAppend(t testing.TB, msg *nats.Msg) int {
	t.Helper()
	reply, err := e.nc.RequestMsg(msg, 2*time.Second)
	require.NoError(t, err)
	var resp struct {
		Error *struct {
			ErrCode int `json:"err_code"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(reply.Data, &resp), string(reply.Data))
	require.NotNil(t, resp.Error, string(reply.Data))
	return resp.Error.ErrCode
}

func expect(msg *nats.Msg, position uint64, tenant string) {
	msg.Header.Set("Nats-Expected-Last-Subject-Sequence", strconv.FormatUint(position, 10))
	msg.Header.Set("Nats-Expected-Last-Subject-Sequence-Subject", jetstream.TenantFilter(tenant))
}

func inBatch(msg *nats.Msg, id string, seq int, commit bool) {
	msg.Header.Set("Nats-Batch-Id", id)
	msg.Header.Set("Nats-Batch-Sequence", strconv.Itoa(seq))
	if commit {
		msg.Header.Set("Nats-Batch-Commit", "1")
	}
}

// testRecords makes n records of the tenant following the cursor.
func testRecords(tenant string, after events.Cursor, n int) []events.Record {
	recs := make([]events.Record, n)
	for i := range recs {
		id := ulid.Make().String()
		recs[i] = events.Record{
			ID:       id,
			Tenant:   tenant,
			Type:     []string{"LicenseAssigned", "SeatAdded"}[i%2],
			Sequence: after.Sequence + uint64(i) + 1,
			Data:     fmt.Appendf(nil, `{"id":%q,"n":%d}`, id, i),
		}
	}
	return recs
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// BenchmarkAppend appends to one tenant, one record or a batch at a time.
func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{1, 20} {
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

// BenchmarkRead loads one tenant's events, as a cold tenant load does, from
// a stream where three other tenants' events are interleaved with them.
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

// BenchmarkReadOrderedConsumer loads the same events with an ordered
// consumer, the alternative Read does not use, for comparison.
func BenchmarkReadOrderedConsumer(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			env := startEnv(b, b.TempDir(), jetstream.StreamConfig{})
			populate(b, env, n)
			stream, err := env.js.Stream(env.ctx, jetstream.StreamName)
			require.NoError(b, err)
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
// consumer, and deletes it (the server would keep it five minutes).
func consumeAll(b *testing.B, ctx context.Context, stream natsjs.Stream, n int) int {
	cons, err := stream.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{
		FilterSubjects: []string{jetstream.TenantFilter("bench")},
	})
	require.NoError(b, err)
	defer func() {
		require.NoError(b, stream.DeleteConsumer(ctx, cons.CachedInfo().Name))
	}()
	count := 0
	for count < n {
		batch, err := cons.Fetch(n-count, natsjs.FetchMaxWait(2*time.Second))
		require.NoError(b, err)
		for range batch.Messages() {
			count++
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
