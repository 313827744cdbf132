package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/licensing-ledger/ledger/console"
	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/auth"
	"github.com/licensing-ledger/ledger/infra/httpapi"
	"github.com/licensing-ledger/ledger/infra/jetstream"
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

// runLedger opens what the ledger depends on, then serves it.
func runLedger(ctx context.Context, cfg config, fail context.CancelCauseFunc, log *slog.Logger) error {
	cat, err := loadCatalog(cfg.catalogFile)
	if err != nil {
		return err
	}
	authn, err := loadAuth(cfg, log)
	if err != nil {
		return err
	}
	nc, shutdownNATS, err := connectNATS(cfg, log)
	if err != nil {
		return err
	}
	defer shutdownNATS()
	store, err := openStore(ctx, cfg, nc, fail, log)
	if err != nil {
		return err
	}
	defer store.Close()
	snapshots, err := openSnapshots(ctx, cfg, nc)
	if err != nil {
		return err
	}
	return serveLedger(ctx, cfg, store, snapshots, cat, authn, log)
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
func serveLedger(ctx context.Context, cfg config, store events.Store, snapshots events.SnapshotStore, cat *catalog.Catalog, authn *auth.Authenticator, log *slog.Logger) error {
	licenses, requests := projections.NewLicenses(cat), projections.NewRequests(time.Now)
	directory, feed := projections.NewDirectory(), projections.NewFeed()
	projector := projections.NewProjector(store, log, licenses, requests, directory, feed) // feed last: it speaks of events the others hold
	svc := ledger.New(store, ledger.Options{Catalog: cat, Logger: log, Snapshots: snapshots, Committed: projector.ApplyCommitted})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go projector.Run(runCtx)
	if err := waitForReadModels(ctx, projector, log); err != nil {
		return err
	}
	go expireRequests(runCtx, svc, requests, cfg.expireInterval, log)

	api := httpapi.New(httpapi.Config{Service: svc, Projector: projector, Licenses: licenses, Requests: requests, Auth: authn, Logger: log, Store: store, Directory: directory, Feed: feed, Console: console.Handler(), Done: ctx.Done()})
	return serve(ctx, cfg.listen, api, log)
}

func loadCatalog(path string) (*catalog.Catalog, error) {
	if path == "" {
		return catalog.Default(), nil
	}
	return catalog.LoadFile(path)
}

// loadAuth reads the principals file; with none given, it uses (and on the
// first run creates) <data>/principals.json holding an admin token.
func loadAuth(cfg config, log *slog.Logger) (*auth.Authenticator, error) {
	path := cfg.authFile
	if path == "" {
		path = filepath.Join(cfg.data, "principals.json")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			token, err := auth.CreateDefault(path)
			if err != nil {
				return nil, fmt.Errorf("creating %s: %w", path, err)
			}
			log.Info("created an auth file with a Global Administrator of tenant \"default\"", "file", path, "token", token)
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

// serve runs the HTTP API until ctx ends, then drains it.
func serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("ledger API listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
