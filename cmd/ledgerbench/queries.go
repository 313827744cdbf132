package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// queryStats is what the readers measured.
type queryStats struct {
	licenses, requests latencies
	failed             int
	bytes              int64 // answer bodies read, to tell the views' size
}

// queryOf is the query string of each view the readers ask for: the
// requests waiting for a decision, the admin's working list (all requests
// of 12 months would grow with the run's own requests).
var queryOf = map[string]string{"licenses": "", "requests": "?status=pending"}

// readQueries runs readers that query the read models of random tenants
// over HTTP, GET /licenses then GET /requests, for the length of a command
// run, and returns their latencies, each from the query's send to its
// answer. With a rate (queries per second over all readers) each reader
// sends on a fixed schedule, as an admin console's users would, so that
// the queries' load on the ledger stays the same however fast they are
// answered; a reader held up catches up by sending at once, for up to
// maxBehind. Without one (rate 0) they ask as fast as the answers come.
//
// The readers run in a process of their own (see readersChild), as a
// console's users are elsewhere: in the ledger's process their goroutines
// would wait for a CPU behind the ledger's, and the latency they measure
// would be the benchmark's scheduling as much as the ledger's answer.
func readQueries(ctx context.Context, addr string, models []*tenantModel, readers int, rate float64, length time.Duration) queryStats {
	spec := readersSpec{Addr: addr, Readers: readers, Rate: rate, Length: length}
	for _, m := range models {
		spec.Tenants = append(spec.Tenants, readTenant{ID: m.id, Token: m.adminToken()})
	}
	q, err := runReaders(ctx, spec)
	if err != nil {
		slog.Error("the readers' process failed", "err", err)
		return queryStats{failed: 1}
	}
	return q
}

// readAll runs the readers of spec in this process.
func readAll(ctx context.Context, spec readersSpec) queryStats {
	hc := newLeanClient(spec.Addr, spec.Readers)
	defer hc.closeIdle()
	deadline := time.Now().Add(spec.Length)
	var every time.Duration
	if spec.Rate > 0 {
		every = time.Duration(float64(spec.Readers) / spec.Rate * float64(time.Second))
	}
	parts := make([]queryStats, spec.Readers)
	var wg sync.WaitGroup
	for i := range parts {
		wg.Go(func() { parts[i] = readLoop(ctx, hc, spec.Tenants, uint64(i), every, deadline) })
	}
	wg.Wait()
	var out queryStats
	var lic, req []latencies
	for _, p := range parts {
		lic, req = append(lic, p.licenses), append(req, p.requests)
		out.failed += p.failed
		out.bytes += p.bytes
	}
	out.licenses, out.requests = merge(lic...), merge(req...)
	return out
}

// readLoop is one reader, sending a query every interval (0: at once).
func readLoop(ctx context.Context, hc *leanClient, tenants []readTenant, seed uint64, every time.Duration, deadline time.Time) queryStats {
	rng := rand.New(rand.NewPCG(seed, 42))
	var s queryStats
	due := time.Now()
	for ctx.Err() == nil && time.Now().Before(deadline) {
		m := tenants[rng.IntN(len(tenants))]
		for _, view := range []string{"licenses", "requests"} {
			due = pace(due, every)
			start := time.Now()
			n, err := get(ctx, hc, "/v1/tenants/"+m.ID+"/"+view+queryOf[view], m.Token)
			d := time.Since(start)
			if err != nil {
				s.failed++
				continue
			}
			s.bytes += n
			if view == "licenses" {
				s.licenses = append(s.licenses, d)
			} else {
				s.requests = append(s.requests, d)
			}
		}
	}
	return s
}

// maxBehind is how far behind its schedule a reader may fall and still
// catch up; beyond it, the sends it missed are dropped.
const maxBehind = 100 * time.Millisecond

// pace waits until due (a reader behind its schedule does not wait) and
// returns when the next send is due.
func pace(due time.Time, every time.Duration) time.Time {
	if every == 0 {
		return due
	}
	switch wait := time.Until(due); {
	case wait > 0:
		time.Sleep(wait)
	case wait < -maxBehind:
		due = time.Now()
	}
	return due.Add(every)
}

