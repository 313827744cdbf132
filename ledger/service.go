// Package ledger is the application: it takes commands, decides them against
// the tenant's state with the domain, appends the events to the event store
// with an optimistic concurrency check, and answers who may ask what.
package ledger

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/internal/backoff"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Service handles commands for every tenant. Commands of one tenant are
// serialized in this process; across processes the store's concurrency check
// makes the loser decide again on the newer state.
type Service struct {
	store   events.Store
	catalog *catalog.Catalog
	// writer names this Service among the processes writing the store; it
	// makes the event ids of its decisions its own (see events.IDs).
	writer string
	now    func() time.Time
	log    *slog.Logger

	historyCheck  func(tenant string) (uint64, error)
	snapshots     events.SnapshotStore
	snapshotEvery int
	committed     func([]*ledgerv1.Event)
	slowCommand   time.Duration
	timeout       time.Duration

	mu      sync.Mutex
	tenants map[string]*aggregate
	damaged map[string]Damage // tenants whose history is damaged (see Damage)
}

// Options configure a Service; zero values take the defaults.
type Options struct {
	Catalog *catalog.Catalog // default: catalog.Default()
	// Now is the clock commands are decided at and timed by (default
	// time.Now).
	Now    func() time.Time
	Logger *slog.Logger // default: slog.Default()
	// Snapshots keeps tenants' snapshots; nil loads every tenant from its
	// first event.
	Snapshots events.SnapshotStore
	// SnapshotEvery is how many events a tenant gains between snapshots
	// (default DefaultSnapshotEvery).
	SnapshotEvery int
	// Committed, if set, is called with the events of each command once
	// they are stored, before the command is answered, in the tenant's
	// order (a tenant's commands are serialized in this process). The read
	// models take this process's own writes from it
	// (projections.Projector.ApplyCommitted). The events are the ones the
	// Result returns: neither side may modify them.
	Committed func([]*ledgerv1.Event)
	// HistoryCheck, if set, tells whether the tenant's stored history
	// still matches what was signed of it (its latest checkpoint, L8): nil
	// if it does, otherwise why, and the first event not confirmed. A
	// tenant it reports is damaged (see Damage).
	HistoryCheck func(tenant string) (firstBad uint64, err error)
	// SlowCommand is how long a command may take before the service logs
	// a warning saying where its time went: waiting for the tenant's lock,
	// loading, deciding, appending (and how many tries), handing the events
	// over, and how many times it was decided. A command that waited
	// seconds then explains itself in the log. Zero means
	// DefaultSlowCommand; a negative duration never warns.
	SlowCommand time.Duration
	// CommandTimeout bounds how long a command may take, waiting for its
	// tenant's earlier commands included, when its context has no earlier
	// deadline: a store that does not answer then costs each command that
	// long at most, and holds no tenant longer (nor does a query's
	// authorization that reads the tenant under its lock). Zero means
	// DefaultCommandTimeout; a negative duration sets no bound.
	CommandTimeout time.Duration
}

// DefaultCommandTimeout is how long a command may take by default: a
// command normally takes milliseconds, and a client told Unavailable
// retries with the same Idempotency-Key.
const DefaultCommandTimeout = 5 * time.Second

