package projections_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensing-ledger/ledger/audit/audittest"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/projections"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// recorder is a read model that keeps the events it is given.
type recorder struct{ got []*ledgerv1.Event }

func (r *recorder) Apply(e *ledgerv1.Event) { r.got = append(r.got, e) }

// storedEvent returns the record of an event of tenant contoso with a full
// envelope and the payload.
func storedEvent(t *testing.T, seq uint64, p proto.Message) events.Record {
	t.Helper()
	e, err := ledgerv1.NewEvent(p)
	require.NoError(t, err)
	e.Id, e.Tenant, e.Sequence = events.NewULID(), "contoso", seq
	e.Time, e.Actor, e.Command = timestamppb.New(time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)), "admin", "SomeCommand"
	e.CommandId, e.CorrelationId, e.PrevHash = "cmd-1", "corr-1", events.Hash([]byte("previous"))
	r, err := events.NewRecord(e)
	require.NoError(t, err)
	r.Position = events.Position(seq)
	return r
}

// TestModelsGetTheEventAsStoredLessTheAuditEnvelope: the projector hands
// models the tenant, sequence, time, actor and payload exactly as the full
// decoder reads them, for payloads of every shape.
func TestModelsGetTheEventAsStoredLessTheAuditEnvelope(t *testing.T) {
	payloads := []proto.Message{
		&ledgerv1.UserRegistered{UserId: "alice", DisplayName: "Alice", Email: "alice@contoso.com", UsageLocation: "US", Guest: true},
		&ledgerv1.SubscriptionPurchased{SubscriptionId: "s1", ProductId: "SPB", Seats: 25, Channel: ledgerv1.Channel_CHANNEL_PARTNER, PurchasedBy: "bob"},
		&ledgerv1.LicenseAssigned{UserId: "alice", ProductId: "SPB", DisabledPlans: []string{"SWAY", "TEAMS1"}, GroupId: "sales"},
		&ledgerv1.LicenseRemoved{UserId: "alice", ProductId: "SPB", DataRetainedUntil: timestamppb.New(time.Date(2026, 4, 3, 0, 0, 0, 0, time.UTC))},
		&ledgerv1.RequestDecided{RequestId: "r1", Outcome: ledgerv1.RequestOutcome_REQUEST_OUTCOME_PARTIALLY_APPROVED, ApprovedUserIds: []string{"a"}, RejectedUserIds: []string{"b"}},
		&ledgerv1.RequestExpired{RequestId: "r2"},
	}
	rec := &recorder{}
	p := projections.NewProjector(nil, discardLog(), rec)
	for i, pl := range payloads {
		r := storedEvent(t, uint64(i+1), pl)
		require.NoError(t, p.Apply(r))
		full, err := events.DecodeRecord(r)
		require.NoError(t, err)
		full.Id, full.Command, full.CommandId, full.CorrelationId, full.PrevHash = "", "", "", "", nil
		assert.True(t, proto.Equal(full, rec.got[i]), "payload %T: models got %v, want %v", pl, rec.got[i], full)
	}
}

// TestARecordHoldingAnotherEventIsRefused: as with the full decoder, an
// event whose id, tenant or sequence disagree with its record is an error.
func TestARecordHoldingAnotherEventIsRefused(t *testing.T) {
	for name, change := range map[string]func(r *events.Record){
		"Id":       func(r *events.Record) { r.ID = events.NewULID() },
		"Tenant":   func(r *events.Record) { r.Tenant = "fabrikam" },
		"Sequence": func(r *events.Record) { r.Sequence++ },
		"Garbage":  func(r *events.Record) { r.Data = append([]byte{0xff}, r.Data...) },
	} {
		t.Run(name, func(t *testing.T) {
			r := storedEvent(t, 1, &ledgerv1.UserRemoved{UserId: "alice"})
			change(&r)
			rec := &recorder{}
			assert.Error(t, projections.NewProjector(nil, discardLog(), rec).Apply(r))
			assert.Empty(t, rec.got)
		})
	}
}

// TestAPayloadOfALaterReleaseReachesModelsEmpty: models get an event whose
// payload this release cannot read without it, and the checkpoint moves
// past it.
func TestAPayloadOfALaterReleaseReachesModelsEmpty(t *testing.T) {
	e := &ledgerv1.Event{Id: events.NewULID(), Tenant: "contoso", Sequence: 1, Actor: "admin"}
	data, err := events.Encode(e)
	require.NoError(t, err)
	data = protowire.AppendTag(data, 999, protowire.BytesType)
	data = protowire.AppendBytes(data, []byte{0x0a, 0x01, 'x'})
	r := events.Record{ID: e.Id, Tenant: "contoso", Type: "SomethingNew", Sequence: 1, Position: 1, Data: data}
	rec := &recorder{}
	p := projections.NewProjector(nil, discardLog(), rec)
	require.NoError(t, p.Apply(r))
	require.Len(t, rec.got, 1)
	assert.Nil(t, rec.got[0].GetPayload())
	assert.Equal(t, "admin", rec.got[0].GetActor())
	assert.Equal(t, events.Position(1), p.Position())
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestAnUnreadableEventStopsTheProjectorBeforeIt: the projector applies
// the events before an event it cannot decode, never skips it, and keeps
// trying until its context ends.
func TestAnUnreadableEventStopsTheProjectorBeforeIt(t *testing.T) {
	store := audittest.NewMemStore()
	good := storedEvent(t, 1, &ledgerv1.UserRegistered{UserId: "alice", UsageLocation: "US"})
	bad := storedEvent(t, 2, &ledgerv1.UserRemoved{UserId: "alice"})
	bad.Data = append([]byte{0xff}, bad.Data...)
	for i, r := range []events.Record{good, bad} {
		_, err := store.Append(context.Background(), "contoso", events.Cursor{Sequence: uint64(i)}, []events.Record{r})
		require.NoError(t, err)
	}
	rec := &recorder{}
	p := projections.NewProjector(store, discardLog(), rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	require.Eventually(t, func() bool { return p.Position() == 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(700 * time.Millisecond) // past a resume
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	assert.Equal(t, events.Position(1), p.Position())
	assert.Len(t, rec.got, 1)
}
