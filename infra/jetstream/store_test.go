package jetstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"
	"unicode"

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
	runConformance(t, func(t testing.TB, dir string) *testEnv {
		return startEnv(t, dir, jetstream.StreamConfig{})
	})
}

// runConformance runs the port's suite on stores that start opens, each
// open restarting the server on the same directory.
func runConformance(t *testing.T, start func(t testing.TB, dir string) *testEnv) {
	storetest.Run(t, func(t *testing.T) func() events.Store {
		dir := t.TempDir()
		var env *testEnv
		t.Cleanup(func() { env.stop() })
		return func() events.Store {
			env.stop()
			env = start(t, dir)
			return env.store
		}
	})
}

func TestAppendRefusesMalformedRecords(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	cases := map[string]func(recs []events.Record){
		"other tenant":    func(recs []events.Record) { recs[1].Tenant = "globex" },
		"repeated id":     func(recs []events.Record) { recs[1].ID = recs[0].ID },
		"empty id":        func(recs []events.Record) { recs[0].ID = "" },
		"id with newline": func(recs []events.Record) { recs[0].ID = "a\r\nb" },
		"too large":       func(recs []events.Record) { recs[1].Data = make([]byte, jetstream.DefaultMaxPayload) },
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
// server upgrade that changes it fails here first: the sequence check on
// the tenant's subject refuses a retried append, whatever its id, and so
// does expecting an empty subject (sequence 0) once the tenant has
// messages. Appends carry no Nats-Msg-Id (see newLogMsg): this check alone
// keeps a retry from being stored twice.
func TestServerRefusals(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	recs := testRecords("acme", events.Cursor{}, 2)
	c1 := env.append(t, "acme", events.Cursor{}, recs)
	env.append(t, "globex", events.Cursor{}, testRecords("globex", events.Cursor{}, 1))
	env.append(t, "acme", c1, testRecords("acme", c1, 1))

	for _, id := range []string{recs[0].ID, ""} {
		code, dup := env.rawAppend(t, logMsg("acme", id, 0))
		require.Equal(t, 10071, code, "a retried first append fails the sequence check, id %q", id)
		require.False(t, dup)
	}
	code, _ := env.rawAppend(t, logMsg("acme", "", uint64(c1.Position)>>16))
	require.Equal(t, 10071, code, "a retry of a later append fails it: the stream went on")
	code, _ = env.rawAppend(t, logMsg("initech", "", 1))
	require.Equal(t, 10071, code, "a sequence on an empty subject fails it")
	require.Len(t, env.read(t, "acme"), 3)
}

// logMsg builds a raw one-record log message with the concurrency check,
// and id as Nats-Msg-Id unless it is "".
func logMsg(tenant, id string, expectSeq uint64) *nats.Msg {
	msg := nats.NewMsg(jetstream.LogSubject(tenant))
	if id != "" {
		msg.Header.Set("Nats-Msg-Id", id)
	}
	msg.Header.Set("Nats-Expected-Last-Subject-Sequence", fmt.Sprint(expectSeq))
	msg.Header.Set(jetstream.LedgerSequenceHeader, "1")
	msg.Header.Set(jetstream.CountHeader, "1")
	return msg
}

// TestReadBeyondOnePage reads tenants too long for one direct get page, in
// messages and in bytes, which Read finishes with an ordered consumer that
// it then deletes.
func TestReadBeyondOnePage(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	var want []events.Record
	cur, other := events.Cursor{}, events.Cursor{}
	for i := range 1100 {
		recs := testRecords("acme", cur, 1+i%3)
		cur = env.append(t, "acme", cur, recs)
		want = append(want, recs...)
		if i%100 == 0 {
			other = env.append(t, "globex", other, testRecords("globex", other, 10))
		}
	}
	got := env.read(t, "acme")
	requireSameRecords(t, want, got)

	var after []events.Record
	require.NoError(t, env.store.Read(env.ctx, "acme", got[1497].Cursor(), func(r events.Record) error {
		after = append(after, r)
		return nil
	}))
	require.Equal(t, got[1498:], after, "from a cursor inside an append")

	stop := errors.New("stop")
	calls := 0
	err := env.store.Read(env.ctx, "acme", events.Cursor{}, func(events.Record) error {
		if calls++; calls == 2000 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, 2000, calls)
	env.requireNoConsumers(t)
}

func TestReadLargeAppendsBeyondOnePage(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	var want []events.Record
	cur := events.Cursor{}
	for range 5 {
		recs := testRecords("acme", cur, 3)
		for i := range recs {
			recs[i].Data = make([]byte, 1<<20)
			recs[i].Data[i] = byte(len(want) + i)
		}
		cur = env.append(t, "acme", cur, recs)
		want = append(want, recs...)
	}
	requireSameRecords(t, want, env.read(t, "acme"))
	env.requireNoConsumers(t)
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
	// Every ASCII byte, alone and inside a token, answers as the rule says:
	// not a separator, a wildcard, white space or a control character.
	for c := range 0x80 {
		r := rune(c)
		want := r != '.' && r != '*' && r != '>' && !unicode.IsSpace(r) && !unicode.IsControl(r)
		assert.Equal(t, want, jetstream.ValidToken(string(r)), "%q", r)
		assert.Equal(t, want, jetstream.ValidToken("ab"+string(r)+"cd"), "%q inside", r)
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
	return startEnvWith(t, jetstream.EmbeddedConfig{StoreDir: dir}, cfg)
}

// startEnvWith starts a server configured so and opens a store.
func startEnvWith(t testing.TB, ecfg jetstream.EmbeddedConfig, cfg jetstream.StreamConfig) *testEnv {
	t.Helper()
	ecfg.Logger = quietLogger()
	ns, err := jetstream.StartEmbedded(ecfg)
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

// logStream returns the commit log stream.
func (e *testEnv) logStream(t testing.TB) natsjs.Stream {
	t.Helper()
	stream, err := e.js.Stream(e.ctx, jetstream.LogStreamName)
	require.NoError(t, err)
	return stream
}

// requireNoConsumers waits until the store has deleted its consumers.
func (e *testEnv) requireNoConsumers(t testing.TB) {
	t.Helper()
	stream := e.logStream(t)
	require.Eventually(t, func() bool {
		info, err := stream.Info(e.ctx)
		return err == nil && info.State.Consumers == 0
	}, 2*time.Second, 10*time.Millisecond, "read's consumers are deleted")
}

// rawAppend sends msg as a request and returns the err_code of the reply
// (0 if none) and whether it was a duplicate.
func (e *testEnv) rawAppend(t testing.TB, msg *nats.Msg) (code int, duplicate bool) {
	t.Helper()
	reply, err := e.nc.RequestMsg(msg, 2*time.Second)
	require.NoError(t, err)
	var resp struct {
		Duplicate bool `json:"duplicate"`
		Error     *struct {
			ErrCode int `json:"err_code"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(reply.Data, &resp), string(reply.Data))
	if resp.Error != nil {
		code = resp.Error.ErrCode
	}
	return code, resp.Duplicate
}

// requireSameRecords requires got to hold want's records, as stored, with
// increasing positions.
func requireSameRecords(t testing.TB, want, got []events.Record) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, want[i].ID, got[i].ID, "record %d", i)
		require.Equal(t, want[i].Sequence, got[i].Sequence, "record %d", i)
		require.Equal(t, want[i].Data, got[i].Data, "record %d", i)
		if i > 0 {
			require.Greater(t, got[i].Position, got[i-1].Position, "record %d", i)
		}
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
