package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// forwardPair is one alternating pair of short in-process runs, one with
// the forwarder running and one without.
type forwardPair struct{ on, off loadStats }

// cost is the forwarder's CPU per command in this pair, in µs: on minus
// off.
func (p forwardPair) cost() float64 { return p.on.cpuPerCommand() - p.off.cpuPerCommand() }

// measureForwarding runs cfg.pairs alternating pairs of in-process runs of
// cfg.pairDuration on the same rig, the forwarder stopped in one and
// running in the other, the order swapped every pair. Before a run with
// the forwarder it catches up with what the run without wrote; after it,
// the CPU spent catching up with the run's own events counts as the run's.
func measureForwarding(ctx context.Context, cfg config, r *rig, clients []*client, log *slog.Logger) ([]forwardPair, error) {
	d := inProcess{svc: r.svc}
	pairs := make([]forwardPair, cfg.pairs)
	for i := range pairs {
		order := []bool{false, true}
		if i%2 == 1 {
			order = []bool{true, false}
		}
		for _, on := range order {
			if !on {
				r.stopForwarder()
				pairs[i].off = drive(ctx, clients, d, cfg.pairDuration, "commands, forwarder off", log)
				continue
			}
			r.startForwarder()
			if err := r.waitForwarded(ctx); err != nil {
				return nil, err
			}
			s := drive(ctx, clients, d, cfg.pairDuration, "commands, forwarder on", log)
			cpu, scpu := cpuTime(), serverCPU()
			if err := r.waitForwarded(ctx); err != nil {
				return nil, err
			}
			s.cpu, s.serverCPU = s.cpu+cpuTime()-cpu, s.serverCPU+serverCPU()-scpu
			pairs[i].on = s
		}
		log.Info("forwarding pair", "pair", i+1, "on µs CPU/command", int(pairs[i].on.cpuPerCommand()),
			"off µs CPU/command", int(pairs[i].off.cpuPerCommand()))
	}
	r.startForwarder()
	return pairs, r.waitForwarded(ctx)
}

