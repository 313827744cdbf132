// Package storetest is the conformance suite of the event store port: every
// events.Store adapter runs it against its own backend, so that the ledger
// behaves the same whichever store it runs on. It tests only what the port
// promises, never how an adapter keeps its promises.
package storetest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
)

// Factory prepares one fresh, empty backing storage for the test t and
// returns open. Each call of open returns a new store over that same storage,
// as a process restarting would get. Calling open again may end the stores
// it returned before (it may restart a server), so the suite works with one
// store at a time and closes each store it opens; the factory releases the
// storage itself (t.Cleanup).
type Factory func(t *testing.T) (open func() events.Store)

// caseTimeout bounds every store call of one case, so that a hung store
// fails the case instead of the whole test binary.
const caseTimeout = 20 * time.Second

// waitTimeout bounds how long a case waits for a subscription to deliver.
const waitTimeout = 10 * time.Second

// The tenants the cases use; storage is fresh for each case.
const (
	acme   = "acme"
	globex = "globex"
)

// Run runs every conformance case as a subtest named after the case.
func Run(t *testing.T, factory Factory) {
	cases := []struct {
		name string
		test func(f *fixture)
	}{
		{"AppendNothingReturnsExpected", appendNothingReturnsExpected},
		{"AppendToEmptyTenantThenRead", appendToEmptyTenantThenRead},
		{"AppendContinuesFromReturnedCursor", appendContinuesFromReturnedCursor},
		{"ConflictOnStaleCursor", conflictOnStaleCursor},
		{"ConflictOnCursorAheadOfStream", conflictOnCursorAheadOfStream},
		{"RacingAppendsAtSameCursor", racingAppendsAtSameCursor},
		{"MultiRecordAppendIsAtomic", multiRecordAppendIsAtomic},
		{"ReadersNeverSeePartialAppends", readersNeverSeePartialAppends},
		{"IdempotentRetrySingleRecord", idempotentRetrySingleRecord},
		{"IdempotentRetryMultiRecord", idempotentRetryMultiRecord},
		{"IdempotentRetryAfterLaterAppends", idempotentRetryAfterLaterAppends},
		{"RetryWithChangedRecordsConflicts", retryWithChangedRecordsConflicts},
		{"SameIDsOtherDataConflicts", sameIDsOtherDataConflicts},
		{"TenantIsolation", tenantIsolation},
		{"ReadAfterCursorInTheMiddle", readAfterCursorInTheMiddle},
		{"ReadUnknownTenantIsEmpty", readUnknownTenantIsEmpty},
		{"ReadReturnsFnError", readReturnsFnError},
		{"SubscribeCatchesUpThenFollows", subscribeCatchesUpThenFollows},
		{"SubscribeResumesFromPosition", subscribeResumesFromPosition},
		{"SubscribeReturnsFnError", subscribeReturnsFnError},
		{"SubscribeEndsWithContext", subscribeEndsWithContext},
		{"Head", head},
		{"RestartKeepsEverything", restartKeepsEverything},
		{"BatchOf500", batchOf500},
		{"EmptyAndLargeData", emptyAndLargeData},
		{"TooLargeAppendRefusedWhole", tooLargeAppendRefusedWhole},
		{"InvalidTokensRefused", invalidTokensRefused},
		{"SequencesMustFollowCursor", sequencesMustFollowCursor},
		{"CheckpointsCoverTheStore", checkpointsCoverTheStore},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.test(newFixture(t, factory(t))) })
	}
}

func appendNothingReturnsExpected(f *fixture) {
	cur, err := f.store.Append(f.ctx, acme, events.Cursor{}, nil)
	require.NoError(f.t, err)
	require.Equal(f.t, events.Cursor{}, cur)

	c1 := f.append(acme, events.Cursor{}, records(acme, events.Cursor{}, 1))
	cur, err = f.store.Append(f.ctx, acme, c1, []events.Record{})
	require.NoError(f.t, err)
	require.Equal(f.t, c1, cur)
	require.Len(f.t, f.read(acme, events.Cursor{}), 1)
}

