package ledger

import (
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
// idempotent retries (L5). Its mutex serializes the tenant's commands.
type aggregate struct {
	mu       sync.Mutex
	state    *domain.State
	cursor   events.Cursor
	previous events.Cursor // the cursor before the last event, for snapshots
	lastID   string
	lastHash []byte
	commands map[string]commandRef
	loaded   bool
	// sinceSnapshot counts the events applied since the last snapshot.
	sinceSnapshot int
}

// commandRef locates the events of one command in the tenant's stream.
type commandRef struct {
	name   string // command type, to detect a key reused for another command
	before events.Cursor
	count  int
}

func newAggregate(tenant string) *aggregate {
	return &aggregate{state: domain.NewState(tenant), commands: map[string]commandRef{}}
}

// catchUp applies the events appended to the tenant's stream since the
// aggregate last looked, by this process or another one.
func (a *aggregate) catchUp(ctx context.Context, store events.Store) error {
	err := store.Read(ctx, a.state.Tenant, a.cursor, func(r events.Record) error {
		e, err := events.DecodeRecord(r)
		if err != nil {
			return err
		}
		return a.apply(r, e)
	})
	if err == nil {
		a.loaded = true
	}
	return err
}

// apply evolves the aggregate by one stored event, checking that it follows
// the previous one in sequence and hash chain.
func (a *aggregate) apply(r events.Record, e *ledgerv1.Event) error {
	if r.Sequence != a.cursor.Sequence+1 {
		return fmt.Errorf("ledger: tenant %s: event %s has sequence %d after %d", r.Tenant, r.ID, r.Sequence, a.cursor.Sequence)
	}
	if !bytes.Equal(e.GetPrevHash(), a.lastHash) {
		return fmt.Errorf("ledger: tenant %s: event %s (sequence %d) does not chain to the event before it", r.Tenant, r.ID, r.Sequence)
	}
	if id := e.GetCommandId(); id != "" {
		ref, ok := a.commands[id]
		if !ok {
			ref = commandRef{name: e.GetCommand(), before: a.cursor}
		}
		ref.count++
		a.commands[id] = ref
	}
	a.state.Apply(e)
	a.previous, a.cursor = a.cursor, r.Cursor()
	a.lastID, a.lastHash = r.ID, events.Hash(r.Data)
	a.sinceSnapshot++
	return nil
}
