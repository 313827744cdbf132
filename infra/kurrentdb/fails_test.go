package kurrentdb_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/kurrentdb"
	"github.com/licensing-ledger/ledger/infra/kurrentdb/kurrentdbtest"
)

// These tests check that the store fails clearly where KurrentDB refuses
// or has lost something: a permanent refusal is never reported as
// "unavailable, send again", and a deleted history never as an empty one.

// bigRecords makes n records of the tenant after the cursor, each with
// size bytes of data.
func bigRecords(tenant string, after events.Cursor, n, size int) []events.Record {
	recs := newRecords(tenant, after, n)
	for i := range recs {
		recs[i].Data = bytes.Repeat([]byte{byte(i)}, size)
	}
	return recs
}

func TestAnAppendOverTheMaxAppendSizeIsTooLargeAndNamesTheLimit(t *testing.T) {
	srv := kurrentdbtest.Start(t, kurrentdbtest.WithMaxAppendSize(64<<10))
	store := open(t, srv.ConnectionString(), kurrentdb.WithMaxAppendSize(64<<10))
	defer store.Close()

	_, err := store.Append(testContext(t), "acme", events.Cursor{}, bigRecords("acme", events.Cursor{}, 3, 30<<10))
	require.ErrorIs(t, err, events.ErrTooLarge)
	require.NotErrorIs(t, err, events.ErrUnavailable, "sending it again would fail again")
	assert.Contains(t, err.Error(), "65536")
	assert.Contains(t, err.Error(), "--kurrentdb-max-append")
	requireNothingStored(t, store, "acme")

	_, err = store.Append(testContext(t), "acme", events.Cursor{}, bigRecords("acme", events.Cursor{}, 2, 30<<10))
	require.NoError(t, err, "within the limit")
}

// TestANodeWithASmallerLimitRefusesAsTooLarge: the store believes the
// node takes 1 MiB, the node takes 64 KiB. The node's refusal must still
// read as too large, not as unavailable.
func TestANodeWithASmallerLimitRefusesAsTooLarge(t *testing.T) {
	srv := kurrentdbtest.Start(t, kurrentdbtest.WithMaxAppendSize(64<<10))
	store := open(t, srv.ConnectionString())
	defer store.Close()

	for _, n := range []int{1, 5} {
		_, err := store.Append(testContext(t), "acme", events.Cursor{}, bigRecords("acme", events.Cursor{}, n, 100<<10/n))
		require.ErrorIs(t, err, events.ErrTooLarge, "%d records", n)
		require.NotErrorIs(t, err, events.ErrUnavailable)
		assert.Contains(t, err.Error(), "--kurrentdb-max-append")
	}
	requireNothingStored(t, store, "acme")
}

func TestATombstonedTenantIsDamagedNeverEmpty(t *testing.T) {
	srv := kurrentdbtest.Start(t)
	store := open(t, srv.ConnectionString())
	defer store.Close()
	_, cur := appendNext(t, store, "acme", events.Cursor{}, 2)
	_, err := rawClient(t, srv).TombstoneStream(testContext(t), "ledger-acme", esdb.TombstoneStreamOptions{})
	require.NoError(t, err)

	err = store.Read(testContext(t), "acme", events.Cursor{}, func(events.Record) error { return nil })
	require.ErrorIs(t, err, events.ErrDamaged)
	require.NotErrorIs(t, err, events.ErrUnavailable)
	assert.Contains(t, err.Error(), "ledger-acme")
	_, err = store.Append(testContext(t), "acme", cur, newRecords("acme", cur, 1))
	require.ErrorIs(t, err, events.ErrDamaged)
	_, err = store.Append(testContext(t), "acme", events.Cursor{}, newRecords("acme", events.Cursor{}, 1))
	require.ErrorIs(t, err, events.ErrDamaged, "not a new tenant either")
}

func TestASoftDeletedTenantIsDamagedNeverEmpty(t *testing.T) {
	srv := kurrentdbtest.Start(t)
	store := open(t, srv.ConnectionString())
	defer store.Close()
	appendNext(t, store, "acme", events.Cursor{}, 2)
	_, err := rawClient(t, srv).DeleteStream(testContext(t), "ledger-acme", esdb.DeleteStreamOptions{})
	require.NoError(t, err)

	err = store.Read(testContext(t), "acme", events.Cursor{}, func(events.Record) error { return nil })
	require.ErrorIs(t, err, events.ErrDamaged)
	assert.Contains(t, err.Error(), "deleted")
	err = store.Read(testContext(t), "globex", events.Cursor{}, func(events.Record) error { return nil })
	require.NoError(t, err, "a tenant never written is still empty")
}

func TestSubscribeAndHeadPassOverATombstone(t *testing.T) {
	srv := kurrentdbtest.Start(t)
	store := open(t, srv.ConnectionString())
	defer store.Close()
	appendNext(t, store, "acme", events.Cursor{}, 1)
	_, globex := appendNext(t, store, "globex", events.Cursor{}, 1)
	_, err := rawClient(t, srv).TombstoneStream(testContext(t), "ledger-acme", esdb.TombstoneStreamOptions{})
	require.NoError(t, err)
	_, last := appendNext(t, store, "globex", globex, 1)

	head, err := store.Head(testContext(t))
	require.NoError(t, err)
	assert.Equal(t, last.Position, head)
	var got []string
	errEnough := errors.New("enough")
	err = store.Subscribe(testContext(t), 0, func(r events.Record) error {
		got = append(got, r.Tenant+" "+r.Type)
		if r.Position == last.Position {
			return errEnough
		}
		return nil
	})
	require.ErrorIs(t, err, errEnough)
	assert.Equal(t, []string{"acme SeatAdded", "globex SeatAdded", "globex SeatAdded"}, got, "no record for the tombstone")
}

func TestOpenNamesTheUserAndTheRightItLacks(t *testing.T) {
	srv := kurrentdbtest.Start(t,
		kurrentdbtest.WithUser("ledger", "secret", kurrentdbtest.Read|kurrentdbtest.Write|kurrentdbtest.ReadAll),
		kurrentdbtest.WithUser("auditor", "secret", kurrentdbtest.Read|kurrentdbtest.ReadAll),
		kurrentdbtest.WithUser("writer", "secret", kurrentdbtest.Read|kurrentdbtest.Write))
	store := open(t, srv.ConnectionStringFor("ledger", "secret"))
	require.NoError(t, store.Close())

	for _, c := range []struct{ url, says string }{
		{srv.ConnectionStringFor("auditor", "secret"), `user "auditor" may not append to the streams ledger-*`},
		{srv.ConnectionStringFor("writer", "secret"), `user "writer" may not read $all`},
		{srv.ConnectionStringFor("ledger", "wrong"), `refused the credentials of user "ledger"`},
		{srv.ConnectionString(), "without a user"},
	} {
		_, err := kurrentdb.Open(testContext(t), c.url, kurrentdb.WithLogger(testLogger(t)))
		require.ErrorIs(t, err, kurrentdb.ErrAccessDenied, c.url)
		require.NotErrorIs(t, err, events.ErrUnavailable)
		assert.Contains(t, err.Error(), c.says)
	}
}

// requireNothingStored checks that the tenant has no events.
func requireNothingStored(t *testing.T, store *kurrentdb.Store, tenant string) {
	t.Helper()
	n := 0
	require.NoError(t, store.Read(testContext(t), tenant, events.Cursor{}, func(events.Record) error { n++; return nil }))
	require.Zero(t, n, "nothing stored")
}
