package kurrentdb

import (
	"context"
	"errors"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/internal/backoff"
)

// handlerError carries the error of the subscriber's fn out of the
// subscription, to tell it from the subscription's own failures.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }

// Subscribe calls fn for each ledger record after the position, in $all
// order: first the records stored, then new ones as they are appended. It
// runs a catch-up subscription to $all filtered on the tenant stream
// prefix, starting after the commit position after (from the start for 0),
// so a subscriber resumes from the Position of the last record it handled.
// When the node drops the subscription, Subscribe logs it and resubscribes
// after the last record delivered. It returns ctx's error when ctx ends,
// fn's error as is when fn fails, and an error when the node refuses the
// subscription's credentials or the store is closed.
func (s *Store) Subscribe(ctx context.Context, after events.Position, fn func(events.Record) error) error {
	last := after
	var retry backoff.Backoff // a delivered event resets it
	for {
		delivered, err := s.subscribeOnce(ctx, &last, fn)
		var handlerErr *handlerError
		switch {
		case errors.As(err, &handlerErr):
			return handlerErr.err
		case ctx.Err() != nil:
			return ctx.Err()
		case permanent(err), s.isClosed():
			return err
		}
		delay := retry.Next(delivered)
		s.log.Warn("kurrentdb: subscription dropped; resubscribing", "after", uint64(last), "in", delay, "err", err)
		if !backoff.Sleep(ctx, delay) {
			return ctx.Err()
		}
	}
}

// subscribeOnce runs one subscription from *last until it drops, moving
// *last past each record delivered. It reports whether it delivered any.
func (s *Store) subscribeOnce(ctx context.Context, last *events.Position, fn func(events.Record) error) (bool, error) {
	client := s.current()
	sub, err := client.SubscribeToAll(ctx, s.subscribeOptions(*last))
	if err != nil {
		return false, s.failure(ctx, client, "subscribe to $all", err)
	}
	defer sub.Close()
	delivered := false
	for {
		msg := sub.Recv()
		if msg.SubscriptionDropped != nil {
			return delivered, s.failure(ctx, client, "subscription to $all", msg.SubscriptionDropped.Error)
		}
		if msg.EventAppeared == nil {
			continue // checkpoints, caught up, fell behind: nothing to deliver
		}
		rec, ours := s.subscribed(msg.EventAppeared, *last)
		if !ours {
			continue
		}
		if err := fn(rec); err != nil {
			return delivered, &handlerError{err: err}
		}
		*last, delivered = rec.Position, true
	}
}

// subscribeOptions starts after the position: KurrentDB's catch-up
// subscriptions exclude the position they start from. Outside explicit
// transactions an event's prepare position equals its commit position.
func (s *Store) subscribeOptions(after events.Position) esdb.SubscribeToAllOptions {
	opts := esdb.SubscribeToAllOptions{
		From:   esdb.Start{},
		Filter: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{s.prefix}},
	}
	if after > 0 {
		opts.From = esdb.Position{Commit: uint64(after), Prepare: uint64(after)}
	}
	return opts
}

// subscribed converts a subscription event to a record if it is a ledger
// record past the last one delivered. The server filters on the prefix
// already; checking again costs nothing and keeps a resubscription from
// delivering a record twice.
func (s *Store) subscribed(ev *esdb.ResolvedEvent, last events.Position) (events.Record, bool) {
	if e := ev.OriginalEvent(); e.EventType == "$streamDeleted" {
		s.log.Error("kurrentdb: a tenant's stream was deleted for good (tombstoned); its commands will be refused as damaged", "stream", e.StreamID)
	}
	if !s.ours(ev) {
		return events.Record{}, false
	}
	rec := s.record(ev)
	return rec, rec.Position > last
}
