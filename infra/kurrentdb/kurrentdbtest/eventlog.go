package kurrentdbtest

import (
	"sort"
	"sync"
	"time"
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
	next    uint64
	changed chan struct{} // closed and replaced on every write
}

func newEventLog() *eventLog {
	return &eventLog{
		streams: make(map[string][]*recordedEvent),
		next:    firstLogPosition,
		changed: make(chan struct{}),
	}
}

// append applies KurrentDB's write rules: check the expected state, treat a
// batch whose event ids are already stored at the expected place as an
// idempotent retry, and otherwise write the batch atomically at the end.
func (l *eventLog) append(stream string, expected expectation, proposed []proposedEvent) appendOutcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	existing := l.streams[stream]
	current := int64(len(existing)) - 1
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

func recordSize(ev *recordedEvent) uint64 {
	return uint64(recordHeaderSize + len(ev.stream) + len(ev.eventType) + len(ev.data) + len(ev.customMetadata))
}

func lastOf(evs []*recordedEvent) *recordedEvent {
	if len(evs) == 0 {
		return nil
	}
	return evs[len(evs)-1]
}

// stream returns a snapshot of a stream's events and whether it exists.
func (l *eventLog) stream(name string) ([]*recordedEvent, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	evs, ok := l.streams[name]
	return evs[:len(evs):len(evs)], ok
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
