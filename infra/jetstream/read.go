package jetstream

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/licensing-ledger/ledger/events"
)

const (
	// readPageSize and readPageBytes bound the direct get that starts a
	// read, in log messages and bytes; the byte bound keeps the reply well
	// under the client's pending limits (the server sends at least one
	// message, however large).
	readPageSize  = 1000
	readPageBytes = 8 << 20

	directGetSubject = "$JS.API.DIRECT.GET." + LogStreamName
	statusHeader     = "Status"
	descrHeader      = "Description"
	numPendingHeader = "Nats-Num-Pending"
)

// Read calls fn for each of the tenant's records after the cursor, in order,
// until it has delivered every record stored when the call began.
func (s *Store) Read(ctx context.Context, tenant string, after events.Cursor, fn func(events.Record) error) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if !ValidToken(tenant) {
		return fmt.Errorf("jetstream: invalid tenant id %q", tenant)
	}
	if s.commit != nil {
		fn = s.commit.durableFirst(ctx, fn)
	}
	return s.read(ctx, tenant, after.Position, fn)
}

// read delivers the tenant's records after the position, in order, up to
// those stored when it began. The first page comes by batched direct get:
// one round trip and no server-side state, the quickest way to load the
// usual small tenant. Whatever is left after a page is read through an
// ordered consumer: creating one costs about a millisecond, but each message
// then costs less, since direct get rebuilds every message's headers on the
// server.
//
// The server's count of what is left can include messages it lost (a
// block whose checksum failed when the server recovered it is skipped, but
// still counted): before waiting for more, and whenever a wait stalls, the
// read asks whether any message of the tenant is stored after the last one
// it got, and ends when none is. A damaged log is then read to its end at
// once, so that whoever reads it sees the gap, rather than waiting out a
// time out for a message that will never come.
func (s *Store) read(ctx context.Context, tenant string, after events.Position, fn func(events.Record) error) error {
	last, pending, err := s.directGet(ctx, s.pageAfter(tenant, after, readPageSize), after, fn)
	if err != nil || pending == 0 {
		return err
	}
	if more, err := s.storedAfter(ctx, tenant, last); err != nil || !more {
		return err
	}
	return s.consume(ctx, tenant, last, pending, after, fn)
}

// storedAfter reports whether any log message of the tenant is stored after
// the stream sequence: one direct get, answered by the message or by 404.
func (s *Store) storedAfter(ctx context.Context, tenant string, seq uint64) (bool, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	body, err := json.Marshal(directGetRequest{Seq: seq + 1, NextFor: LogSubject(tenant)})
	if err != nil {
		return false, err
	}
	msg, err := s.nc.RequestWithContext(ctx, directGetSubject, body)
	if err != nil {
		return false, classify("read", err)
	}
	switch status := msg.Header.Get(statusHeader); status {
	case "":
		return true, nil
	case "404":
		return false, nil
	default:
		_, _, err := endOfPage(msg, status)
		return false, cmp.Or(err, fmt.Errorf("jetstream: read: direct get answered %s", status))
	}
}

// pageAfter asks for up to size of the tenant's log messages that may hold
// records after the position.
func (s *Store) pageAfter(tenant string, after events.Position, size int) directGetRequest {
	return directGetRequest{Seq: firstSeqAfter(after), NextFor: LogSubject(tenant), Batch: size, MaxBytes: readPageBytes}
}

// directGetRequest asks for up to Batch messages on NextFor from Seq on.
type directGetRequest struct {
	Seq      uint64 `json:"seq"`
	NextFor  string `json:"next_by_subj"`
	Batch    int    `json:"batch,omitempty"`
	MaxBytes int    `json:"max_bytes,omitempty"`
}

