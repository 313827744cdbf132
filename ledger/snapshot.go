package ledger

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"

	"github.com/oklog/ulid/v2"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/events"
)

// DefaultSnapshotEvery is how many events a tenant gains between snapshots.
// Encoding a large tenant's state takes milliseconds, so snapshots are taken
// rarely enough to cost little per event, and often enough that a cold load
// reads at most this many events after the snapshot.
const DefaultSnapshotEvery = 5000

// snapshotFormat is the snapshot encoding this release writes (see
// snapshotFile); it reads the first one (snapshotData) too.
const snapshotFormat = 2

// snapshotFile is what a snapshot holds besides the cursor: the domain state
// and the command index that makes retries idempotent, in the index's
// compact binary encoding (a gob map took most of a cold load's time). Its
// field names differ from snapshotData's on purpose: a release that knows
// only that format fails to decode this one and rebuilds the tenant from
// its events, instead of restoring it without its command index.
type snapshotFile struct {
	Format       int
	DomainState  []byte
	CommandIndex []byte
}

// snapshotData is the first snapshot format, still read.
type snapshotData struct {
	State    []byte
	Commands map[string]snapshotCommand
}

type snapshotCommand struct {
	Name   string
	Before events.Cursor
	Count  int
}

// snapshot encodes the aggregate for a snapshot store.
func (a *aggregate) snapshot() (events.Snapshot, error) {
	state, err := domain.EncodeState(a.state)
	if err != nil {
		return events.Snapshot{}, err
	}
	f := snapshotFile{Format: snapshotFormat, DomainState: state, CommandIndex: a.commands.appendBinary(nil)}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(f); err != nil {
		return events.Snapshot{}, err
	}
	return events.Snapshot{
		Tenant: a.state.Tenant, Cursor: a.cursor, Previous: a.previous,
		LastID: a.lastID, LastHash: a.lastHash, Data: buf.Bytes(),
	}, nil
}

// restore replaces the aggregate with a snapshot's content.
func (a *aggregate) restore(s events.Snapshot) error {
	encoded, commands, err := decodeSnapshot(s.Data)
	if err != nil {
		return fmt.Errorf("decoding the snapshot of %s: %w", s.Tenant, err)
	}
	state, err := domain.DecodeState(encoded)
	if err != nil {
		return err
	}
	if state.Tenant != a.state.Tenant {
		return fmt.Errorf("the snapshot of %s holds tenant %s", a.state.Tenant, state.Tenant)
	}
	a.view.Lock()
	defer a.view.Unlock()
	a.state, a.cursor, a.previous, a.lastID, a.lastHash = state, s.Cursor, s.Previous, s.LastID, s.LastHash
	a.commands = commands
	return nil
}

// decodeSnapshot returns the encoded domain state and the command index of
// a snapshot of either format.
func decodeSnapshot(data []byte) ([]byte, commandIndex, error) {
	var f snapshotFile
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&f); err == nil {
		if f.Format != snapshotFormat {
			return nil, commandIndex{}, fmt.Errorf("snapshot format %d is not %d", f.Format, snapshotFormat)
		}
		commands, err := decodeCommandIndex(f.CommandIndex)
		return f.DomainState, commands, err
	}
	var d snapshotData
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&d); err != nil {
		return nil, commandIndex{}, err
	}
	commands := commandIndex{ulids: make(map[ulid.ULID]commandRef, len(d.Commands))}
	for id, c := range d.Commands {
		commands.put(id, commandRef{name: nameOf(c.Name), before: c.Before, count: uint32(c.Count)})
	}
	return d.State, commands, nil
}

// fromSnapshot loads the tenant's snapshot into an empty aggregate if there
// is one that belongs to the stream: its last event must be stored where the
// snapshot says, with the same id and hash. Any doubt falls back to the
// events, so a snapshot can make a load faster but never wrong.
func (s *Service) fromSnapshot(ctx context.Context, a *aggregate) {
	if s.snapshots == nil || a.cursor.Sequence != 0 {
		return
	}
	snap, ok, err := s.snapshots.LoadSnapshot(ctx, a.state.Tenant)
	if err != nil || !ok {
		if err != nil {
			s.log.Warn("loading a snapshot failed; reading the events", "tenant", a.state.Tenant, "err", err)
		}
		return
	}
	if err := s.checkSnapshot(ctx, snap); err != nil {
		s.log.Warn("ignoring a snapshot", "tenant", a.state.Tenant, "err", err)
		return
	}
	if err := a.restore(snap); err != nil {
		s.log.Warn("ignoring a snapshot", "tenant", a.state.Tenant, "err", err)
		a.reset()
	}
}

var errSnapshotChecked = errors.New("checked")

// checkSnapshot re-reads the snapshot's last event from the store.
func (s *Service) checkSnapshot(ctx context.Context, snap events.Snapshot) error {
	found := false
	err := s.store.Read(ctx, snap.Tenant, snap.Previous, func(r events.Record) error {
		if r.Sequence < snap.Cursor.Sequence {
			return nil // Previous may be before the whole last append
		}
		if r.ID != snap.LastID || r.Sequence != snap.Cursor.Sequence || !bytes.Equal(events.Hash(r.Data), snap.LastHash) {
			return fmt.Errorf("event %d of the stream is %s, not the snapshot's %s", snap.Cursor.Sequence, r.ID, snap.LastID)
		}
		found = true
		return errSnapshotChecked
	})
	if errors.Is(err, errSnapshotChecked) {
		err = nil
	}
	if err == nil && !found {
		err = fmt.Errorf("the stream has no event %d", snap.Cursor.Sequence)
	}
	return err
}

// maybeSnapshot saves a snapshot once the tenant has gained enough events
// since the last one. The state is encoded under the tenant's lock; the
// write happens in the background.
func (s *Service) maybeSnapshot(a *aggregate) {
	if s.snapshots == nil || a.sinceSnapshot < s.snapshotEvery {
		return
	}
	a.sinceSnapshot = 0
	snap, err := a.snapshot()
	if err != nil {
		s.log.Warn("encoding a snapshot failed", "tenant", a.state.Tenant, "err", err)
		return
	}
	go func() {
		if err := s.saveSnapshot(context.Background(), a, snap); err != nil {
			s.log.Warn("saving a snapshot failed", "tenant", snap.Tenant, "err", err)
		}
	}()
}

// saveSnapshot writes a snapshot unless a newer one of the tenant was
// written already: saves run in the background and may finish out of
// order, and an older snapshot must never replace a newer one.
func (s *Service) saveSnapshot(ctx context.Context, a *aggregate, snap events.Snapshot) error {
	a.snapMu.Lock()
	defer a.snapMu.Unlock()
	if snap.Cursor.Sequence <= a.savedSnapshot {
		return nil
	}
	if err := s.snapshots.SaveSnapshot(ctx, snap); err != nil {
		return err
	}
	a.savedSnapshot = snap.Cursor.Sequence
	return nil
}

// Snapshot saves the tenant's snapshot now, whatever its age: for operators
// and benchmarks that want the next cold load to be fast.
func (s *Service) Snapshot(ctx context.Context, tenant string) error {
	if s.snapshots == nil {
		return errors.New("ledger: no snapshot store configured")
	}
	a := s.aggregate(tenant)
	if err := a.mu.lock(ctx); err != nil {
		return err
	}
	if err := s.load(ctx, a); err != nil {
		a.mu.unlock()
		return err
	}
	snap, err := a.snapshot()
	a.mu.unlock()
	if err != nil {
		return err
	}
	return s.saveSnapshot(ctx, a, snap)
}
