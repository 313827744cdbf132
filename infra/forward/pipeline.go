package forward

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/licensing-ledger/ledger/events"
)

// pipeline publishes one attempt's records without waiting for each
// acknowledgement, and checks the acknowledgements in order. The first
// failure ends the attempt: it cancels the attempt's context, so the
// source's subscription returns, and later acknowledgements are ignored
// (they are refusals, or publishes the next checkpoint will account for).
type pipeline struct {
	f          *Forwarder
	ctx        context.Context
	stop       context.CancelFunc
	next       uint64        // the stream's expected last sequence for the next publish
	slots      chan struct{} // one per publish awaiting its acknowledgement
	inflight   chan inflight
	done       chan struct{}
	progressed atomic.Bool

	mu  sync.Mutex
	err error
}

// inflight is a publish awaiting its acknowledgement.
type inflight struct {
	ack      natsjs.PubAckFuture
	seq      uint64 // the stream sequence it must be stored at
	id       string
	position events.Position
}

// startPipeline starts checking acknowledgements; the first publish expects
// the stream's last sequence to be lastSeq. stop cancels ctx.
func (f *Forwarder) startPipeline(ctx context.Context, stop context.CancelFunc, lastSeq uint64) *pipeline {
	p := &pipeline{
		f: f, ctx: ctx, stop: stop, next: lastSeq,
		slots:    make(chan struct{}, f.cfg.Window),
		inflight: make(chan inflight, f.cfg.Window),
		done:     make(chan struct{}),
	}
	go p.confirm()
	return p
}

// publish sends rec right after its predecessor, waiting only when the
// window is full. It is the source's callback: one goroutine calls it.
func (p *pipeline) publish(rec events.Record) error {
	if err := p.failure(); err != nil {
		return err
	}
	msg, err := p.f.message(rec)
	if err != nil {
		return err
	}
	select {
	case p.slots <- struct{}{}:
	case <-p.ctx.Done():
		if err := p.failure(); err != nil {
			return err
		}
		return p.ctx.Err()
	}
	ack, err := p.f.js.PublishMsgAsync(msg, natsjs.WithExpectLastSequence(p.next))
	if err != nil {
		<-p.slots
		return fmt.Errorf("forward: publish event %s at position %d: %w", rec.ID, rec.Position, err)
	}
	p.next++
	p.inflight <- inflight{ack: ack, seq: p.next, id: rec.ID, position: rec.Position} // never blocks: slots bound it
	return nil
}

// confirm checks each acknowledgement in publish order until the attempt
// ends, then drains what is left.
func (p *pipeline) confirm() {
	defer close(p.done)
	for inf := range p.inflight {
		if p.failure() == nil {
			p.check(inf)
		}
		<-p.slots
	}
}

// check awaits one acknowledgement and records the outcome.
func (p *pipeline) check(inf inflight) {
	if err := p.await(inf); err != nil {
		p.fail(err)
		return
	}
	p.progressed.Store(true)
}

// await waits for one acknowledgement and checks that the event was stored
// where the forwarder expected it.
func (p *pipeline) await(inf inflight) error {
	select {
	case ack := <-inf.ack.Ok():
		if ack.Duplicate || ack.Sequence != inf.seq {
			return fmt.Errorf("forward: event %s at position %d: acknowledged as message %d (duplicate %t), expected as %d",
				inf.id, inf.position, ack.Sequence, ack.Duplicate, inf.seq)
		}
		return nil
	case err := <-inf.ack.Err():
		return fmt.Errorf("forward: publish event %s at position %d: %w", inf.id, inf.position, err)
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

// fail records the attempt's first failure and ends the attempt.
func (p *pipeline) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
	p.stop()
}

// failure returns the attempt's failure, if any.
func (p *pipeline) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// finish waits for the acknowledgements still checked once the source's
// subscription has returned subErr, and returns whether any publish was
// acknowledged and why the attempt ended.
func (p *pipeline) finish(subErr error) (bool, error) {
	close(p.inflight)
	<-p.done
	if err := p.failure(); err != nil {
		return p.progressed.Load(), err
	}
	return p.progressed.Load(), subErr
}
