package kurrentdb

import (
	"context"
	"errors"
	"io"
	"math"

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
// sequence - 1). A stream never written reads as empty.
func (s *Store) Read(ctx context.Context, tenant string, after events.Cursor, fn func(events.Record) error) error {
	stream, err := s.streamName(tenant)
	if err != nil {
		return err
	}
	opts := esdb.ReadStreamOptions{From: esdb.Revision(after.Sequence)}
	return s.eachInStream(ctx, stream, opts, untilEnd, func(ev *esdb.ResolvedEvent) error {
		return fn(s.record(ev))
	})
}

// Head returns the position of the newest ledger event, 0 if there is
// none. The client cannot filter a $all read, so it reads $all backwards
// and skips other streams' events, system events included.
func (s *Store) Head(ctx context.Context) (events.Position, error) {
	var head events.Position
	opts := esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}
	err := s.eachInAll(ctx, opts, untilEnd, func(ev *esdb.ResolvedEvent) error {
		if _, ours := s.tenantOf(ev.OriginalEvent().StreamID); !ours {
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
	client := s.current()
	rs, err := client.ReadStream(ctx, stream, opts, count)
	if err != nil {
		return s.failure(ctx, client, "read "+stream, err)
	}
	return s.drain(ctx, client, "read "+stream, rs, fn)
}

// eachInAll calls fn for up to count events of $all.
func (s *Store) eachInAll(ctx context.Context, opts esdb.ReadAllOptions, count uint64, fn func(*esdb.ResolvedEvent) error) error {
	client := s.current()
	rs, err := client.ReadAll(ctx, opts, count)
	if err != nil {
		return s.failure(ctx, client, "read $all", err)
	}
	return s.drain(ctx, client, "read $all", rs, fn)
}

// drain receives the events of a read until its end, the end of the
// stream, or fn's error.
func (s *Store) drain(ctx context.Context, client *esdb.Client, op string, rs *esdb.ReadStream, fn func(*esdb.ResolvedEvent) error) error {
	defer rs.Close()
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) || hasCode(err, esdb.ErrorCodeResourceNotFound) {
			return nil
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
