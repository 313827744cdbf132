package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/projections"
)

// measureReplay rebuilds every read model from the first event of the data
// set, as a ledger starting on an existing store does before its API opens,
// and returns how long it took.
func measureReplay(ctx context.Context, ds *dataset, log *slog.Logger) (time.Duration, error) {
	nc, err := nats.Connect("", nats.InProcessServer(ds.srv.ns), nats.Name("ledgerbench-replay"))
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	store, err := openStore(ctx, nc, "")
	if err != nil {
		return 0, err
	}
	defer store.Close()
	lic, req := projections.NewLicenses(catalog.Default()), projections.NewRequests(time.Now)
	p := projections.NewProjector(store, log, lic, req)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- p.Run(runCtx) }()
	err = p.WaitCaughtUp(ctx)
	took := time.Since(start)
	stop()
	<-done
	if err != nil {
		return 0, fmt.Errorf("replaying the data set: %w", err)
	}
	log.Info("read models rebuilt", "events", ds.events, "took", took.Round(time.Millisecond), "events/s", int(float64(ds.events)/took.Seconds()))
	return took, nil
}

// reportReplay adds the replay row.
func reportReplay(t *table, ds *dataset, took time.Duration) {
	rate := float64(ds.events) / took.Seconds()
	note := fmt.Sprintf("%s events of %s tenants (users, subscriptions, %s assignments, requests) in %s",
		thousands(float64(ds.events)), thousands(float64(ds.tenants)), thousands(float64(ds.assigns)), ms(took))
	t.atLeast(secReplay, "rebuild read models", rate, 300_000, func(v float64) string { return thousands(v) + " events/s" }, note)
}