// New returns a Service over the store.
func New(store events.Store, o Options) *Service {
	if o.Catalog == nil {
		o.Catalog = catalog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.SnapshotEvery <= 0 {
		o.SnapshotEvery = DefaultSnapshotEvery
	}
	if o.SlowCommand == 0 {
		o.SlowCommand = DefaultSlowCommand
	}
	if o.CommandTimeout == 0 {
		o.CommandTimeout = DefaultCommandTimeout
	}
	return &Service{
		store: store, catalog: o.Catalog, writer: events.NewULID(), now: o.Now, log: o.Logger, tenants: map[string]*aggregate{}, damaged: map[string]Damage{},
		snapshots: o.Snapshots, snapshotEvery: o.SnapshotEvery, historyCheck: o.HistoryCheck, committed: o.Committed, slowCommand: o.SlowCommand, timeout: o.CommandTimeout,
	}
}

// Catalog returns the product catalog the service decides with.
func (s *Service) Catalog() *catalog.Catalog { return s.catalog }

// Command is one command as the service receives it.
type Command struct {
	Tenant    string
	Principal domain.Principal
	Message   proto.Message
	// ID identifies the command for idempotent retries (L5): the client's
	// Idempotency-Key, or a new ULID. A second command with the same ID in the
	// same tenant is answered with the first one's events.
	ID            string
	CorrelationID string
}

// Result is what a command did.
type Result struct {
	CommandID string
	Events    []*ledgerv1.Event
	Notice    *domain.Notice
	// Replayed is true when the command had already been applied and this is
	// the first application's answer.
	Replayed bool
}

// maxAttempts bounds how often a command is decided again after losing a
// race to another writer of the same tenant.
const maxAttempts = 8

// Execute decides the command and appends its events. It returns a
// *domain.Error for refusals; nothing is appended then. A command slower
// than Options.SlowCommand is logged with where its time went; one that
// reaches Options.CommandTimeout is answered Unavailable, saying whether it
// may have been applied.
func (s *Service) Execute(ctx context.Context, c Command) (Result, error) {
	if err := domain.CheckTenantID(c.Tenant); err != nil {
		return Result{}, err
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	if c.ID == "" {
		c.ID = events.NewULID()
	}
	if c.CorrelationID == "" {
		c.CorrelationID = c.ID
	}
	t := startTiming(s.now)
	res, err := s.execute(ctx, c, &t)
	t.logIfSlow(s.log, s.slowCommand, c, err)
	return res, err
}

// bounded returns ctx bounded by Options.CommandTimeout: whoever takes a
// tenant's lock holds it no longer than that.
func (s *Service) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.timeout)
}

// execute runs the command under the tenant's lock, deciding it again
// after a lost race, and records where its time goes in t.
func (s *Service) execute(ctx context.Context, c Command, t *timing) (Result, error) {
	agg := s.aggregate(c.Tenant)
	defer s.release(c.Tenant, agg)
	err := agg.mu.lock(ctx)
	t.lap(&t.lock)
	if err != nil {
		return Result{}, lockTimeout(t.lock, err)
	}
	defer agg.mu.unlock()
	fresh := !agg.loaded // this call reads the store before deciding
	for attempt := 1; ; attempt++ {
		res, err := s.attempt(ctx, agg, c, t)
		if recordsNothing(res, err) && !fresh {
			// An answer that records nothing, a refusal or a no-op, is
			// given only on a state just read: another process may have
			// written what makes the command valid, or what it would
			// change (a license revoked elsewhere), or applied this very
			// command (L5, L6).
			fresh = true
			moved, rerr := s.refresh(ctx, agg)
			t.lap(&t.load)
			if rerr != nil {
				return Result{}, s.boundaryError(rerr)
			}
			if moved {
				continue
			}
		}
		if !errors.Is(err, events.ErrConflict) {
			return res, s.boundaryError(err)
		}
		agg.setLoaded(false) // another writer got there first: read what it wrote
		if attempt == maxAttempts {
			return Result{}, domain.Errorf(domain.CodeConflict, "tenant %s changed %d times while this command was decided; send it again with the same Idempotency-Key", c.Tenant, attempt)
		}
		s.log.Debug("lost a race, deciding again", "tenant", c.Tenant, "command", c.ID, "attempt", attempt)
	}
}