func appendToEmptyTenantThenRead(f *fixture) {
	one := records(acme, events.Cursor{}, 1)
	c1 := f.append(acme, events.Cursor{}, one)
	three := records(acme, c1, 3)
	c2 := f.append(acme, c1, three)

	got := f.read(acme, events.Cursor{})
	requireRecords(f.t, slices.Concat(one, three), got)
	require.Equal(f.t, got[0].Cursor(), c1)
	require.Equal(f.t, got[3].Cursor(), c2)
}

func appendContinuesFromReturnedCursor(f *fixture) {
	var want []events.Record
	cur := events.Cursor{}
	for i := range 6 {
		recs := records(acme, cur, 1+i%3)
		next := f.append(acme, cur, recs)
		require.Equal(f.t, cur.Sequence+uint64(len(recs)), next.Sequence)
		require.Greater(f.t, next.Position, cur.Position)
		want, cur = append(want, recs...), next
	}
	got := f.read(acme, events.Cursor{})
	requireRecords(f.t, want, got)
	require.Equal(f.t, got[len(got)-1].Cursor(), cur)
}

func conflictOnStaleCursor(f *fixture) {
	first := records(acme, events.Cursor{}, 1)
	c1 := f.append(acme, events.Cursor{}, first)
	second := records(acme, c1, 2)
	f.append(acme, c1, second)

	_, err := f.store.Append(f.ctx, acme, c1, records(acme, c1, 1))
	require.ErrorIs(f.t, err, events.ErrConflict)
	_, err = f.store.Append(f.ctx, acme, events.Cursor{}, records(acme, events.Cursor{}, 2))
	require.ErrorIs(f.t, err, events.ErrConflict)

	requireRecords(f.t, slices.Concat(first, second), f.read(acme, events.Cursor{}))
}

func conflictOnCursorAheadOfStream(f *fixture) {
	c1 := f.append(acme, events.Cursor{}, records(acme, events.Cursor{}, 1))
	ahead := events.Cursor{Sequence: c1.Sequence + 1, Position: c1.Position + 1}
	_, err := f.store.Append(f.ctx, acme, ahead, records(acme, ahead, 1))
	require.ErrorIs(f.t, err, events.ErrConflict)

	ahead = events.Cursor{Sequence: 1, Position: c1.Position}
	_, err = f.store.Append(f.ctx, globex, ahead, records(globex, ahead, 1))
	require.ErrorIs(f.t, err, events.ErrConflict, "a cursor on an empty tenant")
	require.Len(f.t, f.read(acme, events.Cursor{}), 1)
	require.Empty(f.t, f.read(globex, events.Cursor{}))
}

func racingAppendsAtSameCursor(f *fixture) {
	const writers, rounds = 8, 5
	var want []events.Record
	cur := events.Cursor{}
	for range rounds {
		winner, next := f.race(cur, writers)
		want, cur = append(want, winner...), next
	}
	got := f.read(acme, events.Cursor{})
	requireRecords(f.t, want, got)
	require.Equal(f.t, got[len(got)-1].Cursor(), cur)
}

