package ledger_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
	"github.com/licensing-ledger/ledger/ledger"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

var admin = domain.Principal{ID: "admin", Tenant: "contoso", Roles: []domain.Role{domain.GlobalAdministrator}}

// backend is a real embedded NATS server with the JetStream store.
type backend struct {
	nc    *nats.Conn
	store *jetstream.Store
}

func newBackend(t testing.TB) backend {
	t.Helper()
	nc := embeddedConn(t)
	return backend{nc: nc, store: openStore(t, nc)}
}

// embeddedConn starts an embedded NATS server for one test and connects to
// it in process.
func embeddedConn(t testing.TB) *nats.Conn {
	t.Helper()
	ns, err := jetstream.StartEmbedded(jetstream.EmbeddedConfig{StoreDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc
}

// openStore opens another store instance on the same server, as a second
// ledgerd process would.
func openStore(t testing.TB, nc *nats.Conn) *jetstream.Store {
	t.Helper()
	s, err := jetstream.Open(context.Background(), nc, jetstream.StreamConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func run(t testing.TB, svc *ledger.Service, id string, p domain.Principal, cmd proto.Message) (ledger.Result, error) {
	t.Helper()
	return svc.Execute(context.Background(), ledger.Command{Tenant: "contoso", Principal: p, Message: cmd, ID: id})
}

func must(t testing.TB, svc *ledger.Service, cmd proto.Message) ledger.Result {
	t.Helper()
	res, err := run(t, svc, "", admin, cmd)
	require.NoError(t, err)
	return res
}

// seed registers users and buys seats.
func seed(t testing.TB, svc *ledger.Service, users, seats int) {
	t.Helper()
	for i := 0; i < users; i++ {
		must(t, svc, &ledgerv1.RegisterUser{UserId: fmt.Sprintf("u%d", i), UsageLocation: "US"})
	}
	must(t, svc, &ledgerv1.PurchaseSubscription{SubscriptionId: "s1", ProductId: "SPB", Seats: int32(seats)})
}

func TestEventsCarryTheEnvelopeAndTheChain(t *testing.T) {
	b := newBackend(t)
	svc := ledger.New(b.store, ledger.Options{})
	seed(t, svc, 2, 5)
	res, err := svc.Execute(context.Background(), ledger.Command{
		Tenant: "contoso", Principal: admin, ID: "cmd-1", CorrelationID: "corr-1",
		Message: &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u0", "u1"}},
	})
	require.NoError(t, err)
	require.Len(t, res.Events, 2)
	var prev []byte
	err = b.store.Read(context.Background(), "contoso", events.Cursor{}, func(r events.Record) error {
		e, err := events.DecodeRecord(r)
		require.NoError(t, err)
		assert.Equal(t, prev, e.GetPrevHash(), "event %d chains to the one before", r.Sequence)
		prev = events.Hash(r.Data)
		return nil
	})
	require.NoError(t, err)
	for _, e := range res.Events {
		assert.Equal(t, "admin", e.GetActor())
		assert.Equal(t, "cmd-1", e.GetCommandId())
		assert.Equal(t, "corr-1", e.GetCorrelationId())
		assert.Equal(t, "AssignLicense", e.GetCommand())
	}
}

// TestL5_RetryWithTheSameKeyIsAppliedOnce: a retried command answers like
// the first time, also from a new process (after a restart).
func TestL5_RetryWithTheSameKeyIsAppliedOnce(t *testing.T) {
	b := newBackend(t)
	svc := ledger.New(b.store, ledger.Options{})
	seed(t, svc, 1, 5)
	assign := &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u0"}}
	first, err := run(t, svc, "key-1", admin, assign)
	require.NoError(t, err)
	again, err := run(t, svc, "key-1", admin, assign)
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, ids(first), ids(again))

	restarted := ledger.New(openStore(t, b.nc), ledger.Options{})
	later, err := run(t, restarted, "key-1", admin, assign)
	require.NoError(t, err)
	assert.True(t, later.Replayed)
	assert.Equal(t, ids(first), ids(later))
	assert.EqualValues(t, 3, restarted.Sequence("contoso"), "the command's event is stored once")

	_, err = run(t, restarted, "key-1", admin, &ledgerv1.RevokeAssignment{ProductId: "SPB", UserIds: []string{"u0"}})
	assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err), "a key reused for another command is refused")
}

// TestL6_TwoProcessesNeverOversell: two services on one store race for the
// last seats; exactly as many assignments succeed as there were seats.
func TestL6_TwoProcessesNeverOversell(t *testing.T) {
	b := newBackend(t)
	const users, seats = 30, 7
	first := ledger.New(b.store, ledger.Options{})
	seed(t, first, users, seats)
	second := ledger.New(openStore(t, b.nc), ledger.Options{})
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < users; i++ {
		svc := []*ledger.Service{first, second}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := run(t, svc, "", admin, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{fmt.Sprintf("u%d", i)}})
			switch domain.ErrorCode(err) {
			case "":
				ok.Add(1)
			case domain.CodeCountViolation:
				refused.Add(1)
			default:
				t.Errorf("unexpected outcome: %v", err)
			}
		}()
	}
	wg.Wait()
	assert.EqualValues(t, seats, ok.Load())
	assert.EqualValues(t, users-seats, refused.Load())
}

