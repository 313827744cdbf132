package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The alternating pairs behind the ratios of the HTTP API: HTTP ÷ in
// process without readers, and the query p99 loaded ÷ idle; and, with
// --tail-lever, the pairs that try a lever on the query tail.

// alternate returns the order of a pair's two runs, false first in the
// even pairs and true first in the odd ones.
func alternate(i int) []bool {
	if i%2 == 0 {
		return []bool{false, true}
	}
	return []bool{true, false}
}

// httpPair is an in-process run and an HTTP run, neither with readers.
type httpPair struct{ in, web loadStats }

// queryPair is an idle query window and a loaded one.
type queryPair struct{ idle, loaded tailStats }

func (p queryPair) ratio() float64 {
	return float64(p.loaded.client.percentile(99)) / float64(max(p.idle.client.percentile(99), 1))
}

// measureHTTPPairs runs, on the rig and its API, cfg.pairs alternating
// pairs of cfg.pairDuration runs in process and over HTTP without
// readers, then cfg.pairs alternating pairs of query windows idle and
// loaded (HTTP commands running), then the pairs of each lever of
// --tail-lever, and adds their rows.
func measureHTTPPairs(ctx context.Context, cfg config, r *rig, api *apiServer, models []*tenantModel, clients []*client, t *table, log *slog.Logger) {
	in, web := inProcess{svc: r.svc}, newOverHTTP(api.commands)
	hp := make([]httpPair, cfg.pairs)
	for i := range hp {
		for _, overHTTP := range alternate(i) {
			if overHTTP {
				hp[i].web = drive(ctx, clients, web, cfg.pairDuration, "commands over HTTP, HTTP pair", log)
			} else {
				hp[i].in = drive(ctx, clients, in, cfg.pairDuration, "commands in process, HTTP pair", log)
			}
		}
		log.Info("HTTP pair", "pair", i+1, "in process commands/s", int(hp[i].in.rate()), "HTTP commands/s", int(hp[i].web.rate()))
	}
	reportHTTPPairs(t, hp)

	qp := make([]queryPair, cfg.pairs)
	for i := range qp {
		for _, loaded := range alternate(i) {
			if loaded {
				_, qp[i].loaded, _ = queryWindow(ctx, cfg, api, models, clients, cfg.pairDuration, false, log)
			} else {
				_, qp[i].idle, _ = queryWindow(ctx, cfg, api, models, nil, cfg.pairDuration, false, log)
			}
		}
		log.Info("query pair", "pair", i+1, "idle p99", qp[i].idle.client.percentile(99), "loaded p99", qp[i].loaded.client.percentile(99))
	}
	reportQueryPairs(t, qp)

	for _, l := range cfg.tailLevers {
		reportLever(t, l, measureLever(ctx, cfg, api, models, clients, l, log))
	}
}

// queryWindow runs the readers for length on the API, with the clients
// sending HTTP commands meanwhile (none: an idle window), the readers on
// their own listener with ownListener, and returns the queries, what the
// window's runtime metrics and handler times say, and the commands.
func queryWindow(ctx context.Context, cfg config, api *apiServer, models []*tenantModel, clients []*client, length time.Duration, ownListener bool, log *slog.Logger) (queryStats, tailStats, loadStats) {
	return queryWindowAt(ctx, cfg, api, models, clients, 0, length, ownListener, log)
}

// queryWindowAt is queryWindow with the clients sending commandRate
// commands/s between them on a fixed schedule (see driveAt); 0 sends them
// as fast as they are answered.
func queryWindowAt(ctx context.Context, cfg config, api *apiServer, models []*tenantModel, clients []*client, commandRate float64, length time.Duration, ownListener bool, log *slog.Logger) (queryStats, tailStats, loadStats) {
	hc := api.commands
	if ownListener {
		hc = api.readers
	}
	end := api.openWindow()
	var q queryStats
	var s loadStats
	var wg sync.WaitGroup
	wg.Go(func() { q = readQueries(ctx, hc.addr, models, cfg.readers, cfg.queryRate, length) })
	if len(clients) > 0 {
		s = driveAt(ctx, clients, newOverHTTP(api.commands), length, commandRate, "commands over HTTP, readers querying", log)
	}
	wg.Wait()
	ts := end()
	ts.client = merge(q.licenses, q.requests)
	if s.commands() > 0 {
		ts.commandsPerSecond = s.rate()
	}
	return q, ts, s
}

// reportHTTPPairs adds the median of the pairs' HTTP ÷ in-process ratios.
func reportHTTPPairs(t *table, pairs []httpPair) {
	ratios := make([]float64, len(pairs))
	var each []string
	for i, p := range pairs {
		ratios[i] = p.web.rate() / p.in.rate()
		each = append(each, fmt.Sprintf("%s ÷ %s", thousands(p.web.rate()), thousands(p.in.rate())))
	}
	t.atLeast(secRatios, "HTTP ÷ in-process, default, pairs", median(ratios), 0.7, times,
		fmt.Sprintf("median of %d alternating pairs of %s runs on the same ledger, over HTTP and in process, no readers, commands/s: %s",
			len(pairs), pairs[0].in.elapsed.Round(100*time.Millisecond), strings.Join(each, "; ")))
}

