package kurrentdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/licensing-ledger/ledger/events"
	"github.com/oklog/ulid/v2"
)

// untilEnd is the count of a read meant to go to the end. The node stops
// at the end anyway; it takes counts as signed 64-bit numbers.
const untilEnd = math.MaxInt64

// errStop ends a read early without error.
var errStop = errors.New("stop reading")

// Read calls fn for each record of the tenant's stream after the cursor,
// reading forwards from stream revision after.Sequence (revision =
// sequence - 1). A stream never written reads as empty; a stream deleted
// in KurrentDB (soft-deleted, which reads as not found, or tombstoned) is
// events.ErrDamaged, never empty.
func (s *Store) Read(ctx context.Context, tenant string, after events.Cursor, fn func(events.Record) error) error {
	stream, err := s.streamName(tenant)
	if err != nil {
		return err
	}
	opts := esdb.ReadStreamOptions{From: esdb.Revision(after.Sequence)}
	found, err := s.readStream(ctx, stream, opts, untilEnd, func(ev *esdb.ResolvedEvent) error {
		return fn(s.record(ev))
	})
	if err != nil || found {
		return err
	}
	return s.neverWritten(ctx, stream, after)
}

// neverWritten explains a stream that reads as not found: nil if it was
// never written, events.ErrDamaged if it was deleted (its metadata holds a
// truncation, $tb) or if the caller has seen its events.
func (s *Store) neverWritten(ctx context.Context, stream string, after events.Cursor) error {
	if after.Sequence > 0 {
		return fmt.Errorf("kurrentdb: read %s: %w: the stream is not found, yet it held %d events", stream, events.ErrDamaged, after.Sequence)
	}
	var meta struct {
		TruncateBefore *uint64 `json:"$tb"`
	}
	opts := esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}
	err := s.eachInStream(ctx, "$$"+stream, opts, 1, func(ev *esdb.ResolvedEvent) error {
		return json.Unmarshal(ev.OriginalEvent().Data, &meta)
	})
	switch {
	case err != nil:
		return fmt.Errorf("kurrentdb: read the metadata of %s: %w", stream, err)
	case meta.TruncateBefore != nil:
		return fmt.Errorf("kurrentdb: read %s: %w: the stream was deleted in KurrentDB (its metadata truncates it before revision %d); restore the tenant's history from a backup",
			stream, events.ErrDamaged, *meta.TruncateBefore)
	}
	return nil
}

// Head returns the position of the newest ledger event, 0 if there is
// none. The client cannot filter a $all read, so it reads $all backwards
// and skips other streams' events, system events included.
func (s *Store) Head(ctx context.Context) (events.Position, error) {
	var head events.Position
	opts := esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}
	err := s.eachInAll(ctx, opts, untilEnd, func(ev *esdb.ResolvedEvent) error {
		if !s.ours(ev) {
			return nil
		}
		head = s.record(ev).Position
		return errStop
	})
	return head, err
}

// Ping reads the newest event of $all, whichever stream holds it: the
// smallest read that shows the node answers (see events.Pinger).
func (s *Store) Ping(ctx context.Context) error {
	opts := esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}
	return s.eachInAll(ctx, opts, 1, func(*esdb.ResolvedEvent) error { return errStop })
}

// eachInStream calls fn for up to count events of a stream. A missing
// stream has no events; fn returning errStop ends the read without error.
func (s *Store) eachInStream(ctx context.Context, stream string, opts esdb.ReadStreamOptions, count uint64, fn func(*esdb.ResolvedEvent) error) error {
	_, err := s.readStream(ctx, stream, opts, count, fn)
	return err
}

// readStream is eachInStream that also reports whether the stream was
// found.
func (s *Store) readStream(ctx context.Context, stream string, opts esdb.ReadStreamOptions, count uint64, fn func(*esdb.ResolvedEvent) error) (bool, error) {
	client := s.current()
	rs, err := client.ReadStream(ctx, stream, opts, count)
	if err != nil {
		return false, s.failure(ctx, client, "read "+stream, err)
	}
	err = s.drain(ctx, client, "read "+stream, rs, fn)
	if errors.Is(err, errNotFound) {
		return false, nil
	}
	return true, err
}

// eachInAll calls fn for up to count events of $all.
func (s *Store) eachInAll(ctx context.Context, opts esdb.ReadAllOptions, count uint64, fn func(*esdb.ResolvedEvent) error) error {
	client := s.current()
	rs, err := client.ReadAll(ctx, opts, count)
	if err != nil {
		return s.failure(ctx, client, "read $all", err)
	}
	if err := s.drain(ctx, client, "read $all", rs, fn); !errors.Is(err, errNotFound) {
		return err
	}
	return nil
}

// errNotFound ends drain for a stream that is not found.
var errNotFound = errors.New("stream not found")

// drain receives the events of a read until its end, the end of the
// stream, or fn's error; errNotFound if the stream is not found.
func (s *Store) drain(ctx context.Context, client *esdb.Client, op string, rs *esdb.ReadStream, fn func(*esdb.ResolvedEvent) error) error {
	defer rs.Close()
	for {
		ev, err := rs.Recv()
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case hasCode(err, esdb.ErrorCodeResourceNotFound):
			return errNotFound
		}
		if err != nil {
			return s.failure(ctx, client, op, err)
		}
		if err := fn(ev); err != nil {
			if errors.Is(err, errStop) {
				return nil
			}
			return err
		}
	}
}

// ours reports whether an event of $all is a ledger record: in a tenant
// stream, and not a system event such as the $streamDeleted a tombstone
// leaves there (the ledger's event types never start with '$').
func (s *Store) ours(ev *esdb.ResolvedEvent) bool {
	e := ev.OriginalEvent()
	_, ours := s.tenantOf(e.StreamID)
	return ours && !strings.HasPrefix(e.EventType, "$")
}

// record converts one of the store's events back to the record appended:
// the event id's 16 bytes are the record's ULID, the stream revision is
// the sequence minus one, and the commit position is the Position.
func (s *Store) record(ev *esdb.ResolvedEvent) events.Record {
	e := ev.OriginalEvent()
	tenant, _ := s.tenantOf(e.StreamID)
	return events.Record{
		ID:       ulid.ULID(e.EventID).String(),
		Tenant:   tenant,
		Type:     e.EventType,
		Sequence: e.EventNumber + 1,
		Position: commitPosition(ev),
		Data:     e.Data,
	}
}

// commitPosition returns the event's commit position in $all. Servers
// since EventStoreDB 22 report it on stream reads too, for events not
// written in explicit transactions (this store never uses them); older
// servers send the maximum value there instead, read here as unknown (0).
func commitPosition(ev *esdb.ResolvedEvent) events.Position {
	if commit := ev.OriginalEvent().Position.Commit; commit != math.MaxUint64 {
		return events.Position(commit)
	}
	if ev.Commit != nil && *ev.Commit != math.MaxUint64 {
		return events.Position(*ev.Commit)
	}
	return 0
}
