package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// The alternating pairs behind the ratios of the HTTP API: HTTP ÷ in
// process without readers, and the query p99 loaded ÷ idle.

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
// loaded (HTTP commands running), and adds their rows.
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
}

// queryWindow runs the readers for length on the API, with the clients
// sending HTTP commands meanwhile (none: an idle window), the readers on
// their own listener with ownListener, and returns the queries, what the
// window's runtime metrics and handler times say, and the commands.
func queryWindow(ctx context.Context, cfg config, api *apiServer, models []*tenantModel, clients []*client, length time.Duration, ownListener bool, log *slog.Logger) (queryStats, tailStats, loadStats) {
	hc := api.commands
	if ownListener {
		hc = api.readers
	}
	end := api.openWindow()
	var q queryStats
	var s loadStats
	var wg sync.WaitGroup
	wg.Go(func() { q = readQueries(ctx, hc, models, cfg.readers, cfg.queryRate, length) })
	if len(clients) > 0 {
		s = drive(ctx, clients, newOverHTTP(api.commands), length, "commands over HTTP, readers querying", log)
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
