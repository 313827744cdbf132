// Package tail shares one live subscription to an event store's global
// order among the readers of one process.
//
// ledgerd follows the store's global order three times: the projector
// feeds the read models, the forwarder publishes every event to LEDGER,
// the checkpoint issuer hashes every event into its tenant's tree. With a
// subscription each, the store delivered and decoded every event three
// times (on JetStream, three ordered consumers on the commit log, each
// message sent by the server and unframed by the client three times). A
// Tail holds one subscription to the store, keeps the newest records in a
// bounded window in memory, and serves every subscriber that is near the
// live end from that window.
//
// A subscriber further behind (one starting up, or one too slow to keep up,
// such as a forwarder waiting for NATS) reads the store with a
// subscription of its own until it reaches the window, then joins it, and
// leaves it again for the store if it falls out of it: it never skips nor
// sees twice a record, and never holds up the window or the other
// subscribers, since the window drops its oldest records whether or not
// everyone has read them. Memory is bounded by the window's size, in
// records and in bytes.
package tail

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/internal/backoff"
)

// Source is what a Tail follows: an event store's global order, and its
// head, where the shared subscription starts. Every events.Store is one.
type Source interface {
	Subscribe(ctx context.Context, after events.Position, fn func(events.Record) error) error
	Head(ctx context.Context) (events.Position, error)
}

// Defaults of the window: at 30,000 events a second, 8,192 records are a
// quarter of a second of slack for a subscriber that pauses.
const (
	DefaultRecords = 8192
	DefaultBytes   = 32 << 20
)

// startTimeout bounds how long a subscriber waits for the shared
// subscription to start before it reads the store itself.
const startTimeout = time.Second

// maxBatch bounds how many records a subscriber copies out of the window
// under one hold of its lock.
const maxBatch = 256

// Config configures a Tail.
type Config struct {
	// Records is how many of the newest records the window holds
	// (DefaultRecords when zero).
	Records int
	// Bytes bounds the records' data the window holds (DefaultBytes when
	// zero); it always holds the newest record, whatever its size. On
	// JetStream a record's data shares its log message's buffer, which
	// the window keeps alive with it.
	Bytes int
	// Logger receives the tail's log lines; nil means slog.Default().
	Logger *slog.Logger
}

// ErrClosed is what Subscribe returns once the tail is closed.
var ErrClosed = errors.New("tail: closed")

// errBehind and errJoined move a subscriber from the window to the store
// and back.
var (
	errBehind = errors.New("tail: behind the window")
	errJoined = errors.New("tail: reached the window")
)

// Tail is one subscription to a store's global order, shared. Subscribe
// may be called from any number of goroutines. Records are shared between
// subscribers, read-only: fn may keep a record, but must not modify its
// Data.
type Tail struct {
	src  Source
	cfg  Config
	log  *slog.Logger
	life context.Context
	stop context.CancelFunc
	done chan struct{}

	// joinAt is where a subscriber reading the store joins the window:
	// the floor until the window first drops records, then its middle
	// record, so that one that joins has half a window of slack before
	// it falls out again. MaxUint64 until the shared subscription starts.
	joinAt atomic.Uint64
	stats  struct{ direct, joined atomic.Int64 }

	mu      sync.Mutex
	ring    []events.Record // the window: n records from start, in order
	start   int
	n       int
	bytes   int
	started bool
	// The window holds every record after floor up to last: floor is
	// the store's head when the shared subscription started, then the
	// last record dropped; last is the newest record it received.
	floor, last events.Position
	waiting     bool          // a subscriber waits on changed
	changed     chan struct{} // closed and replaced when records arrive
}

