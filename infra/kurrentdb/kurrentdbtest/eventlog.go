package kurrentdbtest

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
)

// firstLogPosition is where the first event lands in the log. A real node
// starts its transaction log with an epoch record, so no event ever sits at
// position 0, which clients use to mean "before everything".
const firstLogPosition = 128

// recordHeaderSize approximates the bytes a real node spends on a record
// besides its payload. Positions are byte offsets in a real node's log, so
// they grow by each record's size rather than by one.
const recordHeaderSize = 80

// recordedEvent is one event as the log keeps it. It is never changed once
// appended, so readers may use it without holding the log's lock.
type recordedEvent struct {
	id             [16]byte
	stream         string
	revision       uint64
	position       uint64 // commit and prepare positions are equal outside explicit transactions
	eventType      string
	isJSON         bool
	created        int64 // .NET ticks (100 ns) since the Unix epoch, as KurrentDB reports them
	data           []byte
	customMetadata []byte
}

// proposedEvent is an event a client asks to append.
type proposedEvent struct {
	id             [16]byte
	eventType      string
	isJSON         bool
	data           []byte
	customMetadata []byte
}

// expectKind is the kind of expected stream state an append carries.
type expectKind int

const (
	expectAny expectKind = iota
	expectNoStream
	expectStreamExists
	expectRevision
)

// expectation is the optimistic concurrency condition of an append.
type expectation struct {
	kind     expectKind
	revision uint64 // for expectRevision
}

// appendOutcome is what an append did: wrote, recognised a retry, or refused.
type appendOutcome struct {
	deleted      bool // the stream is tombstoned
	wrongVersion bool
	current      int64 // stream's last revision, -1 for no stream
	last         *recordedEvent
}

// eventLog is the node's transaction log: every event in commit order ($all)
// and an index of each stream's events by revision.
type eventLog struct {
	mu      sync.Mutex
	all     []*recordedEvent
	streams map[string][]*recordedEvent
	// truncateBefore is a stream's $tb: its events below this revision are
	// gone. softDeleted while the stream is soft-deleted.
	truncateBefore map[string]uint64
	tombstoned     map[string]bool
	next           uint64
	changed        chan struct{} // closed and replaced on every write
}

// softDeleted is the $tb of a soft-deleted stream, EventNumber.DeletedStream
// on a real node: every event is gone until the stream is written again.
const softDeleted = math.MaxInt64

func newEventLog() *eventLog {
	return &eventLog{
		streams:        make(map[string][]*recordedEvent),
		truncateBefore: make(map[string]uint64),
		tombstoned:     make(map[string]bool),
		next:           firstLogPosition,
		changed:        make(chan struct{}),
	}
}

// append applies KurrentDB's write rules: check the expected state, treat a
// batch whose event ids are already stored at the expected place as an
// idempotent retry, and otherwise write the batch atomically at the end.
func (l *eventLog) append(stream string, expected expectation, proposed []proposedEvent) appendOutcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tombstoned[stream] {
		return appendOutcome{deleted: true}
	}
	existing := l.streams[stream]
	current := int64(len(existing)) - 1
	if l.truncateBefore[stream] == softDeleted {
		current = -1 // a soft-deleted stream is written again as a new one
	}
	if from, ok := retryStart(existing, expected, proposed); ok {
		last := existing[from+len(proposed)-1]
		return appendOutcome{current: int64(last.revision), last: last}
	}
	if !expected.accepts(current) {
		return appendOutcome{wrongVersion: true, current: current}
	}
	if len(proposed) == 0 {
		return appendOutcome{current: current, last: lastOf(existing)}
	}
	if l.truncateBefore[stream] == softDeleted {
		l.setTruncateBefore(stream, uint64(len(existing))) // its old events stay gone
	}
	l.write(stream, proposed)
	written := l.streams[stream]
	return appendOutcome{current: int64(len(written)) - 1, last: lastOf(written)}
}

// accepts reports whether a stream whose last revision is current (-1 for
// no stream) satisfies the expectation.
func (e expectation) accepts(current int64) bool {
	switch e.kind {
	case expectNoStream:
		return current == -1
	case expectStreamExists:
		return current >= 0
	case expectRevision:
		return current == int64(e.revision)
	default:
		return true
	}
}

