package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// Defaults for the Config fields left zero.
const (
	// DefaultAckWait is how long the server waits for an acknowledgement
	// before it delivers the message again. A handler that runs longer is
	// kept alive with progress signals, so this bounds only how soon a
	// crashed consumer's message is redelivered.
	DefaultAckWait = 30 * time.Second
	// maxRetryDelay caps the wait before a failed event is delivered again.
	maxRetryDelay = 5 * time.Second
	firstRetry    = 100 * time.Millisecond
)

// ErrUndecodable is returned by Run for a message of the stream that is
// not a ledger event. The ledger publishes only events, so this means
// something else wrote to the stream; Run stops rather than skip it, and
// the message stays unacknowledged.
var ErrUndecodable = errors.New("consumer: a message of the LEDGER stream is not a ledger event")

// Config says which consumer to bind and where a new one starts.
type Config struct {
	// Durable names the consumer on the server (required). The server
	// keeps its position: a service that stops and starts again under the
	// same name resumes after the last event it acknowledged.
	Durable string
	// Tenants limits the events to these tenants (all when empty).
	Tenants []string
	// StartSequence, when not zero, makes a new consumer start at this
	// LEDGER stream sequence; StartTime, when set, at the first event
	// stored at or after it. Both apply only when the durable consumer is
	// created; an existing one resumes where it was. By default a new
	// consumer starts at the first event.
	StartSequence uint64
	StartTime     time.Time
	// AckWait is how long the server waits for an acknowledgement before
	// delivering again (DefaultAckWait when zero).
	AckWait time.Duration
	// Stream is the stream to bind (StreamName when empty).
	Stream string
	// Logger receives the consumer's log lines; nil means slog.Default().
	Logger *slog.Logger
}

// Run binds the durable consumer Config.Durable to the LEDGER stream by
// name, creating it if needed, and hands each event to h until ctx ends,
// then returns ctx's error. The consumer delivers the events of the types
// h handles (every type when h.Default is set) and of Config.Tenants.
//
// Delivery is in stream order, which keeps each tenant's order, and one
// event at a time: the consumer allows a single unacknowledged message
// (MaxAckPending 1), so a redelivery (a failed handler, a lost ack) comes
// before anything after it. An event is acknowledged after its handler
// returns nil; a handler's error is logged and the event delivered again
// after a backoff (100 ms doubling to 5 s), for as long as it fails.
// Duplicates (an event delivered again after its handler succeeded but
// before the server got the ack) are acknowledged and skipped: an event
// whose tenant sequence is not above the last this Run handled for its
// tenant has been handled. Across restarts of the process, handlers must
// be idempotent by event id: the last event before a crash may come again.
//
// Run fails at once when the stream or the consumer cannot be bound, and
// with ErrUndecodable if a message is not a ledger event.
func Run(ctx context.Context, js natsjs.JetStream, cfg Config, h *Handlers) error {
	cons, err := bind(ctx, js, cfg, h)
	if err != nil {
		return err
	}
	r := &runner{
		h:       h,
		log:     logger(cfg).With("component", "ledger-consumer", "durable", cfg.Durable),
		ackWait: cons.CachedInfo().Config.AckWait,
		last:    make(map[string]uint64),
	}
	return r.consume(ctx, cons)
}

func logger(cfg Config) *slog.Logger {
	if cfg.Logger != nil {
		return cfg.Logger
	}
	return slog.Default()
}

// bind creates the durable consumer, or updates its filter and ack wait
// while keeping where an existing one starts (the server refuses to change
// that).
func bind(ctx context.Context, js natsjs.JetStream, cfg Config, h *Handlers) (natsjs.Consumer, error) {
	if cfg.Durable == "" {
		return nil, errors.New("consumer: Config.Durable is required: the server keeps the position under that name")
	}
	if len(h.byType) == 0 && h.Default == nil {
		return nil, errors.New("consumer: no handlers: register some with On, or set Handlers.Default")
	}
	want, err := consumerConfig(cfg, h)
	if err != nil {
		return nil, err
	}
	stream := cfg.Stream
	if stream == "" {
		stream = StreamName
	}
	if existing, err := js.Consumer(ctx, stream, cfg.Durable); err == nil {
		info := existing.CachedInfo().Config
		want.DeliverPolicy, want.OptStartSeq, want.OptStartTime = info.DeliverPolicy, info.OptStartSeq, info.OptStartTime
	} else if !errors.Is(err, natsjs.ErrConsumerNotFound) {
		return nil, fmt.Errorf("consumer: bind %s on stream %s: %w", cfg.Durable, stream, err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, stream, want)
	if err != nil {
		return nil, fmt.Errorf("consumer: create or update %s on stream %s: %w", cfg.Durable, stream, err)
	}
	return cons, nil
}

// consumerConfig is the durable consumer's configuration.
func consumerConfig(cfg Config, h *Handlers) (natsjs.ConsumerConfig, error) {
	subjects, err := Subjects(cfg.Tenants, h.types())
	if err != nil {
		return natsjs.ConsumerConfig{}, err
	}
	cc := natsjs.ConsumerConfig{
		Durable:        cfg.Durable,
		Description:    "ledger consumer kit",
		FilterSubjects: subjects,
		AckPolicy:      natsjs.AckExplicitPolicy,
		AckWait:        cfg.AckWait,
		MaxAckPending:  1, // order across redeliveries: see Run
		MaxDeliver:     -1,
		DeliverPolicy:  natsjs.DeliverAllPolicy,
	}
	if cc.AckWait <= 0 {
		cc.AckWait = DefaultAckWait
	}
	switch {
	case cfg.StartSequence > 0:
		cc.DeliverPolicy, cc.OptStartSeq = natsjs.DeliverByStartSequencePolicy, cfg.StartSequence
	case !cfg.StartTime.IsZero():
		start := cfg.StartTime
		cc.DeliverPolicy, cc.OptStartTime = natsjs.DeliverByStartTimePolicy, &start
	}
	return cc, nil
}

// Decode returns the ledger event a LEDGER message holds.
func Decode(msg natsjs.Msg) (*ledgerv1.Event, error) {
	e := &ledgerv1.Event{}
	if err := proto.Unmarshal(msg.Data(), e); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUndecodable, msg.Subject(), err)
	}
	if id := msg.Headers().Get(natsjs.MsgIDHeader); id != e.GetId() {
		return nil, fmt.Errorf("%w: %s: the message id %q is not the event's id %q", ErrUndecodable, msg.Subject(), id, e.GetId())
	}
	return e, nil
}
