package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/licensing-ledger/ledger/checkpoint"
	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/events/tail"
	"github.com/licensing-ledger/ledger/infra/forward"
	"github.com/licensing-ledger/ledger/infra/jetstream"
	"github.com/licensing-ledger/ledger/ledger"
	"github.com/licensing-ledger/ledger/projections"
)

// natsServer is an embedded NATS server with JetStream, as ledgerd runs it,
// and the in-process connection the ledger uses.
type natsServer struct {
	ns *server.Server // nil when the server runs in a process of its own
	nc *nats.Conn
	js natsjs.JetStream

	external     string // URL of the server in its own process
	stopExternal func()
	// commitDir, when set, is the server's store directory, and the ledger
	// over it makes its appends durable itself (jetstream.Store.GroupCommit)
	// on a server that does not fsync each write, as ledgerd --sync does.
	commitDir string
}

// startNATS starts an embedded server keeping its files in dir; sync makes
// it fsync every write before acknowledging it. With listen it also accepts
// TCP clients on a free loopback port (see url).
func startNATS(dir string, sync, listen bool, log *slog.Logger) (*natsServer, error) {
	cfg := jetstream.EmbeddedConfig{StoreDir: dir, SyncAlways: sync, ServerName: "ledgerbench", Logger: quietLogger(log)}
	if listen {
		cfg.Listen = "127.0.0.1:0"
	}
	ns, err := jetstream.StartEmbedded(cfg)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect("", append(jetstream.LogConnection(log), nats.InProcessServer(ns), nats.Name("ledgerbench"))...)
	if err != nil {
		ns.Shutdown()
		return nil, err
	}
	js, err := natsjs.New(nc)
	if err != nil {
		nc.Close()
		ns.Shutdown()
		return nil, err
	}
	return &natsServer{ns: ns, nc: nc, js: js}, nil
}

// url is where TCP clients reach the server.
func (s *natsServer) url() string {
	if s.ns == nil {
		return s.external
	}
	return s.ns.ClientURL()
}

// close stops the server.
func (s *natsServer) close() {
	s.nc.Close()
	if s.ns == nil {
		s.stopExternal()
		return
	}
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// quietLogger keeps the server's warnings and drops its notices, which
// would bury the progress lines.
func quietLogger(log *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{Handler: log.Handler(), min: slog.LevelWarn})
}

// levelFilter is a slog handler that drops records under a level.
type levelFilter struct {
	slog.Handler
	min slog.Level
}

// Enabled reports whether the level reaches the filter's minimum.
func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

// WithAttrs returns the filter over the handler with the attributes.
func (f levelFilter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelFilter{Handler: f.Handler.WithAttrs(attrs), min: f.min}
}

// WithGroup returns the filter over the handler with the group.
func (f levelFilter) WithGroup(name string) slog.Handler {
	return levelFilter{Handler: f.Handler.WithGroup(name), min: f.min}
}

// countingStore is an event store that counts what is appended through it,
// so that the raw publishes can copy the ledger's append size.
type countingStore struct {
	events.Store
	appends atomic.Int64
	records atomic.Int64
	bytes   atomic.Int64
}

// Append appends through the store and counts what was stored.
func (s *countingStore) Append(ctx context.Context, tenant string, expected events.Cursor, recs []events.Record) (events.Cursor, error) {
	cur, err := s.Store.Append(ctx, tenant, expected, recs)
	if err == nil {
		s.appends.Add(1)
		s.records.Add(int64(len(recs)))
		for _, r := range recs {
			s.bytes.Add(int64(len(r.Data)))
		}
	}
	return cur, err
}

// appendCounts is a reading of a countingStore.
type appendCounts struct{ appends, records, bytes int64 }

func (s *countingStore) counts() appendCounts {
	return appendCounts{appends: s.appends.Load(), records: s.records.Load(), bytes: s.bytes.Load()}
}

