package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/licensing-ledger/ledger/domain"
)

// durability names a server setting the command runs are measured with.
type durability struct {
	name string
	sync bool // fsync every write before acknowledging it
}

var durabilities = []durability{{name: "default", sync: false}, {name: "fsync", sync: true}}

// commandRun is what the commands section measured for one durability.
type commandRun struct {
	inProcess, http loadStats
	appends         appendCounts // of the in-process run
	raw             loadStats
	rawSize         int
	sameWork        loadStats // raw publishes of what the ledger stored per command
}

// commandSection measures one durability on a new server: the clients
// first call the command handler in process, then the HTTP API (while
// readers query it, with the default durability). Then, with the ledger's
// projector, forwarder and issuer stopped so that each row runs alone, it
// publishes raw to JetStream as many messages as the ledger appended, of the
// same size, and then exactly what the ledger stored per command (the same
// work, see measureSameWork).
func commandSection(ctx context.Context, cfg config, dir string, d durability, t *table, log *slog.Logger) error {
	log = log.With("durability", d.name)
	srv, err := commandServer(ctx, cfg, filepath.Join(dir, "commands-"+d.name), d.sync, log)
	if err != nil {
		return err
	}
	defer srv.close()
	run, err := measureLedger(ctx, cfg, srv, d, t, log)
	if err != nil {
		return err
	}
	raw, closeRaw, err := rawServer(srv, filepath.Join(dir, "commands-"+d.name+"-raw"), log)
	if err != nil {
		return err
	}
	defer closeRaw()
	if run.raw, run.rawSize, err = measureRaw(ctx, cfg, raw, run.appends, log); err != nil {
		return err
	}
	if run.sameWork, err = measureSameWork(ctx, cfg, raw, run.appends, log); err != nil {
		return err
	}
	reportCommands(t, d, run)
	if cfg.pairs == 0 {
		return nil
	}
	if d.sync {
		pairs, err := measureLedgerPairs(ctx, cfg, dir, d, run.appends, rawPublishes, log)
		if err != nil {
			return fmt.Errorf("raw fsync pairs: %w", err)
		}
		reportRawFsyncPairs(t, pairs)
		return nil
	}
	pairs, err := measureLedgerPairs(ctx, cfg, dir, d, run.appends, measureSameWork, log)
	if err != nil {
		return fmt.Errorf("same-work pairs: %w", err)
	}
	reportSameWorkPairs(t, pairs)
	return nil
}

// measureLedger runs the ledger's rows of one durability and stops the
// ledger (projector, forwarder, issuer) before it returns, so that nothing
// of it is still attached while the raw rows run.
func measureLedger(ctx context.Context, cfg config, srv *natsServer, d durability, t *table, log *slog.Logger) (commandRun, error) {
	var run commandRun
	r, err := newRig(ctx, srv.nc, srv.commitDir, cfg.forward, log)
	if err != nil {
		return run, err
	}
	defer r.close()
	if cfg.checkpoints {
		if err := r.startCheckpoints(ctx, srv.nc, log); err != nil {
			return run, err
		}
	}
	models, err := seedTenants(ctx, r, cfg, log)
	if err != nil {
		return run, err
	}
	cpBefore, countsBefore := r.checkpointStats(), r.store.counts()
	clients := makeClients(models, cfg.clients)
	run.inProcess, run.appends = measureInProcess(ctx, cfg, r, clients, log)
	if !d.sync {
		nw, err := measureNewWork(ctx, r, 3, newWorkCalls(cfg))
		if err != nil {
			return run, err
		}
		reportNewWork(t, nw)
	}
	var api *apiServer
	if cfg.http {
		if api, err = startAPI(r, models, cfg); err != nil {
			return run, err
		}
		defer api.close()
		run.http = measureHTTP(ctx, cfg, api, models, clients, d, t, log)
	}
	if cfg.checkpoints {
		reportCheckpoints(t, d, cpBefore, r.checkpointStats(), r.store.counts().minus(countsBefore))
	}
	if api != nil && cfg.pairs > 0 && !d.sync {
		measureHTTPPairs(ctx, cfg, r, api, models, clients, t, log)
	}
	if cfg.forward && cfg.pairs > 0 && !d.sync {
		pairs, err := measureForwarding(ctx, cfg, r, clients, log)
		if err != nil {
			return run, fmt.Errorf("forwarding pairs: %w", err)
		}
		reportForwarding(t, pairs)
	}
	return run, nil
}

