package ledger_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
	"github.com/licensing-ledger/ledger/ledger"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dupWindow is the JetStream duplicate window of these tests: the
// server's minimum is 100 ms, its default 2 minutes.
const dupWindow = 250 * time.Millisecond

// shortWindow is a real embedded NATS server whose store remembers message
// ids for dupWindow only.
type shortWindow struct {
	nc *nats.Conn
}

// newShortWindow starts an embedded server for one test.
func newShortWindow(t *testing.T) shortWindow {
	t.Helper()
	return shortWindow{nc: embeddedConn(t)}
}

// open opens a store as a ledger process does, with the short window (a
// store opened with another window would change the stream's).
func (w shortWindow) open(t *testing.T) *jetstream.Store {
	t.Helper()
	s, err := jetstream.Open(context.Background(), w.nc, jetstream.StreamConfig{Duplicates: dupWindow})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	js, err := natsjs.New(w.nc)
	require.NoError(t, err)
	stream, err := js.Stream(context.Background(), jetstream.LogStreamName)
	require.NoError(t, err)
	require.Equal(t, dupWindow, stream.CachedInfo().Config.Duplicates)
	return s
}

// waitForgotten waits, at most 10 s, until JetStream no longer recognizes
// the id of the tenant's append: its duplicate window has passed.
func (w shortWindow) waitForgotten(t *testing.T, tenant, id string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); w.remembers(t, tenant, id); time.Sleep(dupWindow / 5) {
		require.True(t, time.Now().Before(deadline), "JetStream still remembers message id %s after 10 s", id)
	}
}

// remembers probes the duplicate window without storing anything: a
// message with the id and an expected last message id that cannot match is
// answered "duplicate" while the id is remembered, and refused after.
func (w shortWindow) remembers(t *testing.T, tenant, id string) bool {
	t.Helper()
	msg := nats.NewMsg(jetstream.LogSubject(tenant))
	msg.Header.Set(natsjs.MsgIDHeader, id)
	msg.Header.Set(natsjs.ExpectedLastMsgIDHeader, "no-such-message")
	reply, err := w.nc.RequestMsg(msg, 5*time.Second)
	require.NoError(t, err)
	var ack struct {
		Duplicate bool            `json:"duplicate"`
		Error     json.RawMessage `json:"error"`
	}
	require.NoError(t, json.Unmarshal(reply.Data, &ack))
	require.True(t, ack.Duplicate || ack.Error != nil, "the probe stores nothing: %s", reply.Data)
	return ack.Duplicate
}

// TestL5_RetryAfterTheDuplicateWindow: a command retried with its key after
// JetStream forgot the message ids, by the same process or a new one, is
// answered with its first events and stored once. The ledger's own index
// of command ids answers it, not JetStream.
func TestL5_RetryAfterTheDuplicateWindow(t *testing.T) {
	w := newShortWindow(t)
	svc := ledger.New(w.open(t), ledger.Options{})
	seed(t, svc, 2, 5)
	assign := &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u0", "u1"}}
	first, err := run(t, svc, "assign-late", admin, assign)
	require.NoError(t, err)
	w.waitForgotten(t, "contoso", first.Events[0].GetId())

	again, err := run(t, svc, "assign-late", admin, assign)
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, ids(first), ids(again))

	restarted := ledger.New(w.open(t), ledger.Options{})
	later, err := run(t, restarted, "assign-late", admin, assign)
	require.NoError(t, err)
	assert.True(t, later.Replayed)
	assert.Equal(t, ids(first), ids(later))
	assert.EqualValues(t, 5, restarted.Sequence("contoso"), "two users, a purchase and the two assignments, once")
}

// TestL5_UnknownOutcomeRetriedAfterTheDuplicateWindow: the store kept an
// append but its answer was lost, and the retry comes after JetStream forgot
// the ids. The service's own retry of the same records is stored once; so
// is the client's retry of a command answered Unavailable.
func TestL5_UnknownOutcomeRetriedAfterTheDuplicateWindow(t *testing.T) {
	t.Run("TheServiceRetriesTheAppend", func(t *testing.T) {
		w := newShortWindow(t)
		store := &lostAnswers{Store: w.open(t), lose: 1, wait: func(id string) { w.waitForgotten(t, "contoso", id) }}
		svc := ledger.New(store, ledger.Options{})
		seed(t, svc, 1, 5)
		store.armed.Store(true)
		res, err := run(t, svc, "assign-lost", admin, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u0"}})
		require.NoError(t, err, "the retried append found its records stored")
		assert.Len(t, res.Events, 1)
		assertStoredOnce(t, w.open(t), "assign-lost", ids(res))
	})
	t.Run("TheClientRetriesTheCommand", func(t *testing.T) {
		w := newShortWindow(t)
		store := &lostAnswers{Store: w.open(t), lose: 3, wait: func(id string) { w.waitForgotten(t, "contoso", id) }}
		svc := ledger.New(store, ledger.Options{})
		seed(t, svc, 1, 5)
		store.armed.Store(true)
		cmd := &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u0"}}
		_, err := run(t, svc, "assign-unknown", admin, cmd)
		require.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "every answer was lost: %v", err)
		res, err := run(t, svc, "assign-unknown", admin, cmd)
		require.NoError(t, err)
		assert.True(t, res.Replayed, "the first attempt was stored: the retry answers it")
		assertStoredOnce(t, w.open(t), "assign-unknown", ids(res))
	})
}

