package kurrentdb_test

import (
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/kurrentdb"
	"github.com/licensing-ledger/ledger/infra/kurrentdb/kurrentdbtest"
)

func TestAppendStoresEachRecordAsAnEventWhoseIDIsTheULID(t *testing.T) {
	srv := kurrentdbtest.Start(t)
	store := open(t, srv.ConnectionString())
	defer store.Close()
	recs := newRecords("acme", events.Cursor{}, 2)
	cur, err := store.Append(testContext(t), "acme", events.Cursor{}, recs)
	require.NoError(t, err)

	stored := readRaw(t, rawClient(t, srv), "ledger-acme")
	require.Len(t, stored, 2)
	for i, ev := range stored {
		id := ulid.MustParseStrict(recs[i].ID)
		assert.Equal(t, id[:], ev.EventID[:], "event %d id is the ULID's 16 bytes", i)
		assert.Equal(t, recs[i].Type, ev.EventType)
		assert.Equal(t, "application/octet-stream", ev.ContentType)
		assert.Equal(t, recs[i].Data, ev.Data)
		assert.Empty(t, ev.UserMetadata, "nothing that can be derived goes in the metadata")
		assert.Equal(t, uint64(i), ev.EventNumber, "revision = sequence - 1")
	}
	assert.Equal(t, events.Cursor{Sequence: 2, Position: events.Position(stored[1].Position.Commit)}, cur)
}

func TestWrongExpectedVersionIsAConflict(t *testing.T) {
	srv := kurrentdbtest.Start(t)
	appendRaw(t, rawClient(t, srv), "ledger-acme", "WrittenByAnotherWriter")
	store := open(t, srv.ConnectionString())
	defer store.Close()

	_, err := store.Append(testContext(t), "acme", events.Cursor{}, newRecords("acme", events.Cursor{}, 1))
	require.ErrorIs(t, err, events.ErrConflict)
	assert.ErrorContains(t, err, "ledger-acme")

	at1 := events.Cursor{Sequence: 1}
	cur, err := store.Append(testContext(t), "acme", at1, newRecords("acme", at1, 1))
	require.NoError(t, err, "the expected revision is the sequence minus one")
	assert.Equal(t, uint64(2), cur.Sequence)
}

func TestRetryingAnAppendThatWentThroughReturnsItsCursor(t *testing.T) {
	srv := kurrentdbtest.Start(t)
	store := open(t, srv.ConnectionString())
	defer store.Close()
	recs := newRecords("acme", events.Cursor{}, 3)
	first, err := store.Append(testContext(t), "acme", events.Cursor{}, recs)
	require.NoError(t, err)

	restarted := open(t, srv.ConnectionString())
	defer restarted.Close()
	again, err := restarted.Append(testContext(t), "acme", events.Cursor{}, recs)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	assert.Len(t, readRaw(t, rawClient(t, srv), "ledger-acme"), 3)
}

func TestAppendRefusesRecordsItCannotStore(t *testing.T) {
	store := open(t, kurrentdbtest.Start(t).ConnectionString())
	defer store.Close()
	for name, change := range map[string]func(*events.Record){
		"ID not a ULID":     func(r *events.Record) { r.ID = "license-42" },
		"lower-case ULID":   func(r *events.Record) { r.ID = "01hzy3zqjv5m3kdw1v7m4ecf0z" },
		"another tenant":    func(r *events.Record) { r.Tenant = "globex" },
		"no tenant":         func(r *events.Record) { r.Tenant = "" },
		"sequence not next": func(r *events.Record) { r.Sequence = 2 },
		"type not a token":  func(r *events.Record) { r.Type = "License.Assigned" },
	} {
		t.Run(name, func(t *testing.T) {
			recs := newRecords("acme", events.Cursor{}, 1)
			change(&recs[0])
			_, err := store.Append(testContext(t), "acme", events.Cursor{}, recs)
			require.ErrorIs(t, err, kurrentdb.ErrInvalidRecord)
		})
	}
}
