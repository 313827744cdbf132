// Package kurrentdb stores the ledger's events in KurrentDB (formerly
// EventStoreDB) through its gRPC client. Each tenant's events form one
// KurrentDB stream, "ledger-<tenant>", whose revisions give the tenant
// sequence and guard appends; the ledger's global order is KurrentDB's $all
// order, and a record's Position is its commit position in $all, so a
// subscriber can checkpoint it and resume from it.
//
// The store needs a node that reports $all positions on stream reads
// (EventStoreDB 22 and later, every KurrentDB) and a user allowed to read
// $all (an admin on a secure node) for Subscribe and Head.
package kurrentdb

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/licensing-ledger/ledger/events"
)

// DefaultStreamPrefix is the prefix of every tenant stream's name: tenant
// "acme" is stream "ledger-acme". Subscriptions and Head filter $all on it.
const DefaultStreamPrefix = "ledger-"

// Store is the KurrentDB event store: an events.Store over an esdb client.
// It is safe for concurrent use.
type Store struct {
	prefix string
	log    *slog.Logger
	config *esdb.Configuration // nil when the client was handed in, so it can't be replaced
	owned  bool                // whether Close closes the client

	mu     sync.Mutex
	client *esdb.Client
	closed bool
}

var (
	_ events.Store  = (*Store)(nil)
	_ events.Pinger = (*Store)(nil)
)

// Option configures a Store.
type Option func(*settings)

type settings struct {
	log    *slog.Logger
	prefix string
}

// WithLogger sets the logger of the store and of its esdb client, whose
// own messages go out at debug level. The default is slog.Default().
func WithLogger(log *slog.Logger) Option {
	return func(s *settings) { s.log = log }
}

// WithStreamPrefix replaces "ledger-" as the prefix of tenant streams, so
// that several ledgers (or test runs) can share one KurrentDB without
// seeing each other's events. A prefix must not be a prefix of another
// ledger's prefix; ending it with "-" and making it unique does that.
func WithStreamPrefix(prefix string) Option {
	return func(s *settings) { s.prefix = prefix }
}

func newSettings(opts []Option) (settings, error) {
	s := settings{log: slog.Default(), prefix: DefaultStreamPrefix}
	for _, opt := range opts {
		opt(&s)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.prefix == "" || strings.HasPrefix(s.prefix, "$") || strings.ContainsFunc(s.prefix, badTokenRune) {
		return s, fmt.Errorf("kurrentdb: invalid stream prefix %q: it must be non-empty, not start with '$', and hold no '.', '*', '>', space or control character", s.prefix)
	}
	return s, nil
}

// Open connects to KurrentDB with a connection string as KurrentDB
// documents them, e.g. "esdb://localhost:2113?tls=false" or
// "esdb://admin:changeit@localhost:2113?tlsCAFile=ca.crt", and checks that
// the node answers before ctx ends. The store owns the client: Close closes
// it, and the store replaces it if it gives up reconnecting.
func Open(ctx context.Context, connectionString string, opts ...Option) (*Store, error) {
	set, err := newSettings(opts)
	if err != nil {
		return nil, err
	}
	config, err := esdb.ParseConnectionString(connectionString)
	if err != nil {
		return nil, fmt.Errorf("kurrentdb: parse connection string: %w", err)
	}
	config.Logger = clientLogger(set.log)
	client, err := esdb.NewClient(config)
	if err != nil {
		return nil, fmt.Errorf("kurrentdb: create client: %w", err)
	}
	s := &Store{prefix: set.prefix, log: set.log, config: config, owned: true, client: client}
	if err := s.ping(ctx); err != nil {
		_ = client.Close()
		return nil, err
	}
	return s, nil
}

// New returns a store over a client the caller made and keeps: Close
// leaves it open. Use Open unless the client is shared.
func New(client *esdb.Client, opts ...Option) (*Store, error) {
	set, err := newSettings(opts)
	if err != nil {
		return nil, err
	}
	return &Store{prefix: set.prefix, log: set.log, client: client}, nil
}

// Close releases the client if the store owns it. Calls made afterwards
// fail.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if !s.owned {
		return nil
	}
	return s.client.Close()
}

// current returns the client to use for the next call.
func (s *Store) current() *esdb.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// renew replaces a client that closed itself. The esdb client gives up for
// good when it fails to reach the node during (re)discovery, so without
// this a store would stay broken after KurrentDB restarts. The dead client
// is not closed: its connection loop has already ended, and closing it
// could make a call still blocked on it panic.
func (s *Store) renew(dead *esdb.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.config == nil || s.closed || s.client != dead {
		return
	}
	client, err := esdb.NewClient(s.config)
	if err != nil {
		s.log.Error("kurrentdb: cannot replace the closed client", "err", err)
		return
	}
	s.client = client
	s.log.Warn("kurrentdb: the client gave up reaching the node; replaced it")
}

// ping reads a stream no tenant can have (tenant ids are never empty) to
// check that the node answers.
func (s *Store) ping(ctx context.Context) error {
	return s.eachInStream(ctx, s.prefix, esdb.ReadStreamOptions{From: esdb.Start{}}, 1, func(*esdb.ResolvedEvent) error { return nil })
}
