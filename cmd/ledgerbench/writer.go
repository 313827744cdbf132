package main

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensing-ledger/ledger/events"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// eventWriter builds one tenant's history straight into the store: the
// events a command service would have written for a sequence of commands,
// with the same envelope (ids derived from the command id, tenant sequence,
// actor, command) and the same hash chain, appended in large commits. It
// makes big, valid histories in seconds, without deciding each command.
type eventWriter struct {
	store   events.Store
	tenant  string
	actor   string
	now     time.Time
	commit  int // events per append; 0 appends each command on its own
	cursor  events.Cursor
	prev    []byte
	pending []events.Record
	written int // events appended
	appends int // appends made
	// onEvent, if set, sees each event as it is written.
	onEvent func(*ledgerv1.Event)
}

// newEventWriter starts a writer for an empty tenant.
func newEventWriter(store events.Store, tenant string, commit int) *eventWriter {
	return &eventWriter{store: store, tenant: tenant, actor: "admin", now: time.Now().UTC(), commit: commit}
}

// command records the events of one command and appends the pending events
// once there are enough for a commit. A command's events are never split.
func (w *eventWriter) command(ctx context.Context, name string, payloads ...proto.Message) error {
	id := events.NewULID()
	return w.write(ctx, name, w.actor, id, events.IDs(id, "ledgerbench", w.now), payloads)
}

// write records the events of the command id sent by actor, with event ids
// from ids.
func (w *eventWriter) write(ctx context.Context, name, actor, id string, ids func() string, payloads []proto.Message) error {
	for _, p := range payloads {
		if err := w.event(id, name, actor, ids(), p); err != nil {
			return err
		}
	}
	if len(w.pending) >= max(w.commit, 1) {
		return w.flush(ctx)
	}
	return nil
}

// event envelopes one payload and chains it to the tenant's last event.
func (w *eventWriter) event(commandID, name, actor, eventID string, p proto.Message) error {
	e, err := ledgerv1.NewEvent(p)
	if err != nil {
		return err
	}
	e.Id, e.Tenant, e.Sequence = eventID, w.tenant, w.cursor.Sequence+uint64(len(w.pending))+1
	e.Time, e.Actor, e.Command = timestamppb.New(w.now), actor, name
	e.CommandId, e.CorrelationId, e.PrevHash = commandID, commandID, w.prev
	r, err := events.NewRecord(e)
	if err != nil {
		return err
	}
	w.pending = append(w.pending, r)
	w.prev = events.Hash(r.Data)
	if w.onEvent != nil {
		w.onEvent(e)
	}
	return nil
}

// flush appends the pending events, expecting the tenant's stream to end
// where this writer left it.
func (w *eventWriter) flush(ctx context.Context) error {
	if len(w.pending) == 0 {
		return nil
	}
	cur, err := w.store.Append(ctx, w.tenant, w.cursor, w.pending)
	if err != nil {
		return fmt.Errorf("appending %d events to tenant %s: %w", len(w.pending), w.tenant, err)
	}
	w.cursor, w.written, w.appends = cur, w.written+len(w.pending), w.appends+1
	w.pending = nil // the store may still hold the slice
	return nil
}
