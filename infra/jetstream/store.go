// Package jetstream implements the ledger's event store (events.Store) on NATS
// JetStream, and can run the NATS server embedded in the ledger process.
//
// The store keeps a commit log, the stream LEDGER_LOG: one message per
// append, holding all the append's records (so an append is atomic by
// construction, one concurrency check and one write), on one subject per
// tenant, ledger-log.<tenant>. Optimistic concurrency is JetStream's
// "expected last subject sequence" check on the tenant's subject. Reads load
// a tenant with a batched direct get and finish long tenants with an ordered
// consumer; subscriptions use an ordered consumer over the whole log.
//
// The log is the ledger's own. Downstream consumers read LEDGER, one message
// per event on ledger.<tenant>.<Type>, which infra/forward fills from the
// log; this package defines that stream and its messages too (NewMsg,
// RecordFromMsg), for every writer and reader of it.
package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/licensing-ledger/ledger/events"
)

// ErrClosed is returned by calls on a store after Close.
var ErrClosed = errors.New("jetstream: the store is closed")

// ErrTooLarge is returned by Append when the records do not fit in one NATS
// message: an append is one message, which the connection's max payload
// bounds (8 MiB on the embedded server, often 1 MiB on an external one).
// It is events.ErrTooLarge, the port's error for it.
var ErrTooLarge = fmt.Errorf("jetstream: the append does not fit in one NATS message: %w", events.ErrTooLarge)

const (
	// defaultTimeout bounds a server round trip when ctx has no deadline.
	defaultTimeout = 10 * time.Second
	// headerAllowance is what the headers of an appended message may take.
	headerAllowance = 1024
)

// JetStream API error codes the store reacts to.
const (
	codeNotLeader          = 10009
	codeNoResources        = 10023
	codeWrongLastSeq       = 10071
	codeDuplicateInProcess = 10158
	codeWrongLastSeqBusy   = 10164
)

// Store is the JetStream event store. It is safe for concurrent use.
type Store struct {
	nc     *nats.Conn
	stream natsjs.Stream
	watch  *connWatch      // ends the appends in flight when the connection drops
	life   context.Context // ends on Close
	end    context.CancelFunc
	// refused is why the server cannot write now, if it cannot (see
	// RefuseWrites).
	refused atomic.Pointer[error]
	// restarts ends when JetStream comes back from a refusal, restarted,
	// which ends the subscriptions: their consumers went with it.
	restartMu sync.Mutex
	restarts  context.Context
	restarted context.CancelFunc
	// commit, when set (GroupCommit), makes appends durable with the
	// ledger's own fsyncs, many appends per fsync.
	commit *groupCommit
}

var (
	_ events.Store  = (*Store)(nil)
	_ events.Pinger = (*Store)(nil)
)