// commandServer starts the NATS server of a command run's ledger:
// embedded, or the --nats-server binary in a process of its own. With sync,
// the embedded server leaves the fsyncs to the ledger's group commit, as
// ledgerd --sync does; a server in its own process fsyncs every write.
func commandServer(ctx context.Context, cfg config, dir string, sync bool, log *slog.Logger) (*natsServer, error) {
	if cfg.natsServer != "" {
		return startExternalNATS(ctx, cfg.natsServer, dir, sync, log)
	}
	srv, err := startNATS(dir, false, false, log)
	if err == nil && sync {
		srv.commitDir = dir
	}
	return srv, err
}

// rawServer returns the server for the raw rows beside the ledger's srv:
// srv itself, unless the ledger group-commits on it; then a new server in
// dir that fsyncs every write, the raw publisher's only way to durability.
// close releases what rawServer started.
func rawServer(srv *natsServer, dir string, log *slog.Logger) (raw *natsServer, close func(), err error) {
	if srv.commitDir == "" {
		return srv, func() {}, nil
	}
	raw, err = startNATS(dir, true, false, log)
	if err != nil {
		return nil, nil, err
	}
	return raw, raw.close, nil
}

// seedTenants writes the tenants' starting points, loads them into the
// command service and waits for the read models, so that the measured runs
// start warm.
func seedTenants(ctx context.Context, r *rig, cfg config, log *slog.Logger) ([]*tenantModel, error) {
	start := time.Now()
	models := make([]*tenantModel, cfg.tenants)
	for i := range models {
		models[i] = newTenantModel(fmt.Sprintf("tenant%03d", i), cfg.users)
	}
	err := forEach(ctx, len(models), 8, func(i int) error {
		return models[i].seed(ctx, newEventWriter(r.store, models[i].id, 500))
	})
	if err != nil {
		return nil, err
	}
	err = forEach(ctx, len(models), 8, func(i int) error {
		return r.svc.Authorize(ctx, models[i].id, models[i].admin(), domain.QueryLicenses, "")
	})
	if err != nil {
		return nil, err
	}
	if err := r.projector.WaitCaughtUp(ctx); err != nil {
		return nil, err
	}
	log.Info("tenants seeded and loaded", "tenants", len(models), "users", cfg.users, "took", time.Since(start).Round(time.Millisecond))
	return models, nil
}

// makeClients deals the tenants out to the clients, each owning its own.
func makeClients(models []*tenantModel, n int) []*client {
	owned := make([][]*tenantModel, n)
	for i, m := range models {
		owned[i%n] = append(owned[i%n], m)
	}
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = newClient(uint64(i+1), owned[i])
	}
	return clients
}

// measureInProcess runs the clients against ledger.Service.Execute.
func measureInProcess(ctx context.Context, cfg config, r *rig, clients []*client, log *slog.Logger) (loadStats, appendCounts) {
	d := inProcess{svc: r.svc}
	drive(ctx, clients, d, cfg.warmup, "warming up, in process", log)
	before := r.store.counts()
	s := drive(ctx, clients, d, cfg.duration, "commands in process", log)
	appended := r.store.counts().minus(before)
	log.Info("in process", "commands/s", int(s.rate()), "p99", s.lat.percentile(99), "refused %", s.refusalRate())
	logDetails(log, s)
	return s, appended
}

// measureHTTP runs the clients against the HTTP API on a loopback socket;
// with the default durability, readers query it first alone, then
// meanwhile, and the rows of the query tail tell what the runtime saw in
// both windows.
func measureHTTP(ctx context.Context, cfg config, api *apiServer, models []*tenantModel, clients []*client, d durability, t *table, log *slog.Logger) loadStats {
	drv := newOverHTTP(api.commands)
	drive(ctx, clients, drv, cfg.warmup, "warming up, HTTP", log)
	var q, idle queryStats
	var idleTail, loadedTail tailStats
	var s loadStats
	if d.sync {
		stopProfile := startHTTPProfile()
		s = drive(ctx, clients, drv, cfg.duration, "commands over HTTP", log)
		stopProfile()
	} else {
		// the same readers first without writes, for the ratio of their p99
		// under write load to their p99 idle
		idle, idleTail, _ = queryWindow(ctx, cfg, api, models, nil, min(cfg.duration, 5*time.Second), false, log)
		stopProfile, stopTrace := startHTTPProfile(), traceWindow(traceEnv, t, "query way in p99, loaded, traced", log)
		q, loadedTail, s = queryWindow(ctx, cfg, api, models, clients, cfg.duration, false, log)
		stopTrace()
		stopProfile()
		measurePacedQueries(ctx, cfg, api, models, clients, s.rate(), idle, t, log)
	}
	log.Info("over HTTP", "commands/s", int(s.rate()), "p99", s.lat.percentile(99), "refused %", s.refusalRate())
	logDetails(log, s)
	if !d.sync {
		reportQueries(t, q, idle)
		reportTail(t, idleTail, loadedTail)
	}
	return s
}

