package kurrentdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/kurrentdb"
	"github.com/licensing-ledger/ledger/infra/kurrentdb/kurrentdbtest"
)

// subscriber runs Subscribe in the background and hands over what it
// delivers.
type subscriber struct {
	recs chan events.Record
	done chan error
	stop context.CancelFunc
}

func subscribe(t *testing.T, store *kurrentdb.Store, after events.Position) *subscriber {
	ctx, cancel := context.WithCancel(t.Context())
	s := &subscriber{recs: make(chan events.Record, 100), done: make(chan error, 1), stop: cancel}
	go func() {
		s.done <- store.Subscribe(ctx, after, func(r events.Record) error {
			s.recs <- r
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// take waits for n records; resubscribing after a lost connection can take
// the client a few seconds of rediscovery.
func (s *subscriber) take(t *testing.T, n int) []events.Record {
	t.Helper()
	var got []events.Record
	timeout := time.After(15 * time.Second)
	for len(got) < n {
		select {
		case r := <-s.recs:
			got = append(got, r)
		case err := <-s.done:
			t.Fatalf("Subscribe returned after %d of %d records: %v", len(got), n, err)
		case <-timeout:
			t.Fatalf("got %d of %d records", len(got), n)
		}
	}
	return got
}

func ids(recs []events.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

func appendNext(t *testing.T, store *kurrentdb.Store, tenant string, after events.Cursor, n int) ([]events.Record, events.Cursor) {
	t.Helper()
	recs := newRecords(tenant, after, n)
	cur, err := store.Append(testContext(t), tenant, after, recs)
	require.NoError(t, err)
	return recs, cur
}

func TestSubscribeAndHeadSkipEventsOfOtherStreams(t *testing.T) {
	srv := kurrentdbtest.Start(t)
	raw := rawClient(t, srv)
	store := open(t, srv.ConnectionString())
	defer store.Close()
	appendRaw(t, raw, "$settings", "$system")
	recs, cur := appendNext(t, store, "acme", events.Cursor{}, 2)
	appendRaw(t, raw, "ledger", "NoDash")
	appendRaw(t, raw, "ledgers-acme", "OtherPrefix")
	appendRaw(t, raw, "$$ledger-acme", "$metadata")

	head, err := store.Head(testContext(t))
	require.NoError(t, err)
	assert.Equal(t, cur.Position, head, "the newest ledger event, not the newest event")

	sub := subscribe(t, store, 0)
	more, _ := appendNext(t, store, "acme", cur, 1)
	assert.Equal(t, ids(append(recs, more...)), ids(sub.take(t, 3)))
	select {
	case r := <-sub.recs:
		t.Errorf("delivered a record of another stream: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestSubscribeResubscribesAfterTheLastRecordWhenDropped(t *testing.T) {
	srv := kurrentdbtest.Start(t)
	store := open(t, srv.ConnectionString())
	defer store.Close()
	first, cur := appendNext(t, store, "acme", events.Cursor{}, 2)
	sub := subscribe(t, store, 0)
	assert.Equal(t, ids(first), ids(sub.take(t, 2)))

	srv.DropSubscriptions()
	second, _ := appendNext(t, store, "acme", cur, 2)
	assert.Equal(t, ids(second), ids(sub.take(t, 2)), "each record once, in order")
}

func TestSubscribeRidesOutANodeRestart(t *testing.T) {
	srv := kurrentdbtest.Start(t)
	store := open(t, srv.ConnectionString())
	defer store.Close()
	first, cur := appendNext(t, store, "acme", events.Cursor{}, 1)
	sub := subscribe(t, store, 0)
	assert.Equal(t, ids(first), ids(sub.take(t, 1)))

	srv.Stop()
	time.Sleep(1500 * time.Millisecond) // long enough for the client to give up rediscovering
	require.NoError(t, srv.Restart())
	second, _ := appendEventually(t, store, "acme", cur)
	assert.Equal(t, ids(second), ids(sub.take(t, 1)))
}

// appendEventually retries an append while the store is unavailable, as a
// caller does.
func appendEventually(t *testing.T, store *kurrentdb.Store, tenant string, after events.Cursor) ([]events.Record, events.Cursor) {
	t.Helper()
	recs := newRecords(tenant, after, 1)
	deadline := time.Now().Add(15 * time.Second)
	for {
		cur, err := store.Append(testContext(t), tenant, after, recs)
		if err == nil {
			return recs, cur
		}
		require.ErrorIs(t, err, events.ErrUnavailable)
		require.True(t, time.Now().Before(deadline), "still unavailable: %v", err)
		time.Sleep(100 * time.Millisecond)
	}
}

func TestSubscribeFromTheHeadDeliversOnlyNewRecords(t *testing.T) {
	srv := kurrentdbtest.Start(t)
	store := open(t, srv.ConnectionString())
	defer store.Close()
	_, cur := appendNext(t, store, "acme", events.Cursor{}, 3)
	head, err := store.Head(testContext(t))
	require.NoError(t, err)

	sub := subscribe(t, store, head)
	next, _ := appendNext(t, store, "acme", cur, 1)
	assert.Equal(t, ids(next), ids(sub.take(t, 1)))
}
