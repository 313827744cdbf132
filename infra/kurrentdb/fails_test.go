package kurrentdb_test

import (
	"bytes"
	"errors"
	"os"
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
// node is a KurrentDB node to run a failure case against: the stand-in,
// or a real one, whose streams a case tells apart from other runs' by a
// prefix of its own.
type node struct {
	url    string
	prefix string
	raw    *esdb.Client
}

// open opens a store on the node.
func (n node) open(t *testing.T, opts ...kurrentdb.Option) *kurrentdb.Store {
	store := open(t, n.url, append([]kurrentdb.Option{kurrentdb.WithStreamPrefix(n.prefix)}, opts...)...)
	t.Cleanup(func() { _ = store.Close() })
	return store
}

// failureCases run against the stand-in and, with KURRENTDB_URL, against
// a real node at its default settings (MaxAppendSize 1 MiB).
var failureCases = []struct {
	name string
	test func(t *testing.T, n node)
}{
	{"ANodeWithASmallerLimitRefusesAsTooLarge", nodeLimitIsTooLarge},
	{"ATombstonedTenantIsDamagedNeverEmpty", tombstonedIsDamaged},
	{"ASoftDeletedTenantIsDamagedNeverEmpty", softDeletedIsDamaged},
	{"SubscribeAndHeadPassOverATombstone", subscribeAndHeadPassOverATombstone},
}

func TestFailuresInProcess(t *testing.T) {
	for _, c := range failureCases {
		t.Run(c.name, func(t *testing.T) {
			srv := kurrentdbtest.Start(t)
			c.test(t, node{url: srv.ConnectionString(), prefix: kurrentdb.DefaultStreamPrefix, raw: rawClient(t, srv)})
		})
	}
}

// TestFailuresKurrentDB runs the failure cases against the node at
// $KURRENTDB_URL, which must be at its default MaxAppendSize and let the
// connection's user delete streams; it checks that the stand-in fails as a
// real node does.
func TestFailuresKurrentDB(t *testing.T) {
	url := os.Getenv("KURRENTDB_URL")
	if url == "" {
		t.Skip("KURRENTDB_URL is not set: set it to an esdb connection string to run the failure cases against a real KurrentDB")
	}
	for _, c := range failureCases {
		t.Run(c.name, func(t *testing.T) {
			config, err := esdb.ParseConnectionString(url)
			require.NoError(t, err)
			raw, err := esdb.NewClient(config)
			require.NoError(t, err)
			t.Cleanup(func() { _ = raw.Close() })
			c.test(t, node{url: url, prefix: uniquePrefix(), raw: raw})
		})
	}
}

// nodeLimitIsTooLarge: the store believes the node takes 4 MiB, the node
// takes 1 MiB. The node's refusal must still read as too large, not as
// unavailable.
func nodeLimitIsTooLarge(t *testing.T, n node) {
	store := n.open(t, kurrentdb.WithMaxAppendSize(4<<20))
	for _, count := range []int{1, 20} { // 20: the node refuses while the client is still sending
		_, err := store.Append(testContext(t), "acme", events.Cursor{}, bigRecords("acme", events.Cursor{}, count, (2<<20)/count))
		require.ErrorIs(t, err, events.ErrTooLarge, "%d records", count)
		require.NotErrorIs(t, err, events.ErrUnavailable)
		assert.Contains(t, err.Error(), "--kurrentdb-max-append")
	}
	requireNothingStored(t, store, "acme")
}

func tombstonedIsDamaged(t *testing.T, n node) {
	store := n.open(t)
	_, cur := appendNext(t, store, "acme", events.Cursor{}, 2)
	_, err := n.raw.TombstoneStream(testContext(t), n.prefix+"acme", esdb.TombstoneStreamOptions{})
	require.NoError(t, err)

	err = store.Read(testContext(t), "acme", events.Cursor{}, func(events.Record) error { return nil })
	require.ErrorIs(t, err, events.ErrDamaged)
	require.NotErrorIs(t, err, events.ErrUnavailable)
	assert.Contains(t, err.Error(), n.prefix+"acme")
	_, err = store.Append(testContext(t), "acme", cur, newRecords("acme", cur, 1))
	require.ErrorIs(t, err, events.ErrDamaged)
	_, err = store.Append(testContext(t), "acme", events.Cursor{}, newRecords("acme", events.Cursor{}, 1))
	require.ErrorIs(t, err, events.ErrDamaged, "not a new tenant either")
}

func softDeletedIsDamaged(t *testing.T, n node) {
	store := n.open(t)
	appendNext(t, store, "acme", events.Cursor{}, 2)
	_, err := n.raw.DeleteStream(testContext(t), n.prefix+"acme", esdb.DeleteStreamOptions{})
	require.NoError(t, err)

	err = store.Read(testContext(t), "acme", events.Cursor{}, func(events.Record) error { return nil })
	require.ErrorIs(t, err, events.ErrDamaged)
	assert.Contains(t, err.Error(), "deleted")
	err = store.Read(testContext(t), "globex", events.Cursor{}, func(events.Record) error { return nil })
	require.NoError(t, err, "a tenant never written is still empty")
}

func subscribeAndHeadPassOverATombstone(t *testing.T, n node) {
	store := n.open(t)
	appendNext(t, store, "acme", events.Cursor{}, 1)
	_, globex := appendNext(t, store, "globex", events.Cursor{}, 1)
	_, err := n.raw.TombstoneStream(testContext(t), n.prefix+"acme", esdb.TombstoneStreamOptions{})
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
