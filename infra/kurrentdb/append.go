package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/licensing-ledger/ledger/events"
	"github.com/oklog/ulid/v2"
)

// Append stores recs at the end of the tenant's stream, provided the
// stream's last revision is still expected.Sequence-1 (or the stream does
// not exist, for sequence 0). KurrentDB checks that and writes the batch
// atomically. A wrong expected version is events.ErrConflict, unless recs
// are already stored right after expected: then this is a retry of an
// append that went through, and it succeeds with their cursor. (KurrentDB
// itself answers such a retry with success when the expected revision is
// unchanged; the check here covers the rest.)
func (s *Store) Append(ctx context.Context, tenant string, expected events.Cursor, recs []events.Record) (events.Cursor, error) {
	stream, err := s.streamName(tenant)
	if err != nil {
		return events.Cursor{}, err
	}
	proposed, err := eventData(tenant, expected, recs)
	if err != nil {
		return events.Cursor{}, err
	}
	if len(recs) == 0 {
		return s.endsAt(ctx, stream, expected)
	}
	if size := appendSize(proposed); size > s.maxAppendSize {
		return events.Cursor{}, fmt.Errorf("kurrentdb: append to %s: %w: %d events take %d bytes, more than the %d bytes KurrentDB takes in one append (its MaxAppendSize; raise it on the node and --kurrentdb-max-append to match)",
			stream, events.ErrTooLarge, len(recs), size, s.maxAppendSize)
	}
	client := s.current()
	opts := esdb.AppendToStreamOptions{ExpectedRevision: expectedRevision(expected)}
	result, err := client.AppendToStream(ctx, stream, opts, proposed...)
	switch {
	case err == nil:
		return s.appended(ctx, stream, recs, result)
	case hasCode(err, esdb.ErrorCodeWrongExpectedVersion):
		return s.retried(ctx, stream, expected, recs)
	case tooLarge(err):
		return events.Cursor{}, s.refusedAsTooLarge(stream, proposed, err)
	}
	switch cut := s.explainCutOff(ctx, err); {
	case errors.Is(cut, errCutOff):
		return events.Cursor{}, s.refusedAsTooLarge(stream, proposed, err)
	case cut != nil:
		return events.Cursor{}, cut
	}
	return events.Cursor{}, s.failure(ctx, client, "append to "+stream, err)
}

// refusedAsTooLarge is the node's refusal of an append over its
// MaxAppendSize, which the size check before sending let through.
func (s *Store) refusedAsTooLarge(stream string, proposed []esdb.EventData, err error) error {
	return fmt.Errorf("kurrentdb: append to %s: %w: the node refused %d bytes, so its MaxAppendSize is below the %d bytes --kurrentdb-max-append says: set the flag to the node's setting (%w)",
		stream, events.ErrTooLarge, appendSize(proposed), s.maxAppendSize, err)
}

// errCutOff is explainCutOff's answer for an append the node refused for
// its size.
var errCutOff = errors.New("the node ended the append while it was sent")

// explainCutOff explains an append the node ended while its events were
// still being sent, which the esdb client reports only as the end of the
// stream (io.EOF, ErrorCodeUnknown), without the node's reason. A node
// ends an append early for two reasons: the user may not write
// (ErrAccessDenied, returned as such), or the events exceed its
// MaxAppendSize (errCutOff). So when the node answers a read and a probe
// of the write right at once afterwards, the append was too large. It
// returns nil when err is not such an end, or the node does not answer
// (down or unreachable: the append stays unavailable).
func (s *Store) explainCutOff(ctx context.Context, err error) error {
	if code, _ := errorCode(err); !errors.Is(err, io.EOF) || code != esdb.ErrorCodeUnknown || ctx.Err() != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	read := s.eachInStream(ctx, s.prefix, esdb.ReadStreamOptions{From: esdb.Start{}}, 1, func(*esdb.ResolvedEvent) error { return nil })
	if read != nil {
		return nil
	}
	switch write := s.probeWrite(ctx); {
	case errors.Is(write, ErrAccessDenied):
		return s.explainAccess(write, "append to the streams "+s.prefix+"*")
	case write != nil:
		return nil
	}
	return errCutOff
}

// probeWrite checks the right to append to tenant streams without
// writing: it appends no events, expecting to exist, to a stream no tenant
// can have (the bare prefix: tenant ids are never empty), which a node
// answers with a wrong expected version once the user may write there.
func (s *Store) probeWrite(ctx context.Context) error {
	client := s.current()
	_, err := client.AppendToStream(ctx, s.prefix, esdb.AppendToStreamOptions{ExpectedRevision: esdb.StreamExists{}})
	if err != nil && !hasCode(err, esdb.ErrorCodeWrongExpectedVersion) {
		return s.failure(ctx, client, "append to "+s.prefix, err)
	}
	return nil
}

// appendSize is what an append counts against a node's MaxAppendSize: each
// event's data and metadata and twice its type's length (a node counts the
// type in UTF-16), an upper bound of what any KurrentDB version counts.
func appendSize(evs []esdb.EventData) int {
	size := 0
	for _, ev := range evs {
		size += len(ev.Data) + len(ev.Metadata) + 2*len(ev.EventType)
	}
	return size
}

// expectedRevision is the stream state an append at the cursor expects.
func expectedRevision(expected events.Cursor) esdb.ExpectedRevision {
	if expected.Sequence == 0 {
		return esdb.NoStream{}
	}
	return esdb.StreamRevision{Value: expected.Sequence - 1}
}