// Open returns a store over nc, creating or updating the LEDGER_LOG stream.
// The caller keeps ownership of nc: Close leaves it open, so that one
// connection can serve several components; close it after the store.
func Open(ctx context.Context, nc *nats.Conn, cfg StreamConfig) (*Store, error) {
	js, err := natsjs.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	stream, err := EnsureLogStream(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	life, end := context.WithCancel(context.Background())
	s := &Store{nc: nc, stream: stream, watch: watchConn(nc), life: life, end: end}
	s.restarts, s.restarted = context.WithCancel(context.Background())
	return s, nil
}

// Close ends the store's subscriptions and refuses further calls. It does not
// close the connection, which the caller owns.
func (s *Store) Close() error {
	s.end()
	s.watch.stop(s.nc)
	if s.commit != nil {
		s.commit.close()
	}
	return nil
}

// Append stores recs at the end of the tenant's stream if it still ends at
// expected (see events.Store), as one log message. An expected position
// inside an append is a conflict: the stream goes on after it. At most
// MaxAppend records, and no more than fit in one message of the
// connection's max payload (ErrTooLarge); tenant and record types must be
// valid tokens (see ValidToken). Nothing is sent when the records are not
// well formed.
func (s *Store) Append(ctx context.Context, tenant string, expected events.Cursor, recs []events.Record) (events.Cursor, error) {
	if err := s.checkOpen(); err != nil {
		return events.Cursor{}, err
	}
	if reason := s.refusal(); reason != nil {
		return events.Cursor{}, writesRefused(reason)
	}
	if err := validateAppend(tenant, expected, recs); err != nil {
		return events.Cursor{}, err
	}
	if len(recs) == 0 {
		return expected, nil
	}
	if !endsAppend(expected.Position) {
		return events.Cursor{}, fmt.Errorf("%w: position %d is inside an append, so the tenant's stream goes on after it", events.ErrConflict, expected.Position)
	}
	msg := newLogMsg(tenant, expected, recs)
	if err := s.checkSize(msg, len(recs)); err != nil {
		return events.Cursor{}, err
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	resp, err := s.send(ctx, cancel, msg)
	if err != nil {
		return events.Cursor{}, err
	}
	cur, err := s.settle(ctx, tenant, expected, recs, resp)
	if err != nil || s.commit == nil {
		return cur, err
	}
	if err := s.commit.wait(ctx, msgSeq(cur.Position)); err != nil {
		return events.Cursor{}, err
	}
	return cur, nil
}

// validateAppend checks what Append promises to refuse before sending.
func validateAppend(tenant string, expected events.Cursor, recs []events.Record) error {
	if !ValidToken(tenant) {
		return fmt.Errorf("jetstream: invalid tenant id %q", tenant)
	}
	if len(recs) > MaxAppend {
		return fmt.Errorf("jetstream: %d records in one append; at most %d fit", len(recs), MaxAppend)
	}
	for i, rec := range recs {
		if err := validateRecord(tenant, expected.Sequence+uint64(i)+1, rec); err != nil {
			return fmt.Errorf("jetstream: record %d of %d: %w", i+1, len(recs), err)
		}
	}
	if id, dup := repeatedID(recs); dup {
		return fmt.Errorf("jetstream: record id %q appears twice in one append", id)
	}
	return nil
}

// repeatedID returns an id that two of the records share, if any: by
// comparing each pair in the usual small append, with a set in a large one.
func repeatedID(recs []events.Record) (string, bool) {
	if len(recs) <= 16 {
		for i := range recs {
			for j := range i {
				if recs[i].ID == recs[j].ID {
					return recs[i].ID, true
				}
			}
		}
		return "", false
	}
	seen := make(map[string]struct{}, len(recs))
	for _, rec := range recs {
		if _, dup := seen[rec.ID]; dup {
			return rec.ID, true
		}
		seen[rec.ID] = struct{}{}
	}
	return "", false
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

// validID reports whether id is a valid record id: not empty, valid UTF-8,
// without spaces or control characters (what a Nats-Msg-Id header value
// takes; earlier releases sent it as one).
func validID(id string) bool {
	if printableASCII(id) {
		return id != ""
	}
	if !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// printableASCII reports whether s holds printable ASCII characters only,
// none of them a space: the ULIDs of the ledger's records.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// checkSize refuses a message larger than the connection accepts, before
// sending it, with the sizes involved.
func (s *Store) checkSize(msg *nats.Msg, records int) error {
	limit := s.nc.MaxPayload() - headerAllowance
	if size := int64(len(msg.Data)); size > limit {
		return fmt.Errorf("%w: %d records take %d bytes; this connection takes at most %d (the server's max_payload less %d for headers)",
			ErrTooLarge, records, size, limit, headerAllowance)
	}
	return nil
}

// pubResponse is the server's reply to a publish.
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

// send publishes the message and returns the server's verdict. When the
// connection drops before the verdict comes, the verdict went with it (see
// connWatch): send calls cancel, which must end ctx, and stops waiting.
func (s *Store) send(ctx context.Context, cancel context.CancelFunc, msg *nats.Msg) (pubResponse, error) {
	conn := s.watch.current()
	defer context.AfterFunc(conn, cancel)()
	reply, err := s.nc.RequestMsgWithContext(ctx, msg)
	if err != nil {
		if conn.Err() != nil && errors.Is(err, context.Canceled) {
			err = errConnectionLost // canceled by the drop
			if reason := s.refusal(); reason != nil {
				err = fmt.Errorf("jetstream: the server stopped writing before it answered (%v)", reason)
			}
		}
		return pubResponse{}, classify("append", err)
	}
	return decodePubAck(reply.Data)
}

// settle turns the server's verdict into Append's result. A refusal that may
// come from an earlier attempt of the same append (a failed sequence check,
// a duplicate id) is settled by looking at what the tenant's stream holds.
func (s *Store) settle(ctx context.Context, tenant string, expected events.Cursor, recs []events.Record, resp pubResponse) (events.Cursor, error) {
	if resp.Error == nil && !resp.Duplicate {
		return events.Cursor{Sequence: recs[len(recs)-1].Sequence, Position: lastPosition(resp.Seq)}, nil
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
// stored: the sequence check failed, or their id was seen.
func mayBeRetry(code int) bool {
	switch code {
	case codeWrongLastSeq, codeWrongLastSeqBusy, codeDuplicateInProcess:
		return true
	}
	return false
}

// refusal wraps a refusal that is not about concurrency: transient server
// conditions as ErrUnavailable, anything else as a plain error.
func refusal(e *apiError) error {
	switch e.ErrCode {
	case codeNotLeader, codeNoResources:
		return fmt.Errorf("%w: append: %w", events.ErrUnavailable, e)
	}
	return fmt.Errorf("jetstream: append refused: %w", e)
}

// errEnough stops a read once it has what it needs.
var errEnough = errors.New("enough records")

// alreadyStored reports whether the tenant's first len(recs) records after
// expected are recs, the same ids and bytes, and if so the cursor of the
// last one. An append is one message, so its records, if stored, are the
// next message.
func (s *Store) alreadyStored(ctx context.Context, tenant string, expected events.Cursor, recs []events.Record) (events.Cursor, bool, error) {
	stored := make([]events.Record, 0, len(recs))
	_, _, err := s.directGet(ctx, s.pageAfter(tenant, expected.Position, 1), expected.Position, func(r events.Record) error {
		stored = append(stored, r)
		if len(stored) == len(recs) {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return events.Cursor{}, false, err
	}
	if !events.SameRecords(stored, recs) {
		return events.Cursor{}, false, nil
	}
	return stored[len(stored)-1].Cursor(), true, nil
}

// RefuseWrites tells the store that its server cannot write now, and why
// (nil: it can again). A file store that fails a write answers no publish
// until JetStream restarts (see Watchdog): meanwhile Append fails at once,
// sending nothing (events.ErrWritesRefused), the appends waiting for an
// answer stop waiting (their outcome is unknown), and Ping says why.
//
// When it can write again, it was restarted (see Watchdog), and the
// consumers of the subscriptions with it: they end, with an error wrapping
// events.ErrUnavailable, and their callers subscribe again.
func (s *Store) RefuseWrites(reason error) {
	if reason == nil {
		if s.refused.Swap(nil) != nil {
			s.endSubscriptions()
		}
		return
	}
	s.refused.Store(&reason)
	s.watch.interrupt()
}

// errRestarted ends the subscriptions whose consumers a restart of
// JetStream removed.
var errRestarted = fmt.Errorf("%w: JetStream restarted, and the subscription's consumer with it", events.ErrUnavailable)

// endSubscriptions ends the subscriptions open now.
func (s *Store) endSubscriptions() {
	s.restartMu.Lock()
	defer s.restartMu.Unlock()
	s.restarted()
	s.restarts, s.restarted = context.WithCancel(context.Background())
}

// restartsNow returns a context that ends at the next restart of JetStream.
func (s *Store) restartsNow() context.Context {
	s.restartMu.Lock()
	defer s.restartMu.Unlock()
	return s.restarts
}

// refusal returns why the server cannot write, or nil.
func (s *Store) refusal() error {
	if p := s.refused.Load(); p != nil {
		return *p
	}
	return nil
}

// writesRefused is Append's error while the server cannot write.
func writesRefused(reason error) error {
	return fmt.Errorf("%w: %w: %w", events.ErrUnavailable, events.ErrWritesRefused, reason)
}

// Ping tells whether the store takes appends now (see events.Pinger): the
// connection to NATS is up, the server has not stopped writing, and the
// commit log's stream answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if !s.nc.IsConnected() {
		return fmt.Errorf("%w: not connected to NATS (%s)", events.ErrUnavailable, s.nc.Status())
	}
	if reason := s.refusal(); reason != nil {
		return writesRefused(reason)
	}
	if s.commit != nil {
		if err := s.commit.err(); err != nil {
			return err
		}
	}
	_, err := s.Head(ctx)
	return err
}

// checkOpen refuses calls after Close.
func (s *Store) checkOpen() error {
	if s.life.Err() != nil {
		return ErrClosed
	}
	return nil
}

// withDefaultTimeout returns a context that ends with ctx or when canceled,
// and within defaultTimeout unless ctx has a deadline.
func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
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
