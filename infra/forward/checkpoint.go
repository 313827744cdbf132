package forward

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// ErrForeignStream is returned by Run when the LEDGER stream's last message
// was not published by a forwarder (it has no PositionHeader): the stream
// was written by the JetStream store, so the forwarder cannot tell where to
// resume, and adding to it would mix two ledgers' histories. Point the
// ledger at another NATS store (or delete the stream, which the forwarder
// then refills from the source).
var ErrForeignStream = errors.New("forward: the LEDGER stream holds events that were not forwarded")

// checkpoint is where forwarding resumes: after the source position of the
// last message stored, whose stream sequence the next publish expects.
type checkpoint struct {
	position events.Position
	lastSeq  uint64
}

// readCheckpoint ensures the LEDGER stream (creating it on a NATS that lost it)
// and reads its last message.
func (f *Forwarder) readCheckpoint(ctx context.Context) (checkpoint, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	stream, err := jetstream.EnsureStream(ctx, f.js, f.cfg.Stream)
	if err != nil {
		return checkpoint{}, fmt.Errorf("forward: %w", err)
	}
	state := stream.CachedInfo().State
	if state.Msgs == 0 {
		return checkpoint{lastSeq: state.LastSeq}, nil
	}
	last, err := stream.GetLastMsgForSubject(ctx, jetstream.PublicSubjects)
	if err != nil {
		return checkpoint{}, fmt.Errorf("forward: read the last message of %s: %w", jetstream.StreamName, err)
	}
	position, err := strconv.ParseUint(last.Header.Get(PositionHeader), 10, 64)
	if err != nil {
		return checkpoint{}, fmt.Errorf("%w: message %d has no valid %s header (%w)", ErrForeignStream, last.Sequence, PositionHeader, err)
	}
	return checkpoint{position: events.Position(position), lastSeq: max(state.LastSeq, last.Sequence)}, nil
}
