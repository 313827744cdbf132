package consumer

import (
	"context"
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

// Pulling: each pull asks for up to fetchBatch messages and ends after
// fetchWait. The server sends one message at a time anyway (MaxAckPending
// 1), the next as soon as the previous is acknowledged, within one pull.
// A pull that ends is what lets a stop be clean: Run stops asking, and
// any message still delivered to it is handed back at once (nak), instead
// of going to a subscription that no longer listens and waiting out the
// ack wait, holding up every later event.
const (
	fetchBatch = 256
	fetchWait  = 500 * time.Millisecond
	pullRetry  = 250 * time.Millisecond
)

// consume pulls messages until ctx ends or one cannot be decoded.
func (r *runner) consume(ctx context.Context, cons natsjs.Consumer) error {
	for ctx.Err() == nil {
		batch, err := cons.Fetch(fetchBatch, natsjs.FetchMaxWait(fetchWait))
		if err != nil {
			r.log.Warn("cannot pull from LEDGER; trying again", "in", pullRetry, "err", err)
			sleep(ctx, pullRetry)
			continue
		}
		if err := r.deliverBatch(ctx, batch); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// deliverBatch delivers a pull's messages as they come; once ctx has
// ended, it hands those still coming back to the server.
func (r *runner) deliverBatch(ctx context.Context, batch natsjs.MessageBatch) error {
	var failed error
	for msg := range batch.Messages() {
		if ctx.Err() != nil || failed != nil {
			_ = msg.Nak()
			continue
		}
		if failed = r.deliver(ctx, msg); failed != nil {
			_ = msg.Nak() // Run stops on it; the next Run meets it again at once
		}
	}
	if err := batch.Error(); err != nil && failed == nil && ctx.Err() == nil {
		r.log.Warn("a pull from LEDGER ended early; pulling again", "err", err)
		sleep(ctx, pullRetry)
	}
	return failed
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// deliver hands one message to its handler and acknowledges it, skips it
// as a duplicate, or asks for it again after a failure.
func (r *runner) deliver(ctx context.Context, msg natsjs.Msg) error {
	e, err := Decode(msg)
	if err != nil {
		return err // never acknowledged: no later event passes it
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
