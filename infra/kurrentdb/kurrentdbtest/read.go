package kurrentdbtest

import (
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Read implements Streams.Read for the combinations the stand-in supports:
// counted reads of a stream or of $all in either direction, and catch-up
// subscriptions to $all, filtered or not.
func (s *streamsService) Read(req *streams.ReadReq, call streams.Streams_ReadServer) error {
	options := req.GetOptions()
	if options == nil {
		return status.Error(codes.InvalidArgument, "read options are required")
	}
	if options.GetUuidOption() == nil {
		return status.Error(codes.InvalidArgument, "the uuid option is required")
	}
	filter, err := filterOf(options)
	if err != nil {
		return err
	}
	switch {
	case options.GetSubscription() != nil:
		return s.subscribe(call, options, filter)
	case options.GetStream() != nil:
		if filter != nil {
			return status.Error(codes.InvalidArgument, "stream reads cannot be filtered")
		}
		return s.readStream(call, options)
	case options.GetAll() != nil:
		if err := allow(call.Context(), call, ReadAll); err != nil {
			return err
		}
		return s.readAll(call, options, filter)
	default:
		return status.Error(codes.InvalidArgument, "a stream or $all is required")
	}
}

// subscribe accepts catch-up subscriptions to $all only.
func (s *streamsService) subscribe(call streams.Streams_ReadServer, options *streams.ReadReq_Options, filter *eventFilter) error {
	if options.GetAll() == nil {
		return status.Error(codes.Unimplemented, "the in-process server only supports subscriptions to $all")
	}
	if options.GetReadDirection() != streams.ReadReq_Options_Forwards {
		return status.Error(codes.InvalidArgument, "subscriptions read forwards")
	}
	if err := allow(call.Context(), call, ReadAll); err != nil {
		return err
	}
	return s.subscribeAll(call, options, filter)
}

// readStream sends up to count events of one stream from a revision, or
// StreamNotFound when the stream has never been written or is
// soft-deleted, or fails with "stream deleted" when it is tombstoned.
func (s *streamsService) readStream(call streams.Streams_ReadServer, options *streams.ReadReq_Options) error {
	so := options.GetStream()
	name := string(so.GetStreamIdentifier().GetStreamName())
	if err := allow(call.Context(), call, Read); err != nil {
		return err
	}
	st := s.log.stream(name)
	switch {
	case st.tombstoned:
		return streamDeleted(call, name)
	case !st.found:
		return call.Send(&streams.ReadResp{Content: &streams.ReadResp_StreamNotFound_{
			StreamNotFound: &streams.ReadResp_StreamNotFound{StreamIdentifier: so.GetStreamIdentifier()},
		}})
	}
	evs, first := st.events, int(st.truncateBefore)
	backwards := options.GetReadDirection() == streams.ReadReq_Options_Backwards
	idAsString := options.GetUuidOption().GetString_() != nil
	i, step := streamStart(so, len(evs), backwards)
	if !backwards {
		i = max(i, first)
	}
	for sent := uint64(0); i >= first && i < len(evs) && sent < options.GetCount(); i, sent = i+step, sent+1 {
		if err := call.Send(eventResp(evs[i], idAsString)); err != nil {
			return err
		}
	}
	return nil
}

// streamStart returns the index a stream read starts at and its step.
func streamStart(so *streams.ReadReq_Options_StreamOptions, n int, backwards bool) (int, int) {
	start := n
	switch {
	case so.GetStart() != nil:
		start = 0
	case so.GetEnd() != nil:
		start = n
	default:
		if rev := so.GetRevision(); rev < uint64(n) {
			start = int(rev)
		}
	}
	if !backwards {
		return start, 1
	}
	if start >= n {
		start = n - 1
	}
	return start, -1
}

// readAll sends up to count events of $all from a position, forwards
// (inclusive of the position) or backwards (exclusive), skipping those the
// filter rejects.
func (s *streamsService) readAll(call streams.Streams_ReadServer, options *streams.ReadReq_Options, filter *eventFilter) error {
	all := s.log.snapshot()
	backwards := options.GetReadDirection() == streams.ReadReq_Options_Backwards
	idAsString := options.GetUuidOption().GetString_() != nil
	i, step := allStart(options.GetAll(), all, backwards)
	for sent := uint64(0); i >= 0 && i < len(all) && sent < options.GetCount(); i += step {
		if !filter.matches(all[i]) {
			continue
		}
		if err := call.Send(eventResp(all[i], idAsString)); err != nil {
			return err
		}
		sent++
	}
	return nil
}

// allStart returns the $all index a read starts at and its step.
func allStart(ao *streams.ReadReq_Options_AllOptions, all []*recordedEvent, backwards bool) (int, int) {
	start := len(all)
	switch {
	case ao.GetStart() != nil:
		start = 0
	case ao.GetPosition() != nil:
		start = indexAtOrAfter(all, ao.GetPosition().GetCommitPosition())
	}
	if !backwards {
		return start, 1
	}
	if ao.GetStart() != nil {
		return -1, -1
	}
	return start - 1, -1
}