// directGet sends one batched direct get and delivers the records after the
// position of each message of the reply. The server answers with the
// messages then a "204 EOB" status that carries the last sequence sent and
// how many matching messages are left (Nats-Num-Pending); or with a lone
// "404" when nothing matches.
func (s *Store) directGet(ctx context.Context, req directGetRequest, after events.Position, fn func(events.Record) error) (last, pending uint64, err error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	// The reply is at most Batch messages and a status, so the channel never
	// fills (SubscribeSync would allocate a 64k-slot channel on every read).
	replies := make(chan *nats.Msg, req.Batch+1)
	sub, err := s.nc.ChanSubscribe(s.nc.NewInbox(), replies)
	if err != nil {
		return 0, 0, classify("read", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	body, err := json.Marshal(req)
	if err != nil {
		return 0, 0, err
	}
	if err := s.nc.PublishRequest(directGetSubject, sub.Subject, body); err != nil {
		return 0, 0, classify("read", err)
	}
	for {
		var msg *nats.Msg
		select {
		case msg = <-replies:
		case <-ctx.Done():
			return 0, 0, classify("read", ctx.Err())
		}
		if status := msg.Header.Get(statusHeader); status != "" {
			return endOfPage(msg, status)
		}
		if err := deliverDirect(msg, after, fn); err != nil {
			return 0, 0, err
		}
	}
}

// deliverDirect hands the records of one direct get reply to fn.
func deliverDirect(msg *nats.Msg, after events.Position, fn func(events.Record) error) error {
	m, err := logMsgFromDirectGet(msg)
	if err != nil {
		return err
	}
	return m.records(after, fn)
}

// endOfPage interprets the status message that ends a direct get reply.
func endOfPage(msg *nats.Msg, status string) (last, pending uint64, err error) {
	switch status {
	case "404":
		return 0, 0, nil
	case "204":
		pending, err1 := strconv.ParseUint(msg.Header.Get(numPendingHeader), 10, 64)
		last, err2 := strconv.ParseUint(msg.Header.Get(natsjs.LastSequenceHeader), 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return 0, 0, fmt.Errorf("jetstream: read: malformed end of batch: %w", err)
		}
		return last, pending, nil
	case "503":
		return 0, 0, fmt.Errorf("%w: read: no responders on %s", events.ErrUnavailable, directGetSubject)
	}
	return 0, 0, fmt.Errorf("jetstream: read: direct get answered %s %s", status, msg.Header.Get(descrHeader))
}

// consume delivers the records after the position of the tenant's next
// count log messages after the stream sequence, through an ordered
// consumer.
func (s *Store) consume(ctx context.Context, tenant string, afterSeq, count uint64, after events.Position, fn func(events.Record) error) error {
	cons, err := s.stream.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{
		FilterSubjects: []string{LogSubject(tenant)},
		DeliverPolicy:  natsjs.DeliverByStartSequencePolicy,
		OptStartSeq:    afterSeq + 1,
	})
	if err != nil {
		return classify("read", err)
	}
	defer s.dropConsumer(cons)
	feed, err := s.startFeed(cons)
	if err != nil {
		return classify("read", err)
	}
	defer feed.stop()
	for last := afterSeq; count > 0; count-- {
		msg, err := s.nextStored(ctx, feed, tenant, last)
		if err != nil || msg == nil {
			return err
		}
		m, err := logMsgFromConsumer(msg)
		if err == nil {
			err = m.records(after, fn)
		}
		if err != nil {
			return err
		}
		last = m.streamSeq
	}
	return nil
}

// stallProbe is how long a bounded read waits for its next message before
// asking whether one is stored at all (see read).
const stallProbe = time.Second

// nextStored waits for the next message of a bounded read, which must come
// within the default time out when ctx has no deadline. It returns nil when
// the wait stalls and no message of the tenant is stored after the last one
// delivered: the server counted one it no longer has.
func (s *Store) nextStored(ctx context.Context, feed *logFeed, tenant string, last uint64) (natsjs.Msg, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	for {
		wait, stop := context.WithTimeout(ctx, stallProbe)
		msg, err := feed.next(wait)
		stop()
		switch {
		case err == nil:
			return msg, nil
		case ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded):
			return nil, classify("read", err)
		}
		if more, err := s.storedAfter(ctx, tenant, last); err != nil || !more {
			return nil, err
		}
	}
}

// nextRecords waits for the feed's next log message and hands its records
// after the position to fn, returning fn's error as it is.
func nextRecords(ctx context.Context, op string, feed *logFeed, after events.Position, fn func(events.Record) error) error {
	msg, err := feed.next(ctx)
	if err != nil {
		return classify(op, err)
	}
	m, err := logMsgFromConsumer(msg)
	if err != nil {
		return err
	}
	return m.records(after, fn)
}

