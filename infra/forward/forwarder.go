// Package forward publishes the events of an event store other than
// JetStream (KurrentDB) into the ledger's NATS stream, so that downstream
// consumers see the same subjects, headers and payloads whichever store the
// ledger runs on: core subscribers on ledger.> get the stream's
// re-publication, JetStream consumers read the LEDGER stream.
//
// # Checkpoint: the stream itself
//
// Every message the forwarder publishes carries the record's position in the
// source's global order in the PositionHeader header. On start, and after
// any failure, the forwarder reads the last message of the LEDGER stream and
// resumes the source's subscription after that position. The stream is thus
// its own checkpoint: no file or key-value entry that could disagree with
// what the stream holds, and no moment between "published" and
// "checkpointed" where a crash could lose or repeat an event. An empty
// stream (a new NATS, or one that lost its data) is filled from the first
// event of the source.
//
// # Order, and each event once
//
// One goroutine publishes the records one at a time, in the source's global
// order, each after the previous one is acknowledged. Each publish expects
// the stream's last sequence to be the one the forwarder saw last
// (Nats-Expected-Last-Sequence): a publish that arrives late from an earlier
// attempt, or one from a second forwarder, is refused rather than stored out
// of order. Any failure (NATS down, a refused publish, the source dropping
// its subscription) sends the forwarder back to the checkpoint after a
// backoff; nothing is skipped. So publication is at least once, while the
// stream stores each event once; the event id as Nats-Msg-Id lets
// JetStream's duplicate window absorb the rest, and consumers drop
// duplicates by id as they do with the JetStream store.
package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// PositionHeader carries, on each forwarded message, the record's Position
// in the source store (decimal): the forwarder's checkpoint.
const PositionHeader = "Ledger-Position"

// Retry backoff: the first retry waits minRetryDelay, each failure without
// progress doubles it up to maxRetryDelay.
const (
	minRetryDelay = 100 * time.Millisecond
	maxRetryDelay = 5 * time.Second
	// requestTimeout bounds one NATS round trip.
	requestTimeout = 5 * time.Second
)

// Source is what the forwarder reads: the global order of an event store.
// Every events.Store is one.
type Source interface {
	Subscribe(ctx context.Context, after events.Position, fn func(events.Record) error) error
}

// Config configures a Forwarder.
type Config struct {
	// Stream is the LEDGER stream's configuration, ensured on NATS before
	// forwarding, as the JetStream store does.
	Stream jetstream.StreamConfig
	// Logger receives the forwarder's log lines; nil means slog.Default().
	Logger *slog.Logger
}

// Forwarder publishes every record of a source, in order, into the LEDGER
// stream. Run it in one goroutine.
type Forwarder struct {
	source Source
	js     natsjs.JetStream
	cfg    Config
	log    *slog.Logger
}

// New returns a forwarder from source to the NATS connection nc, which the
// caller keeps and closes after Run returns.
func New(source Source, nc *nats.Conn, cfg Config) (*Forwarder, error) {
	js, err := natsjs.New(nc)
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Forwarder{source: source, js: js, cfg: cfg, log: log.With("component", "forwarder")}, nil
}

// Run forwards until ctx ends, then returns ctx's error. Failures of NATS or
// of the source are logged and retried with backoff from the checkpoint, for
// as long as it takes; Run returns early only with ErrForeignStream, which
// retrying cannot cure.
func (f *Forwarder) Run(ctx context.Context) error {
	delay := minRetryDelay
	for {
		progressed, err := f.forward(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, ErrForeignStream):
			return err
		}
		if progressed {
			delay = minRetryDelay
		}
		f.log.Warn("forwarding to NATS interrupted; resuming from the checkpoint", "in", delay, "err", err)
		if !sleep(ctx, delay) {
			return ctx.Err()
		}
		delay = min(2*delay, maxRetryDelay)
	}
}

// forward reads the checkpoint and publishes the source's records after it
// until something fails. It reports whether it published any.
func (f *Forwarder) forward(ctx context.Context) (bool, error) {
	cp, err := f.readCheckpoint(ctx)
	if err != nil {
		return false, err
	}
	f.log.Info("forwarding events to NATS", "after_position", uint64(cp.position), "stream_last_sequence", cp.lastSeq)
	progressed := false
	err = f.source.Subscribe(ctx, cp.position, func(rec events.Record) error {
		if err := f.publish(ctx, rec, &cp); err != nil {
			return err
		}
		progressed = true
		return nil
	})
	return progressed, err
}

// publish stores rec in the stream right after the message cp says is last,
// and moves cp past it.
func (f *Forwarder) publish(ctx context.Context, rec events.Record, cp *checkpoint) error {
	if !jetstream.ValidToken(rec.Tenant) || !jetstream.ValidToken(rec.Type) {
		return fmt.Errorf("forward: event %s at position %d: tenant %q or type %q is not a NATS subject token", rec.ID, rec.Position, rec.Tenant, rec.Type)
	}
	msg := jetstream.NewMsg(rec)
	msg.Header.Set(PositionHeader, strconv.FormatUint(uint64(rec.Position), 10))
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	ack, err := f.js.PublishMsg(ctx, msg, natsjs.WithExpectLastSequence(cp.lastSeq))
	if err != nil {
		return fmt.Errorf("forward: publish event %s at position %d: %w", rec.ID, rec.Position, err)
	}
	if !ack.Duplicate { // a duplicate is stored already: the stream did not move
		cp.lastSeq = ack.Sequence
	}
	cp.position = rec.Position
	return nil
}

// sleep waits for d or until ctx ends, reporting whether it waited it out.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
