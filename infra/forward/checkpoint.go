package forward

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// ErrForeignStream is returned by Run and Check when the LEDGER stream's last
// message was not forwarded from this source: it has no PositionHeader (it
// was written by the JetStream store of ledger versions before the commit
// log), or its SourceHeader names another store (the ledger ran on another
// store with this NATS). The forwarder cannot tell where to resume, and
// adding to the stream would mix two ledgers' histories. Point the ledger at
// another NATS store (or delete the stream, which the forwarder then
// refills from the source).
var ErrForeignStream = errors.New("forward: the LEDGER stream holds events that were not forwarded from this store")

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
	position, err := f.resumeAfter(last)
	if err != nil {
		return checkpoint{}, err
	}
	return checkpoint{position: position, lastSeq: max(state.LastSeq, last.Sequence)}, nil
}

// resumeAfter returns the source position of the last message of the
// stream, provided this forwarder's source published it. A message without
// SourceHeader was forwarded before the header existed, by a forwarder from
// KurrentDB, the only store forwarded then.
func (f *Forwarder) resumeAfter(last *natsjs.RawStreamMsg) (events.Position, error) {
	position, err := strconv.ParseUint(last.Header.Get(PositionHeader), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: message %d has no valid %s header (%w)", ErrForeignStream, last.Sequence, PositionHeader, err)
	}
	if source := last.Header.Get(SourceHeader); source != "" && f.cfg.Source != "" && source != f.cfg.Source {
		return 0, fmt.Errorf("%w: message %d was forwarded from %q, this forwarder reads %q", ErrForeignStream, last.Sequence, source, f.cfg.Source)
	}
	return events.Position(position), nil
}
