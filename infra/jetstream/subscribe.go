package jetstream

import (
	"context"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/licensing-ledger/ledger/events"
)

// Subscribe calls fn for every record of every tenant after the position, in
// global order, catching up then following live appends, until ctx ends (it
// returns ctx.Err()), fn fails (it returns that error) or the store closes.
// An ordered consumer over the log carries it across reconnects, and ends
// it with an error when the connection closes or the consumer fails in a
// way it does not recover from (see logFeed.report); from a position
// inside an append, it re-reads that append and skips the records up to
// the position. A restart of JetStream by its Watchdog ends it too (see
// RefuseWrites).
func (s *Store) Subscribe(ctx context.Context, after events.Position, fn func(events.Record) error) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if s.commit != nil {
		fn = s.commit.durableFirst(ctx, fn)
	}
	defer context.AfterFunc(s.life, func() { cancel(nil) })()
	defer context.AfterFunc(s.restartsNow(), func() { cancel(errRestarted) })()
	cons, err := s.stream.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{
		DeliverPolicy: natsjs.DeliverByStartSequencePolicy,
		OptStartSeq:   firstSeqAfter(after),
	})
	if err != nil {
		return classify("subscribe", err)
	}
	defer s.dropConsumer(cons)
	feed, err := s.startFeed(cons)
	if err != nil {
		return classify("subscribe", err)
	}
	defer feed.stop()
	for {
		err := nextRecords(ctx, "subscribe", feed, after, fn)
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if err != nil {
			return err
		}
	}
}

// Head returns the position of the newest record in the store (0 if none):
// the end of the log's last append.
func (s *Store) Head(ctx context.Context) (events.Position, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	info, err := s.stream.Info(ctx)
	if err != nil {
		return 0, classify("head", err)
	}
	if info.State.LastSeq == 0 {
		return 0, nil
	}
	return lastPosition(info.State.LastSeq), nil
}
