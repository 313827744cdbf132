package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/licensing-ledger/ledger/events"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// Summary describes a history that verified.
type Summary struct {
	Tenant   string    `json:"tenant"`
	Events   int       `json:"events"`
	Sequence uint64    `json:"sequence"` // the last event's
	First    time.Time `json:"first,omitzero"`
	Last     time.Time `json:"last,omitzero"`
	// Head is the SHA-256, in hex, of the last event's stored bytes. It pins
	// the whole history up to that event: keep it, and a later history that
	// verifies and holds an event with this hash has not changed up to there.
	Head string `json:"head"`
	// KeptHeadAt is the sequence of the event whose hash is the kept head
	// the verification was asked to find (VerifyOptions.Head), 0 otherwise.
	KeptHeadAt uint64 `json:"keptHeadAt,omitempty"`
}

// ProgressEvery is how many events pass between two progress reports.
const ProgressEvery = 10_000

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Head, if set, is a head kept from an earlier verification (hex
	// SHA-256): the history must hold the event it pins, or it was cut
	// before that event or rewritten. It may go on after it.
	Head string
	// Progress, if set, is called every ProgressEvery events.
	Progress func(n int)
	// Accepted, if set, is called with each line that verified, in order:
	// the checkpoint package builds the tenant's Merkle tree from it.
	Accepted func(l Line)
}

// Verify reads an export to its end and checks that it is a tenant's
// history as written: every line decodes and agrees with the event it
// holds, sequences run from 1 without gaps, and each event's prev_hash is
// the SHA-256 of the previous event's stored bytes. At the first event that
// does not fit it returns a *Break naming the event to blame and why: an
// altered event is told apart from the next one by checking whether the
// event after that still chains. The chain cannot tell a history cut at its
// end: a kept head (o.Head) can. Other errors are read failures.
func Verify(d *Decoder, o VerifyOptions) (Summary, error) {
	kept, err := hex.DecodeString(strings.TrimSpace(o.Head))
	if err != nil || (o.Head != "" && len(kept) != sha256.Size) {
		return Summary{}, fmt.Errorf("the kept head %q is not a SHA-256 in hex", o.Head)
	}
	v := &verifier{in: &peeker{d: d}, chain: NewChain(""), kept: kept}
	for {
		l, n, err := v.in.read()
		if errors.Is(err, io.EOF) {
			return v.sum, v.checkKept(o.Head)
		}
		if err != nil {
			return v.sum, err
		}
		if err := v.accept(l, n); err != nil {
			return v.sum, err
		}
		if o.Accepted != nil {
			o.Accepted(l)
		}
		if o.Progress != nil && v.sum.Events%ProgressEvery == 0 {
			o.Progress(v.sum.Events)
		}
	}
}

// checkKept returns a *Break of kind truncated when a kept head was asked
// for and no event of the history has it.
func (v *verifier) checkKept(head string) error {
	if len(v.kept) == 0 || v.sum.KeptHeadAt > 0 {
		return nil
	}
	return &Break{Kind: KindTruncated, Line: v.prevLine, ID: v.chain.last.id, Sequence: v.sum.Sequence, Reason: fmt.Sprintf(
		"no event of this history has the kept head %s: the history was cut before that event, or rewritten (it now ends at head %s)", head, v.sum.Head)}
}

// verifier is the state of one Verify.
type verifier struct {
	in       *peeker
	chain    *Chain
	sum      Summary
	prevLine int
	prevData []byte
	kept     []byte // the kept head to find, if any
}

// accept checks one line; on a break it diagnoses which event to blame.
func (v *verifier) accept(l Line, n int) error {
	e, err := v.chain.Next(l.Record())
	var b *Break
	if errors.As(err, &b) {
		b.Line = n
		return v.diagnose(b, l, n)
	}
	if b := lineMismatch(l, e); b != nil {
		b.Line = n
		return b
	}
	v.prevLine, v.prevData = n, l.Data
	t := e.GetTime().AsTime()
	if v.sum.Events == 0 {
		v.sum.First = t
	}
	v.sum.Tenant, v.sum.Events, v.sum.Sequence, v.sum.Last, v.sum.Head = v.chain.Tenant(), v.chain.Len(), e.GetSequence(), t, v.chain.Head()
	if len(v.kept) > 0 && bytes.Equal(v.chain.last.hash, v.kept) {
		v.sum.KeptHeadAt = e.GetSequence()
	}
	return nil
}