func (a appendCounts) minus(b appendCounts) appendCounts {
	return appendCounts{appends: a.appends - b.appends, records: a.records - b.records, bytes: a.bytes - b.bytes}
}

// openStore opens the JetStream event store over the connection.
func openStore(ctx context.Context, nc *nats.Conn, commitDir string) (*countingStore, error) {
	st, err := jetstream.Open(ctx, nc, jetstream.StreamConfig{})
	if err != nil {
		return nil, fmt.Errorf("opening the event store: %w", err)
	}
	if commitDir != "" {
		if err := st.GroupCommit(ctx, commitDir); err != nil {
			_ = st.Close()
			return nil, fmt.Errorf("opening the event store: %w", err)
		}
	}
	return &countingStore{Store: st}, nil
}

// rig is the ledger as ledgerd wires it: the store, the command service, the
// projector with its read models, the forwarder that publishes every event
// to the public LEDGER stream, and on demand the HTTP API.
type rig struct {
	store     *countingStore
	js        natsjs.JetStream // of the ledger's connection
	svc       *ledger.Service
	projector *projections.Projector
	licenses  *projections.Licenses
	requests  *projections.Requests
	log       *slog.Logger
	stop      context.CancelFunc
	done      sync.WaitGroup
	// issuer signs checkpoints (--checkpoints); stopIssuer stops it.
	issuer     *checkpoint.Issuer
	stopIssuer context.CancelFunc
	// fwd publishes to LEDGER while running; stopFwd stops it (nil when it
	// is not running), fwdDone waits for it.
	fwd     *forward.Forwarder
	stopFwd context.CancelFunc
	fwdDone sync.WaitGroup
}

// newRig opens the store and starts the projector and, with forwarding,
// the forwarder. As in ledgerd, the projector, the forwarder and the
// checkpoint issuer follow the store through one shared subscription
// (package tail).
func newRig(ctx context.Context, nc *nats.Conn, commitDir string, forwarding bool, log *slog.Logger) (*rig, error) {
	store, err := openStore(ctx, nc, commitDir)
	if err != nil {
		return nil, err
	}
	store.Store = tail.Wrap(store.Store, tail.Config{Logger: quietLogger(log)})
	var fwd *forward.Forwarder
	if forwarding {
		if fwd, err = forward.New(store.Store, nc, forward.Config{Source: "jetstream", Logger: quietLogger(log)}); err != nil {
			_ = store.Close()
			return nil, err
		}
	}
	lic, req := projections.NewLicenses(catalog.Default()), projections.NewRequests(time.Now)
	projector := projections.NewProjector(store, log, lic, req)
	svc := ledger.New(store, ledger.Options{Logger: log, Committed: projector.ApplyCommitted})
	js, err := natsjs.New(nc)
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	r := &rig{store: store, js: js, svc: svc, projector: projector, licenses: lic, requests: req, log: log, fwd: fwd}
	runCtx, stop := context.WithCancel(context.Background())
	r.stop = stop
	r.done.Go(func() { _ = r.projector.Run(runCtx) })
	r.startForwarder()
	return r, nil
}

// startForwarder runs the forwarder, if the rig has one and it is not
// running; it resumes after the last message of LEDGER.
func (r *rig) startForwarder() {
	if r.fwd == nil || r.stopFwd != nil {
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	r.stopFwd = stop
	r.fwdDone.Go(func() { _ = r.fwd.Run(ctx) })
}

// stopForwarder stops the forwarder and waits until it has returned.
func (r *rig) stopForwarder() {
	if r.stopFwd == nil {
		return
	}
	r.stopFwd()
	r.fwdDone.Wait()
	r.stopFwd = nil
}

// close stops the projector and the forwarder and closes the store.
func (r *rig) close() {
	if r.stopIssuer != nil {
		r.stopIssuer()
	}
	r.stopForwarder()
	r.stop()
	r.done.Wait()
	_ = r.store.Close()
}
