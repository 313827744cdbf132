package kurrentdb_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/kurrentdb"
	"github.com/licensing-ledger/ledger/infra/kurrentdb/kurrentdbtest"
)

func TestCallsFailAsUnavailableWhileTheNodeIsDownAndRecoverAfter(t *testing.T) {
	srv := kurrentdbtest.Start(t)
	store := open(t, srv.ConnectionString())
	defer store.Close()
	_, cur := appendNext(t, store, "acme", events.Cursor{}, 1)

	srv.Stop()
	for range 3 { // a lost connection, a failed rediscovery, a closed client
		_, err := store.Append(testContext(t), "acme", cur, newRecords("acme", cur, 1))
		require.ErrorIs(t, err, events.ErrUnavailable)
	}
	err := store.Read(testContext(t), "acme", events.Cursor{}, func(events.Record) error { return nil })
	require.ErrorIs(t, err, events.ErrUnavailable)
	_, err = store.Head(testContext(t))
	require.ErrorIs(t, err, events.ErrUnavailable)

	require.NoError(t, srv.Restart())
	_, next := appendEventually(t, store, "acme", cur)
	assert.Equal(t, uint64(2), next.Sequence)
}

func TestOpenFailsAsUnavailableWhenNothingListens(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = kurrentdb.Open(ctx, "esdb://"+addr+"?tls=false", kurrentdb.WithLogger(testLogger(t)))
	require.ErrorIs(t, err, events.ErrUnavailable)
}

func TestOpenRefusesABadConnectionString(t *testing.T) {
	_, err := kurrentdb.Open(context.Background(), "http://localhost:2113")
	require.Error(t, err)
	assert.NotErrorIs(t, err, events.ErrUnavailable)
}

func TestATimeOutIsUnavailableButACancellationIsNot(t *testing.T) {
	store := open(t, kurrentdbtest.Start(t).ConnectionString())
	defer store.Close()
	recs := newRecords("acme", events.Cursor{}, 1)

	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := store.Append(expired, "acme", events.Cursor{}, recs)
	require.ErrorIs(t, err, events.ErrUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = store.Append(cancelled, "acme", events.Cursor{}, recs)
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, events.ErrUnavailable)
}

// TestPingTellsWhetherTheNodeAnswers: the readiness probe of the store
// (events.Pinger) answers on an empty node and a used one, is unavailable
// while the node is down, and answers again after.
func TestPingTellsWhetherTheNodeAnswers(t *testing.T) {
	srv := kurrentdbtest.Start(t)
	store := open(t, srv.ConnectionString())
	defer store.Close()
	require.NoError(t, store.Ping(testContext(t)), "an empty node")
	appendNext(t, store, "acme", events.Cursor{}, 1)
	require.NoError(t, store.Ping(testContext(t)))

	srv.Stop()
	require.ErrorIs(t, store.Ping(testContext(t)), events.ErrUnavailable)
	require.NoError(t, srv.Restart())
	require.Eventually(t, func() bool { return store.Ping(testContext(t)) == nil }, 20*time.Second, 100*time.Millisecond)
}
