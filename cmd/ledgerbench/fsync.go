package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/licensing-ledger/ledger/events"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// The fsync study measures, on a server that fsyncs every write before
// acknowledging it, what JetStream offers to acknowledge appends after an
// fsync faster than one fsync each: appends spread over several streams,
// which fsync independently, and atomic batches of several tenants'
// appends, which are stored with one fsync. It is not part of the default
// run: go run ./cmd/ledgerbench --sections fsync.

// studyPayload is the size of a study message: about one append.
const studyPayload = 600

// fsyncSection runs the study and adds its rows.
func fsyncSection(ctx context.Context, cfg config, dir string, t *table, log *slog.Logger) error {
	srv, err := startNATS(filepath.Join(dir, "fsync-study"), true, false, log)
	if err != nil {
		return err
	}
	defer srv.close()
	length := max(cfg.duration/3, time.Second)
	if err := studyStreamRows(ctx, srv, cfg.clients, length, t, log); err != nil {
		return err
	}
	g, err := studyGroupCommit(ctx, srv, cfg.clients, length)
	if err != nil {
		return err
	}
	t.add(secFsync, "group commit: one writer, one message per fsync", perSecond(g.rate()),
		fmt.Sprintf("appends/s; append %s; %d clients; each message carries every append that queued during the previous one", g.lat.summary(), cfg.clients))
	log.Info("fsync study", "group commit appends/s", int(g.rate()))
	return studyBatchRows(ctx, srv, cfg.clients, length, t, log)
}

// studyStreamRows measures appends spread over 1, 4 and 16 streams.
func studyStreamRows(ctx context.Context, srv *natsServer, clients int, length time.Duration, t *table, log *slog.Logger) error {
	for _, streams := range []int{1, 4, 16} {
		s, err := studyStreams(ctx, srv, streams, clients, length)
		if err != nil {
			return err
		}
		t.add(secFsync, fmt.Sprintf("%d stream(s), one message per append", streams), perSecond(s.rate()),
			fmt.Sprintf("%s; %d publishers", s.lat.summary(), clients))
		log.Info("fsync study", "streams", streams, "appends/s", int(s.rate()))
	}
	return nil
}

// studyBatchRows measures atomic batches of 8 and 32 tenants' appends.
func studyBatchRows(ctx context.Context, srv *natsServer, clients int, length time.Duration, t *table, log *slog.Logger) error {
	for _, size := range []int{8, 32} {
		batchers := max(clients/size, 1)
		s, err := studyBatches(ctx, srv, size, batchers, length)
		if err != nil {
			return err
		}
		t.add(secFsync, fmt.Sprintf("atomic batches of %d tenants' appends", size), perSecond(s.rate()*float64(size)),
			fmt.Sprintf("appends/s; batch %s; %d batchers", s.lat.summary(), batchers))
		log.Info("fsync study", "batch", size, "appends/s", int(s.rate()*float64(size)))
	}
	return nil
}

// studyStreams publishes from publishers goroutines for the given time,
// each owning tenants spread over the streams, with the concurrency check
// on each tenant's subject.
func studyStreams(ctx context.Context, srv *natsServer, streams, publishers int, length time.Duration) (loadStats, error) {
	for i := range streams {
		_, err := srv.js.CreateOrUpdateStream(ctx, natsjs.StreamConfig{
			Name: fmt.Sprintf("STUDY_%d_%d", streams, i), Subjects: []string{fmt.Sprintf("study.%d.%d.>", streams, i)}, Storage: natsjs.FileStorage,
		})
		if err != nil {
			return loadStats{}, err
		}
	}
	payload := make([]byte, studyPayload)
	deadline := time.Now().Add(length)
	parts := make([]loadStats, publishers)
	var wg sync.WaitGroup
	start := time.Now()
	for p := range publishers {
		wg.Go(func() {
			subject := fmt.Sprintf("study.%d.%d.tenant%d", streams, p%streams, p)
			var last uint64
			for ctx.Err() == nil && time.Now().Before(deadline) {
				msg := &nats.Msg{Subject: subject, Data: payload}
				began := time.Now()
				ack, err := srv.js.PublishMsg(ctx, msg, natsjs.WithMsgID(events.NewULID()), natsjs.WithExpectLastSequencePerSubject(last))
				if err != nil {
					parts[p].add(failed, err.Error(), time.Since(began))
					continue
				}
				parts[p].add(accepted, "", time.Since(began))
				last = ack.Sequence
			}
		})
	}
	wg.Wait()
	return mergeStats(parts, time.Since(start)), nil
}

