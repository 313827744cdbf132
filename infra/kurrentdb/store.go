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
	"errors"
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
	prefix        string
	log           *slog.Logger
	maxAppendSize int
	user          string              // the connection's user name, for error messages
	config        *esdb.Configuration // nil when the client was handed in, so it can't be replaced
	owned         bool                // whether Close closes the client

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
	log           *slog.Logger
	prefix        string
	maxAppendSize int
}

// DefaultMaxAppendSize is the largest append the store sends, in bytes,
// unless WithMaxAppendSize says otherwise: KurrentDB's own default
// MaxAppendSize, 1 MiB.
const DefaultMaxAppendSize = 1 << 20

// WithMaxAppendSize tells the store the node's MaxAppendSize, the most
// bytes one append may carry (DefaultMaxAppendSize otherwise). Set it to
// the node's setting (ledgerd's --kurrentdb-max-append).
func WithMaxAppendSize(bytes int) Option {
	return func(s *settings) { s.maxAppendSize = bytes }
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
	s := settings{log: slog.Default(), prefix: DefaultStreamPrefix, maxAppendSize: DefaultMaxAppendSize}
	for _, opt := range opts {
		opt(&s)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxAppendSize <= 0 {
		s.maxAppendSize = DefaultMaxAppendSize
	}
	if s.prefix == "" || strings.HasPrefix(s.prefix, "$") || strings.ContainsFunc(s.prefix, badTokenRune) {
		return s, fmt.Errorf("kurrentdb: invalid stream prefix %q: it must be non-empty, not start with '$', and hold no '.', '*', '>', space or control character", s.prefix)
	}
	return s, nil
}

// Open connects to KurrentDB with a connection string as KurrentDB
// documents them, e.g. "esdb://localhost:2113?tls=false" or
// "esdb://admin:changeit@localhost:2113?tlsCAFile=ca.crt", and checks that
// the node answers before ctx ends and that the connection's user may do
// what the store needs: read the tenant streams and $all, and append to the
// tenant streams. A user without one of these rights is ErrAccessDenied,
// naming the user and the right. The store owns the client: Close closes
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
	s := &Store{prefix: set.prefix, log: set.log, maxAppendSize: set.maxAppendSize, user: config.Username, config: config, owned: true, client: client}
	if err := s.checkAccess(ctx); err != nil {
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
	return &Store{prefix: set.prefix, log: set.log, maxAppendSize: set.maxAppendSize, client: client}, nil
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

// checkAccess checks that the node answers and that the user may read the
// tenant streams, read $all and append to the tenant streams, without
// writing anything (see probeWrite).
func (s *Store) checkAccess(ctx context.Context) error {
	none := func(*esdb.ResolvedEvent) error { return nil }
	err := s.eachInStream(ctx, s.prefix, esdb.ReadStreamOptions{From: esdb.Start{}}, 1, none)
	if err != nil {
		return s.explainAccess(err, "read the streams "+s.prefix+"*")
	}
	err = s.eachInAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1, none)
	if err != nil {
		return s.explainAccess(err, "read $all, which the ledger follows for every tenant's events (make it a member of $ops or $admins, or grant it $r on $all)")
	}
	if err := s.probeWrite(ctx); err != nil {
		return s.explainAccess(err, "append to the streams "+s.prefix+"*")
	}
	return nil
}

// explainAccess names, for ErrAccessDenied, who was refused and what they
// need.
func (s *Store) explainAccess(err error, need string) error {
	switch {
	case !errors.Is(err, ErrAccessDenied):
		return err
	case s.user == "":
		return fmt.Errorf("%w: connected without a user name and password, and the node refuses anonymous access: give the connection string a user that may %s (esdb://user:password@host:2113?tls=true)", err, need)
	case hasCode(err, esdb.ErrorCodeUnauthenticated):
		return fmt.Errorf("%w: the node refused the credentials of user %q: check the user name and password in the connection string", err, s.user)
	}
	return fmt.Errorf("%w: user %q may not %s", err, s.user, need)
}
