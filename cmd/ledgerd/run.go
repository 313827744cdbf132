package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/licensing-ledger/ledger/checkpoint"
	"github.com/licensing-ledger/ledger/console"
	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/auth"
	"github.com/licensing-ledger/ledger/infra/forward"
	"github.com/licensing-ledger/ledger/infra/httpapi"
	"github.com/licensing-ledger/ledger/infra/jetstream"
	"github.com/licensing-ledger/ledger/internal/backoff"
	"github.com/licensing-ledger/ledger/internal/dirlock"
	"github.com/licensing-ledger/ledger/ledger"
	"github.com/licensing-ledger/ledger/projections"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// run wires the ledger together and serves until ctx ends or a component
// that must keep running (the forwarder to NATS) gives up.
func run(ctx context.Context, cfg config, log *slog.Logger) error {
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	err := runLedger(ctx, cfg, fail, log)
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// runLedger opens what the ledger depends on, then serves it. The data
// directory's lock comes first: nothing is opened in a directory that
// another process owns (O1). The API listens as soon as the lock is held:
// until the store answers and the read models are rebuilt it says so
// (/readyz 503, commands 503 with Retry-After), and /healthz is alive.
func runLedger(ctx context.Context, cfg config, fail context.CancelCauseFunc, log *slog.Logger) error {
	unlock, err := lockData(cfg, log)
	if err != nil {
		return err
	}
	defer unlock()
	cat, err := loadCatalog(cfg.catalogFile)
	if err != nil {
		return err
	}
	authn, err := loadAuth(cfg, log)
	if err != nil {
		return err
	}
	front := newFrontDoor("waiting for the event store")
	stopServing, served, err := listen(ctx, cfg, front, log)
	if err != nil {
		return err
	}
	b, err := waitForBackend(ctx, cfg, fail, log, front)
	if err != nil {
		stopServing()
		return err
	}
	defer b.close()
	defer stopServing() // drains the API before the backend closes
	return serveLedger(ctx, cfg, b, cat, authn, log, front, served)
}

// backend is what the ledger runs on: the NATS connection, the event store
// and its forwarder, the snapshots, and what must stop when it closes.
type backend struct {
	nc        *nats.Conn
	store     events.Store
	snapshots events.SnapshotStore
	// checkpoints signs the tenants' histories (L8); it stops, with a
	// last round, before the store closes.
	checkpoints *checkpoint.Issuer
	closers     []func()
}

// close stops what openBackend started, in reverse order.
func (b *backend) close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		b.closers[i]()
	}
}

// openBackend connects to NATS (or starts it), opens the event store and
// the snapshots; on failure it closes what it opened.
func openBackend(ctx context.Context, cfg config, fail context.CancelCauseFunc, log *slog.Logger) (*backend, error) {
	b := &backend{}
	nc, watchdog, shutdownNATS, err := connectNATS(cfg, log)
	if err != nil {
		return nil, err
	}
	b.nc, b.closers = nc, append(b.closers, shutdownNATS)
	if b.store, err = openStore(ctx, cfg, nc, fail, log); err != nil {
		b.close()
		return nil, err
	}
	store := b.store
	b.closers = append(b.closers, func() { _ = store.Close() }, runWatchdog(watchdog, store))
	if b.snapshots, err = openSnapshots(ctx, cfg, nc); err != nil {
		b.close()
		return nil, err
	}
	iss, stopCheckpoints, err := startCheckpoints(ctx, cfg, nc, b.store, log)
	if err != nil {
		b.close()
		return nil, err
	}
	b.checkpoints, b.closers = iss, append(b.closers, stopCheckpoints)
	return b, nil
}

// storeRetry paces the tries to reach an external store at start.
var storeRetry = backoff.Backoff{Min: 250 * time.Millisecond, Max: 5 * time.Second}

// waitForBackend opens the backend, trying again with backoff while an
// external NATS or KurrentDB cannot be reached yet (a cluster still
// starting, a network not up), for at most --store-wait. Errors that
// waiting does not mend (refused credentials, a foreign LEDGER stream, the
// embedded server's own failures) end it at once.
func waitForBackend(ctx context.Context, cfg config, fail context.CancelCauseFunc, log *slog.Logger, front *frontDoor) (*backend, error) {
	deadline := time.Now().Add(cfg.storeWait)
	pace := storeRetry
	for try := 1; ; try++ {
		b, err := openBackend(ctx, cfg, fail, log)
		if err == nil || !waitable(cfg, err) {
			return b, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the event store did not answer within --store-wait %s: %w", cfg.storeWait, err)
		}
		wait := pace.Next(false)
		log.Warn("the event store cannot be reached yet; trying again", "try", try, "in", wait, "err", err)
		front.setPhase(fmt.Sprintf("waiting for the event store (try %d)", try))
		if !backoff.Sleep(ctx, wait) {
			return nil, ctx.Err()
		}
	}
}

