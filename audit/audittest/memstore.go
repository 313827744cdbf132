// Package audittest holds what the audit tests of several packages share: an
// in-memory event store and a scenario that drives the real command service,
// so that tests audit events exactly as the ledger writes them.
package audittest

import (
	"context"
	"slices"
	"sync"

	"github.com/licensing-ledger/ledger/events"
)

// MemStore is an events.Store in memory, for tests: tenant streams with the
// optimistic concurrency check and idempotent retries of the port, and a
// global order that Subscribe follows.
type MemStore struct {
	mu      sync.Mutex
	all     []events.Record
	tenants map[string][]events.Record
	changed chan struct{} // closed and replaced on every append
}

var _ events.Store = (*MemStore)(nil)

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{tenants: map[string][]events.Record{}, changed: make(chan struct{})}
}

// Append stores recs at the end of the tenant's stream if it still ends at
// expected, or recognizes a retry of records already stored there.
func (s *MemStore) Append(_ context.Context, tenant string, expected events.Cursor, recs []events.Record) (events.Cursor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stream := s.tenants[tenant]
	if len(recs) == 0 {
		return expected, nil
	}
	if uint64(len(stream)) != expected.Sequence {
		return s.retried(stream, expected, recs)
	}
	for _, r := range recs {
		r.Position = events.Position(len(s.all) + 1)
		r.Data = slices.Clone(r.Data)
		s.all = append(s.all, r)
		stream = append(stream, r)
	}
	s.tenants[tenant] = stream
	close(s.changed)
	s.changed = make(chan struct{})
	return stream[len(stream)-1].Cursor(), nil
}

// retried returns the cursor of recs if they are already stored right after
// expected (an idempotent retry), or ErrConflict.
func (s *MemStore) retried(stream []events.Record, expected events.Cursor, recs []events.Record) (events.Cursor, error) {
	from := int(expected.Sequence)
	if from+len(recs) > len(stream) {
		return events.Cursor{}, events.ErrConflict
	}
	for i, r := range recs {
		if stream[from+i].ID != r.ID {
			return events.Cursor{}, events.ErrConflict
		}
	}
	return stream[from+len(recs)-1].Cursor(), nil
}

// Read calls fn for each record of the tenant after the cursor's sequence.
func (s *MemStore) Read(ctx context.Context, tenant string, after events.Cursor, fn func(events.Record) error) error {
	s.mu.Lock()
	stream := s.tenants[tenant]
	s.mu.Unlock()
	for _, r := range stream[min(int(after.Sequence), len(stream)):] {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// Subscribe calls fn for every record after the position, then for new
// ones as they are appended, until ctx ends or fn fails.
func (s *MemStore) Subscribe(ctx context.Context, after events.Position, fn func(events.Record) error) error {
	for {
		s.mu.Lock()
		batch, changed := s.all[min(int(after), len(s.all)):], s.changed
		s.mu.Unlock()
		for _, r := range batch {
			if err := fn(r); err != nil {
				return err
			}
			after = r.Position
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// Head returns the position of the newest record.
func (s *MemStore) Head(context.Context) (events.Position, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return events.Position(len(s.all)), nil
}

// Close does nothing: the store lives as long as the test.
func (s *MemStore) Close() error { return nil }

// Records returns the tenant's records, as stored.
func (s *MemStore) Records(tenant string) []events.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tenants[tenant])
}

// FlakyStore is a store whose Read delivers the tenant's records Repeat
// times over, then fails with Err: a read cut short, or, with Repeat 0, a
// store that fails at once.
type FlakyStore struct {
	*MemStore
	Repeat int
	Err    error
}

// Read delivers the records Repeat times, then returns Err.
func (f *FlakyStore) Read(ctx context.Context, tenant string, after events.Cursor, fn func(events.Record) error) error {
	for range f.Repeat {
		if err := f.MemStore.Read(ctx, tenant, after, fn); err != nil {
			return err
		}
	}
	return f.Err
}