// lostAnswers is a store whose appends, once armed, are stored but answered
// ErrUnavailable, as when the connection drops before the answer arrives.
// The first lost append is answered only after wait returns.
type lostAnswers struct {
	events.Store
	armed atomic.Bool
	lose  int // how many answers to lose
	lost  int
	wait  func(id string)
}

// Append stores the records and, while armed, loses the answer.
func (s *lostAnswers) Append(ctx context.Context, tenant string, expected events.Cursor, recs []events.Record) (events.Cursor, error) {
	cur, err := s.Store.Append(ctx, tenant, expected, recs)
	if !s.armed.Load() || s.lost == s.lose {
		return cur, err
	}
	if s.lost == 0 {
		s.wait(recs[0].ID)
	}
	s.lost++
	return events.Cursor{}, errors.Join(events.ErrUnavailable, err)
}

// assertStoredOnce checks that the command's events are in the store once.
func assertStoredOnce(t *testing.T, store events.Store, commandID string, want []string) {
	t.Helper()
	var got []string
	err := store.Read(context.Background(), "contoso", events.Cursor{}, func(r events.Record) error {
		e, err := events.DecodeRecord(r)
		if e.GetCommandId() == commandID {
			got = append(got, e.GetId())
		}
		return err
	})
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// TestL5_RetryOnAnotherProcess: a command applied by one process and sent
// again with its key to another, which had loaded the tenant before, is
// answered with its first events, not decided again on an old state.
func TestL5_RetryOnAnotherProcess(t *testing.T) {
	b := newBackend(t)
	first := ledger.New(b.store, ledger.Options{})
	seed(t, first, 1, 5)
	second := ledger.New(openStore(t, b.nc), ledger.Options{})
	must(t, second, &ledgerv1.RegisterUser{UserId: "loaded", UsageLocation: "US"}) // second has loaded the tenant
	must(t, first, &ledgerv1.RegisterUser{UserId: "late", UsageLocation: "US"})
	cmd := &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"late"}}
	applied, err := run(t, first, "assign-late", admin, cmd)
	require.NoError(t, err)
	again, err := run(t, second, "assign-late", admin, cmd)
	require.NoError(t, err, "the retry is answered, not refused on the state second had")
	assert.True(t, again.Replayed)
	assert.Equal(t, ids(applied), ids(again))
}

// TestL5_SameCommandOnTwoProcessesAtOneInstant: two processes that decide
// the same command at the same instant, each on the state it had, make
// different event ids; the second append is a conflict, not taken for a
// retry of the first, so the command is applied once, the second process
// answers with the first's events, and its chain stays whole.
func TestL5_SameCommandOnTwoProcessesAtOneInstant(t *testing.T) {
	b := newBackend(t)
	at := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return at }
	first := ledger.New(b.store, ledger.Options{Now: clock})
	second := ledger.New(openStore(t, b.nc), ledger.Options{Now: clock})
	seed(t, first, 2, 5)
	must(t, second, &ledgerv1.RegisterUser{UserId: "loaded", UsageLocation: "US"}) // second has loaded the tenant
	must(t, first, &ledgerv1.RegisterUser{UserId: "late", UsageLocation: "US"})    // and is one event behind

	cmd := &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u0"}}
	applied, err := run(t, first, "same-instant", admin, cmd)
	require.NoError(t, err)
	again, err := run(t, second, "same-instant", admin, cmd)
	require.NoError(t, err)
	assert.True(t, again.Replayed, "the second process answers the first application")
	assert.Equal(t, ids(applied), ids(again))
	assertStoredOnce(t, b.store, "same-instant", ids(applied))

	_, err = run(t, second, "", admin, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u1"}})
	require.NoError(t, err, "the second process's chain is whole")
	_, err = run(t, first, "", admin, &ledgerv1.RegisterUser{UserId: "after", UsageLocation: "US"})
	require.NoError(t, err, "and so is the first's, after reading the second's event")
}

// TestL5_ReplayOnlyToWhoMaySendTheCommand: a used key sent by a principal
// who may not send the command, here an admin of another tenant, is refused
// and reveals nothing of the first command.
func TestL5_ReplayOnlyToWhoMaySendTheCommand(t *testing.T) {
	b := newBackend(t)
	svc := ledger.New(b.store, ledger.Options{})
	seed(t, svc, 1, 5)
	cmd := &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u0"}}
	_, err := run(t, svc, "assign-secret", admin, cmd)
	require.NoError(t, err)
	stranger := domain.Principal{ID: "admin@fabrikam", Tenant: "fabrikam", Roles: []domain.Role{domain.GlobalAdministrator}}
	res, err := run(t, svc, "assign-secret", stranger, cmd)
	assert.Equal(t, domain.CodeForbidden, domain.ErrorCode(err))
	assert.Empty(t, res.Events)
}