// race has writers append different records at the same cursor at once and
// requires exactly one to win and the others to conflict.
func (f *fixture) race(cur events.Cursor, writers int) ([]events.Record, events.Cursor) {
	batches := make([][]events.Record, writers)
	cursors := make([]events.Cursor, writers)
	errs := make([]error, writers)
	for w := range writers {
		batches[w] = records(acme, cur, 1+w%2)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			cursors[w], errs[w] = f.store.Append(f.ctx, acme, cur, batches[w])
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for w, err := range errs {
		if err == nil {
			require.Equal(f.t, -1, winner, "two appends won at the same cursor")
			winner = w
			continue
		}
		require.ErrorIs(f.t, err, events.ErrConflict)
	}
	require.NotEqual(f.t, -1, winner, "no append won")
	return batches[winner], cursors[winner]
}

func multiRecordAppendIsAtomic(f *fixture) {
	first := records(acme, events.Cursor{}, 3)
	c1 := f.append(acme, events.Cursor{}, first)
	require.Equal(f.t, uint64(3), c1.Sequence)

	stale := records(acme, events.Cursor{}, 4)
	_, err := f.store.Append(f.ctx, acme, events.Cursor{}, stale)
	require.ErrorIs(f.t, err, events.ErrConflict)
	requireRecords(f.t, first, f.read(acme, events.Cursor{}), "a conflicting append stores none of its records")

	second := records(acme, c1, 3)
	f.append(acme, c1, second)
	requireRecords(f.t, slices.Concat(first, second), f.read(acme, events.Cursor{}))
}

func readersNeverSeePartialAppends(f *fixture) {
	const appends, size = 30, 5
	done := make(chan struct{})
	go func() {
		defer close(done)
		cur := events.Cursor{}
		for range appends {
			next, err := f.store.Append(f.ctx, acme, cur, records(acme, cur, size))
			if !assert.NoError(f.t, err) {
				return
			}
			cur = next
		}
	}()
	defer func() { <-done }() // even when a check below fails
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		got := f.read(acme, events.Cursor{})
		require.Zero(f.t, len(got)%size, "read %d records, a partial append", len(got))
		requireGapless(f.t, got)
	}
	require.Len(f.t, f.read(acme, events.Cursor{}), appends*size)
}

func idempotentRetrySingleRecord(f *fixture) {
	recs := records(acme, events.Cursor{}, 1)
	c1 := f.append(acme, events.Cursor{}, recs)
	for range 2 {
		again := f.append(acme, events.Cursor{}, recs)
		require.Equal(f.t, c1, again)
	}
	requireRecords(f.t, recs, f.read(acme, events.Cursor{}))
}

func idempotentRetryMultiRecord(f *fixture) {
	c0 := f.append(acme, events.Cursor{}, records(acme, events.Cursor{}, 1))
	recs := records(acme, c0, 4)
	c1 := f.append(acme, c0, recs)
	for range 2 {
		again := f.append(acme, c0, recs)
		require.Equal(f.t, c1, again)
	}
	got := f.read(acme, c0)
	requireRecords(f.t, recs, got)
}

func idempotentRetryAfterLaterAppends(f *fixture) {
	first := records(acme, events.Cursor{}, 2)
	c1 := f.append(acme, events.Cursor{}, first)
	f.append(globex, events.Cursor{}, records(globex, events.Cursor{}, 1))
	second := records(acme, c1, 1)
	c2 := f.append(acme, c1, second)

	require.Equal(f.t, c1, f.append(acme, events.Cursor{}, first))
	require.Equal(f.t, c2, f.append(acme, c1, second))
	requireRecords(f.t, slices.Concat(first, second), f.read(acme, events.Cursor{}))
}

func retryWithChangedRecordsConflicts(f *fixture) {
	recs := records(acme, events.Cursor{}, 2)
	f.append(acme, events.Cursor{}, recs)
	changed := slices.Clone(recs)
	changed[1] = records(acme, events.Cursor{Sequence: 1}, 1)[0]
	_, err := f.store.Append(f.ctx, acme, events.Cursor{}, changed)
	require.ErrorIs(f.t, err, events.ErrConflict)
	requireRecords(f.t, recs, f.read(acme, events.Cursor{}))
}

// sameIDsOtherDataConflicts: records that share a stored append's ids but
// not its bytes are another writer's, not a retry: the append is refused
// as a conflict, never acknowledged as if it were stored.
func sameIDsOtherDataConflicts(f *fixture) {
	for _, n := range []int{1, 3} {
		tenant := fmt.Sprintf("%s-%d", acme, n)
		recs := records(tenant, events.Cursor{}, n)
		f.append(tenant, events.Cursor{}, recs)
		other := slices.Clone(recs)
		for i := range other {
			other[i].Data = fmt.Appendf(nil, `{"writer":"another","id":%q}`, other[i].ID)
		}
		_, err := f.store.Append(f.ctx, tenant, events.Cursor{}, other)
		require.ErrorIs(f.t, err, events.ErrConflict, "%d records", n)
		requireRecords(f.t, recs, f.read(tenant, events.Cursor{}))
	}
}

