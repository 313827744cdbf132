// Package forward publishes the events of the ledger's event store into the
// public NATS stream LEDGER, one message per event, so that downstream
// consumers see the same subjects, headers and payloads whichever store the
// ledger runs on (the JetStream commit log or KurrentDB): core subscribers
// on ledger.> get the stream's re-publication, JetStream consumers read
// LEDGER.
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
// One goroutine publishes the records in the source's global order without
// waiting for acknowledgements: up to Config.Window publishes are in flight.
// Each publish expects the stream's last sequence (Nats-Expected-Last-Sequence)
// to be the one its predecessor gets: as the single writer, the forwarder
// knows it is the previous expectation plus one. So the server stores a
// publish only right after its predecessor: if one fails, every later one in
// flight is refused too, and a publish that arrives late from an earlier
// attempt, or one from a second forwarder, is refused rather than stored out
// of order.
//
// The chain also means that one acknowledgement vouches for every publish
// before it, so most publishes ask for none: one in Config.AckEvery does,
// and so does the last before a pause, which the forwarder recognises by
// holding the newest record back for Config.Linger. Another goroutine
// checks the acknowledgements in order. An acknowledgement costs the server
// and the client about as much as storing the event; asking for a few
// halves what forwarding costs.
//
// Any failure (NATS down, a refused publish, a missing acknowledgement, the
// source dropping its subscription) sends the forwarder back to the
// checkpoint after a backoff; nothing is skipped. So publication is at
// least once, while the stream stores each event once; the event id as
// Nats-Msg-Id lets JetStream's duplicate window absorb the rest, and
// consumers drop duplicates by id.
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
	"github.com/licensing-ledger/ledger/internal/backoff"
)

// PositionHeader carries, on each forwarded message, the record's Position
// in the source store (decimal): the forwarder's checkpoint.
const PositionHeader = "Ledger-Position"

// SourceHeader carries, on each forwarded message, the name of the store it
// comes from (Config.Source), so that a forwarder never resumes from a
// position of another store.
const SourceHeader = "Ledger-Source"

// Defaults for the Config fields left zero.
const (
	// DefaultWindow is how many publishes may be in flight, sent and not yet
	// vouched for by an acknowledgement.
	DefaultWindow = 256
	// DefaultAckEvery is how often a publish asks for an acknowledgement
	// while records keep coming.
	DefaultAckEvery = 32
	// DefaultLinger is how long the newest record waits for a successor
	// before it is published asking for an acknowledgement: the delay a
	// pause adds to the publication of its last event.
	DefaultLinger = time.Millisecond
)

// requestTimeout bounds one NATS round trip, and the wait for one
// publish's acknowledgement.
const requestTimeout = 5 * time.Second

// Source is what the forwarder reads: the global order of an event store.
// Every events.Store is one.
type Source interface {
	Subscribe(ctx context.Context, after events.Position, fn func(events.Record) error) error
}

// Config configures a Forwarder.
type Config struct {
	// Stream is the LEDGER stream's configuration, ensured on NATS before
	// forwarding.
	Stream jetstream.StreamConfig
	// Source names the store the events come from ("jetstream",
	// "kurrentdb"). Positions of different stores mean different things, so
	// the forwarder refuses a stream whose last message came from another
	// (ErrForeignStream). Empty names no source and checks nothing.
	Source string
	// Window bounds how many publishes are in flight, sent and not yet
	// vouched for by an acknowledgement (DefaultWindow when zero; 1
	// publishes one at a time).
	Window int
	// AckEvery is how many consecutive publishes may go without asking for
	// an acknowledgement, the one that asks included (DefaultAckEvery when
	// zero, at most Window; 1 asks for every one).
	AckEvery int
	// Linger is how long the newest record is held back for a successor:
	// if none comes, it is published asking for an acknowledgement
	// (DefaultLinger when zero).
	Linger time.Duration
	// Logger receives the forwarder's log lines; nil means slog.Default().
	Logger *slog.Logger
}

// Forwarder publishes every record of a source, in order, into the LEDGER
// stream. Run it in one goroutine.
type Forwarder struct {
	source Source
	nc     *nats.Conn
	js     natsjs.JetStream
	cfg    Config
	log    *slog.Logger
}

// New returns a forwarder from source to the NATS connection nc, which the
// caller keeps and closes after Run returns.
func New(source Source, nc *nats.Conn, cfg Config) (*Forwarder, error) {
	js, err := natsjs.New(nc, natsjs.WithPublishAsyncTimeout(requestTimeout))
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.AckEvery <= 0 {
		cfg.AckEvery = DefaultAckEvery
	}
	cfg.AckEvery = min(cfg.AckEvery, cfg.Window) // a full window always awaits an acknowledgement
	if cfg.Linger <= 0 {
		cfg.Linger = DefaultLinger
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Forwarder{source: source, nc: nc, js: js, cfg: cfg, log: log.With("component", "forwarder")}, nil
}

// Check reads the checkpoint once and returns what would stop Run for good
// (ErrForeignStream), or the failure to read it, so that a caller can refuse
// to start before anything else runs.
func (f *Forwarder) Check(ctx context.Context) error {
	_, err := f.readCheckpoint(ctx)
	return err
}

// Run forwards until ctx ends, then returns ctx's error. Failures of NATS or
// of the source are logged and retried with backoff from the checkpoint, for
// as long as it takes (see package backoff); Run returns early only with
// ErrForeignStream, which retrying cannot cure.
func (f *Forwarder) Run(ctx context.Context) error {
	var retry backoff.Backoff
	for {
		progressed, err := f.forward(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, ErrForeignStream):
			return err
		}
		delay := retry.Next(progressed)
		f.log.Warn("forwarding to NATS interrupted; resuming from the checkpoint", "in", delay, "err", err)
		if !backoff.Sleep(ctx, delay) {
			return ctx.Err()
		}
	}
}

// forward reads the checkpoint and publishes the source's records after it
// until something fails. It reports whether any publish was acknowledged.
func (f *Forwarder) forward(ctx context.Context) (bool, error) {
	cp, err := f.readCheckpoint(ctx)
	if err != nil {
		return false, err
	}
	f.log.Info("forwarding events to NATS", "after_position", uint64(cp.position), "stream_last_sequence", cp.lastSeq)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := f.startPipeline(ctx, cancel, cp.lastSeq)
	err = f.source.Subscribe(ctx, cp.position, p.publish)
	return p.finish(err)
}

// message builds the LEDGER message of rec: the JetStream store's own
// (jetstream.NewMsg) plus the position and source headers.
func (f *Forwarder) message(rec events.Record) (*nats.Msg, error) {
	if !jetstream.ValidToken(rec.Tenant) || !jetstream.ValidToken(rec.Type) {
		return nil, fmt.Errorf("forward: event %s at position %d: tenant %q or type %q is not a NATS subject token", rec.ID, rec.Position, rec.Tenant, rec.Type)
	}
	msg := jetstream.NewMsg(rec)
	msg.Header.Set(PositionHeader, strconv.FormatUint(uint64(rec.Position), 10))
	if f.cfg.Source != "" {
		msg.Header.Set(SourceHeader, f.cfg.Source)
	}
	return msg, nil
}