// countingStore counts the records a store reads, to see snapshots work.
type countingStore struct {
	events.Store
	read atomic.Int64
}

func (c *countingStore) Read(ctx context.Context, tenant string, after events.Cursor, fn func(events.Record) error) error {
	return c.Store.Read(ctx, tenant, after, func(r events.Record) error { c.read.Add(1); return fn(r) })
}

func TestColdLoadFromASnapshot(t *testing.T) {
	b := newBackend(t)
	js, err := natsjs.New(b.nc)
	require.NoError(t, err)
	snaps, err := jetstream.OpenSnapshots(context.Background(), js, 1)
	require.NoError(t, err)
	writer := ledger.New(b.store, ledger.Options{Snapshots: snaps, SnapshotEvery: 10})
	seed(t, writer, 25, 20)
	for i := 0; i < 12; i++ {
		must(t, writer, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{fmt.Sprintf("u%d", i)}})
	}
	require.NoError(t, writer.Snapshot(context.Background(), "contoso"))
	must(t, writer, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u12"}})

	counting := &countingStore{Store: openStore(t, b.nc)}
	cold := ledger.New(counting, ledger.Options{Snapshots: snaps, SnapshotEvery: 1000})
	_, err = run(t, cold, "", admin, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u0"}})
	require.NoError(t, err, "u0 already holds it: nothing to do")
	assert.LessOrEqual(t, counting.read.Load(), int64(3), "a cold load reads the snapshot's last event and what follows, not the history")
	res, err := run(t, cold, "", admin, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u13", "u14", "u15", "u16", "u17", "u18", "u19", "u20"}})
	assert.Equal(t, domain.CodeCountViolation, domain.ErrorCode(err), "13 of 20 seats are taken: 8 more do not fit (%v)", res)
	_, err = run(t, cold, "", admin, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u13", "u14", "u15", "u16", "u17", "u18", "u19"}})
	require.NoError(t, err)
}

func TestASnapshotThatDoesNotFitTheStreamIsIgnored(t *testing.T) {
	b := newBackend(t)
	svc := ledger.New(b.store, ledger.Options{})
	seed(t, svc, 3, 3)
	bad := &fakeSnapshots{snap: events.Snapshot{
		Tenant: "contoso", Cursor: events.Cursor{Sequence: 2, Position: 2}, LastID: "01AAAAAAAAAAAAAAAAAAAAAAAA",
		LastHash: bytes.Repeat([]byte{1}, 32), Data: []byte("not a state"),
	}}
	cold := ledger.New(openStore(t, b.nc), ledger.Options{Snapshots: bad})
	_, err := run(t, cold, "", admin, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u0", "u1", "u2"}})
	require.NoError(t, err, "the state was rebuilt from the events")
}

type fakeSnapshots struct{ snap events.Snapshot }

func (f *fakeSnapshots) LoadSnapshot(context.Context, string) (events.Snapshot, bool, error) {
	return f.snap, true, nil
}
func (f *fakeSnapshots) SaveSnapshot(context.Context, events.Snapshot) error { return nil }

func ids(r ledger.Result) []string {
	var out []string
	for _, e := range r.Events {
		out = append(out, e.GetId())
	}
	return out
}

// TestSnapshotAfterABulkCommandIsUsed: a snapshot whose last command wrote
// several events (one append, one stored position for all but the last
// known to this process) still fits the stream and serves a cold load.
func TestSnapshotAfterABulkCommandIsUsed(t *testing.T) {
	b := newBackend(t)
	js, err := natsjs.New(b.nc)
	require.NoError(t, err)
	snaps, err := jetstream.OpenSnapshots(context.Background(), js, 1)
	require.NoError(t, err)
	writer := ledger.New(b.store, ledger.Options{Snapshots: snaps, SnapshotEvery: 1000})
	seed(t, writer, 4, 10)
	must(t, writer, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u0", "u1", "u2"}})
	require.NoError(t, writer.Snapshot(context.Background(), "contoso"))

	counting := &countingStore{Store: openStore(t, b.nc)}
	cold := ledger.New(counting, ledger.Options{Snapshots: snaps, SnapshotEvery: 1000})
	_, err = run(t, cold, "", admin, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u3"}})
	require.NoError(t, err)
	assert.LessOrEqual(t, counting.read.Load(), int64(3), "the snapshot was used: only the last command's events were read again")
}

// droppingStore acknowledges one append, once armed, without storing it,
// as a store that loses an acknowledged write would.
type droppingStore struct {
	events.Store
	armed bool
}

func (s *droppingStore) Append(ctx context.Context, tenant string, expected events.Cursor, recs []events.Record) (events.Cursor, error) {
	if !s.armed {
		return s.Store.Append(ctx, tenant, expected, recs)
	}
	s.armed = false
	return events.Cursor{Sequence: recs[len(recs)-1].Sequence, Position: expected.Position}, nil
}

// TestAStateThatDoesNotFitTheStreamIsRebuilt: a process whose state holds
// an event the stream does not (here, a write its store lost) rebuilds the
// tenant from the stream when it next reads it, instead of failing every
// command of the tenant until it restarts.
func TestAStateThatDoesNotFitTheStreamIsRebuilt(t *testing.T) {
	b := newBackend(t)
	lossy := &droppingStore{Store: b.store}
	svc := ledger.New(lossy, ledger.Options{})
	seed(t, svc, 2, 5)
	lossy.armed = true
	must(t, svc, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u0"}}) // acknowledged, lost
	other := ledger.New(openStore(t, b.nc), ledger.Options{})
	must(t, other, &ledgerv1.RegisterUser{UserId: "elsewhere", UsageLocation: "US"})

	_, err := run(t, svc, "", admin, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"elsewhere"}})
	require.NoError(t, err, "the tenant is rebuilt from its stream and the command decided on it")
	res, err := run(t, svc, "", admin, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u0"}})
	require.NoError(t, err, "the lost assignment is not in the rebuilt state: u0 can be assigned")
	assert.Len(t, res.Events, 1)
}

// TestUnknownTenantsLeaveNothingBehind: commands and queries for tenant ids
// that name no tenant are refused and cost no memory afterwards; a tenant
// with events stays cached.
func TestUnknownTenantsLeaveNothingBehind(t *testing.T) {
	b := newBackend(t)
	svc := ledger.New(b.store, ledger.Options{})
	seed(t, svc, 1, 1)
	ctx := context.Background()
	for i := range 200 {
		tenant := fmt.Sprintf("invented-%d", i)
		_, err := svc.Execute(ctx, ledger.Command{Tenant: tenant, Principal: admin, Message: &ledgerv1.RegisterUser{UserId: "x", UsageLocation: "US"}})
		require.Equal(t, domain.CodeForbidden, domain.ErrorCode(err), "an admin of contoso may not write %s", tenant)
		err = svc.Authorize(ctx, tenant, admin, domain.QueryLicenses, "")
		require.Equal(t, domain.CodeForbidden, domain.ErrorCode(err))
	}
	assert.Equal(t, 1, ledger.CachedTenants(svc), "only contoso is cached")
	require.NoError(t, svc.Authorize(ctx, "contoso", admin, domain.QueryLicenses, ""))
}