// logDetails logs why commands were refused or failed.
func logDetails(log *slog.Logger, s loadStats) {
	for detail, n := range s.details {
		log.Warn("commands not accepted", "count", n, "detail", detail)
	}
}

// reportCommands adds the rows of one durability to the table, and its
// ratios: the targets, each a ratio of two rows of this run.
func reportCommands(t *table, d durability, run commandRun) {
	a := run.appends
	size := fmt.Sprintf("%.1f events, %d B per append", float64(a.records)/float64(max(a.appends, 1)), run.rawSize)
	in, web := run.inProcess, run.http
	note := func(s loadStats) string {
		return fmt.Sprintf("%s; refused %.2f%%; %s per command", s.lat.summary(), s.refusalRate(), s.cpuNote())
	}
	ratio := in.rate() / run.raw.rate()
	same := in.rate() / run.sameWork.rate()
	rowName := func(s string) string { return s + ", " + d.name }
	t.add(secCommands, rowName("in process"), perSecond(in.rate()), note(in)+"; "+size)
	if web.commands() > 0 {
		t.add(secCommands, rowName("HTTP"), perSecond(web.rate()), note(web))
		if !d.sync {
			t.add(secCommands, rowName("HTTP")+", p99", ms(web.lat.percentile(99)), "")
		}
	}
	t.add(secStorage, rowName("raw publish"), perSecond(run.raw.rate()), rawNote(run))
	t.add(secStorage, rowName("raw, same work"), perSecond(run.sameWork.rate()), sameWorkNote(run))
	t.add(secStorage, rowName("ledger ÷ raw"), times(ratio), "in-process commands/s over raw publishes/s")
	t.add(secStorage, rowName("ledger ÷ raw, same work"), times(same), "in-process commands/s over same-work commands/s")
	if d.sync {
		t.atLeast(secRatios, "ledger ÷ raw publish, fsync", ratio, 1.5, times,
			fmt.Sprintf("group commit: %s in-process commands/s over %s raw fsync publishes/s", thousands(in.rate()), thousands(run.raw.rate())))
		return
	}
	t.atLeast(secRatios, "ledger ÷ raw same work, default", same, 0.8, times,
		fmt.Sprintf("%s in-process commands/s over %s same-work commands/s (log message + %.1f public messages each)",
			thousands(in.rate()), thousands(run.sameWork.rate()), float64(a.records)/float64(max(a.appends, 1))))
	if web.commands() > 0 {
		t.atLeast(secRatios, "HTTP ÷ in-process, default, one run with readers", web.rate()/in.rate(), 0.7, times,
			fmt.Sprintf("%s commands/s over HTTP (readers querying) over %s in process, one run each; the pairs below judge HTTP alone", thousands(web.rate()), thousands(in.rate())))
	}
}

// rawNote describes the raw publishes.
func rawNote(run commandRun) string {
	r := run.raw
	return fmt.Sprintf("%s; %s publishes of %d B; %s per publish", r.lat.summary(), thousands(float64(r.commands())), run.rawSize, r.cpuNote())
}

// sameWorkNote describes the same-work baseline.
func sameWorkNote(run commandRun) string {
	r, a := run.sameWork, run.appends
	return fmt.Sprintf("per command a checked log message and %.1f public messages (Nats-Msg-Id, transform, republish), no ledger code; %s commands; %s per command",
		float64(a.records)/float64(max(a.appends, 1)), thousands(float64(r.commands())), r.cpuNote())
}

// durationUnit formats a duration given as a float64 of nanoseconds.
func durationUnit(v float64) string { return ms(time.Duration(v)) }

// forEach calls fn for 0..n-1 on workers goroutines and returns the first
// error; it stops handing out work after an error.
func forEach(ctx context.Context, n, workers int, fn func(i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					cancel(err)
				}
			}
		})
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