// reportQueryPairs adds the median of the pairs' query p99 loaded ÷ idle.
func reportQueryPairs(t *table, pairs []queryPair) {
	ratios := make([]float64, len(pairs))
	var each []string
	for i, p := range pairs {
		ratios[i] = p.ratio()
		each = append(each, fmt.Sprintf("%s ÷ %s", ms(p.loaded.client.percentile(99)), ms(p.idle.client.percentile(99))))
	}
	t.atMost(secRatios, "query p99 loaded ÷ idle, pairs", median(ratios), 5, times,
		fmt.Sprintf("median of %d alternating pairs of %s query windows, HTTP commands running and not, GET /licenses and /requests p99 loaded ÷ idle: %s",
			len(pairs), pairs[0].idle.elapsed.Round(100*time.Millisecond), strings.Join(each, "; ")))
}

// tailLever is a change that might shorten the query tail under load,
// tried in alternating pairs of loaded windows without and with it.
type tailLever struct {
	name        string
	ownListener bool                        // the readers on a listener of their own
	apply       func(api *apiServer) func() // sets the lever and returns its undoing
}

// parseLever reads one --tail-lever: listener, gogc=N or limit=N.
func parseLever(s string) (tailLever, error) {
	name, arg, _ := strings.Cut(s, "=")
	n, err := strconv.Atoi(arg)
	switch {
	case name == "listener" && arg == "":
		return tailLever{name: "readers on a listener of their own", ownListener: true, apply: func(*apiServer) func() { return func() {} }}, nil
	case name == "gogc" && err == nil && n > 0:
		return tailLever{name: "GOGC " + arg, apply: func(*apiServer) func() {
			old := debug.SetGCPercent(n)
			return func() { debug.SetGCPercent(old) }
		}}, nil
	case name == "limit" && err == nil && n > 0:
		return tailLever{name: "commands limited to " + arg + " at once", apply: func(api *apiServer) func() {
			api.limitCommands(n)
			return func() { api.limitCommands(0) }
		}}, nil
	}
	return tailLever{}, fmt.Errorf("--tail-lever: %q is none of listener, gogc=N, limit=N", s)
}

// leverPair is a loaded query window without the lever and one with it.
type leverPair struct{ off, on tailStats }

// measureLever runs cfg.pairs alternating pairs of loaded query windows
// of cfg.pairDuration without and with the lever.
func measureLever(ctx context.Context, cfg config, api *apiServer, models []*tenantModel, clients []*client, l tailLever, log *slog.Logger) []leverPair {
	pairs := make([]leverPair, cfg.pairs)
	for i := range pairs {
		for _, on := range alternate(i) {
			if !on {
				_, pairs[i].off, _ = queryWindow(ctx, cfg, api, models, clients, cfg.pairDuration, false, log)
				continue
			}
			undo := l.apply(api)
			_, pairs[i].on, _ = queryWindow(ctx, cfg, api, models, clients, cfg.pairDuration, l.ownListener, log)
			undo()
		}
		log.Info("lever pair", "lever", l.name, "pair", i+1, "p99 with", pairs[i].on.client.percentile(99), "p99 without", pairs[i].off.client.percentile(99))
	}
	return pairs
}

// reportLever adds the median of the pairs' loaded query p99 with the
// lever ÷ without, and each pair's figures: a lever that buys its p99 with
// fewer commands shows it.
func reportLever(t *table, l tailLever, pairs []leverPair) {
	ratios, rates := make([]float64, len(pairs)), make([]float64, len(pairs))
	var each []string
	side := func(s tailStats) string {
		return fmt.Sprintf("p99 %s (handler %s, sched %s, %.1f runnable, GC pauses %d, p99 %s), %s commands/s", ms(s.client.percentile(99)), ms(s.handler.percentile(99)),
			ms(s.schedP99), s.runnable, s.pauses, ms(s.pauseP99), thousands(s.commandsPerSecond))
	}
	for i, p := range pairs {
		ratios[i] = float64(p.on.client.percentile(99)) / float64(max(p.off.client.percentile(99), 1))
		rates[i] = p.on.commandsPerSecond / max(p.off.commandsPerSecond, 1)
		each = append(each, fmt.Sprintf("with %s; without %s", side(p.on), side(p.off)))
	}
	t.add(secTail, "loaded query p99 with ÷ without: "+l.name, times(median(ratios)),
		fmt.Sprintf("median of %d alternating pairs of %s loaded windows; HTTP commands/s with ÷ without %s; %s",
			len(pairs), pairs[0].off.elapsed.Round(100*time.Millisecond), times(median(rates)), strings.Join(each, " | ")))
}
