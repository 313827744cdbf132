package main

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// rawStream is the stream of the raw publishes, beside the ledger's own on
// the same server.
const rawStream = "BENCH_RAW"

// measureRaw publishes to JetStream directly what the ledger appended in
// its in-process run: as many messages as appends, each the average size of
// an append's events, from as many publishers, each owning its tenants'
// subjects and checking the subject's last sequence as the store does
// (without a message id, as the store does). It is the ceiling the store
// sets on the ledger.
func measureRaw(ctx context.Context, cfg config, srv *natsServer, a appendCounts, log *slog.Logger) (loadStats, int, error) {
	n, size := int(a.appends), int(a.bytes/max(a.appends, 1))
	if n == 0 {
		return loadStats{}, size, fmt.Errorf("the ledger appended nothing to compare with")
	}
	_, err := srv.js.CreateOrUpdateStream(ctx, natsjs.StreamConfig{
		Name: rawStream, Subjects: []string{"bench-raw.>"}, Storage: natsjs.FileStorage, Discard: natsjs.DiscardNew,
	})
	if err != nil {
		return loadStats{}, size, err
	}
	payload := make([]byte, size)
	_, _ = crand.Read(payload)
	var left atomic.Int64
	left.Store(int64(n))
	stopProgress := progress(log, "raw publishes", 0, &left)
	defer stopProgress()
	parts := make([]loadStats, cfg.clients)
	var wg sync.WaitGroup
	start, cpu, scpu := time.Now(), cpuTime(), serverCPU()
	for i := range parts {
		wg.Go(func() { parts[i] = publishRaw(ctx, srv.js, i, cfg, payload, &left) })
	}
	wg.Wait()
	s := mergeStats(parts, time.Since(start))
	s.cpu, s.serverCPU = cpuTime()-cpu, serverCPU()-scpu
	log.Info("raw publishes", "publishes/s", int(s.rate()), "size", size, "p99", s.lat.percentile(99))
	logDetails(log, s)
	return s, size, nil
}

// publishRaw is one publisher: it owns the tenants i, i+clients, ... and
// publishes to a random one of them until no publish is left.
func publishRaw(ctx context.Context, js natsjs.JetStream, i int, cfg config, payload []byte, left *atomic.Int64) loadStats {
	var own []string
	for t := i; t < cfg.tenants; t += cfg.clients {
		own = append(own, fmt.Sprintf("bench-raw.tenant%03d", t))
	}
	last := make([]uint64, len(own))
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	var s loadStats
	for ctx.Err() == nil && left.Add(-1) >= 0 {
		t := rng.IntN(len(own))
		msg := nats.NewMsg(own[t])
		msg.Data = payload
		start := time.Now()
		ack, err := js.PublishMsg(ctx, msg, natsjs.WithExpectLastSequencePerSubject(last[t]))
		if err != nil {
			s.add(failed, err.Error(), time.Since(start))
			continue
		}
		s.add(accepted, "", time.Since(start))
		last[t] = ack.Sequence
	}
	return s
}