// waitable reports whether a failure to open the backend may pass by
// itself: only an external store's, and not a refusal of credentials or
// of the LEDGER stream.
func waitable(cfg config, err error) bool {
	external := cfg.nats.url != "" || cfg.store == storeKurrentDB
	refused := errors.Is(err, nats.ErrAuthorization) || errors.Is(err, forward.ErrForeignStream) ||
		strings.Contains(err.Error(), "Authorization Violation")
	return external && !refused
}

// lockData takes the lock of the data directory when ledgerd uses it: for
// the embedded NATS store or the default principals file. Two processes
// on one embedded store lose acknowledged events, so a second ledgerd on
// the directory fails here, naming it and its owner's pid.
func lockData(cfg config, log *slog.Logger) (func(), error) {
	if cfg.nats.url != "" && cfg.authFile != "" && cfg.checkpointKey != "" {
		return func() {}, nil // --data is not used
	}
	lock, err := dirlock.Acquire(cfg.data)
	if err != nil {
		return nil, err
	}
	log.Info("data directory locked", "data", cfg.data, "lock", filepath.Join(cfg.data, dirlock.FileName))
	return func() { _ = lock.Release() }, nil
}

// openSnapshots opens the bucket of tenants' snapshots on the ledger's NATS,
// whichever store holds the events: snapshots are a cache beside them.
func openSnapshots(ctx context.Context, cfg config, nc *nats.Conn) (events.SnapshotStore, error) {
	js, err := natsjs.New(nc)
	if err != nil {
		return nil, err
	}
	return jetstream.OpenSnapshots(ctx, js, cfg.replicas)
}

// serveLedger rebuilds the read models from the store, then runs the
// command service and the HTTP API until ctx ends.
func serveLedger(ctx context.Context, cfg config, b *backend, cat *catalog.Catalog, authn *auth.Authenticator, log *slog.Logger, front *frontDoor, served <-chan error) error {
	store, snapshots := b.store, b.snapshots
	licenses, requests := projections.NewLicenses(cat), projections.NewRequests(time.Now)
	directory, feed := projections.NewDirectory(), projections.NewFeed()
	projector := projections.NewProjector(store, log, licenses, requests, directory, feed) // feed last: it speaks of events the others hold
	svc := ledger.New(store, ledger.Options{Catalog: cat, Logger: log, Snapshots: snapshots, Committed: projector.ApplyCommitted,
		CommandTimeout: cfg.commandTimeout, HistoryCheck: signedHistory(b.checkpoints)})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go projector.Run(runCtx)
	front.setPhase("rebuilding the read models")
	if err := waitForReadModels(ctx, projector, log); err != nil {
		return err
	}
	front.setPhase("checking the histories against their checkpoints")
	if err := b.checkpoints.WaitReady(ctx); err != nil {
		return err
	}
	go expireRequests(runCtx, svc, requests, cfg.expireInterval, log)

	api := httpapi.New(httpapi.Config{Service: svc, Projector: projector, Licenses: licenses, Requests: requests, Auth: authn, Logger: log, Store: store, Checkpoints: b.checkpoints,
		Directory: directory, Feed: feed, Console: console.Handler(), Done: ctx.Done(),
		Readiness: []httpapi.ReadinessCheck{
			{Name: "store", Check: storeReady(store)},
			{Name: "read-models", Check: readModelsReady(projector)},
			{Name: "history", Check: historyReady(svc, b.checkpoints)},
		}})
	front.open(api)
	log.Info("ledger API ready", "addr", cfg.listen)
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
		return nil
	}
}

// storeReady is the readiness check of the event store: it takes appends
// now, or the detail says whether it cannot be reached or refuses writes.
func storeReady(store events.Store) func(context.Context) error {
	return func(ctx context.Context) error {
		err := events.Ping(ctx, store)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, events.ErrWritesRefused):
			slog.Debug("readiness: the store refuses writes", "err", err)
			return domain.Errorf(domain.CodeUnavailable, "store refusing writes (a full disk, or JetStream disabled): see the log")
		}
		slog.Debug("readiness: the store does not answer", "err", err)
		return domain.Errorf(domain.CodeUnavailable, "store unreachable: see the log")
	}
}