func tenantIsolation(f *fixture) {
	a := records(acme, events.Cursor{}, 2)
	ca := f.append(acme, events.Cursor{}, a)
	b := records(globex, events.Cursor{}, 1)
	cb := f.append(globex, events.Cursor{}, b)
	a2 := records(acme, ca, 1)
	f.append(acme, ca, a2)
	b2 := records(globex, cb, 2)
	f.append(globex, cb, b2)

	requireRecords(f.t, slices.Concat(a, a2), f.read(acme, events.Cursor{}))
	requireRecords(f.t, slices.Concat(b, b2), f.read(globex, events.Cursor{}))
	requireRecords(f.t, a2, f.read(acme, ca))
	requireRecords(f.t, b2, f.read(globex, cb))
}

func readAfterCursorInTheMiddle(f *fixture) {
	var want []events.Record
	var cursors []events.Cursor
	cur, other := events.Cursor{}, events.Cursor{}
	for range 5 {
		recs := records(acme, cur, 1)
		cur = f.append(acme, cur, recs)
		other = f.append(globex, other, records(globex, other, 1))
		want, cursors = append(want, recs...), append(cursors, cur)
	}
	requireRecords(f.t, want[2:], f.read(acme, cursors[1]))
	requireRecords(f.t, want[4:], f.read(acme, cursors[3]))
	require.Empty(f.t, f.read(acme, cursors[4]))
}

func readUnknownTenantIsEmpty(f *fixture) {
	require.Empty(f.t, f.read("nobody", events.Cursor{}))
	f.append(acme, events.Cursor{}, records(acme, events.Cursor{}, 3))
	require.Empty(f.t, f.read("nobody", events.Cursor{}))
	require.Empty(f.t, f.read("acm", events.Cursor{}), "a tenant id that prefixes another")
}

