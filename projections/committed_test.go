package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/audit/audittest"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/projections"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// decodedEvent is the event of a stored record, as the command service
// holds it once its append succeeded.
func decodedEvent(t *testing.T, r events.Record) *ledgerv1.Event {
	t.Helper()
	e, err := events.DecodeRecord(r)
	require.NoError(t, err)
	return e
}

// TestCommittedEventsAreAppliedOnceInOrder: a command's events handed over
// by the service reach the models at once, and when the subscription brings
// the same records back they only move the checkpoint.
func TestCommittedEventsAreAppliedOnceInOrder(t *testing.T) {
	first := storedEvent(t, 1, &ledgerv1.UserRegistered{UserId: "alice", UsageLocation: "US"})
	second := storedEvent(t, 2, &ledgerv1.UserRemoved{UserId: "alice"})
	rec := &recorder{}
	p := projections.NewProjector(nil, discardLog(), rec)

	p.ApplyCommitted([]*ledgerv1.Event{decodedEvent(t, first), decodedEvent(t, second)})
	assert.Equal(t, uint64(2), p.Applied("contoso"))
	assert.Equal(t, events.Position(0), p.Position(), "the checkpoint is the subscription's")

	require.NoError(t, p.Apply(first))
	require.NoError(t, p.Apply(second))
	assert.Len(t, rec.got, 2)
	assert.Equal(t, events.Position(2), p.Position())
}

// TestCommittedEventsAfterAGapWaitForTheSubscription: events that do not
// directly follow what the models hold of their tenant (another process
// wrote in between) are left to the subscription, which applies every
// event in the store's order.
func TestCommittedEventsAfterAGapWaitForTheSubscription(t *testing.T) {
	recs := []events.Record{
		storedEvent(t, 1, &ledgerv1.UserRegistered{UserId: "alice", UsageLocation: "US"}),
		storedEvent(t, 2, &ledgerv1.UserRegistered{UserId: "bob", UsageLocation: "US"}),
		storedEvent(t, 3, &ledgerv1.UserRemoved{UserId: "alice"}),
	}
	rec := &recorder{}
	p := projections.NewProjector(nil, discardLog(), rec)
	require.NoError(t, p.Apply(recs[0]))

	p.ApplyCommitted([]*ledgerv1.Event{decodedEvent(t, recs[2])})
	assert.Equal(t, uint64(1), p.Applied("contoso"))

	require.NoError(t, p.Apply(recs[1]))
	require.NoError(t, p.Apply(recs[2]))
	require.Len(t, rec.got, 3)
	for i, e := range rec.got {
		assert.Equal(t, uint64(i+1), e.GetSequence())
	}
}

// TestTheSubscriptionDoesNotDecodeWhatWasCommittedHere: records the models
// already hold pass the subscription undecoded. Their stored bytes are
// never read again: here they are unreadable, and the projector still moves
// past them, where it stops before such a record it has not applied (see
// TestAnUnreadableEventStopsTheProjectorBeforeIt).
func TestTheSubscriptionDoesNotDecodeWhatWasCommittedHere(t *testing.T) {
	store := audittest.NewMemStore()
	good := storedEvent(t, 1, &ledgerv1.UserRegistered{UserId: "alice", UsageLocation: "US"})
	stored := good
	stored.Data = append([]byte{0xff}, good.Data...)
	_, err := store.Append(context.Background(), "contoso", events.Cursor{}, []events.Record{stored})
	require.NoError(t, err)

	rec := &recorder{}
	p := projections.NewProjector(store, discardLog(), rec)
	p.ApplyCommitted([]*ledgerv1.Event{decodedEvent(t, good)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = p.Run(ctx) }()
	require.NoError(t, p.WaitCaughtUp(ctx))
	assert.Equal(t, events.Position(1), p.Position())
	require.Len(t, rec.got, 1)
	assert.Equal(t, "alice", rec.got[0].GetUserRegistered().GetUserId())
}

// TestAQueryWaitingForAWriteIsWokenByItsHandover: Read waiting for a
// tenant's sequence returns as soon as the service hands that command's
// events over, with no subscription running.
func TestAQueryWaitingForAWriteIsWokenByItsHandover(t *testing.T) {
	r := storedEvent(t, 1, &ledgerv1.UserRegistered{UserId: "alice", UsageLocation: "US"})
	rec := &recorder{}
	p := projections.NewProjector(nil, discardLog(), rec)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	read := make(chan error, 1)
	go func() { read <- p.Read(ctx, "contoso", 1, func() {}) }()
	p.ApplyCommitted([]*ledgerv1.Event{decodedEvent(t, r)})
	require.NoError(t, <-read)
	assert.Len(t, rec.got, 1)
}