// get sends one query and returns the size of the answer.
func get(ctx context.Context, hc *leanClient, path, token string) (int64, error) {
	headers := [...]header{{"Authorization", "Bearer " + token}, {sentHeader, strconv.FormatInt(time.Now().UnixNano(), 10)}}
	var n int64
	err := hc.do(ctx, "GET", path, headers[:], nil, func(status int, answer []byte) error {
		n = int64(len(answer))
		if status != http.StatusOK {
			return fmt.Errorf("GET %s: HTTP %d", path, status)
		}
		return nil
	})
	return n, err
}

// reportQueries adds the query rows to the table, and the ratio of their
// p99 under write load to their p99 idle (both views together).
func reportQueries(t *table, q, idle queryStats) {
	loaded, quiet := merge(q.licenses, q.requests).percentile(99), merge(idle.licenses, idle.requests).percentile(99)
	t.atMost(secRatios, "query p99 loaded ÷ idle", float64(loaded)/float64(max(quiet, 1)), 5, times,
		fmt.Sprintf("GET /licenses and /requests p99 %s while the HTTP commands ran over %s just before, without writes (%s queries)",
			ms(loaded), ms(quiet), thousands(float64(len(idle.licenses)+len(idle.requests)))))
	n := len(q.licenses) + len(q.requests)
	avg := float64(q.bytes) / float64(max(n, 1))
	note := func(l latencies) string {
		return fmt.Sprintf("p50 %s; %s queries; %.0f B per answer on average; %d failed", ms(l.percentile(50)), thousands(float64(len(l))), avg, q.failed)
	}
	t.below(secQueries, "GET /licenses, p99", float64(q.licenses.percentile(99)), float64(5*time.Millisecond), durationUnit, note(q.licenses))
	t.below(secQueries, "GET /requests?status=pending, p99", float64(q.requests.percentile(99)), float64(5*time.Millisecond), durationUnit, note(q.requests))
}

// pacedShares are the shares of the HTTP run's saturating rate at which the
// commands are sent, on a fixed schedule, for the paced query windows.
var pacedShares = []float64{0.5, 0.75}

// measurePacedQueries measures the readers' p99 while the clients send
// commands at fixed shares of the rate the HTTP run reached (an open-loop
// write load below saturation, as a service runs), over the idle p99: the
// closed-loop run keeps the 2 CPUs saturated, so its tail is mostly the
// wait for a CPU.
func measurePacedQueries(ctx context.Context, cfg config, api *apiServer, models []*tenantModel, clients []*client, saturated float64, idle queryStats, t *table, log *slog.Logger) {
	quiet := merge(idle.licenses, idle.requests).percentile(99)
	for i, share := range pacedShares {
		rate := share * saturated
		stopTrace := func() {}
		if i == 0 {
			stopTrace = traceWindow(pacedTraceEnv, t, fmt.Sprintf("query way in p99, commands at %.0f %% of saturation, traced", share*100), log)
		}
		q, ts, s := queryWindowAt(ctx, cfg, api, models, clients, rate, min(cfg.duration, 5*time.Second), false, log)
		stopTrace()
		loaded := merge(q.licenses, q.requests).percentile(99)
		t.add(secRatios, fmt.Sprintf("query p99 loaded ÷ idle, commands at %.0f %% of saturation", share*100), times(float64(loaded)/float64(max(quiet, 1))),
			fmt.Sprintf("information: the HTTP clients sent %s commands/s on a fixed schedule (%.0f %% of the %s/s of the HTTP run; %s answered/s, p99 %s); GET /licenses and /requests p99 %s over %s idle; the process used %s of the machine's CPUs, %.1f goroutines runnable on average; p99 of the arrival (the reader's send to the handler's start) %s, of the handler %s, of the scheduler's waits %s, of the GC's pauses %s",
				thousands(rate), share*100, thousands(saturated), thousands(s.rate()), ms(s.lat.percentile(99)), ms(loaded), ms(quiet), percent(ts.processCPUShare), ts.runnable,
				ms(ts.arrival.percentile(99)), ms(ts.handler.percentile(99)), ms(ts.schedP99), ms(ts.pauseP99)))
	}
}
