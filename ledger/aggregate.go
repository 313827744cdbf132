package ledger

import (
	"time"

	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/events"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// aggregate is one tenant's write model as this process knows it: the domain
// state, where it stands in the tenant's stream, the hash of the last event
// (the next one's prev_hash), and where each command's events are, for
// idempotent retries (L5).
//
// mu serializes the tenant's commands and loads; it is held while a command
// is decided and appended, a store round trip, and a command waits for it
// no longer than its context allows. view lets queries read the
// state, the cursor and loaded without waiting for that round trip: whoever
// changes them holds mu and view both, and holds view only while changing
// them.
type aggregate struct {
	mu     tenantLock
	view   sync.RWMutex
	state  *domain.State
	cursor events.Cursor
	// previous is a stored cursor before the last event (the one before it,
	// or before the last append), from which a snapshot's last event is
	// read again to check it.
	previous events.Cursor
	lastID   string
	lastHash []byte
	commands commandIndex
	loaded   bool
	// damage, once set, is why the tenant's history cannot be used; it is
	// never loaded again in this process (see Service.markDamaged).
	damage *Damage
	// sinceSnapshot counts the events applied since the last snapshot.
	sinceSnapshot int
	// snapMu orders snapshot saves; savedSnapshot is the sequence of the
	// newest one saved.
	snapMu        sync.Mutex
	savedSnapshot uint64
}

func newAggregate(tenant string) *aggregate {
	return &aggregate{state: domain.NewState(tenant), mu: make(tenantLock, 1)}
}

// tenantLock is a mutex whose waiters give up when their context ends:
// the commands queued behind one that waits for a store that does not
// answer must answer by their deadline, not by its.
type tenantLock chan struct{}

// lock waits for the lock until ctx ends, and returns ctx's error then.
func (l tenantLock) lock(ctx context.Context) error {
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// tryLock takes the lock if it is free.
func (l tenantLock) tryLock() bool {
	select {
	case l <- struct{}{}:
		return true
	default:
		return false
	}
}

// unlock releases the lock.
func (l tenantLock) unlock() { <-l }

// catchUp applies the events appended to the tenant's stream since the
// aggregate last looked, by this process or another one.
func (a *aggregate) catchUp(ctx context.Context, store events.Store) error {
	err := store.Read(ctx, a.state.Tenant, a.cursor, func(r events.Record) error {
		e, err := events.DecodeRecord(r)
		if err != nil {
			return &historyBreak{Tenant: r.Tenant, Sequence: r.Sequence, Reason: fmt.Sprintf("event %s (sequence %d) does not decode: %v", r.ID, r.Sequence, err)}
		}
		return a.apply(r, e, events.Hash(r.Data))
	})
	if err == nil {
		a.setLoaded(true)
	}
	return err
}

// setLoaded records whether the aggregate is known to be current. The
// caller holds mu.
func (a *aggregate) setLoaded(loaded bool) {
	a.view.Lock()
	a.loaded = loaded
	a.view.Unlock()
}

// reset empties the aggregate, which then loads from the first event.
// The caller holds mu.
func (a *aggregate) reset() {
	a.view.Lock()
	defer a.view.Unlock()
	tenant := a.state.Tenant
	a.state, a.cursor, a.previous, a.lastID, a.lastHash = domain.NewState(tenant), events.Cursor{}, events.Cursor{}, "", nil
	a.commands, a.loaded, a.sinceSnapshot = commandIndex{}, false, 0
}

// authorize decides a query against the state as it stands, without
// waiting for a command in flight; decided is false when the aggregate is
// not loaded, and the caller must load it first.
func (a *aggregate) authorize(p domain.Principal, query, subjectUser string, now time.Time) (decided bool, err error) {
	a.view.RLock()
	defer a.view.RUnlock()
	if !a.loaded {
		return false, nil
	}
	return true, domain.AuthorizeAt(p, a.state, query, subjectUser, now)
}

// sequence returns the tenant sequence of the last event applied.
func (a *aggregate) sequence() uint64 {
	a.view.RLock()
	defer a.view.RUnlock()
	return a.cursor.Sequence
}

// historyBreak is a stored event that does not follow the aggregate's
// last one, in sequence or hash chain, or does not decode. Read from the
// tenant's first event, it means the history is damaged (see Damage);
// after a cached state or a snapshot, it may only mean that they do not
// fit the stream.
type historyBreak struct {
	Tenant string
	// Sequence is the first event missing, altered or unreadable.
	Sequence uint64
	Reason   string
}

func (b *historyBreak) Error() string {
	return fmt.Sprintf("ledger: tenant %s: the history breaks at event %d: %s", b.Tenant, b.Sequence, b.Reason)
}

// apply evolves the aggregate by one stored event, checking that it follows
// the previous one in sequence and hash chain; hash is the SHA-256 of the
// record's bytes. The caller holds mu.
func (a *aggregate) apply(r events.Record, e *ledgerv1.Event, hash []byte) error {
	a.view.Lock()
	defer a.view.Unlock()
	if want := a.cursor.Sequence + 1; r.Sequence != want {
		return &historyBreak{Tenant: r.Tenant, Sequence: min(want, r.Sequence), Reason: fmt.Sprintf("event %s has sequence %d where %d was due", r.ID, r.Sequence, want)}
	}
	if !bytes.Equal(e.GetPrevHash(), a.lastHash) {
		return &historyBreak{Tenant: r.Tenant, Sequence: max(a.cursor.Sequence, 1), Reason: fmt.Sprintf(
			"event %s (sequence %d) does not chain to the event before it: the stored bytes of one of them were changed", r.ID, r.Sequence)}
	}
	if id := e.GetCommandId(); id != "" {
		ref, ok := a.commands.get(id)
		if !ok {
			ref = commandRef{name: nameOf(e.GetCommand()), before: a.cursor}
		}
		ref.count++
		a.commands.put(id, ref)
	}
	a.state.Apply(e)
	a.previous, a.cursor = a.cursor, r.Cursor()
	a.lastID, a.lastHash = r.ID, hash
	a.sinceSnapshot++
	return nil
}