// waitForwarded waits until LEDGER holds one message for every record
// appended through the rig's store.
func (r *rig) waitForwarded(ctx context.Context) error {
	st, err := r.js.Stream(ctx, jetstream.StreamName)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		info, err := st.Info(ctx)
		if err != nil {
			return err
		}
		want := uint64(r.store.records.Load())
		if info.State.Msgs >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the forwarder has published %d of %d events after two minutes", info.State.Msgs, want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// reportForwarding adds the forwarder's CPU per command, on minus off, the
// median over the pairs.
func reportForwarding(t *table, pairs []forwardPair) {
	if len(pairs) == 0 {
		return
	}
	costs := make([]float64, len(pairs))
	var each []string
	for i, p := range pairs {
		costs[i] = p.cost()
		each = append(each, fmt.Sprintf("on %.0f − off %.0f", p.on.cpuPerCommand(), p.off.cpuPerCommand()))
	}
	t.atMost(secRatios, "forwarding, CPU per command, default", median(costs), 40, microseconds,
		fmt.Sprintf("median of %d alternating pairs of %s in-process runs, on minus off (µs): %s", len(pairs), pairDurationOf(pairs), strings.Join(each, "; ")))
}

// pairDurationOf is the measured length of the pairs' runs.
func pairDurationOf(pairs []forwardPair) time.Duration {
	return pairs[0].off.elapsed.Round(100 * time.Millisecond)
}

// microseconds formats a figure in µs.
func microseconds(v float64) string { return fmt.Sprintf("%.0f µs", v) }

// ledgerRawPair is one alternating pair: a short in-process ledger run and
// the raw publishes (the same work, or one per append) of what it stored,
// each alone on the server.
type ledgerRawPair struct{ ledger, raw loadStats }

func (p ledgerRawPair) ratio() float64 { return p.ledger.rate() / p.raw.rate() }

// rawRun publishes raw, on the server, the work of an in-process ledger
// run: the same work (measureSameWork) or as many raw publishes as appends
// (rawPublishes).
type rawRun func(ctx context.Context, cfg config, srv *natsServer, work appendCounts, log *slog.Logger) (loadStats, error)

// rawPublishes is measureRaw as a rawRun.
func rawPublishes(ctx context.Context, cfg config, srv *natsServer, work appendCounts, log *slog.Logger) (loadStats, error) {
	s, _, err := measureRaw(ctx, cfg, srv, work, log)
	return s, err
}

// measureLedgerPairs alternates cfg.pairs short ledger runs with the raw
// publishes of what they stored, the order swapped every pair (the raw run
// then copying the previous ledger run's work, or, in the first pair,
// work). Each pair has a new server of its own, of the durability: the
// ledger (store, projector, forwarder and issuer as in the command run)
// seeds its tenants there, warms up, runs, and is stopped before the raw
// run, so that each runs alone.
func measureLedgerPairs(ctx context.Context, cfg config, dir string, d durability, work appendCounts, raw rawRun, log *slog.Logger) ([]ledgerRawPair, error) {
	pairs := make([]ledgerRawPair, cfg.pairs)
	for i := range pairs {
		err := func() error {
			srv, err := commandServer(ctx, cfg, filepath.Join(dir, fmt.Sprintf("pair-%s-%d", d.name, i)), d.sync, log)
			if err != nil {
				return err
			}
			defer srv.close()
			rawSrv, closeRaw, err := rawServer(srv, filepath.Join(dir, fmt.Sprintf("pair-%s-%d-raw", d.name, i)), log)
			if err != nil {
				return err
			}
			defer closeRaw()
			ledgerFirst := i%2 == 0
			if !ledgerFirst {
				if pairs[i].raw, err = raw(ctx, cfg, rawSrv, work, log); err != nil {
					return err
				}
			}
			if pairs[i].ledger, work, err = ledgerPairRun(ctx, cfg, srv, log); err != nil {
				return err
			}
			if ledgerFirst {
				if pairs[i].raw, err = raw(ctx, cfg, rawSrv, work, log); err != nil {
					return err
				}
			}
			return nil
		}()
		if err != nil {
			return nil, err
		}
		log.Info("ledger and raw pair", "pair", i+1, "ledger commands/s", int(pairs[i].ledger.rate()), "raw/s", int(pairs[i].raw.rate()))
	}
	return pairs, nil
}

// ledgerPairRun seeds the tenants on a new ledger over the server, warms
// up and measures the clients in process for cfg.pairDuration; it returns
// the run and what it appended, and stops the ledger.
func ledgerPairRun(ctx context.Context, cfg config, srv *natsServer, log *slog.Logger) (loadStats, appendCounts, error) {
	r, err := newRig(ctx, srv.nc, srv.commitDir, cfg.forward, log)
	if err != nil {
		return loadStats{}, appendCounts{}, err
	}
	defer r.close()
	if cfg.checkpoints {
		if err := r.startCheckpoints(ctx, srv.nc, log); err != nil {
			return loadStats{}, appendCounts{}, err
		}
	}
	models, err := seedTenants(ctx, r, cfg, log)
	if err != nil {
		return loadStats{}, appendCounts{}, err
	}
	clients := makeClients(models, cfg.clients)
	drv := inProcess{svc: r.svc}
	drive(ctx, clients, drv, min(cfg.warmup, cfg.pairDuration), "warming up, ledger of a pair", log)
	before := r.store.counts()
	s := drive(ctx, clients, drv, cfg.pairDuration, "commands in process, ledger of a pair", log)
	return s, r.store.counts().minus(before), nil
}

// reportSameWorkPairs adds the median of the pairs' ledger ÷ same-work
// ratios.
func reportSameWorkPairs(t *table, pairs []ledgerRawPair) {
	ratios := make([]float64, len(pairs))
	var each []string
	for i, p := range pairs {
		ratios[i] = p.ratio()
		each = append(each, fmt.Sprintf("%s ÷ %s", thousands(p.ledger.rate()), thousands(p.raw.rate())))
	}
	t.atLeast(secRatios, "ledger ÷ raw same work, default, pairs", median(ratios), 0.8, times,
		fmt.Sprintf("median of %d alternating pairs of %s in-process runs (each pair on a new server, the ledger seeded and warmed up, then stopped) and same-work runs of what they stored, commands/s: %s",
			len(pairs), pairs[0].ledger.elapsed.Round(100*time.Millisecond), strings.Join(each, "; ")))
}

// reportRawFsyncPairs adds the median of the pairs' ledger ÷ raw fsync
// publish ratios.
func reportRawFsyncPairs(t *table, pairs []ledgerRawPair) {
	ratios := make([]float64, len(pairs))
	var each []string
	for i, p := range pairs {
		ratios[i] = p.ratio()
		each = append(each, fmt.Sprintf("%s ÷ %s", thousands(p.ledger.rate()), thousands(p.raw.rate())))
	}
	t.atLeast(secRatios, "ledger ÷ raw publish, fsync, pairs", median(ratios), 1.5, times,
		fmt.Sprintf("group commit: median of %d alternating pairs of %s in-process runs on a server that fsyncs every write (each pair on a new server, the ledger seeded and warmed up, then stopped) and raw publishes, one per append of the run, commands/s ÷ publishes/s: %s",
			len(pairs), pairs[0].ledger.elapsed.Round(100*time.Millisecond), strings.Join(each, "; ")))
}

// median returns the median of vs, which it sorts.
func median(vs []float64) float64 {
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 0 {
		return (vs[n/2-1] + vs[n/2]) / 2
	}
	return vs[n/2]
}