// historyReady is the readiness check of the tenants' histories: it fails
// while a tenant's history is damaged (ledger.Damage), or no longer
// matches its latest signed checkpoint, naming each such tenant, until an
// operator restores it and restarts the service. The other tenants are
// served meanwhile.
func historyReady(svc *ledger.Service, iss *checkpoint.Issuer) func(context.Context) error {
	return func(context.Context) error {
		damaged := map[string]string{}
		for tenant := range iss.DamagedTenants() {
			damaged[tenant] = tenant + " (does not match its latest checkpoint)"
		}
		for _, d := range svc.Damaged() {
			damaged[d.Tenant] = fmt.Sprintf("%s at event %d", d.Tenant, d.Sequence)
		}
		if len(damaged) == 0 {
			return nil
		}
		names := slices.Sorted(maps.Values(damaged))
		return domain.Errorf(domain.CodeDamaged, "damaged history in %d tenant(s): %s; their commands and views are refused, the other tenants are served", len(damaged), strings.Join(names, ", "))
	}
}

// signedHistory is the ledger's check of a tenant's history against what
// the checkpoint issuer signed of it (ledger.Options.HistoryCheck).
func signedHistory(iss *checkpoint.Issuer) func(string) (uint64, error) {
	return func(tenant string) (uint64, error) {
		err := iss.Damaged(tenant)
		var m *checkpoint.Mismatch
		if errors.As(err, &m) {
			return m.From, err
		}
		return 0, err
	}
}

// readModelsLag is how long the read models may take to reach the store's
// head before the ledger is not ready: they normally follow within
// milliseconds.
const readModelsLag = time.Second

// readModelsReady is the readiness check of the read models: they reach
// what the store held when asked within readModelsLag.
func readModelsReady(p *projections.Projector) func(context.Context) error {
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, readModelsLag)
		defer cancel()
		if err := p.WaitCaughtUp(ctx); err != nil {
			return domain.Errorf(domain.CodeUnavailable, "read models not current: at position %d, not at the store's head within %s: %v", p.Position(), readModelsLag, err)
		}
		return nil
	}
}

func loadCatalog(path string) (*catalog.Catalog, error) {
	if path == "" {
		return catalog.Default(), nil
	}
	return catalog.LoadFile(path)
}

// loadAuth reads the principals file; with none given, it uses (and on the
// first run creates) <data>/principals.json holding an admin token. It logs
// where the file is, never a token.
func loadAuth(cfg config, log *slog.Logger) (*auth.Authenticator, error) {
	path := cfg.authFile
	if path == "" {
		path = filepath.Join(cfg.data, "principals.json")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if _, err := auth.CreateDefault(path); err != nil {
				return nil, fmt.Errorf("creating %s: %w", path, err)
			}
			// The token is a secret: logs are copied and kept where the
			// file (mode 0600) is not, so the log says where it is.
			log.Info("created an auth file with a Global Administrator of tenant \"default\"; its token is in the file", "file", path)
		}
	}
	a, err := auth.Load(path)
	if err == nil {
		log.Info("principals loaded", "file", path)
	}
	return a, err
}

// waitForReadModels rebuilds the read models before the API opens, so that
// a restarted ledger never answers from a half-built view.
func waitForReadModels(ctx context.Context, p *projections.Projector, log *slog.Logger) error {
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- p.WaitCaughtUp(ctx) }()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err == nil {
				log.Info("read models ready", "position", p.Position(), "took", time.Since(start).Round(time.Millisecond))
			}
			return err
		case <-tick.C:
			log.Info("rebuilding read models", "position", p.Position())
		}
	}
}

// expireRequests closes, on a timer, pending requests older than 12 months
// in every tenant that has requests (Q3).
func expireRequests(ctx context.Context, svc *ledger.Service, reqs *projections.Requests, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	system := domain.Principal{ID: domain.SystemActor, System: true}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, tenant := range reqs.Tenants() {
			res, err := svc.Execute(ctx, ledger.Command{Tenant: tenant, Principal: system, Message: &ledgerv1.ExpireRequests{}})
			if err != nil {
				log.Warn("expiring requests failed", "tenant", tenant, "err", err)
			} else if len(res.Events) > 0 {
				log.Info("expired requests", "tenant", tenant, "events", len(res.Events))
			}
		}
	}
}

// listen serves h on --listen in the background, over HTTPS when
// --tls-cert is given. stop drains the server (10 s at most); served
// reports the server's failure.
func listen(ctx context.Context, cfg config, h http.Handler, log *slog.Logger) (stop func(), served <-chan error, err error) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
	if cfg.tlsCert != "" {
		cert, err := loadCertificate(cfg.tlsCert, cfg.tlsKey, log)
		if err != nil {
			return nil, nil, err
		}
		srv.TLSConfig = cert.tlsConfig()
		go cert.watch(ctx)
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return nil, nil, err
	}
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	log.Info("ledger API listening", "addr", ln.Addr().String(), "tls", srv.TLSConfig != nil)
	return func() {
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, errc, nil
}