func readReturnsFnError(f *fixture) {
	f.append(acme, events.Cursor{}, records(acme, events.Cursor{}, 5))
	stop := errors.New("stop here")
	calls := 0
	err := f.store.Read(f.ctx, acme, events.Cursor{}, func(events.Record) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	require.ErrorIs(f.t, err, stop)
	require.Equal(f.t, 2, calls)
}

func subscribeCatchesUpThenFollows(f *fixture) {
	f.appendInterleaved(4)
	all := f.global()
	sub := f.subscribe(0)
	requireRecords(f.t, all, sub.take(f.t, len(all)), "catch-up")

	ca := all[len(all)-1].Cursor()
	live := records(globex, f.tail(globex), 2)
	f.append(globex, f.tail(globex), live)
	live2 := records(acme, f.tail(acme), 1)
	f.append(acme, f.tail(acme), live2)
	got := sub.take(f.t, 3)
	requireRecords(f.t, slices.Concat(live, live2), got, "live")
	require.Greater(f.t, got[0].Position, ca.Position)
	require.ErrorIs(f.t, sub.stop(f.t), context.Canceled)
}

func subscribeResumesFromPosition(f *fixture) {
	f.appendInterleaved(6)
	all := f.global()
	sub := f.subscribe(all[2].Position)
	requireRecords(f.t, all[3:], sub.take(f.t, len(all)-3))
	require.ErrorIs(f.t, sub.stop(f.t), context.Canceled)

	sub = f.subscribe(all[len(all)-1].Position)
	next := records(acme, f.tail(acme), 1)
	f.append(acme, f.tail(acme), next)
	requireRecords(f.t, next, sub.take(f.t, 1), "resuming from the head delivers only new records")
	require.ErrorIs(f.t, sub.stop(f.t), context.Canceled)
}

func subscribeReturnsFnError(f *fixture) {
	f.appendInterleaved(3)
	stop := errors.New("stop here")
	calls := 0
	err := f.store.Subscribe(f.ctx, 0, func(events.Record) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	require.ErrorIs(f.t, err, stop)
	require.Equal(f.t, 2, calls)
}

func subscribeEndsWithContext(f *fixture) {
	sub := f.subscribe(0)
	time.Sleep(50 * time.Millisecond)
	require.ErrorIs(f.t, sub.stop(f.t), context.Canceled)
}

func head(f *fixture) {
	pos, err := f.store.Head(f.ctx)
	require.NoError(f.t, err)
	require.Zero(f.t, pos, "an empty store")

	f.appendInterleaved(3)
	last := f.append(acme, f.tail(acme), records(acme, f.tail(acme), 2))
	pos, err = f.store.Head(f.ctx)
	require.NoError(f.t, err)
	require.Equal(f.t, last.Position, pos)
}

func restartKeepsEverything(f *fixture) {
	f.appendInterleaved(5)
	a := records(acme, f.tail(acme), 3)
	ca := f.append(acme, f.tail(acme), a)
	before := f.global()

	f.reopen()
	after := f.global()
	requireRecords(f.t, before, after)
	require.Equal(f.t, positions(before), positions(after))
	pos, err := f.store.Head(f.ctx)
	require.NoError(f.t, err)
	require.Equal(f.t, ca.Position, pos)

	before3 := f.cursorAt(acme, ca.Sequence-3)
	require.Equal(f.t, ca, f.append(acme, before3, a), "retrying an append made before the restart")
	_, err = f.store.Append(f.ctx, acme, before3, records(acme, before3, 1))
	require.ErrorIs(f.t, err, events.ErrConflict)
	next := f.append(acme, ca, records(acme, ca, 1))
	require.Equal(f.t, ca.Sequence+1, next.Sequence)

	sub := f.subscribe(0)
	require.Len(f.t, sub.take(f.t, len(before)+1), len(before)+1)
	require.ErrorIs(f.t, sub.stop(f.t), context.Canceled)
}

func batchOf500(f *fixture) {
	c0 := f.append(acme, events.Cursor{}, records(acme, events.Cursor{}, 1))
	recs := records(acme, c0, 500)
	cur := f.append(acme, c0, recs)
	require.Equal(f.t, uint64(501), cur.Sequence)
	requireRecords(f.t, recs, f.read(acme, c0))
	pos, err := f.store.Head(f.ctx)
	require.NoError(f.t, err)
	require.Equal(f.t, cur.Position, pos)
}

func emptyAndLargeData(f *fixture) {
	large := make([]byte, 64<<10)
	for i := range large {
		large[i] = byte(rand.IntN(256))
	}
	recs := records(acme, events.Cursor{}, 3)
	recs[0].Data, recs[1].Data, recs[2].Data = nil, []byte{}, large
	cur := f.append(acme, events.Cursor{}, recs)
	single := records(acme, cur, 1)
	single[0].Data = bytes.Repeat([]byte{0, 0xff, '\r', '\n'}, 16<<10)
	f.append(acme, cur, single)
	requireRecords(f.t, slices.Concat(recs, single), f.read(acme, events.Cursor{}))
}

// tooLargeAppendRefusedWhole appends more than any store takes at once
// by default (10 MiB: JetStream's embedded max_payload is 8 MiB,
// KurrentDB's MaxAppendSize 1 MiB): a stable, permanent error, and nothing
// stored.
func tooLargeAppendRefusedWhole(f *fixture) {
	recs := records(acme, events.Cursor{}, 10)
	for i := range recs {
		recs[i].Data = bytes.Repeat([]byte{byte(i)}, 1<<20)
	}
	_, err := f.store.Append(f.ctx, acme, events.Cursor{}, recs)
	require.ErrorIs(f.t, err, events.ErrTooLarge)
	require.NotErrorIs(f.t, err, events.ErrUnavailable, "sending it again would fail again")
	require.Empty(f.t, f.read(acme, events.Cursor{}))
	f.append(acme, events.Cursor{}, records(acme, events.Cursor{}, 1))
}

func invalidTokensRefused(f *fixture) {
	bad := []string{"", "a.b", ".", "*", ">", "a*", "a>", "a b", "tab\t", "nl\n", "nul\x00", "ledger.>"}
	for _, tenant := range bad {
		recs := records(tenant, events.Cursor{}, 1)
		_, err := f.store.Append(f.ctx, tenant, events.Cursor{}, recs)
		require.Error(f.t, err, "append to tenant %q", tenant)
		err = f.store.Read(f.ctx, tenant, events.Cursor{}, func(events.Record) error { return nil })
		require.Error(f.t, err, "read of tenant %q", tenant)
	}
	for _, eventType := range bad {
		recs := records(acme, events.Cursor{}, 1)
		recs[0].Type = eventType
		_, err := f.store.Append(f.ctx, acme, events.Cursor{}, recs)
		require.Error(f.t, err, "event type %q", eventType)
	}
	pos, err := f.store.Head(f.ctx)
	require.NoError(f.t, err)
	require.Zero(f.t, pos, "nothing stored")
}

func sequencesMustFollowCursor(f *fixture) {
	c1 := f.append(acme, events.Cursor{}, records(acme, events.Cursor{}, 1))
	gap := records(acme, events.Cursor{Sequence: c1.Sequence + 1}, 1)
	_, err := f.store.Append(f.ctx, acme, c1, gap)
	require.Error(f.t, err, "a gap in sequences")
	twice := records(acme, c1, 2)
	twice[1].Sequence = twice[0].Sequence
	_, err = f.store.Append(f.ctx, acme, c1, twice)
	require.Error(f.t, err, "a repeated sequence")
	require.Len(f.t, f.read(acme, events.Cursor{}), 1)
}

// fixture holds the store a case works with.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	open  func() events.Store
	store events.Store
}

// newFixture opens the first store over the case's fresh storage.
func newFixture(t *testing.T, open func() events.Store) *fixture {
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	f := &fixture{t: t, ctx: ctx, open: open, store: open()}
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, f.store.Close())
	})
	return f
}

