package main

import (
	"context"
	"fmt"
	"log/slog"
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
	slices.Sort(costs)
	median := costs[len(costs)/2]
	if len(costs)%2 == 0 {
		median = (costs[len(costs)/2-1] + costs[len(costs)/2]) / 2
	}
	t.atMost(secRatios, "forwarding, CPU per command, default", median, 40, microseconds,
		fmt.Sprintf("median of %d alternating pairs of %s in-process runs, on minus off (µs): %s", len(pairs), pairDurationOf(pairs), strings.Join(each, "; ")))
}

// pairDurationOf is the measured length of the pairs' runs.
func pairDurationOf(pairs []forwardPair) time.Duration {
	return pairs[0].off.elapsed.Round(100 * time.Millisecond)
}

// microseconds formats a figure in µs.
func microseconds(v float64) string { return fmt.Sprintf("%.0f µs", v) }
