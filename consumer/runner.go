package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// runner delivers one consumer's messages to the handlers, one at a time.
type runner struct {
	h       *Handlers
	log     *slog.Logger
	ackWait time.Duration
	// last is the tenant sequence of the last event handled, per tenant:
	// anything at or below it is a duplicate.
	last map[string]uint64
}

// consume pulls messages until ctx ends or one cannot be decoded.
func (r *runner) consume(ctx context.Context, cons natsjs.Consumer) error {
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("consumer: pull: %w", err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(natsjs.NextContext(ctx))
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, natsjs.ErrMsgIteratorClosed):
			return fmt.Errorf("consumer: pull: %w", err)
		case err != nil:
			r.log.Warn("waiting for LEDGER messages", "err", err)
			continue
		}
		if err := r.deliver(ctx, msg); err != nil {
			return err
		}
	}
}

// deliver hands one message to its handler and acknowledges it, skips it
// as a duplicate, or asks for it again after a failure.
func (r *runner) deliver(ctx context.Context, msg natsjs.Msg) error {
	e, err := Decode(msg)
	if err != nil {
		return err
	}
	tenant, seq := e.GetTenant(), e.GetSequence()
	if seq <= r.last[tenant] {
		r.log.Debug("duplicate event skipped", "tenant", tenant, "sequence", seq, "id", e.GetId())
		return r.ack(msg, e)
	}
	if err := r.handle(ctx, msg, e); err != nil {
		if ctx.Err() != nil {
			_ = msg.Nak() // let the next run have it at once
			return ctx.Err()
		}
		delay := retryDelay(msg)
		r.log.Warn("handler failed; the event will be delivered again", "tenant", tenant, "sequence", seq, "type", e.TypeName(), "id", e.GetId(), "in", delay, "err", err)
		if err := msg.NakWithDelay(delay); err != nil {
			r.log.Warn("cannot ask for the event again; the server redelivers it after the ack wait", "id", e.GetId(), "err", err)
		}
		return nil
	}
	r.last[tenant] = seq
	return r.ack(msg, e)
}

// handle runs the handler, telling the server the event is in progress
// while it runs longer than half the ack wait.
func (r *runner) handle(ctx context.Context, msg natsjs.Msg, e *ledgerv1.Event) error {
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(r.ackWait / 2)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_ = msg.InProgress()
			}
		}
	}()
	return r.h.handle(ctx, e)
}

// ack acknowledges a handled or skipped event. A lost ack only means the
// event comes again, to be skipped as a duplicate.
func (r *runner) ack(msg natsjs.Msg, e *ledgerv1.Event) error {
	if err := msg.Ack(); err != nil {
		r.log.Warn("cannot acknowledge the event; it will come again and be skipped", "id", e.GetId(), "err", err)
	}
	return nil
}

// retryDelay is how long a failed event waits before it is delivered
// again: doubling with each delivery, from 100 ms up to 5 s.
func retryDelay(msg natsjs.Msg) time.Duration {
	n := uint64(1)
	if meta, err := msg.Metadata(); err == nil && meta.NumDelivered > 0 {
		n = meta.NumDelivered
	}
	delay := firstRetry
	for i := uint64(1); i < n && delay < maxRetryDelay; i++ {
		delay *= 2
	}
	return min(delay, maxRetryDelay)
}
