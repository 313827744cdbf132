package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/forward"
	"github.com/licensing-ledger/ledger/infra/jetstream"
	"github.com/licensing-ledger/ledger/infra/kurrentdb"
)

// The event stores --store chooses from.
const (
	storeJetStream = "jetstream"
	storeKurrentDB = "kurrentdb"
)

// openStore opens the event store --store names, over nc for JetStream. With
// KurrentDB it also starts forwarding the store's events to NATS over nc:
// closing the store stops the forwarder, and a forwarder that cannot go on
// calls fail, which stops ledgerd.
func openStore(ctx context.Context, cfg config, nc *nats.Conn, fail context.CancelCauseFunc, log *slog.Logger) (events.Store, error) {
	if cfg.store == storeKurrentDB {
		return openKurrentDB(ctx, cfg, nc, fail, log)
	}
	store, err := jetstream.Open(ctx, nc, jetstream.StreamConfig{Replicas: cfg.replicas})
	if err != nil {
		return nil, fmt.Errorf("opening the event store: %w", err)
	}
	log.Info("event store: NATS JetStream", "stream", jetstream.StreamName)
	return store, nil
}

// openKurrentDB opens the KurrentDB store and starts its forwarder.
func openKurrentDB(ctx context.Context, cfg config, nc *nats.Conn, fail context.CancelCauseFunc, log *slog.Logger) (events.Store, error) {
	url := redact(cfg.kurrentdbURL)
	store, err := kurrentdb.Open(ctx, cfg.kurrentdbURL, kurrentdb.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("opening the KurrentDB event store at %s: %w", url, err)
	}
	fwd, err := forward.New(store, nc, forward.Config{Stream: jetstream.StreamConfig{Replicas: cfg.replicas}, Logger: log})
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	log.Info("event store: KurrentDB; events forwarded to NATS", "kurrentdb", url, "stream", jetstream.StreamName)
	return startForwarding(store, fwd, fail), nil
}

// forwardingStore is an event store whose events a forwarder publishes to
// NATS for as long as the store is open, HTTP shutdown included.
type forwardingStore struct {
	events.Store
	stop context.CancelFunc
	done chan struct{}
}

// startForwarding runs fwd in the background until the store is closed.
func startForwarding(store events.Store, fwd *forward.Forwarder, fail context.CancelCauseFunc) *forwardingStore {
	ctx, stop := context.WithCancel(context.Background())
	s := &forwardingStore{Store: store, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := fwd.Run(ctx); ctx.Err() == nil {
			fail(fmt.Errorf("forwarding events to NATS: %w", err))
		}
	}()
	return s
}

// Close stops the forwarder, then closes the store. Events it had not
// forwarded yet are forwarded on the next start, from the checkpoint.
func (s *forwardingStore) Close() error {
	s.stop()
	<-s.done
	return s.Store.Close()
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