// attempt runs one try of a command. The aggregate is read from the store
// only when this process may have missed events (first use, a lost race, an
// unknown outcome); otherwise the store's concurrency check tells.
func (s *Service) attempt(ctx context.Context, agg *aggregate, c Command, t *timing) (Result, error) {
	t.attempts++
	err := s.load(ctx, agg)
	t.lap(&t.load)
	if err != nil {
		return Result{}, err
	}
	name := domain.CommandName(c.Message)
	if err := domain.AuthorizeAt(c.Principal, agg.state, name, "", s.now()); err != nil {
		return Result{}, err // before any replay: a key reveals nothing to who may not send the command
	}
	if ref, ok := agg.commands.get(c.ID); ok {
		defer t.lap(&t.load)
		return s.replay(ctx, agg, c, ref)
	}
	now := s.now().UTC()
	ids := events.IDs(c.ID, s.writer, now)
	dc := domain.Context{Principal: c.Principal, Roles: domain.EffectiveRolesAt(c.Principal, agg.state, now), Now: now, Catalog: s.catalog, NewID: ids}
	d, err := domain.Decide(agg.state, c.Message, dc)
	if err != nil || len(d.Events) == 0 {
		t.lap(&t.decide)
		return Result{CommandID: c.ID, Notice: d.Notice}, err
	}
	evs, recs, hashes, err := s.envelope(agg, c, name, now, ids, d.Events)
	t.lap(&t.decide)
	if err != nil {
		return Result{}, err
	}
	before := agg.cursor
	err = s.append(ctx, agg, recs, t)
	t.lap(&t.append)
	if err != nil {
		return Result{}, err
	}
	defer t.lap(&t.commit)
	for i, r := range recs {
		if err := agg.apply(r, evs[i], hashes[i]); err != nil {
			return Result{}, err
		}
	}
	agg.previous = before // the store gave the position of the last record only
	if s.committed != nil {
		s.committed(evs)
	}
	s.maybeSnapshot(agg)
	return Result{CommandID: c.ID, Events: evs, Notice: d.Notice}, nil
}

// envelope wraps the decided payloads into events and records, chained to
// the tenant's last event, and returns the hash of each record's bytes (the
// next one's prev_hash), which the aggregate keeps once they are stored.
// The events of one command share their timestamp, which nobody changes.
// A record's type is its payload's name, which newEvent checked is an
// event payload (as events.NewRecord would find it, without reflection).
func (s *Service) envelope(agg *aggregate, c Command, name string, now time.Time, ids func() string, payloads []proto.Message) ([]*ledgerv1.Event, []events.Record, [][]byte, error) {
	evs := make([]*ledgerv1.Event, len(payloads))
	recs := make([]events.Record, len(payloads))
	hashes := make([][]byte, len(payloads))
	prev, at := agg.lastHash, timestamppb.New(now)
	for i, p := range payloads {
		e, err := newEvent(p)
		if err != nil {
			return nil, nil, nil, err
		}
		e.Id, e.Tenant, e.Sequence = ids(), c.Tenant, agg.cursor.Sequence+uint64(i)+1
		e.Time, e.Actor, e.Command = at, c.Principal.ID, name
		e.CommandId, e.CorrelationId, e.PrevHash = c.ID, c.CorrelationID, prev
		data, err := events.Encode(e)
		if err != nil {
			return nil, nil, nil, err
		}
		r := events.Record{ID: e.Id, Tenant: e.Tenant, Type: string(p.ProtoReflect().Descriptor().Name()), Sequence: e.Sequence, Data: data}
		prev = events.Hash(r.Data)
		evs[i], recs[i], hashes[i] = e, r, prev
	}
	return evs, recs, hashes, nil
}

// appendRetry paces the retries of an append whose answer was lost: soon,
// since the store is usually back at once (a reconnection); appendTries
// bounds the tries.
var appendRetry = backoff.Backoff{Min: 50 * time.Millisecond, Max: 200 * time.Millisecond}

const appendTries = 3

// append stores the records, retrying the same records when the store's
// answer was lost: the store deduplicates them, so a retry never doubles.
// It counts its tries in t.
func (s *Service) append(ctx context.Context, agg *aggregate, recs []events.Record, t *timing) error {
	var err error
	unknown := false // a try may have stored the records
	retry := appendRetry
	for try := 1; ; try++ {
		var cur events.Cursor
		t.appendTries++
		cur, err = s.store.Append(ctx, agg.state.Tenant, agg.cursor, recs)
		if err == nil {
			for i := range recs {
				recs[i].Position = cur.Position // exact for the last only
			}
			return nil
		}
		t.appendErr = err
		unknown = unknown || mayBeStored(err)
		if !errors.Is(err, events.ErrUnavailable) || errors.Is(err, events.ErrWritesRefused) || try == appendTries || !backoff.Sleep(ctx, retry.Next(false)) {
			break
		}
	}
	if unknown && !errors.Is(err, events.ErrConflict) {
		agg.setLoaded(false)
		return outcomeUnknown{err}
	}
	return err
}