// logFeed hands an ordered consumer's log messages, in order, from the
// client's delivery goroutine to the reader's, one at a time.
//
// It uses the consumer's callback API (Consume), not its iterator
// (Messages): the iterator buffers in a channel with a slot per message
// pulled, and the server's status messages take slots it does not count
// (the "409 Batch Completed" ending each pull that has a byte limit, the
// idle heartbeats). While the reader was busy in fn they filled the
// channel, and the client dropped what did not fit, log messages too; the
// ordered consumer sees such a gap only when a later message comes, so a
// subscription waited for the next append. Consume's subscription queues
// without counting slots, within the bytes pullLimits asks for.
type logFeed struct {
	msgs chan natsjs.Msg // unbuffered: the client waits for the reader
	fail chan error      // an error the consumer does not recover from
	done chan struct{}   // closed when the reader stops
	mu   sync.Mutex      // one hand-off at a time, in order across the consumer's resets
	cc   natsjs.ConsumeContext
}

// startFeed starts consuming through a new feed.
func (s *Store) startFeed(cons natsjs.Consumer) (*logFeed, error) {
	feed := &logFeed{msgs: make(chan natsjs.Msg), fail: make(chan error, 1), done: make(chan struct{})}
	cc, err := cons.Consume(feed.handOff, s.pullLimits(), natsjs.ConsumeErrHandler(feed.report))
	if err != nil {
		return nil, err
	}
	feed.cc = cc
	return feed, nil
}

// pullLimits bounds what a consumer asks for ahead of the reader in bytes
// only, so that what the client holds and has not handed on stays within
// them (a byte limit on each pull of a number of messages does not bound
// the sum: several pulls can be open at once). Messages of one append can
// be as large as the connection's max payload, so the limit leaves room for
// the largest on top of a page; but it stays within a subscription's
// pending limit, beyond which the client drops messages.
func (s *Store) pullLimits() natsjs.PullMaxBytes {
	return natsjs.PullMaxBytes(min(readPageBytes+int(s.nc.MaxPayload()), nats.DefaultSubPendingBytesLimit))
}

// handOff is the consumer's message handler: it waits until the reader
// takes msg or stops. The lock keeps the order when the ordered consumer
// resets (after a reconnect, say) while a hand-off waits: the new
// consumer's first message waits for it.
func (f *logFeed) handOff(msg natsjs.Msg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case f.msgs <- msg:
	case <-f.done:
	}
}

// report is the consumer's error handler. The ordered consumer recovers by
// itself from missed heartbeats, a deleted consumer, no responders and
// reconnects (it starts a new consumer after the last message delivered),
// and goes on after a leadership change (it pulls again) or a server
// shutdown (a reconnect or missed heartbeats follow). Any other error may
// leave it stalled (a 400 stops its subscription for good), so it ends the
// feed, and the caller starts again.
func (f *logFeed) report(_ natsjs.ConsumeContext, err error) {
	for _, recovered := range []error{natsjs.ErrNoHeartbeat, natsjs.ErrConsumerDeleted, nats.ErrNoResponders,
		natsjs.ErrConsumerLeadershipChanged, natsjs.ErrServerShutdown} {
		if errors.Is(err, recovered) {
			return
		}
	}
	select {
	case f.fail <- err:
	default:
	}
}

// next waits for the next log message.
func (f *logFeed) next(ctx context.Context) (natsjs.Msg, error) {
	select {
	case msg := <-f.msgs:
		return msg, nil
	case err := <-f.fail:
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// stop ends the feed and the consumer's subscription.
func (f *logFeed) stop() {
	close(f.done)
	f.cc.Stop()
}

// dropConsumer deletes an ordered consumer from the server once it is no
// longer used, in the background; left alone, the server would keep it for
// five minutes and could hit its consumer limit under many reads.
func (s *Store) dropConsumer(cons natsjs.Consumer) {
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), defaultTimeout)
		defer cancel()
		_ = s.stream.DeleteConsumer(ctx, info.Name)
	}()
}
