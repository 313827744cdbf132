package audit

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"github.com/licensing-ledger/ledger/events"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// Kind says how a history fails to verify.
type Kind string

// The ways a history can fail to verify.
const (
	KindMalformed Kind = "malformed" // a line or an event does not decode
	KindMismatch  Kind = "mismatch"  // a line disagrees with the event it holds, or the event is another tenant's
	KindMissing   Kind = "missing"   // sequences are missing: events were removed
	KindReordered Kind = "reordered" // events are out of order
	KindInserted  Kind = "inserted"  // an event takes a place that another event holds
	KindAltered   Kind = "altered"   // an event's bytes are not those the next event chained to
	KindTruncated Kind = "truncated" // the history does not end at the head expected
)

// Break is where a history stops verifying: the event that does not fit,
// where it is, and why. It is the error of Chain.Next and Verify.
type Break struct {
	Kind     Kind
	Line     int    // 1-based position in the history: the export file's line
	ID       string // the event's id; empty when it does not decode
	Sequence uint64 // the sequence the event claims
	Reason   string
}

// Error says where the history breaks and why.
func (b *Break) Error() string {
	id := b.ID
	if id == "" {
		id = "?"
	}
	return fmt.Sprintf("line %d, event %s (sequence %d): %s: %s", b.Line, id, b.Sequence, b.Kind, b.Reason)
}

// link is what the chain remembers of the last event it accepted.
type link struct {
	id       string
	seq      uint64
	hash     []byte // SHA-256 of its stored bytes
	prevHash []byte // the prev_hash it carries
}

// Chain checks a tenant's records one after the other, as they were
// written: each decodes, agrees with what the store says of it, belongs to
// the tenant, follows the previous one's sequence, and carries the SHA-256
// of the previous one's stored bytes as prev_hash.
type Chain struct {
	tenant string
	n      int
	last   link
}

// NewChain returns a chain for the tenant's history; with tenant empty, the
// first record's tenant is the chain's.
func NewChain(tenant string) *Chain { return &Chain{tenant: tenant} }

// Next checks r against the chain and returns its event, or a *Break.
func (c *Chain) Next(r events.Record) (*ledgerv1.Event, error) {
	e, b := c.check(r)
	if b != nil {
		b.Line = c.n + 1
		return nil, b
	}
	c.n++
	c.last = link{id: e.GetId(), seq: e.GetSequence(), hash: events.Hash(r.Data), prevHash: e.GetPrevHash()}
	return e, nil
}

func (c *Chain) check(r events.Record) (*ledgerv1.Event, *Break) {
	e, err := events.Decode(r.Data)
	if err != nil {
		return nil, &Break{Kind: KindMalformed, ID: r.ID, Sequence: r.Sequence, Reason: fmt.Sprintf("the stored bytes do not decode as a ledger.v1.Event (%v)", err)}
	}
	if e.GetId() != r.ID || e.GetSequence() != r.Sequence || e.GetTenant() != r.Tenant {
		return nil, &Break{Kind: KindMismatch, ID: r.ID, Sequence: r.Sequence, Reason: fmt.Sprintf(
			"the line says event %s, sequence %d, tenant %q, but the stored event is %s, sequence %d, tenant %q",
			r.ID, r.Sequence, r.Tenant, e.GetId(), e.GetSequence(), e.GetTenant())}
	}
	if c.tenant == "" {
		c.tenant = e.GetTenant()
	}
	if e.GetTenant() != c.tenant {
		return nil, &Break{Kind: KindMismatch, ID: r.ID, Sequence: r.Sequence, Reason: fmt.Sprintf("it belongs to tenant %q, not %q", e.GetTenant(), c.tenant)}
	}
	return e, c.checkLink(e, r)
}

// checkLink checks that the event follows the last one accepted.
func (c *Chain) checkLink(e *ledgerv1.Event, r events.Record) *Break {
	want := c.last.seq + 1
	switch {
	case e.GetSequence() > want:
		return &Break{Kind: KindMissing, ID: r.ID, Sequence: r.Sequence, Reason: fmt.Sprintf("sequence %d follows %s: %s missing", e.GetSequence(), c.lastName(), seqRange(want, e.GetSequence()-1))}
	case e.GetSequence() < want:
		return &Break{Kind: KindReordered, ID: r.ID, Sequence: r.Sequence, Reason: fmt.Sprintf("sequence %d comes after %s", e.GetSequence(), c.lastName())}
	case !bytes.Equal(e.GetPrevHash(), c.last.hash):
		return &Break{Kind: KindAltered, ID: r.ID, Sequence: r.Sequence, Reason: fmt.Sprintf(
			"its prev_hash %s is not the SHA-256 of the stored bytes of %s (%s)", short(e.GetPrevHash()), c.lastName(), short(c.last.hash))}
	}
	return nil
}

// lastName names the last event accepted, for messages.
func (c *Chain) lastName() string {
	if c.n == 0 {
		return "the start of the history"
	}
	return fmt.Sprintf("event %s (sequence %d)", c.last.id, c.last.seq)
}

// Len returns how many records the chain accepted.
func (c *Chain) Len() int { return c.n }

// Tenant returns the chain's tenant.
func (c *Chain) Tenant() string { return c.tenant }

// Sequence returns the sequence of the last event accepted, 0 at the start.
func (c *Chain) Sequence() uint64 { return c.last.seq }

// Head returns the SHA-256, in hex, of the last event's stored bytes: the
// value that pins the whole history before it. Empty at the start.
func (c *Chain) Head() string { return hex.EncodeToString(c.last.hash) }

func seqRange(from, to uint64) string {
	if from == to {
		return fmt.Sprintf("sequence %d is", from)
	}
	return fmt.Sprintf("sequences %d to %d are", from, to)
}

// short abbreviates a hash for messages.
func short(h []byte) string {
	if len(h) == 0 {
		return "(empty)"
	}
	s := hex.EncodeToString(h)
	if len(s) > 16 {
		s = s[:16] + "…"
	}
	return s
}

// Checker runs a Chain over a history that is read to its end whatever it
// holds, as an export is: it keeps the first break and checks no further.
type Checker struct {
	chain *Chain
	brk   *Break
}

// NewChecker returns a checker of the tenant's history.
func NewChecker(tenant string) *Checker { return &Checker{chain: NewChain(tenant)} }

// Next checks the next record, unless the history already broke.
func (c *Checker) Next(r events.Record) {
	if c.brk != nil {
		return
	}
	if _, err := c.chain.Next(r); err != nil {
		c.brk = err.(*Break)
	}
}

// Break returns where the history first broke, nil if it holds together.
func (c *Checker) Break() *Break { return c.brk }
