package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// The streams and subjects of the "raw, same work" baseline: a log message
// per command on its tenant's subject in BENCH_RAW, and its events as public
// messages in BENCH_PUB, configured as LEDGER is (input subjects transformed
// onto the stored ones, re-published once stored, a duplicate window, no
// wait for the disk on one replica).
const (
	sameLogPrefix  = "bench-raw.same"
	pubStream      = "BENCH_PUB"
	pubInput       = "bench-pub-in.*.*"
	pubStored      = "bench-pub.>"
	pubWindow      = 256 // publishes in flight, as forward.DefaultWindow
	pubAckEvery    = 32  // one publish in so many asks for an acknowledgement, as forward.DefaultAckEvery
	pubMsgIDLength = 26  // the length of the ledger's event ids
)

// sameWorkRuns numbers the same-work runs, each publishing its log messages
// on subjects of its own, so that each starts with the subjects empty.
var sameWorkRuns atomic.Int64

// measureSameWork publishes raw to JetStream exactly what the ledger stored
// per command in its in-process run, without any ledger code: per command
// one log message of the average append's size with the subject-sequence
// check (as measureRaw), then its events (records/appends on average) as
// public messages with a Nats-Msg-Id, the Ledger-Sequence, -Position and
// -Source headers, on input subjects the stream transforms and re-publishes.
// As the forwarder does, one goroutine publishes the public messages in
// order, each expecting the stream's last sequence, with up to pubWindow in
// flight and one in pubAckEvery acknowledged; the publishers hand them over
// on a channel. The run ends when every public message is acknowledged.
func measureSameWork(ctx context.Context, cfg config, srv *natsServer, a appendCounts, log *slog.Logger) (loadStats, error) {
	n := a.appends
	if n == 0 || a.records == 0 {
		return loadStats{}, errors.New("the ledger appended nothing to compare with")
	}
	logSize, eventSize := int(a.bytes/n), int(a.bytes/a.records)
	if err := ensureSameWorkStreams(ctx, srv.js); err != nil {
		return loadStats{}, err
	}
	logPayload, eventPayload := make([]byte, logSize), make([]byte, eventSize)
	_, _ = crand.Read(logPayload)
	_, _ = crand.Read(eventPayload)
	prefix := fmt.Sprintf("%s%d.", sameLogPrefix, sameWorkRuns.Add(1))
	pub, err := startChain(ctx, srv.nc)
	if err != nil {
		return loadStats{}, err
	}
	var taken atomic.Int64
	left := &atomic.Int64{}
	left.Store(n)
	stopProgress := progress(log, "raw publishes, same work", 0, left)
	defer stopProgress()
	parts := make([]loadStats, cfg.clients)
	var wg sync.WaitGroup
	start, cpu, scpu := time.Now(), cpuTime(), serverCPU()
	for i := range parts {
		wg.Go(func() {
			parts[i] = publishSameWork(ctx, srv.js, i, cfg, prefix, logPayload, func() int64 {
				left.Add(-1)
				// the events of command j: records spread evenly over appends
				j := taken.Add(1) - 1
				if j >= n {
					return -1
				}
				return (j+1)*a.records/n - j*a.records/n
			}, eventPayload, pub)
		})
	}
	wg.Wait()
	chainErr := pub.finish()
	s := mergeStats(parts, time.Since(start))
	s.cpu, s.serverCPU = cpuTime()-cpu, serverCPU()-scpu
	if chainErr != nil {
		return s, fmt.Errorf("public messages: %w", chainErr)
	}
	log.Info("raw publishes, same work", "commands/s", int(s.rate()), "log size", logSize, "events", a.records, "event size", eventSize)
	logDetails(log, s)
	return s, nil
}

// ensureSameWorkStreams creates the log stream of the raw publishes and the
// public stream of the same-work baseline.
func ensureSameWorkStreams(ctx context.Context, js natsjs.JetStream) error {
	_, err := js.CreateOrUpdateStream(ctx, natsjs.StreamConfig{
		Name: rawStream, Subjects: []string{"bench-raw.>"}, Storage: natsjs.FileStorage, Discard: natsjs.DiscardNew,
	})
	if err != nil {
		return err
	}
	_, err = js.CreateOrUpdateStream(ctx, natsjs.StreamConfig{
		Name:             pubStream,
		Subjects:         []string{pubInput},
		SubjectTransform: &natsjs.SubjectTransformConfig{Source: pubInput, Destination: "bench-pub.{{wildcard(1)}}.{{wildcard(2)}}"},
		RePublish:        &natsjs.RePublish{Source: pubStored, Destination: pubStored},
		Storage:          natsjs.FileStorage,
		Retention:        natsjs.LimitsPolicy,
		Discard:          natsjs.DiscardNew,
		Duplicates:       jetstream.DefaultDuplicates, // as LEDGER
		AllowDirect:      true,
		PersistMode:      natsjs.AsyncPersistMode,
	})
	return err
}