// retryStart finds where an earlier append of the same event ids landed, if
// this batch is a retry of it: right after the expected revision for an
// exact expectation, anywhere in the stream otherwise (KurrentDB only makes
// a best effort there). It returns the index of the first matching event.
func retryStart(existing []*recordedEvent, expected expectation, proposed []proposedEvent) (int, bool) {
	if len(proposed) == 0 {
		return 0, false
	}
	switch expected.kind {
	case expectNoStream:
		return 0, sameIDs(existing, 0, proposed)
	case expectRevision:
		if expected.revision >= uint64(len(existing)) {
			return 0, false
		}
		from := int(expected.revision) + 1
		return from, sameIDs(existing, from, proposed)
	default:
		for i, ev := range existing {
			if ev.id == proposed[0].id {
				return i, sameIDs(existing, i, proposed)
			}
		}
		return 0, false
	}
}

// sameIDs reports whether existing holds the proposed event ids, in order,
// from index from on.
func sameIDs(existing []*recordedEvent, from int, proposed []proposedEvent) bool {
	if from < 0 || from+len(proposed) > len(existing) {
		return false
	}
	for i, p := range proposed {
		if existing[from+i].id != p.id {
			return false
		}
	}
	return true
}

// write stores the batch at the end of the stream and of $all, and wakes
// the subscriptions. The caller holds the lock.
func (l *eventLog) write(stream string, proposed []proposedEvent) {
	revision := uint64(len(l.streams[stream]))
	created := time.Now().UnixNano() / 100
	for i, p := range proposed {
		ev := &recordedEvent{
			id:             p.id,
			stream:         stream,
			revision:       revision + uint64(i),
			position:       l.next,
			eventType:      p.eventType,
			isJSON:         p.isJSON,
			created:        created,
			data:           p.data,
			customMetadata: p.customMetadata,
		}
		l.next += recordSize(ev)
		l.all = append(l.all, ev)
		l.streams[stream] = append(l.streams[stream], ev)
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// setTruncateBefore writes the stream's metadata, {"$tb": revision}, to its
// metadata stream $$<stream>, as a node does. The caller holds the lock.
func (l *eventLog) setTruncateBefore(stream string, revision uint64) {
	l.truncateBefore[stream] = revision
	meta := proposedEvent{eventType: "$metadata", isJSON: true, data: fmt.Appendf(nil, `{"$tb":%d}`, revision)}
	meta.id = uuid.New()
	l.write("$$"+stream, []proposedEvent{meta})
}

// softDelete marks the stream deleted: it reads as not found until it is
// written again.
func (l *eventLog) softDelete(stream string) (position uint64, deleted bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tombstoned[stream] {
		return 0, true
	}
	l.setTruncateBefore(stream, softDeleted)
	return l.all[len(l.all)-1].position, false
}

// tombstone deletes the stream for good and records it in $all with a
// $streamDeleted event at revision EventNumber.DeletedStream.
func (l *eventLog) tombstone(stream string) (position uint64, deleted bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tombstoned[stream] {
		return 0, true
	}
	l.tombstoned[stream] = true
	ev := &recordedEvent{stream: stream, revision: softDeleted, position: l.next, eventType: "$streamDeleted", created: time.Now().UnixNano() / 100}
	ev.id = uuid.New()
	l.next += recordSize(ev)
	l.all = append(l.all, ev)
	close(l.changed)
	l.changed = make(chan struct{})
	return ev.position, false
}

func recordSize(ev *recordedEvent) uint64 {
	return uint64(recordHeaderSize + len(ev.stream) + len(ev.eventType) + len(ev.data) + len(ev.customMetadata))
}

func lastOf(evs []*recordedEvent) *recordedEvent {
	if len(evs) == 0 {
		return nil
	}
	return evs[len(evs)-1]
}

// streamState is what a stream read finds.
type streamState struct {
	events         []*recordedEvent // every event written, by revision
	truncateBefore uint64           // events below this revision are gone
	found          bool
	tombstoned     bool
}

// stream returns a snapshot of a stream's events and state. A
// soft-deleted stream is not found.
func (l *eventLog) stream(name string) streamState {
	l.mu.Lock()
	defer l.mu.Unlock()
	evs, ok := l.streams[name]
	tb := l.truncateBefore[name]
	return streamState{
		events:         evs[:len(evs):len(evs)],
		truncateBefore: tb,
		found:          ok && tb != softDeleted,
		tombstoned:     l.tombstoned[name],
	}
}

// snapshot returns every event in $all order written so far.
func (l *eventLog) snapshot() []*recordedEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all[:len(l.all):len(l.all)]
}

// since returns the events from index from on in $all order, and a channel
// closed by the next write.
func (l *eventLog) since(from int) ([]*recordedEvent, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if from > len(l.all) {
		from = len(l.all)
	}
	return l.all[from:len(l.all):len(l.all)], l.changed
}

// indexAtOrAfter returns the $all index of the first event at or after the
// log position.
func indexAtOrAfter(all []*recordedEvent, position uint64) int {
	return sort.Search(len(all), func(i int) bool { return all[i].position >= position })
}
