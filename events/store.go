// Package events holds what every part of the ledger agrees on about events:
// the record a store keeps, the port every event store implements, the codec
// between records and ledger.v1 messages, and the identifiers events carry.
package events

import (
	"bytes"
	"context"
	"errors"
	"slices"
)

// Position is a place in the store's global order of events, across every
// tenant. Projections checkpoint it. Zero means "before the first event".
type Position uint64

// Cursor marks a place in one tenant's stream: the tenant sequence of the
// last event seen (1-based, 0 for an empty stream) and that event's global
// Position. Stores keep different counters for optimistic concurrency
// (JetStream the global position, KurrentDB the stream revision), so a
// cursor carries both and each store checks the one it keeps.
type Cursor struct {
	Sequence uint64
	Position Position
}

// Record is one event as a store keeps it: the identifiers a store needs to
// route, deduplicate and order it, and the encoded event itself. Stores never
// decode Data; the codec in this package does.
type Record struct {
	ID       string   // ULID of the event; stores deduplicate on it
	Tenant   string   // the consistency boundary the event belongs to
	Type     string   // event type name, e.g. "LicenseAssigned"
	Sequence uint64   // tenant sequence, 1-based, gapless within a tenant
	Position Position // global position; set by the store, ignored on append
	Data     []byte   // the encoded ledger.v1.Event, envelope included
}

// Cursor returns the cursor that points at this record.
func (r Record) Cursor() Cursor { return Cursor{Sequence: r.Sequence, Position: r.Position} }

// SameRecords reports whether stored are recs: the same ids and the same
// bytes, in order. A store that finds an append's ids already stored uses
// it to tell a retry of that append (the same records) from another
// writer's records that share the ids, which must be ErrConflict.
func SameRecords(stored, recs []Record) bool {
	return slices.EqualFunc(stored, recs, func(a, b Record) bool {
		return a.ID == b.ID && bytes.Equal(a.Data, b.Data)
	})
}

// ErrConflict is returned by Append when the tenant's stream has moved past
// the expected cursor: another writer appended first. Reload and decide again.
var ErrConflict = errors.New("events: the tenant's stream has moved past the expected position")

// ErrUnavailable wraps failures of the store itself (connection lost, time
// out). The outcome of an append that fails this way is unknown: retrying the
// same records is safe, because stores deduplicate on record IDs.
var ErrUnavailable = errors.New("events: the event store is unavailable")

// ErrWritesRefused is the failure of an append that the store did not send
// because it knows that it cannot write now (its disk is full, its server
// stopped writing): nothing was stored, and a retry now would fail the same
// way. It comes wrapped with ErrUnavailable: the store writes again once
// the cause is gone.
var ErrWritesRefused = errors.New("events: the event store refuses writes")

// Pinger is implemented by stores that can tell, cheaply, whether they
// take appends now: readiness probes ask it often. Ping returns nil when
// they do, an error wrapping ErrWritesRefused when the store answers but
// cannot write, and one wrapping ErrUnavailable when it cannot be reached.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Ping asks the store whether it takes appends: through its Pinger, or by
// reading its head for a store that has none.
func Ping(ctx context.Context, s Store) error {
	if p, ok := s.(Pinger); ok {
		return p.Ping(ctx)
	}
	_, err := s.Head(ctx)
	return err
}

// ErrTooLarge is returned by Append when the records are more than the
// store takes in one append (a NATS message's max_payload, KurrentDB's
// MaxAppendSize). Nothing is stored, and sending them again fails again:
// the error names the limit and the setting that raises it.
var ErrTooLarge = errors.New("events: the append is larger than the event store takes at once")

// ErrDamaged is returned by Read and Append when the tenant's stored
// history is gone or cannot be used, for example a stream deleted in the
// store by hand: never read as an empty tenant, which would let the
// ledger start the tenant over. An operator must restore the history.
var ErrDamaged = errors.New("events: the tenant's stored history is damaged")

// Store is the port every event store implements. A tenant's events form one
// ordered stream; every tenant's events together form one global order that
// projections follow. The conformance suite in events/storetest defines the
// behaviour precisely and runs against every adapter.
type Store interface {
	// Append stores recs, in order and atomically, at the end of the tenant's
	// stream, provided the stream still ends at expected. Records must carry
	// consecutive sequences starting at expected.Sequence+1. It returns the
	// cursor of the last record appended, or ErrConflict if another writer got
	// there first. Appending records whose IDs are already stored at the same
	// place succeeds without storing them twice (an idempotent retry).
	Append(ctx context.Context, tenant string, expected Cursor, recs []Record) (Cursor, error)

	// Read calls fn for each record of the tenant's stream after the cursor,
	// in order, and returns when the records present at the call are read.
	Read(ctx context.Context, tenant string, after Cursor, fn func(Record) error) error

	// Subscribe calls fn for each record of every tenant after the position,
	// in global order: first the records already stored, then new ones as
	// they are appended. It returns when ctx ends or fn fails.
	Subscribe(ctx context.Context, after Position, fn func(Record) error) error

	// Head returns the position of the newest record in the store, so that a
	// reader can tell when it has caught up.
	Head(ctx context.Context) (Position, error)

	// Close releases the store's resources.
	Close() error
}
