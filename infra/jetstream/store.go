// Package jetstream implements the ledger's event store (events.Store) on NATS
// JetStream, and can run the NATS server embedded in the ledger process.
//
// All tenants share one stream, LEDGER. A tenant's events are the messages
// on ledger.<tenant>.>, and optimistic concurrency is JetStream's "expected
// last subject sequence" check over that filter. Appends of several records
// are atomic batches. Reads load a tenant with a batched direct get, and
// finish long tenants with an ordered consumer; subscriptions use an ordered
// consumer too.
package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/licensing-ledger/ledger/events"
)

// MaxAppend is the most records one Append stores: the server's default
// limit on an atomic batch. A larger change cannot be stored atomically.
const MaxAppend = 1000

// ErrClosed is returned by calls on a store after Close.
var ErrClosed = errors.New("jetstream: the store is closed")

const (
	// defaultTimeout bounds a server round trip when ctx has no deadline.
	defaultTimeout = 10 * time.Second
	// readPageSize and readPageBytes bound the direct get that starts a
	// read (and the consumer's pulls that finish a long one); the byte bound
	// keeps the reply well under the client's pending limits.
	readPageSize  = 1000
	readPageBytes = 8 << 20
	// headerAllowance is what the headers of an appended message may take.
	headerAllowance = 1024

	directGetSubject  = "$JS.API.DIRECT.GET." + StreamName
	batchIDHeader     = "Nats-Batch-Id"
	batchSeqHeader    = "Nats-Batch-Sequence"
	batchCommitHeader = "Nats-Batch-Commit"
	statusHeader      = "Status"
	descrHeader       = "Description"
	numPendingHeader  = "Nats-Num-Pending"
)

// JetStream API error codes the store reacts to.
const (
	codeNotLeader          = 10009
	codeNoResources        = 10023
	codeWrongLastSeq       = 10071
	codeDuplicateInProcess = 10158
	codeWrongLastSeqBusy   = 10164
	codeBatchIncomplete    = 10176
	codeBatchDuplicate     = 10201
	codeBatchTooManyFlight = 10210
)

// Store is the JetStream event store. It is safe for concurrent use.
type Store struct {
	nc     *nats.Conn
	stream natsjs.Stream
	life   context.Context // ends on Close
	end    context.CancelFunc
}

var _ events.Store = (*Store)(nil)