// studyBatches sends atomic batches of size appends, one per tenant, each
// with the concurrency check on its tenant's subject, from batchers
// goroutines for the given time; the stats count batches.
func studyBatches(ctx context.Context, srv *natsServer, size, batchers int, length time.Duration) (loadStats, error) {
	name := fmt.Sprintf("STUDY_BATCH_%d", size)
	_, err := srv.js.CreateOrUpdateStream(ctx, natsjs.StreamConfig{
		Name: name, Subjects: []string{fmt.Sprintf("batch.%d.>", size)}, Storage: natsjs.FileStorage, AllowAtomicPublish: true,
	})
	if err != nil {
		return loadStats{}, err
	}
	payload := make([]byte, studyPayload)
	deadline := time.Now().Add(length)
	parts := make([]loadStats, batchers)
	var wg sync.WaitGroup
	start := time.Now()
	for b := range batchers {
		wg.Go(func() {
			last := make([]uint64, size)
			for ctx.Err() == nil && time.Now().Before(deadline) {
				began := time.Now()
				seq, err := sendBatch(ctx, srv.nc, fmt.Sprintf("batch.%d.b%d", size, b), payload, last)
				if err != nil {
					parts[b].add(failed, err.Error(), time.Since(began))
					continue
				}
				parts[b].add(accepted, "", time.Since(began))
				for i := range last {
					last[i] = seq - uint64(size-1-i)
				}
			}
		})
	}
	wg.Wait()
	return mergeStats(parts, time.Since(start)), nil
}

// sendBatch sends one atomic batch, message i on prefix.t<i> expecting its
// last sequence last[i], and returns the stream sequence of its last
// message.
func sendBatch(ctx context.Context, nc *nats.Conn, prefix string, payload []byte, last []uint64) (uint64, error) {
	id := events.NewULID()
	for i := range last {
		msg := nats.NewMsg(fmt.Sprintf("%s.t%d", prefix, i))
		msg.Data = payload
		msg.Header.Set("Nats-Batch-Id", id)
		msg.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		msg.Header.Set(natsjs.ExpectedLastSubjSeqHeader, strconv.FormatUint(last[i], 10))
		if i == len(last)-1 {
			msg.Header.Set("Nats-Batch-Commit", "1")
			return commitBatch(ctx, nc, msg)
		}
		if err := nc.PublishMsg(msg); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// commitBatch sends the message that commits a batch and reads the
// server's verdict.
func commitBatch(ctx context.Context, nc *nats.Conn, msg *nats.Msg) (uint64, error) {
	reply, err := nc.RequestMsgWithContext(ctx, msg)
	if err != nil {
		return 0, err
	}
	var ack struct {
		Seq   uint64 `json:"seq"`
		Error *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(reply.Data, &ack); err != nil {
		return 0, err
	}
	if ack.Error != nil {
		return 0, fmt.Errorf("batch refused: %s", ack.Error.Description)
	}
	return ack.Seq, nil
}

// studyGroupCommit has clients goroutines each hand an append to one
// writer and wait for it; the writer publishes, in one message, every
// append that queued while its previous message was being stored, checking
// the stream's last sequence (a single writer's fence), and then answers
// them all. It is the group commit a store could offer under fsync; the
// stats count appends.
func studyGroupCommit(ctx context.Context, srv *natsServer, clients int, length time.Duration) (loadStats, error) {
	_, err := srv.js.CreateOrUpdateStream(ctx, natsjs.StreamConfig{Name: "STUDY_GROUP", Subjects: []string{"group.>"}, Storage: natsjs.FileStorage})
	if err != nil {
		return loadStats{}, err
	}
	queue := make(chan chan error, clients)
	writerCtx, stop := context.WithCancel(ctx)
	defer stop()
	go groupWriter(writerCtx, srv.js, queue)
	deadline := time.Now().Add(length)
	parts := make([]loadStats, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			done := make(chan error, 1)
			for ctx.Err() == nil && time.Now().Before(deadline) {
				began := time.Now()
				queue <- done
				if err := <-done; err != nil {
					parts[c].add(failed, err.Error(), time.Since(began))
					continue
				}
				parts[c].add(accepted, "", time.Since(began))
			}
		})
	}
	wg.Wait()
	return mergeStats(parts, time.Since(start)), nil
}

// groupWriter publishes the queued appends, as many as are waiting, in one
// message each time, until ctx ends.
func groupWriter(ctx context.Context, js natsjs.JetStream, queue chan chan error) {
	var last uint64
	for {
		var waiting []chan error
		select {
		case <-ctx.Done():
			return
		case w := <-queue:
			waiting = append(waiting, w)
		}
		for more := true; more; {
			select {
			case w := <-queue:
				waiting = append(waiting, w)
			default:
				more = false
			}
		}
		msg := &nats.Msg{Subject: "group.log", Data: make([]byte, studyPayload*len(waiting))}
		ack, err := js.PublishMsg(ctx, msg, natsjs.WithExpectLastSequence(last))
		if err == nil {
			last = ack.Sequence
		}
		for _, w := range waiting {
			w <- err
		}
	}
}
