package kurrentdbtest

import (
	"errors"
	"io"
	"strconv"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Append implements Streams.Append: the options message, then the proposed
// events, answered with success or wrong expected version once the client
// closes its side.
func (s *streamsService) Append(call streams.Streams_AppendServer) error {
	first, err := call.Recv()
	if err != nil {
		return err
	}
	options := first.GetOptions()
	if options == nil {
		return status.Error(codes.InvalidArgument, "the first append message must carry the options")
	}
	name := string(options.GetStreamIdentifier().GetStreamName())
	if name == "" {
		return status.Error(codes.InvalidArgument, "the stream name is required")
	}
	expected, err := expectationOf(options)
	if err != nil {
		return err
	}
	if err := allow(call.Context(), call, Write); err != nil {
		return err
	}
	proposed, err := s.receiveProposed(call)
	if err != nil {
		return err
	}
	outcome := s.log.append(name, expected, proposed)
	if outcome.deleted {
		return streamDeleted(call, name)
	}
	return call.SendAndClose(appendResp(options, outcome))
}

func expectationOf(options *streams.AppendReq_Options) (expectation, error) {
	switch rev := options.GetExpectedStreamRevision().(type) {
	case *streams.AppendReq_Options_Revision:
		return expectation{kind: expectRevision, revision: rev.Revision}, nil
	case *streams.AppendReq_Options_NoStream:
		return expectation{kind: expectNoStream}, nil
	case *streams.AppendReq_Options_StreamExists:
		return expectation{kind: expectStreamExists}, nil
	case *streams.AppendReq_Options_Any:
		return expectation{kind: expectAny}, nil
	default:
		return expectation{}, status.Error(codes.InvalidArgument, "the expected stream revision is required")
	}
}

// receiveProposed reads proposed events until the client closes its side.
// Like KurrentDB it requires the type and content-type metadata, and
// refuses the append as soon as its events exceed the maximum append size.
func (s *streamsService) receiveProposed(call streams.Streams_AppendServer) ([]proposedEvent, error) {
	var proposed []proposedEvent
	size := 0
	for {
		req, err := call.Recv()
		if errors.Is(err, io.EOF) {
			return proposed, nil
		}
		if err != nil {
			return nil, err
		}
		ev, err := proposedOf(req.GetProposedMessage())
		if err != nil {
			return nil, err
		}
		if size += ev.size(); size > s.maxAppendSize {
			return nil, maxAppendSizeExceeded(call, s.maxAppendSize)
		}
		proposed = append(proposed, ev)
	}
}

func proposedOf(msg *streams.AppendReq_ProposedMessage) (proposedEvent, error) {
	if msg == nil {
		return proposedEvent{}, status.Error(codes.InvalidArgument, "expected a proposed message after the options")
	}
	eventType, ok := msg.GetMetadata()[metadataType]
	if !ok {
		return proposedEvent{}, status.Error(codes.InvalidArgument, "required metadata property 'type' is missing")
	}
	contentType, ok := msg.GetMetadata()[metadataContentType]
	if !ok {
		return proposedEvent{}, status.Error(codes.InvalidArgument, "required metadata property 'content-type' is missing")
	}
	id, err := uuidFromProto(msg.GetId())
	if err != nil {
		return proposedEvent{}, status.Errorf(codes.InvalidArgument, "invalid event id: %v", err)
	}
	return proposedEvent{
		id:             id,
		eventType:      eventType,
		isJSON:         contentType == contentTypeJSON,
		data:           msg.GetData(),
		customMetadata: msg.GetCustomMetadata(),
	}, nil
}

// size is what the event counts towards the maximum append size.
func (ev proposedEvent) size() int {
	return len(ev.data) + len(ev.customMetadata) + 2*len(ev.eventType)
}

// maxAppendSizeExceeded is a node's refusal of an append that is too big:
// status InvalidArgument with the trailers KurrentDB sends, which the esdb
// client does not recognise (ErrorCodeUnknown).
func maxAppendSizeExceeded(call trailerSetter, limit int) error {
	call.SetTrailer(metadata.Pairs("exception", "maximum-append-size-exceeded", "maximum-append-size", strconv.Itoa(limit)))
	return status.Errorf(codes.InvalidArgument, "Maximum Append Size of %d Exceeded.", limit)
}

func appendResp(options *streams.AppendReq_Options, outcome appendOutcome) *streams.AppendResp {
	if outcome.wrongVersion {
		return &streams.AppendResp{Result: &streams.AppendResp_WrongExpectedVersion_{
			WrongExpectedVersion: wrongExpectedVersion(options, outcome.current),
		}}
	}
	success := &streams.AppendResp_Success{}
	if outcome.current < 0 {
		success.CurrentRevisionOption = &streams.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
	} else {
		success.CurrentRevisionOption = &streams.AppendResp_Success_CurrentRevision{CurrentRevision: uint64(outcome.current)}
	}
	if outcome.last == nil {
		success.PositionOption = &streams.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	} else {
		success.PositionOption = &streams.AppendResp_Success_Position{Position: &streams.AppendResp_Position{
			CommitPosition:  outcome.last.position,
			PreparePosition: outcome.last.position,
		}}
	}
	return &streams.AppendResp{Result: &streams.AppendResp_Success_{Success: success}}
}

// wrongExpectedVersion fills both the current fields and the ones clients
// of 20.6.0 read, as KurrentDB does.
func wrongExpectedVersion(options *streams.AppendReq_Options, current int64) *streams.AppendResp_WrongExpectedVersion {
	wrong := &streams.AppendResp_WrongExpectedVersion{}
	if current < 0 {
		wrong.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		wrong.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	} else {
		wrong.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(current)}
		wrong.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: uint64(current)}
	}
	switch rev := options.GetExpectedStreamRevision().(type) {
	case *streams.AppendReq_Options_Revision:
		wrong.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: rev.Revision}
		wrong.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: rev.Revision}
	case *streams.AppendReq_Options_NoStream:
		wrong.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
		wrong.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: ^uint64(0)}
	case *streams.AppendReq_Options_StreamExists:
		wrong.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
		wrong.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_StreamExists_20_6_0{StreamExists_20_6_0: &shared.Empty{}}
	default:
		wrong.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
		wrong.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_Any_20_6_0{Any_20_6_0: &shared.Empty{}}
	}
	return wrong
}
