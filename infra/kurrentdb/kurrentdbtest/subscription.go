package kurrentdbtest

import (
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// subscribeAll runs a catch-up subscription to $all: a confirmation, the
// stored events after the start position, CaughtUp, then new events as they
// are written, until the client leaves or the server drops the subscription.
// A filtered subscription also gets a checkpoint whenever the last event it
// scanned was filtered out, as KurrentDB sends checkpoints to let clients
// move past long runs of filtered events.
func (s *streamsService) subscribeAll(call streams.Streams_ReadServer, options *streams.ReadReq_Options, filter *eventFilter) error {
	dropped := s.drops.current()
	idAsString := options.GetUuidOption().GetString_() != nil
	next := subscriptionStart(options.GetAll(), s.log.snapshot())
	if err := call.Send(confirmation()); err != nil {
		return err
	}
	for caughtUp := false; ; caughtUp = true {
		evs, changed := s.log.since(next)
		if err := sendScanned(call, evs, filter, idAsString); err != nil {
			return err
		}
		next += len(evs)
		if !caughtUp {
			if err := call.Send(&streams.ReadResp{Content: &streams.ReadResp_CaughtUp_{CaughtUp: &streams.ReadResp_CaughtUp{}}}); err != nil {
				return err
			}
		}
		select {
		case <-changed:
		case <-dropped:
			return status.Error(codes.Unavailable, "the server dropped the subscription")
		case <-call.Context().Done():
			return status.FromContextError(call.Context().Err()).Err()
		}
	}
}

// subscriptionStart returns the $all index a subscription starts at. A
// subscription from a position starts after it: the position is the last
// event the subscriber has seen.
func subscriptionStart(ao *streams.ReadReq_Options_AllOptions, all []*recordedEvent) int {
	switch {
	case ao.GetStart() != nil:
		return 0
	case ao.GetPosition() != nil:
		return indexAtOrAfter(all, ao.GetPosition().GetCommitPosition()+1)
	default:
		return len(all)
	}
}

func confirmation() *streams.ReadResp {
	return &streams.ReadResp{Content: &streams.ReadResp_Confirmation{
		Confirmation: &streams.ReadResp_SubscriptionConfirmation{SubscriptionId: uuid.NewString()},
	}}
}

// sendScanned sends the events the filter lets through, then a checkpoint
// if the last one scanned was filtered out.
func sendScanned(call streams.Streams_ReadServer, evs []*recordedEvent, filter *eventFilter, idAsString bool) error {
	for _, ev := range evs {
		if !filter.matches(ev) {
			continue
		}
		if err := call.Send(eventResp(ev, idAsString)); err != nil {
			return err
		}
	}
	last := lastOf(evs)
	if last == nil || filter.matches(last) {
		return nil
	}
	return call.Send(&streams.ReadResp{Content: &streams.ReadResp_Checkpoint_{Checkpoint: &streams.ReadResp_Checkpoint{
		CommitPosition:  last.position,
		PreparePosition: last.position,
	}}})
}

// dropSignal lets the server drop every live subscription at once, as a
// node does when it restarts or loses leadership.
type dropSignal struct {
	mu sync.Mutex
	ch chan struct{}
}

func newDropSignal() *dropSignal { return &dropSignal{ch: make(chan struct{})} }

// current returns the channel closed by the next drop.
func (d *dropSignal) current() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}

// fire drops the subscriptions running now.
func (d *dropSignal) fire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	close(d.ch)
	d.ch = make(chan struct{})
}