// lineMismatch checks the line's type and time against the stored event.
// An event whose payload this release does not know has no type to check.
func lineMismatch(l Line, e *ledgerv1.Event) *Break {
	if t := e.TypeName(); t != "" && t != l.Type {
		return &Break{Kind: KindMismatch, ID: l.ID, Sequence: l.Sequence, Reason: fmt.Sprintf("the line says type %s, the stored event is a %s", l.Type, t)}
	}
	if t := e.GetTime().AsTime(); !t.Equal(l.Time) {
		return &Break{Kind: KindMismatch, ID: l.ID, Sequence: l.Sequence, Reason: fmt.Sprintf(
			"the line says time %s, the stored event's time is %s", l.Time.Format(time.RFC3339Nano), t.Format(time.RFC3339Nano))}
	}
	return nil
}

// diagnose refines a break of the chain by looking at the line after it.
func (v *verifier) diagnose(b *Break, l Line, n int) error {
	switch b.Kind {
	case KindAltered:
		return v.diagnoseHash(b, l)
	case KindMissing:
		return v.diagnoseGap(b, l)
	case KindReordered:
		return v.diagnoseRepeat(b, l, n)
	}
	return b
}

// diagnoseHash blames the previous event when this one is intact: the event
// after this one still chains to it, so only the previous bytes changed.
func (v *verifier) diagnoseHash(b *Break, l Line) error {
	next, nn, ok := v.in.peekLine()
	if ok && next.Sequence == l.Sequence {
		b.Kind = KindInserted
		b.Reason += fmt.Sprintf(": this event was inserted before the event on line %d, which claims the same sequence", nn)
		return b
	}
	if ok && chainsTo(next, l) {
		last := v.chain.last
		return &Break{Kind: KindAltered, Line: v.prevLine, ID: last.id, Sequence: last.seq, Reason: fmt.Sprintf(
			"its stored bytes changed after they were written: they no longer hash to the prev_hash recorded by the next event, %s (sequence %d, line %d), which is intact (the event on line %d chains to it)",
			l.ID, l.Sequence, b.Line, nn)}
	}
	b.Reason += ": this event was altered, or put in place of the original"
	return b
}

// diagnoseGap tells events moved out of order from events removed.
func (v *verifier) diagnoseGap(b *Break, l Line) error {
	want := v.chain.Sequence() + 1
	if next, nn, ok := v.in.peekLine(); ok && next.Sequence == want {
		b.Kind = KindReordered
		b.Reason = fmt.Sprintf("sequence %d comes before sequence %d, which follows it on line %d: events were reordered", l.Sequence, want, nn)
		return b
	}
	b.Reason += ": removed from the history, or moved elsewhere in it"
	return b
}

// diagnoseRepeat handles an event that claims a place already taken: a
// copy, or an inserted event, which may be this one or the previous one.
func (v *verifier) diagnoseRepeat(b *Break, l Line, n int) error {
	last := v.chain.last
	if l.Sequence != last.seq {
		b.Reason += ": events were reordered"
		return b
	}
	b.Kind = KindInserted
	if bytes.Equal(l.Data, v.prevData) {
		b.Reason = fmt.Sprintf("it is a copy of the event on line %d", v.prevLine)
		return b
	}
	next, _, ok := v.in.peekLine()
	if bytes.Equal(prevHashOf(l.Data), last.prevHash) && ok && chainsTo(next, l) {
		return &Break{Kind: KindInserted, Line: v.prevLine, ID: last.id, Sequence: last.seq, Reason: fmt.Sprintf(
			"it claims sequence %d, which event %s on line %d also claims, and the rest of the history chains to that one: this event was inserted", last.seq, l.ID, n)}
	}
	b.Reason = fmt.Sprintf("it claims sequence %d, which event %s on line %d holds: this event was inserted", l.Sequence, last.id, v.prevLine)
	return b
}

// chainsTo reports whether next is a decodable event that directly follows
// prev in sequence and hash.
func chainsTo(next, prev Line) bool {
	e, err := events.Decode(next.Data)
	return err == nil && e.GetSequence() == prev.Sequence+1 && bytes.Equal(e.GetPrevHash(), events.Hash(prev.Data))
}

// prevHashOf returns the prev_hash of stored bytes, nil if they do not decode.
func prevHashOf(data []byte) []byte {
	e, err := events.Decode(data)
	if err != nil {
		return nil
	}
	return e.GetPrevHash()
}

// peeker is a Decoder that can look one line ahead.
type peeker struct {
	d    *Decoder
	next *peeked
}

type peeked struct {
	l   Line
	n   int
	err error
}

func (p *peeker) read() (Line, int, error) {
	if x := p.next; x != nil {
		p.next = nil
		return x.l, x.n, x.err
	}
	return p.d.Next()
}

// peekLine returns the next line without consuming it; ok is false at the
// end or when the next line does not parse.
func (p *peeker) peekLine() (Line, int, bool) {
	if p.next == nil {
		l, n, err := p.d.Next()
		p.next = &peeked{l: l, n: n, err: err}
	}
	return p.next.l, p.next.n, p.next.err == nil
}
