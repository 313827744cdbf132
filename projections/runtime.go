// Package projections builds the read models that answer queries, by
// following every tenant's events in the store's global order from a
// checkpoint. Read models can always be rebuilt from the first event.
package projections

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/licensing-ledger/ledger/events"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// Model is a read model: it evolves by each event, in order. Apply is called
// with the projector's write lock held; queries take the read lock through
// Projector.Read.
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
func (p *Projector) Run(ctx context.Context) error {
	for {
		err := p.store.Subscribe(ctx, p.Position(), p.Apply)
		if ctx.Err() != nil {
			return nil
		}
		p.log.Warn("projection subscription ended; resuming", "position", p.Position(), "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Apply applies one record to every model. Records at or before the
// checkpoint are skipped, so a resumed subscription may overlap.
func (p *Projector) Apply(r events.Record) error {
	e, err := events.DecodeRecord(r)
	if err != nil {
		return fmt.Errorf("projections: %w", err)
	}
	p.mu.Lock()
	if r.Position > p.pos {
		if r.Sequence > p.applied[r.Tenant] {
			for _, m := range p.models {
				m.Apply(e)
			}
			p.applied[r.Tenant] = r.Sequence
		}
		p.pos = r.Position
	}
	p.mu.Unlock()
	p.changed.Broadcast()
	return nil
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
