package forward

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/licensing-ledger/ledger/events"
)

// pipeline publishes one attempt's records without waiting for each
// acknowledgement, and asks for one only now and then: from every
// Config.AckEvery-th publish, and from the last one before a pause.
// Because every publish expects the stream's last sequence to be its
// predecessor's, an acknowledged publish vouches for all those before it:
// had one of them not been stored, it would have been refused too. To know
// which publish is the last before a pause, the newest record is held back
// for up to Config.Linger: a successor sends it without asking, a pause
// sends it asking.
//
// A second goroutine checks the acknowledgements in order. The first
// failure ends the attempt: it cancels the attempt's context, so the
// source's subscription returns, and later acknowledgements are ignored
// (they are refusals, or publishes the next checkpoint will account for).
type pipeline struct {
	f          *Forwarder
	ctx        context.Context
	stop       context.CancelFunc
	slots      chan struct{} // one per publish sent and not yet vouched for
	inflight   chan inflight // publishes that asked for an acknowledgement, in order
	done       chan struct{}
	progressed atomic.Bool

	mu  sync.Mutex // guards err
	err error

	sendMu  sync.Mutex // orders the sends, and guards the fields below
	next    uint64     // the stream's expected last sequence for the next publish
	held    *pending   // the newest record, not sent yet
	unacked int        // publishes sent without asking since the last that asked
	linger  *time.Timer
	closed  bool
}

// pending is a record's message and where the stream must store it.
type pending struct {
	msg      *nats.Msg
	seq      uint64 // the stream sequence it must be stored at
	id       string
	position events.Position
}

// inflight is a publish awaiting its acknowledgement, which vouches for
// covers publishes: itself and those sent without asking before it.
type inflight struct {
	pending
	ack    natsjs.PubAckFuture
	covers int
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
	p.linger = time.AfterFunc(time.Hour, p.flush)
	p.linger.Stop()
	go p.confirm()
	return p
}

// publish sends the held record, if any, without asking for an
// acknowledgement, and holds rec in its place; or sends rec at once asking
// for one when AckEvery publishes would otherwise go unchecked. It waits
// only when the window is full. It is the source's callback: one goroutine
// calls it.
func (p *pipeline) publish(rec events.Record) error {
	if err := p.failure(); err != nil {
		return err
	}
	msg, err := p.f.message(rec)
	if err != nil {
		return err
	}
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	if p.held != nil {
		if err := p.send(p.held, false); err != nil {
			return err
		}
	}
	msg.Header.Set(natsjs.ExpectedLastSeqHeader, strconv.FormatUint(p.next, 10))
	p.next++
	next := &pending{msg: msg, seq: p.next, id: rec.ID, position: rec.Position}
	if p.unacked+1 >= p.f.cfg.AckEvery {
		return p.send(next, true)
	}
	p.held = next
	p.linger.Reset(p.f.cfg.Linger)
	return nil
}

// flush sends the held record asking for an acknowledgement: no successor
// came within Config.Linger. It runs on the linger timer.
func (p *pipeline) flush() {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	if p.held == nil || p.closed {
		return
	}
	if err := p.send(p.held, true); err != nil {
		p.fail(err)
	}
}

// send publishes m once the window has room, asking for an acknowledgement
// or not. Call with sendMu held.
func (p *pipeline) send(m *pending, ask bool) error {
	p.held = nil
	select {
	case p.slots <- struct{}{}:
	case <-p.ctx.Done():
		if err := p.failure(); err != nil {
			return err
		}
		return p.ctx.Err()
	}
	if !ask {
		if err := p.f.nc.PublishMsg(m.msg); err != nil {
			<-p.slots
			return fmt.Errorf("forward: publish event %s at position %d: %w", m.id, m.position, err)
		}
		p.unacked++
		return nil
	}
	ack, err := p.f.js.PublishMsgAsync(m.msg)
	if err != nil {
		<-p.slots
		return fmt.Errorf("forward: publish event %s at position %d: %w", m.id, m.position, err)
	}
	p.inflight <- inflight{pending: *m, ack: ack, covers: p.unacked + 1} // never blocks: slots bound it
	p.unacked = 0
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
		for range inf.covers {
			<-p.slots
		}
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

// finish drops the held record, waits for the acknowledgements still
// checked once the source's subscription has returned subErr, and returns
// whether any publish was acknowledged and why the attempt ended. A record
// dropped here, or sent without an acknowledgement that vouches for it, is
// published again by the next attempt if the stream did not store it.
func (p *pipeline) finish(subErr error) (bool, error) {
	p.sendMu.Lock()
	p.closed, p.held = true, nil
	p.linger.Stop()
	p.sendMu.Unlock()
	close(p.inflight)
	<-p.done
	if err := p.failure(); err != nil {
		return p.progressed.Load(), err
	}
	return p.progressed.Load(), subErr
}