// New starts a tail over src: its shared subscription starts at the
// store's head and follows it until Close, resuming after failures with
// backoff from its last record.
func New(src Source, cfg Config) *Tail {
	if cfg.Records <= 0 {
		cfg.Records = DefaultRecords
	}
	if cfg.Bytes <= 0 {
		cfg.Bytes = DefaultBytes
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	t := &Tail{src: src, cfg: cfg, log: log.With("component", "tail"), done: make(chan struct{}),
		ring: make([]events.Record, cfg.Records), changed: make(chan struct{})}
	t.joinAt.Store(math.MaxUint64)
	t.life, t.stop = context.WithCancel(context.Background())
	go t.run()
	return t
}

// Close stops the shared subscription and ends every Subscribe with
// ErrClosed. It does not close the source.
func (t *Tail) Close() error {
	t.stop()
	<-t.done
	return nil
}

// Stats counts how subscribers moved between the store and the window.
type Stats struct {
	Direct int64 // subscriptions to the store opened for subscribers behind the window
	Joined int64 // times a subscriber reading the store joined the window
}

// Stats returns what the tail's subscribers did since it started.
func (t *Tail) Stats() Stats {
	return Stats{Direct: t.stats.direct.Load(), Joined: t.stats.joined.Load()}
}

// run keeps the shared subscription going until the tail closes.
func (t *Tail) run() {
	defer close(t.done)
	var retry backoff.Backoff
	for {
		before := t.position()
		err := t.follow()
		if t.life.Err() != nil {
			return
		}
		delay := retry.Next(t.position() != before)
		t.log.Warn("tail: the shared subscription to the event store ended; resuming", "position", uint64(t.position()), "in", delay, "err", err)
		if !backoff.Sleep(t.life, delay) {
			return
		}
	}
}

// position returns the last record the shared subscription received.
func (t *Tail) position() events.Position {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// follow subscribes to the store after the window's last record; the
// first time, it starts the window at the store's head.
func (t *Tail) follow() error {
	t.mu.Lock()
	started, last := t.started, t.last
	t.mu.Unlock()
	if !started {
		head, err := t.src.Head(t.life)
		if err != nil {
			return err
		}
		t.joinAt.Store(uint64(head))
		t.mu.Lock()
		t.started, t.floor, t.last = true, head, head
		t.wake()
		t.mu.Unlock()
		last = head
	}
	return t.src.Subscribe(t.life, last, t.push)
}

// push adds a record to the window, dropping the oldest ones beyond its
// bounds, and wakes the subscribers waiting for it. It never waits for a
// subscriber.
func (t *Tail) push(r events.Record) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r.Position <= t.last {
		return nil // delivered again after a resumption
	}
	size, dropped := len(r.Data), false
	for t.n > 0 && (t.n == len(t.ring) || t.bytes+size > t.cfg.Bytes) {
		old := &t.ring[t.start]
		t.floor = old.Position
		t.bytes -= len(old.Data)
		*old = events.Record{} // let the data go
		t.start = (t.start + 1) % len(t.ring)
		t.n--
		dropped = true
	}
	t.ring[(t.start+t.n)%len(t.ring)] = r
	t.n++
	t.bytes += size
	t.last = r.Position
	if dropped {
		t.joinAt.Store(uint64(t.at(t.n / 2).Position))
	}
	t.wake()
	return nil
}

// wake wakes the subscribers waiting on the window; t.mu held.
func (t *Tail) wake() {
	if t.waiting {
		close(t.changed)
		t.changed, t.waiting = make(chan struct{}), false
	}
}

// at returns the window's i-th record, oldest first; t.mu held.
func (t *Tail) at(i int) *events.Record {
	return &t.ring[(t.start+i)%len(t.ring)]
}

// Subscribe calls fn for every record after the position, in the store's
// global order: first those already stored, then new ones as they are
// appended, each once. It returns when ctx ends (context.Cause(ctx)), fn
// fails (fn's error) or the tail closes (ErrClosed); the store's own
// failures are retried, with backoff, from the last record fn took.
// Records are shared with the other subscribers: fn must not modify
// their Data.
func (t *Tail) Subscribe(ctx context.Context, after events.Position, fn func(events.Record) error) error {
	pos := after
	for {
		if err := t.fromWindow(ctx, &pos, fn); err != errBehind {
			return err
		}
		if err := t.fromStore(ctx, &pos, fn); err != errJoined {
			return err
		}
		t.stats.joined.Add(1)
	}
}

// fromWindow serves a subscriber from the window, in batches copied under
// the lock and handed to fn without it, until the subscriber is behind
// the window (errBehind) or ends.
func (t *Tail) fromWindow(ctx context.Context, pos *events.Position, fn func(events.Record) error) error {
	batch := make([]events.Record, 0, maxBatch)
	defer clear(batch[:cap(batch)])
	var startWait <-chan time.Time
	for {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		t.mu.Lock()
		switch {
		case t.life.Err() != nil:
			t.mu.Unlock()
			return ErrClosed
		case !t.started && startWait == nil:
			// Wait a little for the window to start at the store's head,
			// rather than follow the store alone until its next record.
			timer := time.NewTimer(startTimeout)
			defer timer.Stop()
			startWait = timer.C
		case !t.started || *pos < t.floor:
			t.mu.Unlock()
			return errBehind
		}
		if t.started {
			startWait = nil
		}
		i := t.search(*pos)
		if !t.started || i == t.n {
			t.waiting = true
			changed := t.changed
			t.mu.Unlock()
			select {
			case <-changed:
			case <-startWait:
				return errBehind
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-t.life.Done():
				return ErrClosed
			}
			continue
		}
		batch = batch[:0]
		for ; i < t.n && len(batch) < maxBatch; i++ {
			batch = append(batch, *t.at(i))
		}
		t.mu.Unlock()
		for _, r := range batch {
			if err := fn(r); err != nil {
				return err
			}
			*pos = r.Position
		}
	}
}

// search returns the index of the window's first record after pos (t.n if
// none); t.mu held.
func (t *Tail) search(pos events.Position) int {
	lo, hi := 0, t.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if t.at(mid).Position <= pos {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// fromStore serves a subscriber behind the window from a subscription of
// its own to the store, until it reaches the point where it joins the
// window (errJoined) or ends. The store's failures are logged and resumed
// after a backoff from the last record fn took.
func (t *Tail) fromStore(ctx context.Context, pos *events.Position, fn func(events.Record) error) error {
	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(t.life, cancel)()
	var retry backoff.Backoff
	for {
		t.stats.direct.Add(1)
		before := *pos
		var failed error
		joined := false
		err := t.src.Subscribe(sub, *pos, func(r events.Record) error {
			if err := sub.Err(); err != nil {
				return err // ended, even if the store goes on
			}
			if r.Position <= *pos {
				return nil
			}
			if err := fn(r); err != nil {
				failed = err
				return err
			}
			*pos = r.Position
			if uint64(r.Position) >= t.joinAt.Load() {
				joined = true
				return errJoined
			}
			return nil
		})
		switch {
		case failed != nil:
			return failed
		case joined:
			return errJoined
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case t.life.Err() != nil:
			return ErrClosed
		}
		delay := retry.Next(*pos != before)
		t.log.Warn("tail: reading the event store behind the window failed; resuming", "position", uint64(*pos), "in", delay, "err", err)
		if !backoff.Sleep(sub, delay) {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return ErrClosed
		}
		if t.inWindow(*pos) {
			return errJoined
		}
	}
}

// inWindow reports whether the window holds every record after pos.
func (t *Tail) inWindow(pos events.Position) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.started && pos >= t.floor
}

// Store is an event store whose Subscribe is served by a tail over it;
// its other methods are the store's own. Closing it closes the tail, then
// the store.
type Store struct {
	events.Store
	tail *Tail
}

var (
	_ events.Store  = (*Store)(nil)
	_ events.Pinger = (*Store)(nil)
)

// Wrap returns store with its subscriptions shared through a new tail.
func Wrap(store events.Store, cfg Config) *Store {
	return &Store{Store: store, tail: New(store, cfg)}
}

// Subscribe follows the store through the tail (Tail.Subscribe): fn must
// not modify the records' Data.
func (s *Store) Subscribe(ctx context.Context, after events.Position, fn func(events.Record) error) error {
	return s.tail.Subscribe(ctx, after, fn)
}

// Tail returns the store's tail.
func (s *Store) Tail() *Tail { return s.tail }

// Ping asks the store whether it takes appends (events.Pinger).
func (s *Store) Ping(ctx context.Context) error { return events.Ping(ctx, s.Store) }

// Close closes the tail, then the store.
func (s *Store) Close() error {
	_ = s.tail.Close()
	return s.Store.Close()
}
