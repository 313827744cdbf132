package jetstream

import "github.com/licensing-ledger/ledger/events"

// Positions of records in the commit log.
//
// One append is one LEDGER_LOG message, so the records of an append share a
// stream sequence; events.Position must still be unique and increasing per
// record, since projections skip what is at or before their checkpoint. A
// record's position is therefore
//
//	Position = streamSeq<<16 | index
//
// where streamSeq is the sequence of the message in LEDGER_LOG and index
// numbers the message's n records so that the LAST one is 0xFFFF: record i
// (0-based) of n gets index 0x10000-n+i. Positions increase with the stream
// sequence and, within a message, with the record's place, and leave stream
// sequences up to 2^48 (centuries of appends at any rate JetStream takes).
//
// Counting from the end makes the position of the last record of every
// append a fixed function of its stream sequence (seq<<16 | 0xFFFF), which
// gives three things for free: a cursor that points inside an append (the
// stream cannot end there) is refused as a conflict without a round trip;
// Head is the stream's last sequence, without reading its last message; and
// reading after the end of an append starts at the next message instead of
// re-reading this one. A position inside an append re-reads its message and
// skips the records at or before it.
const (
	indexBits = 16
	indexMask = 1<<indexBits - 1
	// MaxAppend is the most records one Append stores: what an append can
	// number in a position. The connection's max payload usually limits an
	// append first (see Store.Append).
	MaxAppend = indexMask
)

// recordPosition is the position of record i of the n records of the log
// message at streamSeq.
func recordPosition(streamSeq uint64, i, n int) events.Position {
	return events.Position(streamSeq<<indexBits | uint64(indexMask+1-n+i))
}

// lastPosition is the position of the last record of the message at
// streamSeq: the end of that append.
func lastPosition(streamSeq uint64) events.Position {
	return events.Position(streamSeq<<indexBits | indexMask)
}

// endsAppend reports whether p is the end of an append (or zero, the end of
// nothing): a place where a tenant's stream can end.
func endsAppend(p events.Position) bool {
	return p == 0 || p&indexMask == indexMask
}

// msgSeq is the stream sequence of the log message holding position p.
func msgSeq(p events.Position) uint64 { return uint64(p) >> indexBits }

// firstSeqAfter is the stream sequence of the first log message that may
// hold records after p: the next message when p ends an append, p's own
// message (to be re-read, skipping) when p points inside one.
func firstSeqAfter(p events.Position) uint64 {
	if endsAppend(p) {
		return msgSeq(p) + 1
	}
	return msgSeq(p)
}