// Open returns a store over nc, creating or updating the LEDGER stream. The
// caller keeps ownership of nc: Close leaves it open, so that one connection
// can serve several components; close it after the store.
func Open(ctx context.Context, nc *nats.Conn, cfg StreamConfig) (*Store, error) {
	js, err := natsjs.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	stream, err := EnsureStream(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	life, end := context.WithCancel(context.Background())
	return &Store{nc: nc, stream: stream, life: life, end: end}, nil
}

// Close ends the store's subscriptions and refuses further calls. It does not
// close the connection, which the caller owns.
func (s *Store) Close() error {
	s.end()
	return nil
}

// Append stores recs atomically at the end of the tenant's stream if it still
// ends at expected (see events.Store). At most MaxAppend records; tenant and
// record types must be valid tokens (see ValidToken), and nothing is sent
// when the records are not well formed.
func (s *Store) Append(ctx context.Context, tenant string, expected events.Cursor, recs []events.Record) (events.Cursor, error) {
	if err := s.checkOpen(); err != nil {
		return events.Cursor{}, err
	}
	if err := validateAppend(tenant, expected, recs); err != nil {
		return events.Cursor{}, err
	}
	if len(recs) == 0 {
		return expected, nil
	}
	msgs, err := s.appendMsgs(expected, recs)
	if err != nil {
		return events.Cursor{}, err
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	resp, err := s.send(ctx, msgs)
	if err != nil {
		return events.Cursor{}, err
	}
	return s.settle(ctx, tenant, expected, recs, resp)
}

// validateAppend checks what Append promises to refuse before sending.
func validateAppend(tenant string, expected events.Cursor, recs []events.Record) error {
	if !ValidToken(tenant) {
		return fmt.Errorf("jetstream: invalid tenant id %q", tenant)
	}
	if len(recs) > MaxAppend {
		return fmt.Errorf("jetstream: %d records in one append; at most %d are stored atomically", len(recs), MaxAppend)
	}
	seen := make(map[string]struct{}, len(recs))
	for i, rec := range recs {
		if err := validateRecord(tenant, expected.Sequence+uint64(i)+1, rec); err != nil {
			return fmt.Errorf("jetstream: record %d of %d: %w", i+1, len(recs), err)
		}
		if _, dup := seen[rec.ID]; dup {
			return fmt.Errorf("jetstream: record id %q appears twice in one append", rec.ID)
		}
		seen[rec.ID] = struct{}{}
	}
	return nil
}

// validateRecord checks one record of an append.
func validateRecord(tenant string, seq uint64, rec events.Record) error {
	switch {
	case rec.Tenant != tenant:
		return fmt.Errorf("tenant %q in an append to tenant %q", rec.Tenant, tenant)
	case !ValidToken(rec.Type):
		return fmt.Errorf("invalid event type %q", rec.Type)
	case !validID(rec.ID):
		return fmt.Errorf("invalid record id %q", rec.ID)
	case rec.Sequence != seq:
		return fmt.Errorf("sequence %d, the cursor calls for %d", rec.Sequence, seq)
	}
	return nil
}

// validID reports whether id can be sent as the Nats-Msg-Id header value.
func validID(id string) bool {
	if id == "" || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// appendMsgs builds the messages of an append: the concurrency check on the
// first, and atomic batch headers when there are several. Each attempt gets
// its own batch id, so that a retry never collides with the leftovers of an
// attempt cut short (the server keys staged batches by id).
func (s *Store) appendMsgs(expected events.Cursor, recs []events.Record) ([]*nats.Msg, error) {
	batchID := nuid.Next()
	limit := int(s.nc.MaxPayload()) - headerAllowance
	msgs := make([]*nats.Msg, len(recs))
	for i, rec := range recs {
		if len(rec.Data) > limit {
			return nil, fmt.Errorf("jetstream: record %s holds %d bytes; at most %d fit in a message", rec.ID, len(rec.Data), limit)
		}
		msgs[i] = NewMsg(rec)
		if len(recs) > 1 {
			msgs[i].Header.Set(batchIDHeader, batchID)
			msgs[i].Header.Set(batchSeqHeader, strconv.Itoa(i+1))
		}
	}
	first := msgs[0].Header
	first.Set(natsjs.ExpectedLastSubjSeqHeader, strconv.FormatUint(uint64(expected.Position), 10))
	first.Set(natsjs.ExpectedLastSubjSeqSubjHeader, TenantFilter(recs[0].Tenant))
	if len(recs) > 1 {
		msgs[len(msgs)-1].Header.Set(batchCommitHeader, "1")
	}
	return msgs, nil
}

// pubResponse is the server's reply to a publish or a batch commit.
type pubResponse struct {
	Seq       uint64    `json:"seq"`
	Duplicate bool      `json:"duplicate"`
	Error     *apiError `json:"error"`
}

// apiError is a JetStream API error as the server encodes it.
type apiError struct {
	Code        int    `json:"code"`
	ErrCode     int    `json:"err_code"`
	Description string `json:"description"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (code %d, err_code %d)", e.Description, e.Code, e.ErrCode)
}

// send publishes all but the last message and requests the server's verdict
// with the last one: a batch commits there, and a single record is the last.
func (s *Store) send(ctx context.Context, msgs []*nats.Msg) (pubResponse, error) {
	last := len(msgs) - 1
	for _, m := range msgs[:last] {
		if err := s.nc.PublishMsg(m); err != nil {
			return pubResponse{}, classify("append", err)
		}
	}
	reply, err := s.nc.RequestMsgWithContext(ctx, msgs[last])
	if err != nil {
		return pubResponse{}, classify("append", err)
	}
	var resp pubResponse
	if err := json.Unmarshal(reply.Data, &resp); err != nil {
		return pubResponse{}, fmt.Errorf("jetstream: append: unreadable reply %q: %w", reply.Data, err)
	}
	return resp, nil
}

// settle turns the server's verdict into Append's result. A refusal that may
// come from an earlier attempt of the same append (a failed sequence check,
// a duplicate id) is settled by looking at what the tenant's stream holds.
func (s *Store) settle(ctx context.Context, tenant string, expected events.Cursor, recs []events.Record, resp pubResponse) (events.Cursor, error) {
	if resp.Error == nil && !resp.Duplicate {
		return events.Cursor{Sequence: recs[len(recs)-1].Sequence, Position: events.Position(resp.Seq)}, nil
	}
	if resp.Error != nil && !mayBeRetry(resp.Error.ErrCode) {
		return events.Cursor{}, refusal(resp.Error)
	}
	cur, stored, err := s.alreadyStored(ctx, tenant, expected, recs)
	switch {
	case err != nil:
		return events.Cursor{}, err
	case stored:
		return cur, nil
	case resp.Error != nil && resp.Error.ErrCode == codeDuplicateInProcess:
		return events.Cursor{}, fmt.Errorf("%w: %w", events.ErrUnavailable, resp.Error)
	case resp.Duplicate:
		return events.Cursor{}, fmt.Errorf("%w: record %s is already stored elsewhere", events.ErrConflict, recs[0].ID)
	default:
		return events.Cursor{}, fmt.Errorf("%w: %w", events.ErrConflict, resp.Error)
	}
}

// mayBeRetry reports whether a refusal can mean that the records are already
// stored: the sequence check failed, or their ids were seen.
func mayBeRetry(code int) bool {
	switch code {
	case codeWrongLastSeq, codeWrongLastSeqBusy, codeBatchDuplicate, codeDuplicateInProcess:
		return true
	}
	return false
}

// refusal wraps a refusal that is not about concurrency: transient server
// conditions as ErrUnavailable, anything else as a plain error.
func refusal(e *apiError) error {
	switch e.ErrCode {
	case codeNotLeader, codeNoResources, codeBatchIncomplete, codeBatchTooManyFlight:
		return fmt.Errorf("%w: append: %w", events.ErrUnavailable, e)
	}
	return fmt.Errorf("jetstream: append refused: %w", e)
}

// errEnough stops a read once it has what it needs.
var errEnough = errors.New("enough records")

// alreadyStored reports whether the tenant's first len(recs) records after
// expected are recs (by id), and if so the cursor of the last one.
func (s *Store) alreadyStored(ctx context.Context, tenant string, expected events.Cursor, recs []events.Record) (events.Cursor, bool, error) {
	stored := make([]events.Record, 0, len(recs))
	err := s.read(ctx, tenant, expected.Position, len(recs), func(r events.Record) error {
		stored = append(stored, r)
		if len(stored) == len(recs) {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return events.Cursor{}, false, err
	}
	if len(stored) < len(recs) {
		return events.Cursor{}, false, nil
	}
	for i := range recs {
		if stored[i].ID != recs[i].ID {
			return events.Cursor{}, false, nil
		}
	}
	return stored[len(stored)-1].Cursor(), true, nil
}

// Read calls fn for each of the tenant's records after the cursor, in order,
// until it has delivered every record stored when the call began.
func (s *Store) Read(ctx context.Context, tenant string, after events.Cursor, fn func(events.Record) error) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if !ValidToken(tenant) {
		return fmt.Errorf("jetstream: invalid tenant id %q", tenant)
	}
	return s.read(ctx, tenant, after.Position, readPageSize, fn)
}

// read delivers the tenant's records after the position, in order, up to
// those stored when it began. The first page comes by batched direct get:
// one round trip and no server-side state, the quickest way to load the
// usual small tenant. Whatever is left after a page is read through an
// ordered consumer: creating one costs about a millisecond, but each record
// then costs about half as much, since direct get rebuilds every message's
// headers on the server.
func (s *Store) read(ctx context.Context, tenant string, after events.Position, page int, fn func(events.Record) error) error {
	last, pending, err := s.directGet(ctx, directGetRequest{
		Seq: uint64(after) + 1, NextFor: TenantFilter(tenant), Batch: page, MaxBytes: readPageBytes,
	}, fn)
	if err != nil || pending == 0 {
		return err
	}
	return s.consume(ctx, tenant, last, pending, fn)
}

// directGetRequest asks for up to Batch messages on NextFor from Seq on.
type directGetRequest struct {
	Seq      uint64 `json:"seq"`
	NextFor  string `json:"next_by_subj"`
	Batch    int    `json:"batch"`
	MaxBytes int    `json:"max_bytes"`
}

// directGet sends one batched direct get and delivers the records of the
// reply. The server answers with the messages then a "204 EOB" status that
// carries the last sequence sent and how many matching messages are left
// (Nats-Num-Pending); or with a lone "404" when nothing matches.
func (s *Store) directGet(ctx context.Context, req directGetRequest, fn func(events.Record) error) (last, pending uint64, err error) {
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
		rec, err := RecordFromMsg(msg)
		if err != nil {
			return 0, 0, err
		}
		if err := fn(rec); err != nil {
			return 0, 0, err
		}
	}
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

// consume delivers the tenant's next count records after the stream
// sequence through an ordered consumer.
func (s *Store) consume(ctx context.Context, tenant string, after, count uint64, fn func(events.Record) error) error {
	cons, err := s.stream.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{
		FilterSubjects: []string{TenantFilter(tenant)},
		DeliverPolicy:  natsjs.DeliverByStartSequencePolicy,
		OptStartSeq:    after + 1,
	})
	if err != nil {
		return classify("read", err)
	}
	it, err := cons.Messages(natsjs.PullMaxMessages(readPageSize))
	if err != nil {
		return classify("read", err)
	}
	defer s.dropConsumer(cons)
	defer it.Stop()
	for ; count > 0; count-- {
		if err := s.consumeOne(ctx, it, fn); err != nil {
			return err
		}
	}
	return nil
}

// consumeOne delivers the next record of a bounded read, which must come
// within the default time out when ctx has no deadline.
func (s *Store) consumeOne(ctx context.Context, it natsjs.MessagesContext, fn func(events.Record) error) error {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	return nextRecord(ctx, "read", it, fn)
}

// nextRecord waits for the iterator's next message and hands its record to
// fn, returning fn's error as it is.
func nextRecord(ctx context.Context, op string, it natsjs.MessagesContext, fn func(events.Record) error) error {
	msg, err := it.Next(natsjs.NextContext(ctx))
	if err != nil {
		return classify(op, err)
	}
	rec, err := RecordFromStreamMsg(msg)
	if err != nil {
		return err
	}
	return fn(rec)
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

// Subscribe calls fn for every record of every tenant after the position, in
// global order, catching up then following live appends, until ctx ends (it
// returns ctx.Err()), fn fails (it returns that error) or the store closes.
// An ordered consumer carries it across reconnects.
func (s *Store) Subscribe(ctx context.Context, after events.Position, fn func(events.Record) error) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.life, cancel)()
	cons, err := s.stream.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{
		DeliverPolicy: natsjs.DeliverByStartSequencePolicy,
		OptStartSeq:   uint64(after) + 1,
	})
	if err != nil {
		return classify("subscribe", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return classify("subscribe", err)
	}
	defer s.dropConsumer(cons)
	defer it.Stop()
	for {
		err := nextRecord(ctx, "subscribe", it, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return err
		}
	}
}

// Head returns the position of the newest record in the store (0 if none).
func (s *Store) Head(ctx context.Context) (events.Position, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	info, err := s.stream.Info(ctx)
	if err != nil {
		return 0, classify("head", err)
	}
	return events.Position(info.State.LastSeq), nil
}

// checkOpen refuses calls after Close.
func (s *Store) checkOpen() error {
	if s.life.Err() != nil {
		return ErrClosed
	}
	return nil
}

// withDefaultTimeout bounds ctx by defaultTimeout unless it has a deadline.
func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, defaultTimeout)
}

// classify wraps an error from the connection or the JetStream API. Errors
// about the request itself and API refusals come back as they are; anything
// else (time outs, lost connection, no responders, cancellation) means the
// store could not be reached, so it is wrapped with events.ErrUnavailable.
func classify(op string, err error) error {
	var jsErr natsjs.JetStreamError
	switch {
	case errors.As(err, &jsErr) && jsErr.APIError() != nil,
		errors.Is(err, nats.ErrMaxPayload),
		errors.Is(err, nats.ErrBadSubject),
		errors.Is(err, nats.ErrInvalidMsg),
		errors.Is(err, nats.ErrBadHeaderMsg):
		return fmt.Errorf("jetstream: %s: %w", op, err)
	}
	return fmt.Errorf("%w: %s: %w", events.ErrUnavailable, op, err)
}