// mayBeStored reports whether an append that failed so may have been
// stored all the same: its answer was lost, or the caller stopped waiting
// for it. A store that refused to send it (ErrWritesRefused) stored
// nothing.
func mayBeStored(err error) bool {
	lost := errors.Is(err, events.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
	return lost && !errors.Is(err, events.ErrWritesRefused)
}

// outcomeUnknown is the error of an append that may have been stored,
// which the answer says: the client must send the command again with the
// same Idempotency-Key to learn what happened.
type outcomeUnknown struct{ err error }

func (e outcomeUnknown) Error() string { return e.err.Error() }
func (e outcomeUnknown) Unwrap() error { return e.err }

// lockTimeout answers a command that gave up waiting for its tenant's
// earlier commands: it did nothing.
func lockTimeout(waited time.Duration, err error) error {
	return domain.Errorf(domain.CodeUnavailable, "the command was not applied: it waited %s for the tenant's earlier commands, which the event store is slow to answer (%v); send it again with the same Idempotency-Key",
		waited.Round(time.Millisecond), err)
}

// replay answers a command applied before with the events it appended.
func (s *Service) replay(ctx context.Context, agg *aggregate, c Command, ref commandRef) (Result, error) {
	if name := domain.CommandName(c.Message); ref.name != 0 && ref.name.String() != name {
		return Result{}, domain.Errorf(domain.CodeConflict, "idempotency key %q was already used for a %s command, not %s", c.ID, ref.name, name)
	}
	res := Result{CommandID: c.ID, Replayed: true}
	err := s.store.Read(ctx, c.Tenant, ref.before, func(r events.Record) error {
		if len(res.Events) == int(ref.count) {
			return errStop
		}
		e, err := events.DecodeRecord(r)
		res.Events = append(res.Events, e)
		return err
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	if err == nil && len(res.Events) > 0 && res.Events[0].GetActor() != c.Principal.ID {
		return Result{}, domain.Errorf(domain.CodeConflict, "idempotency key %q was already used by another principal; choose a new key", c.ID)
	}
	return res, err
}

// refresh reads what other processes appended to the tenant since this one
// last looked, and reports whether there was anything.
func (s *Service) refresh(ctx context.Context, a *aggregate) (bool, error) {
	before := a.cursor
	a.setLoaded(false)
	err := s.load(ctx, a)
	return a.cursor != before, err
}

// recordsNothing reports whether an attempt's answer leaves the ledger as
// it was: a refusal, or a command decided into no events (a no-op). A
// replayed answer is the first application's and needs no fresh state.
func recordsNothing(res Result, err error) bool {
	if err != nil {
		return isRefusal(err)
	}
	return len(res.Events) == 0 && !res.Replayed
}

// isRefusal reports whether err is the domain's refusal of a command, as
// opposed to a failure of the store or a lost race.
func isRefusal(err error) bool {
	if err == nil {
		return false // without allocating de
	}
	var de *domain.Error
	return errors.As(err, &de) && de.Code != domain.CodeInternal && de.Code != domain.CodeUnavailable && de.Code != domain.CodeDamaged
}

var errStop = errors.New("stop")

// load brings the aggregate up to date unless it is known to be current:
// from its snapshot on first use, then from the events after it. A
// damaged tenant is refused without reading the store.
func (s *Service) load(ctx context.Context, a *aggregate) error {
	if a.loaded {
		return nil
	}
	if a.damage != nil {
		return a.damage.Err()
	}
	s.fromSnapshot(ctx, a)
	err := a.catchUp(ctx, s.store)
	var b *historyBreak
	if errors.As(err, &b) {
		// What this process held (its cached state, a snapshot) may not
		// fit the stream: rebuild the tenant from its first event rather
		// than refuse it until a restart. A stream that does not fit
		// itself is damaged.
		s.log.Warn("the tenant's state does not fit its stream; rebuilding it from the first event", "tenant", a.state.Tenant, "err", err)
		a.reset()
		if err = a.catchUp(ctx, s.store); errors.As(err, &b) {
			return s.markDamaged(a, b)
		}
	}
	if errors.Is(err, events.ErrDamaged) { // the store says so: a deleted stream
		return s.markDamaged(a, &historyBreak{Tenant: a.state.Tenant, Sequence: a.cursor.Sequence + 1, Reason: err.Error()})
	}
	if err != nil {
		return err
	}
	if s.historyCheck != nil {
		if seq, err := s.historyCheck(a.state.Tenant); err != nil {
			return s.markDamaged(a, &historyBreak{Tenant: a.state.Tenant, Sequence: max(seq, 1), Reason: err.Error()})
		}
	}
	s.maybeSnapshot(a)
	return nil
}

// aggregate returns the tenant's aggregate, creating it on first use.
func (s *Service) aggregate(tenant string) *aggregate {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.tenants[tenant]
	if a == nil {
		a = newAggregate(tenant)
		s.tenants[tenant] = a
	}
	return a
}

// release forgets the aggregate of a tenant that has no events, unless a
// command or query is using it: a request for a tenant id that names no
// tenant, refused or not, leaves nothing behind, so that no caller can grow
// the process's memory by inventing tenant ids.
func (s *Service) release(tenant string, a *aggregate) {
	if a.sequence() != 0 || a.damageOf() != nil {
		return // the common case, without the service's lock; a damaged tenant stays known
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tenants[tenant] != a || !a.mu.tryLock() {
		return
	}
	defer a.mu.unlock()
	if a.sequence() == 0 && a.damage == nil {
		delete(s.tenants, tenant)
	}
}

// Authorize checks that the principal may run the query in the tenant;
// subjectUser is the user the query is about, if any. A loaded tenant is
// checked as it stands, without waiting for its command in flight.
func (s *Service) Authorize(ctx context.Context, tenant string, p domain.Principal, query, subjectUser string) error {
	if err := domain.CheckTenantID(tenant); err != nil {
		return err
	}
	agg := s.aggregate(tenant)
	defer s.release(tenant, agg)
	if decided, err := agg.authorize(p, query, subjectUser, s.now()); decided && err == nil {
		return nil
	}
	// Not loaded, or refused on what this process knew: read the tenant's
	// newest events first, since another process may have granted the
	// access (a delegation, a new user).
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	if err := agg.mu.lock(ctx); err != nil {
		return s.boundaryError(err)
	}
	defer agg.mu.unlock()
	if _, err := s.refresh(ctx, agg); err != nil {
		return s.boundaryError(err)
	}
	_, err := agg.authorize(p, query, subjectUser, s.now())
	return err
}

// Sequence returns the tenant's last sequence this process has written or
// read, so that a query can wait for the read models to reach it. A command
// in flight, not yet acknowledged, does not count.
func (s *Service) Sequence(tenant string) uint64 {
	s.mu.Lock()
	a := s.tenants[tenant]
	s.mu.Unlock()
	if a == nil {
		return 0
	}
	return a.sequence()
}

// boundaryError turns store failures into the ledger's error codes; domain
// errors pass through. A store's error names files, addresses and the
// client library's internals: it is logged, and the detail a client reads
// is a stable sentence.
func (s *Service) boundaryError(err error) error {
	if err == nil {
		return nil // without allocating de
	}
	var de *domain.Error
	var unknown outcomeUnknown
	switch {
	case errors.As(err, &de):
		return err
	case errors.As(err, &unknown):
		s.log.Warn("the event store did not confirm an append", "err", err)
		return domain.Errorf(domain.CodeUnavailable, "the event store did not confirm the append in time, so the command may have been applied; send it again with the same Idempotency-Key, which applies it at most once and answers what it did")
	case errors.Is(err, events.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		s.log.Warn("the event store did not answer", "err", err)
		return domain.Errorf(domain.CodeUnavailable, "the command was not applied: the event store could not be reached in time; send it again with the same Idempotency-Key")
	case errors.Is(err, events.ErrTooLarge):
		return domain.Errorf(domain.CodePayloadTooLarge, "the command's events are more than the event store takes at once; send it in smaller parts: %v", err)
	case errors.Is(err, events.ErrDamaged):
		return domain.Errorf(domain.CodeDamaged, "%v", err)
	}
	s.log.Error("command failed", "err", err)
	return domain.Errorf(domain.CodeInternal, "internal error")
}