// eventData checks the records and converts them to events: the ULID's 16
// bytes are the event id, so KurrentDB deduplicates on the record ID; the
// type is the record's type; the data is the record's data as is, declared
// binary. Nothing goes in the event metadata: everything is derived.
func eventData(tenant string, expected events.Cursor, recs []events.Record) ([]esdb.EventData, error) {
	out := make([]esdb.EventData, len(recs))
	for i, rec := range recs {
		id, err := checkRecord(tenant, expected.Sequence+uint64(i)+1, rec)
		if err != nil {
			return nil, fmt.Errorf("%w: record %d: %w", ErrInvalidRecord, i, err)
		}
		out[i] = esdb.EventData{
			EventID:     uuid.UUID(id),
			EventType:   rec.Type,
			ContentType: esdb.ContentTypeBinary,
			Data:        rec.Data,
		}
	}
	return out, nil
}

// checkRecord returns the record's ULID if the record can be stored as the
// tenant's event with the given sequence.
func checkRecord(tenant string, sequence uint64, rec events.Record) (ulid.ULID, error) {
	if rec.Tenant != tenant {
		return ulid.ULID{}, fmt.Errorf("it belongs to tenant %q, not %q", rec.Tenant, tenant)
	}
	if rec.Sequence != sequence {
		return ulid.ULID{}, fmt.Errorf("its sequence is %d, not %d", rec.Sequence, sequence)
	}
	if problem := tokenProblem(rec.Type); problem != "" {
		return ulid.ULID{}, fmt.Errorf("event type %q: %s", rec.Type, problem)
	}
	return recordID(rec.ID)
}

// recordID parses a record ID, which must be a ULID in its canonical
// upper-case form: reading the event back spells the id that way, and it
// must give back the ID appended.
func recordID(s string) (ulid.ULID, error) {
	id, err := ulid.ParseStrict(s)
	if err != nil {
		return id, fmt.Errorf("ID %q is not a ULID: %w", s, err)
	}
	if id.String() != s {
		return id, fmt.Errorf("ID %q is not spelled as a ULID is, %q", s, id.String())
	}
	return id, nil
}

// appended returns the cursor of the last record of a successful append.
// It reads that event back for its Position, so the cursor carries the same
// commit position reads and subscriptions report: the append result's
// commit position is not documented to be the last event's for a batch.
// KurrentDB also answers success when the event ids are already stored at
// the expected place, whatever their data: if the event read back is not
// the record appended, byte for byte, another writer's records took those
// ids and this append is events.ErrConflict. If the read fails, the append
// still succeeded; the result's position is the best left.
func (s *Store) appended(ctx context.Context, stream string, recs []events.Record, result *esdb.WriteResult) (events.Cursor, error) {
	fallback := events.Cursor{Sequence: result.NextExpectedVersion + 1, Position: events.Position(result.CommitPosition)}
	last := recs[len(recs)-1]
	stored, found, err := s.recordAt(ctx, stream, last.Sequence)
	switch {
	case err != nil:
		s.log.Warn("kurrentdb: appended, but cannot read back the position", "stream", stream, "err", err)
		return fallback, nil
	case !found || stored.ID != last.ID:
		s.log.Error("kurrentdb: appended, but the last record is not where the node said", "stream", stream, "sequence", last.Sequence)
		return fallback, nil
	case !events.SameRecords([]events.Record{stored}, []events.Record{last}):
		return events.Cursor{}, fmt.Errorf("kurrentdb: append to %s: event %s is stored with other data: %w", stream, last.ID, events.ErrConflict)
	case stored.Position == 0:
		stored.Position = fallback.Position
	}
	return stored.Cursor(), nil
}

// recordAt returns the event at the tenant sequence, if there is one.
func (s *Store) recordAt(ctx context.Context, stream string, sequence uint64) (events.Record, bool, error) {
	var rec events.Record
	found := false
	opts := esdb.ReadStreamOptions{From: esdb.Revision(sequence - 1)}
	err := s.eachInStream(ctx, stream, opts, 1, func(ev *esdb.ResolvedEvent) error {
		rec = s.record(ev)
		found = rec.Sequence == sequence
		return nil
	})
	return rec, found, err
}

// retried decides a wrong expected version: success if recs, the same ids
// and bytes, are stored right after expected, in order (a retry of an
// append that went through), events.ErrConflict otherwise.
func (s *Store) retried(ctx context.Context, stream string, expected events.Cursor, recs []events.Record) (events.Cursor, error) {
	var stored []events.Record
	opts := esdb.ReadStreamOptions{From: esdb.Revision(expected.Sequence)}
	err := s.eachInStream(ctx, stream, opts, uint64(len(recs)), func(ev *esdb.ResolvedEvent) error {
		stored = append(stored, s.record(ev))
		return nil
	})
	if err != nil {
		return events.Cursor{}, err
	}
	if !events.SameRecords(stored, recs) {
		return events.Cursor{}, fmt.Errorf("kurrentdb: append to %s after sequence %d: %w", stream, expected.Sequence, events.ErrConflict)
	}
	return stored[len(stored)-1].Cursor(), nil
}

// endsAt answers an append of no records: the stream's cursor if it still
// ends at expected, events.ErrConflict if not.
func (s *Store) endsAt(ctx context.Context, stream string, expected events.Cursor) (events.Cursor, error) {
	var end events.Cursor
	opts := esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}
	err := s.eachInStream(ctx, stream, opts, 1, func(ev *esdb.ResolvedEvent) error {
		end = s.record(ev).Cursor()
		return nil
	})
	if err != nil {
		return events.Cursor{}, err
	}
	if end.Sequence != expected.Sequence {
		return events.Cursor{}, fmt.Errorf("kurrentdb: append to %s after sequence %d: %w", stream, expected.Sequence, events.ErrConflict)
	}
	return end, nil
}
