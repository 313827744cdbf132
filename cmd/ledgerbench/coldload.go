package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
	"github.com/licensing-ledger/ledger/ledger"
)

// coldUsers is the directory size of the cold tenant.
const coldUsers = 2000

// coldSection measures the first command on a tenant with many events, by
// a command service that has never seen it: reading every event, then
// reading a snapshot and the events after it.
func coldSection(ctx context.Context, cfg config, dir string, t *table, log *slog.Logger) error {
	srv, err := startNATS(filepath.Join(dir, "coldload"), false, false, log)
	if err != nil {
		return err
	}
	defer srv.close()
	store, err := openStore(ctx, srv.nc, "")
	if err != nil {
		return err
	}
	defer store.Close()
	m, err := writeColdTenant(ctx, store, cfg, log)
	if err != nil {
		return err
	}
	took, n, err := measureVerify(ctx, store, m.id)
	if err != nil {
		return fmt.Errorf("verifying a signed export: %w", err)
	}
	plain, err := coldLoads(ctx, store, nil, m, cfg.coldRepeats, log)
	if err != nil {
		return err
	}
	snaps, err := jetstream.OpenSnapshots(ctx, srv.js, 1)
	if err != nil {
		return err
	}
	if err := ledger.New(store, ledger.Options{Snapshots: snaps, Logger: log, CommandTimeout: -1}).Snapshot(ctx, m.id); err != nil {
		return fmt.Errorf("taking a snapshot: %w", err)
	}
	snapped, err := coldLoads(ctx, store, snaps, m, cfg.coldRepeats, log)
	if err != nil {
		return err
	}
	reportCold(t, cfg, plain, snapped)
	reportVerify(t, took, n)
	return nil
}

// writeColdTenant writes a tenant of cfg.coldEvents events: what the
// command service decides for the benchmark's command mix, one append per
// command (or cfg.coldCommit events per append).
func writeColdTenant(ctx context.Context, store events.Store, cfg config, log *slog.Logger) (*tenantModel, error) {
	start := time.Now()
	m := newTenantModel("cold", coldUsers)
	w := newEventWriter(store, m.id, cfg.coldCommit)
	state := domain.NewState(m.id)
	w.onEvent = state.Apply
	if err := seedCold(ctx, w, m); err != nil {
		return nil, err
	}
	var written atomic.Int64
	stop := progress(log, "writing the cold tenant", 0, &written)
	defer stop()
	c, cat := newClient(7, []*tenantModel{m}), catalog.Default()
	for w.written+len(w.pending) < cfg.coldEvents {
		if err := writeDecided(ctx, w, state, c.next(), cat); err != nil {
			return nil, err
		}
		written.Store(int64(w.written))
	}
	if err := w.flush(ctx); err != nil {
		return nil, err
	}
	log.Info("cold tenant written", "events", w.written, "appends", w.appends, "took", time.Since(start).Round(time.Millisecond))
	return m, nil
}

// seedCold registers the cold tenant's users and buys a seat for each of
// them in every product.
func seedCold(ctx context.Context, w *eventWriter, m *tenantModel) error {
	for _, u := range m.users {
		if err := w.command(ctx, "RegisterUser", registered(u)); err != nil {
			return err
		}
	}
	for p, prod := range benchProducts {
		m.seats[p] = len(m.users)
		if err := w.command(ctx, "PurchaseSubscription", purchased(prod, len(m.users))); err != nil {
			return err
		}
	}
	return nil
}

// writeDecided decides the command against the state as the command
// service would, and writes its events; a refused command writes nothing.
func writeDecided(ctx context.Context, w *eventWriter, st *domain.State, cmd command, cat *catalog.Catalog) error {
	id := events.NewULID()
	ids := events.IDs(id, "ledgerbench", w.now)
	dc := domain.Context{Principal: cmd.principal, Roles: domain.EffectiveRoles(cmd.principal, st), Now: w.now, Catalog: cat, NewID: ids}
	d, err := domain.Decide(st, cmd.msg, dc)
	if err != nil || len(d.Events) == 0 {
		return nil
	}
	cmd.accepted()
	return w.write(ctx, domain.CommandName(cmd.msg), cmd.principal.ID, id, ids, d.Events)
}

// coldLoads times the first command of new command services on the
// tenant, each with an empty cache.
func coldLoads(ctx context.Context, store events.Store, snaps events.SnapshotStore, m *tenantModel, n int, log *slog.Logger) (latencies, error) {
	c := newClient(11, []*tenantModel{m})
	var out latencies
	for range n {
		// No command time out: this measures how long a cold load takes,
		// however long.
		svc := ledger.New(store, ledger.Options{Snapshots: snaps, Logger: log, CommandTimeout: -1})
		cmd := c.assign(m, 0)
		start := time.Now()
		_, err := svc.Execute(ctx, ledger.Command{Tenant: m.id, Principal: cmd.principal, Message: cmd.msg})
		out = append(out, time.Since(start))
		if err != nil {
			return nil, fmt.Errorf("first command on the cold tenant: %w", err)
		}
		cmd.accepted()
	}
	return merge(out), nil
}

// reportCold adds the cold load rows.
func reportCold(t *table, cfg config, plain, snapped latencies) {
	what := fmt.Sprintf("first command, %s events", thousands(float64(cfg.coldEvents)))
	note := func(l latencies) string {
		return fmt.Sprintf("median of %d new services; min %s, max %s", len(l), ms(l[0]), ms(l[len(l)-1]))
	}
	t.faster(secCold, what+", no snapshot", plain.percentile(50), 100*time.Millisecond, note(plain))
	t.faster(secCold, what+", snapshot", snapped.percentile(50), 100*time.Millisecond, note(snapped))
}
