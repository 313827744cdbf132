// Package projections builds the read models that answer queries, by
// following every tenant's events in the store's global order from a
// checkpoint. Read models can always be rebuilt from the first event.
package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/internal/backoff"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// Model is a read model: it evolves by each event, in order. Apply is called
// with the projector's write lock held; queries take the read lock through
// Projector.Read. The event carries what read models read: its tenant,
// sequence, time, actor and payload; the rest of the envelope (id, command,
// correlation id, hash chain) is the audit trail's and is not decoded.
type Model interface {
	Apply(e *ledgerv1.Event)
}

// Projector feeds events from the store to its read models and tracks how
// far each tenant has been applied, so that queries can wait for a write
// they know of (read your writes).
type Projector struct {
	store  events.Store
	models []Model
	log    *slog.Logger

	mu      sync.RWMutex
	changed *sync.Cond
	pos     events.Position
	applied map[string]uint64 // tenant -> last sequence applied
}

// NewProjector returns a projector over the models, starting from the
// first event.
func NewProjector(store events.Store, log *slog.Logger, models ...Model) *Projector {
	p := &Projector{store: store, models: models, log: log, applied: map[string]uint64{}}
	p.changed = sync.NewCond(p.mu.RLocker())
	return p
}

// Run follows the store until ctx ends, applying each event to every model.
// When the subscription ends, it resumes from the checkpoint after a
// backoff (package backoff) that a subscription which moved it resets.
func (p *Projector) Run(ctx context.Context) error {
	var retry backoff.Backoff
	for {
		before := p.Position()
		err := p.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		delay := retry.Next(p.Position() != before)
		p.log.Warn("projection subscription ended; resuming", "position", p.Position(), "in", delay, "err", err)
		if !backoff.Sleep(ctx, delay) {
			return nil
		}
	}
}

// maxBatch bounds how many events the projector applies under one hold of
// its write lock, so that queries wait at most that long for it.
const maxBatch = 256

// decoded is a record with its event, on its way to the models.
type decoded struct {
	rec events.Record
	evt *ledgerv1.Event
}

// follow subscribes to the store from the checkpoint until the
// subscription ends. Three goroutines share the work, so that a replay
// keeps every core busy: the subscription's hands records on, a second
// decodes them, a third applies them in order, in batches under one hold
// of the lock. When follow returns, every record the subscription
// delivered is applied and the checkpoint is exact.
func (p *Projector) follow(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	records := make(chan events.Record, 4*maxBatch)
	queue := make(chan decoded, 4*maxBatch)
	applied := make(chan struct{})
	go func() {
		defer close(queue)
		p.decodeAll(records, queue, cancel)
	}()
	go func() {
		defer close(applied)
		p.applyQueue(queue)
	}()
	err := p.store.Subscribe(ctx, p.Position(), func(r events.Record) error {
		select {
		case records <- r:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	})
	close(records)
	<-applied
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause // the decoder failed, which ended the subscription
	}
	return err
}

// decodeAll decodes the records in order until there are no more. Records
// the models already hold (this process's own writes, see ApplyCommitted)
// go on undecoded, to move the checkpoint only. A record that cannot be
// decoded ends the subscription through fail; the records after it are
// drained unread.
func (p *Projector) decodeAll(records <-chan events.Record, queue chan<- decoded, fail context.CancelCauseFunc) {
	for r := range records {
		if p.Applied(r.Tenant) >= r.Sequence {
			queue <- decoded{rec: r}
			continue
		}
		e, err := decodeForModels(r)
		if err != nil {
			fail(fmt.Errorf("projections: %w", err))
			for range records {
			}
			return
		}
		queue <- decoded{rec: r, evt: e}
	}
}

// applyQueue applies the queued events until the queue is closed: all those
// waiting, up to maxBatch, under one hold of the lock, then tells waiting
// queries.
func (p *Projector) applyQueue(queue <-chan decoded) {
	for d := range queue {
		p.mu.Lock()
		p.applyLocked(d.rec, d.evt)
		for n := 1; n < maxBatch; n++ {
			next, ok := tryReceive(queue)
			if !ok {
				break
			}
			p.applyLocked(next.rec, next.evt)
		}
		p.mu.Unlock()
		p.changed.Broadcast()
	}
}

// tryReceive takes the next queued event if one is waiting.
func tryReceive(queue <-chan decoded) (decoded, bool) {
	select {
	case d, ok := <-queue:
		return d, ok
	default:
		return decoded{}, false
	}
}

// Apply applies one record to every model. Records at or before the
// checkpoint are skipped, so a resumed subscription may overlap.
func (p *Projector) Apply(r events.Record) error {
	e, err := decodeForModels(r)
	if err != nil {
		return fmt.Errorf("projections: %w", err)
	}
	p.mu.Lock()
	p.applyLocked(r, e)
	p.mu.Unlock()
	p.changed.Broadcast()
	return nil
}

// ApplyCommitted applies the events of one command that this process has
// just appended to the store, so that its own writes are in the read models
// before it answers (read your writes without waiting for the subscription
// to bring them back). It applies them only when they directly follow what
// the models hold of their tenant; otherwise the subscription applies them
// in the store's order, as it does every other process's events. The models
// may keep parts of the events: the caller must not modify them afterwards.
func (p *Projector) ApplyCommitted(evs []*ledgerv1.Event) {
	if len(evs) == 0 {
		return
	}
	tenant := evs[0].GetTenant()
	p.mu.Lock()
	if p.applied[tenant]+1 == evs[0].GetSequence() {
		for _, e := range evs {
			p.applyEvent(tenant, e.GetSequence(), e)
		}
	}
	p.mu.Unlock()
	p.changed.Broadcast()
}

// applyLocked applies one record, decoded unless the models already hold
// it, with the write lock held.
func (p *Projector) applyLocked(r events.Record, e *ledgerv1.Event) {
	if r.Position <= p.pos {
		return
	}
	if r.Sequence > p.applied[r.Tenant] {
		p.applyEvent(r.Tenant, r.Sequence, e)
	}
	p.pos = r.Position
}

// applyEvent applies e, the tenant's event at seq, to every model, with the
// write lock held.
func (p *Projector) applyEvent(tenant string, seq uint64, e *ledgerv1.Event) {
	for _, m := range p.models {
		m.Apply(e)
	}
	p.applied[tenant] = seq
}

// Position returns the checkpoint: the position of the last event applied.
func (p *Projector) Position() events.Position {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.pos
}

// Applied returns the last sequence of the tenant applied to the models.
func (p *Projector) Applied(tenant string) uint64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.applied[tenant]
}

// Read runs fn with the models consistent and at least at sequence seq of
// the tenant, waiting up to the context's deadline for the projector to
// get there. It returns ctx's error if it does not.
func (p *Projector) Read(ctx context.Context, tenant string, seq uint64, fn func()) error {
	stop := context.AfterFunc(ctx, p.changed.Broadcast)
	defer stop()
	p.mu.RLock()
	defer p.mu.RUnlock()
	for p.applied[tenant] < seq {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.changed.Wait()
	}
	fn()
	return nil
}

// WaitCaughtUp blocks until the projector has applied every event stored
// when it was called, or ctx ends.
func (p *Projector) WaitCaughtUp(ctx context.Context) error {
	head, err := p.store.Head(ctx)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, p.changed.Broadcast)
	defer stop()
	p.mu.RLock()
	defer p.mu.RUnlock()
	for p.pos < head {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.changed.Wait()
	}
	return nil
}