// reopen closes the store and opens a new one over the same storage.
func (f *fixture) reopen() {
	require.NoError(f.t, f.store.Close())
	f.store = f.open()
}

// append appends recs and requires success.
func (f *fixture) append(tenant string, expected events.Cursor, recs []events.Record) events.Cursor {
	f.t.Helper()
	cur, err := f.store.Append(f.ctx, tenant, expected, recs)
	require.NoError(f.t, err)
	require.Equal(f.t, recs[len(recs)-1].Sequence, cur.Sequence)
	return cur
}

// read returns the tenant's records after the cursor.
func (f *fixture) read(tenant string, after events.Cursor) []events.Record {
	f.t.Helper()
	var got []events.Record
	err := f.store.Read(f.ctx, tenant, after, func(r events.Record) error {
		got = append(got, r)
		return nil
	})
	require.NoError(f.t, err)
	return got
}

// tail returns the cursor of the tenant's last record.
func (f *fixture) tail(tenant string) events.Cursor {
	f.t.Helper()
	recs := f.read(tenant, events.Cursor{})
	if len(recs) == 0 {
		return events.Cursor{}
	}
	return recs[len(recs)-1].Cursor()
}

// cursorAt returns the cursor of the tenant's record with that sequence,
// the zero cursor for sequence 0.
func (f *fixture) cursorAt(tenant string, seq uint64) events.Cursor {
	f.t.Helper()
	if seq == 0 {
		return events.Cursor{}
	}
	recs := f.read(tenant, events.Cursor{})
	require.GreaterOrEqual(f.t, uint64(len(recs)), seq)
	return recs[seq-1].Cursor()
}

// global returns every record of both tenants in global order.
func (f *fixture) global() []events.Record {
	all := append(f.read(acme, events.Cursor{}), f.read(globex, events.Cursor{})...)
	slices.SortFunc(all, func(a, b events.Record) int { return cmp.Compare(a.Position, b.Position) })
	return all
}

// appendInterleaved appends n single records alternating between tenants.
func (f *fixture) appendInterleaved(n int) {
	for i := range n {
		tenant := []string{acme, globex}[i%2]
		cur := f.tail(tenant)
		f.append(tenant, cur, records(tenant, cur, 1))
	}
}

