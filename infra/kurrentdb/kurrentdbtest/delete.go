package kurrentdbtest

import (
	"context"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Delete implements Streams.Delete, a soft delete: the stream reads as not
// found, and its metadata's $tb hides its events, until it is written again.
// The expected revision is not checked.
func (s *streamsService) Delete(ctx context.Context, req *streams.DeleteReq) (*streams.DeleteResp, error) {
	name := string(req.GetOptions().GetStreamIdentifier().GetStreamName())
	if err := allow(ctx, unaryTrailers{ctx}, Write); err != nil {
		return nil, err
	}
	position, deleted := s.log.softDelete(name)
	if deleted {
		return nil, streamDeleted(unaryTrailers{ctx}, name)
	}
	return &streams.DeleteResp{PositionOption: &streams.DeleteResp_Position_{
		Position: &streams.DeleteResp_Position{CommitPosition: position, PreparePosition: position},
	}}, nil
}

// Tombstone implements Streams.Tombstone, a hard delete: the stream can
// never be read or written again. The expected revision is not checked.
func (s *streamsService) Tombstone(ctx context.Context, req *streams.TombstoneReq) (*streams.TombstoneResp, error) {
	name := string(req.GetOptions().GetStreamIdentifier().GetStreamName())
	if err := allow(ctx, unaryTrailers{ctx}, Write); err != nil {
		return nil, err
	}
	position, deleted := s.log.tombstone(name)
	if deleted {
		return nil, streamDeleted(unaryTrailers{ctx}, name)
	}
	return &streams.TombstoneResp{PositionOption: &streams.TombstoneResp_Position_{
		Position: &streams.TombstoneResp_Position{CommitPosition: position, PreparePosition: position},
	}}, nil
}

// streamDeleted is a node's answer to a call on a tombstoned stream: the
// trailers the esdb client turns into ErrorCodeStreamDeleted.
func streamDeleted(call trailerSetter, name string) error {
	call.SetTrailer(metadata.Pairs("exception", "stream-deleted", "stream-name", name))
	return status.Errorf(codes.FailedPrecondition, "Event stream '%s' is deleted.", name)
}