// publishSameWork is one publisher of the same-work baseline: it owns the
// tenants i, i+clients, ... (their log subjects under prefix) and, for each command next hands out (the number
// of its events; negative when none is left), publishes the log message
// checking the subject's last sequence, then hands its events to the chain.
func publishSameWork(ctx context.Context, js natsjs.JetStream, i int, cfg config, prefix string, logPayload []byte, next func() int64, eventPayload []byte, pub *chain) loadStats {
	var own []string
	for t := i; t < cfg.tenants; t += cfg.clients {
		own = append(own, fmt.Sprintf("tenant%03d", t))
	}
	last, tenantSeq := make([]uint64, len(own)), make([]uint64, len(own))
	rng := rand.New(rand.NewPCG(uint64(i), rand.Uint64())) // new ids every run: the duplicate window would drop repeats
	var s loadStats
	for ctx.Err() == nil {
		k := next()
		if k < 0 {
			break
		}
		t := rng.IntN(len(own))
		msg := nats.NewMsg(prefix + own[t])
		msg.Data = logPayload
		msg.Header.Set("Ledger-Sequence", strconv.FormatUint(tenantSeq[t]+1, 10))
		start := time.Now()
		ack, err := js.PublishMsg(ctx, msg, natsjs.WithExpectLastSequencePerSubject(last[t]))
		if err != nil {
			s.add(failed, err.Error(), time.Since(start))
			continue
		}
		last[t] = ack.Sequence
		for range k {
			tenantSeq[t]++
			ev := nats.NewMsg("bench-pub-in." + own[t] + ".LicenseAssigned")
			ev.Header.Set(natsjs.MsgIDHeader, newMsgID(rng))
			ev.Header.Set("Ledger-Sequence", strconv.FormatUint(tenantSeq[t], 10))
			ev.Header.Set("Ledger-Position", strconv.FormatUint(ack.Sequence, 10))
			ev.Header.Set("Ledger-Source", "jetstream")
			ev.Data = eventPayload
			if !pub.send(ctx, ev) {
				break
			}
		}
		s.add(accepted, "", time.Since(start))
	}
	return s
}

// newMsgID returns a random id as long as the ledger's event ids.
func newMsgID(rng *rand.Rand) string {
	var b [pubMsgIDLength / 2]byte
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return hex.EncodeToString(b[:])
}

// chain publishes the public messages in order from one goroutine, as the
// forwarder does: each expects the stream's last sequence to be its
// predecessor's, one in pubAckEvery (and the last before the input runs
// dry) asks for an acknowledgement, and at most pubWindow are in flight.
type chain struct {
	nc   *nats.Conn
	js   natsjs.JetStream
	in   chan *nats.Msg
	done chan struct{}
	err  error
}

// startChain starts the publishing goroutine after the public stream's
// last sequence.
func startChain(ctx context.Context, nc *nats.Conn) (*chain, error) {
	js, err := natsjs.New(nc, natsjs.WithPublishAsyncTimeout(5*time.Second))
	if err != nil {
		return nil, err
	}
	st, err := js.Stream(ctx, pubStream)
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	c := &chain{nc: nc, js: js, in: make(chan *nats.Msg, pubWindow), done: make(chan struct{})}
	go c.run(ctx, info.State.LastSeq)
	return c, nil
}

// send hands one message to the chain; false when the chain has failed.
func (c *chain) send(ctx context.Context, m *nats.Msg) bool {
	select {
	case c.in <- m:
		return true
	case <-c.done:
		return false
	case <-ctx.Done():
		return false
	}
}

// finish waits until every message sent is acknowledged and returns the
// first failure.
func (c *chain) finish() error {
	close(c.in)
	<-c.done
	return c.err
}

// run publishes what arrives until the input is closed, then awaits the
// acknowledgements.
func (c *chain) run(ctx context.Context, seq uint64) {
	defer close(c.done)
	type inflight struct {
		ack    natsjs.PubAckFuture
		seq    uint64
		covers int
	}
	acks := make([]inflight, 0, pubWindow/pubAckEvery+1)
	inFlight, unacked := 0, 0
	await := func(f inflight) error {
		select {
		case ack := <-f.ack.Ok():
			if ack.Sequence != f.seq {
				return fmt.Errorf("stored as %d, expected %d", ack.Sequence, f.seq)
			}
		case err := <-f.ack.Err():
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
		inFlight -= f.covers
		return nil
	}
	for m := range c.in {
		if c.err != nil {
			continue // drain so that no sender blocks
		}
		for inFlight >= pubWindow && len(acks) > 0 {
			if c.err = await(acks[0]); c.err != nil {
				break
			}
			acks = acks[1:]
		}
		if c.err != nil {
			continue
		}
		m.Header.Set(natsjs.ExpectedLastSeqHeader, strconv.FormatUint(seq, 10))
		seq++
		inFlight++
		if unacked+1 < pubAckEvery && len(c.in) > 0 {
			if c.err = c.nc.PublishMsg(m); c.err == nil {
				unacked++
			}
			continue
		}
		ack, err := c.js.PublishMsgAsync(m)
		if err != nil {
			c.err = err
			continue
		}
		acks = append(acks, inflight{ack: ack, seq: seq, covers: unacked + 1})
		unacked = 0
	}
	for _, f := range acks {
		if c.err != nil {
			return
		}
		c.err = await(f)
	}
}