// subscription collects what a running Subscribe delivers.
type subscription struct {
	recs   chan events.Record
	done   chan error
	cancel context.CancelFunc
	once   sync.Once
	err    error
}

// subscribe starts Subscribe after the position; the case's cleanup stops it
// before the store closes.
func (f *fixture) subscribe(after events.Position) *subscription {
	ctx, cancel := context.WithCancel(f.ctx)
	s := &subscription{recs: make(chan events.Record, 1024), done: make(chan error, 1), cancel: cancel}
	store := f.store
	go func() {
		s.done <- store.Subscribe(ctx, after, func(r events.Record) error {
			select {
			case s.recs <- r:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	f.t.Cleanup(func() { s.stop(f.t) })
	return s
}

// take waits for the next n records.
func (s *subscription) take(t *testing.T, n int) []events.Record {
	t.Helper()
	got := make([]events.Record, 0, n)
	timeout := time.After(waitTimeout)
	for len(got) < n {
		select {
		case r := <-s.recs:
			got = append(got, r)
		case err := <-s.done:
			s.done <- err
			require.FailNow(t, "subscription ended early", "after %d of %d records: %v", len(got), n, err)
		case <-timeout:
			require.FailNow(t, "subscription stalled", "%d of %d records", len(got), n)
		}
	}
	return got
}

// stop cancels the subscription, waits for Subscribe to return and returns
// its error; it requires that nothing more was delivered.
func (s *subscription) stop(t *testing.T) error {
	s.once.Do(func() {
		s.cancel()
		select {
		case s.err = <-s.done:
		case <-time.After(waitTimeout):
			s.err = errors.New("Subscribe did not return after its context ended")
		}
		if len(s.recs) > 0 {
			s.err = fmt.Errorf("%d unexpected records delivered", len(s.recs))
		}
	})
	return s.err
}

// records makes n records of the tenant following the cursor, with distinct
// ids and payloads.
func records(tenant string, after events.Cursor, n int) []events.Record {
	types := []string{"LicenseAssigned", "SeatAdded", "LicenseRevoked"}
	recs := make([]events.Record, n)
	for i := range recs {
		id := ulid.Make().String()
		recs[i] = events.Record{
			ID:       id,
			Tenant:   tenant,
			Type:     types[i%len(types)],
			Sequence: after.Sequence + uint64(i) + 1,
			Data:     fmt.Appendf(nil, `{"tenant":%q,"n":%d,"id":%q}`, tenant, i, id),
		}
	}
	return recs
}

// requireRecords requires got to be want as stored: same ids, tenants,
// types, sequences and bytes, with increasing positions.
func requireRecords(t *testing.T, want, got []events.Record, msgAndArgs ...any) {
	t.Helper()
	require.Len(t, got, len(want), msgAndArgs...)
	for i, w := range want {
		g := got[i]
		require.Equal(t, w.ID, g.ID, "record %d id", i)
		require.Equal(t, w.Tenant, g.Tenant, "record %d tenant", i)
		require.Equal(t, w.Type, g.Type, "record %d type", i)
		require.Equal(t, w.Sequence, g.Sequence, "record %d sequence", i)
		require.True(t, bytes.Equal(w.Data, g.Data), "record %d data: %d bytes stored, %d read", i, len(w.Data), len(g.Data))
		require.NotZero(t, g.Position, "record %d position", i)
		if i > 0 {
			require.Greater(t, g.Position, got[i-1].Position, "record %d position", i)
		}
	}
}

// requireGapless requires one tenant's records to number 1, 2, 3...
func requireGapless(t *testing.T, got []events.Record) {
	t.Helper()
	for i, r := range got {
		require.Equal(t, uint64(i+1), r.Sequence)
	}
}

// positions lists the records' positions.
func positions(recs []events.Record) []events.Position {
	out := make([]events.Position, len(recs))
	for i, r := range recs {
		out[i] = r.Position
	}
	return out
}
