package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/events/tail"
	"github.com/licensing-ledger/ledger/infra/forward"
	"github.com/licensing-ledger/ledger/infra/jetstream"
	"github.com/licensing-ledger/ledger/infra/kurrentdb"
)

// The event stores --store chooses from.
const (
	storeJetStream = "jetstream"
	storeKurrentDB = "kurrentdb"
)

// openStore opens the event store --store names and starts forwarding its
// events into the public LEDGER stream over nc, whichever the store: the
// JetStream store's commit log (in the same NATS) or KurrentDB. The
// forwarder, and whoever subscribes to the returned store (the projector,
// the checkpoint issuer), follow the store through one shared subscription
// (package tail). Closing the store stops the forwarder, and a forwarder
// that cannot go on calls fail, which stops ledgerd. A LEDGER stream the
// forwarder would refuse (forward.ErrForeignStream) stops ledgerd before
// it serves anything.
func openStore(ctx context.Context, cfg config, nc *nats.Conn, fail context.CancelCauseFunc, log *slog.Logger) (events.Store, error) {
	store, err := openEventStore(ctx, cfg, nc, log)
	if err != nil {
		return nil, err
	}
	shared := tail.New(store, tail.Config{Logger: log})
	streams := jetstream.StreamConfig{Replicas: cfg.replicas}
	fwd, err := forward.New(shared, nc, forward.Config{Stream: streams, Source: cfg.store, Logger: log})
	if err == nil {
		err = refuseForeignStream(ctx, fwd)
	}
	if err != nil {
		_ = shared.Close()
		_ = store.Close()
		return nil, err
	}
	return startForwarding(store, shared, fwd, fail), nil
}

// openEventStore opens the store itself.
func openEventStore(ctx context.Context, cfg config, nc *nats.Conn, log *slog.Logger) (events.Store, error) {
	if cfg.store == storeKurrentDB {
		return openKurrentDB(ctx, cfg, log)
	}
	store, err := jetstream.Open(ctx, nc, jetstream.StreamConfig{Replicas: cfg.replicas})
	if err != nil {
		return nil, fmt.Errorf("opening the event store: %w", err)
	}
	if cfg.groupCommit() {
		if err := store.GroupCommit(ctx, cfg.natsDir()); err != nil {
			_ = store.Close()
			return nil, fmt.Errorf("opening the event store: %w", err)
		}
	}
	log.Info("event store: NATS JetStream; events forwarded to the public stream", "log", jetstream.LogStreamName, "stream", jetstream.StreamName)
	return store, nil
}

// openKurrentDB opens the KurrentDB store.
func openKurrentDB(ctx context.Context, cfg config, log *slog.Logger) (events.Store, error) {
	url := redact(cfg.kurrentdbURL)
	store, err := kurrentdb.Open(ctx, cfg.kurrentdbURL, kurrentdb.WithLogger(log), kurrentdb.WithMaxAppendSize(cfg.kurrentdbMaxAppend))
	if err != nil {
		return nil, fmt.Errorf("opening the KurrentDB event store at %s: %w", url, err)
	}
	log.Info("event store: KurrentDB; events forwarded to NATS", "kurrentdb", url, "stream", jetstream.StreamName)
	return store, nil
}

// refuseForeignStream fails when the forwarder would refuse the LEDGER
// stream for good. Other failures to read its checkpoint (NATS busy) are
// left to the forwarder, which retries them.
func refuseForeignStream(ctx context.Context, fwd *forward.Forwarder) error {
	if err := fwd.Check(ctx); errors.Is(err, forward.ErrForeignStream) {
		return fmt.Errorf("publishing events to NATS: %w", err)
	}
	return nil
}

// forwardingStore is an event store whose events a forwarder publishes to
// NATS for as long as the store is open, HTTP shutdown included, and whose
// subscriptions share one, with the forwarder's, through a tail.
type forwardingStore struct {
	events.Store
	tail *tail.Tail
	stop context.CancelFunc
	done chan struct{}
}

// startForwarding runs fwd in the background until the store is closed.
func startForwarding(store events.Store, shared *tail.Tail, fwd *forward.Forwarder, fail context.CancelCauseFunc) *forwardingStore {
	ctx, stop := context.WithCancel(context.Background())
	s := &forwardingStore{Store: store, tail: shared, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := fwd.Run(ctx); ctx.Err() == nil {
			fail(fmt.Errorf("forwarding events to NATS: %w", err))
		}
	}()
	return s
}

// writeRefuser is a store that can be told its server cannot write now
// (jetstream.Store.RefuseWrites).
type writeRefuser interface{ RefuseWrites(reason error) }

// RefuseWrites tells the store, if it listens, that its server cannot
// write now.
func (s *forwardingStore) RefuseWrites(reason error) {
	if r, ok := s.Store.(writeRefuser); ok {
		r.RefuseWrites(reason)
	}
}

// Ping asks the store whether it takes appends (events.Pinger).
func (s *forwardingStore) Ping(ctx context.Context) error { return events.Ping(ctx, s.Store) }

// Subscribe follows the store through the shared tail (tail.Tail.Subscribe):
// fn must not modify the records' Data.
func (s *forwardingStore) Subscribe(ctx context.Context, after events.Position, fn func(events.Record) error) error {
	return s.tail.Subscribe(ctx, after, fn)
}

// Close stops the forwarder and the tail, then closes the store. Events it
// had not forwarded yet are forwarded on the next start, from the
// checkpoint.
func (s *forwardingStore) Close() error {
	s.stop()
	<-s.done
	_ = s.tail.Close()
	return s.Store.Close()
}

// redactURLs hides the user and password of each URL of a comma-separated
// list, as --nats-url takes, for logs and errors.
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, u := range parts {
		parts[i] = redact(u)
	}
	return strings.Join(parts, ",")
}

// redact hides the user and password of a connection string, for logs.
func redact(conn string) string {
	scheme, rest, ok := strings.Cut(conn, "://")
	if !ok {
		return conn
	}
	if _, hosts, ok := strings.Cut(rest, "@"); ok {
		return scheme + "://***@" + hosts
	}
	return conn
}
