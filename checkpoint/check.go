package checkpoint

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
)

// Mismatch kinds.
const (
	KindDiffers   = "differs"   // the events do not hash to a checkpoint's root
	KindTruncated = "truncated" // a checkpoint commits to more events than the history holds
	KindSplit     = "split"     // two trusted checkpoints of one size disagree
)

// Mismatch is a history that disagrees with a trusted checkpoint. It names
// where the first change lies: From is the first sequence no checkpoint
// confirms; the change is at one of From to To. When From == To the event
// is named exactly. The lead's damaged-history handling and ledgerctl
// verify both report it.
type Mismatch struct {
	Kind       string
	Checkpoint *Checkpoint
	From, To   uint64 // sequences, 1-based
	FirstID    string // the event at From, when the history holds it
	Was        string // the event a previous signed export holds at From, when known
	Size       uint64 // how many events the history holds (truncated)
}

// Error says where the history stops agreeing with the checkpoint.
func (m *Mismatch) Error() string {
	cp := fmt.Sprintf("the checkpoint of tree size %d (%s, signed by %s)", m.Checkpoint.Size, m.Checkpoint.Origin, keysOf(m.Checkpoint))
	switch m.Kind {
	case KindTruncated:
		return fmt.Sprintf("truncated: the history holds %d events, but %s commits to %d: tree size %d is missing, sequences %d to %d were cut or removed",
			m.Size, cp, m.Checkpoint.Size, m.Checkpoint.Size, m.Size+1, m.Checkpoint.Size)
	case KindSplit:
		if m.Was != "" {
			return fmt.Sprintf("split: event %s (sequence %d) is not event %s, which the previous export holds there, yet both exports are signed by trusted keys: the key signed two histories", m.FirstID, m.From, m.Was)
		}
		return fmt.Sprintf("split: two trusted checkpoints of tree size %d have different roots: the key signed two histories", m.Checkpoint.Size)
	}
	if m.Was == m.FirstID && m.Was != "" {
		return fmt.Sprintf("differs: event %s (sequence %d) is not the event %s committed to: its bytes changed (the previous export, which that key signed, holds the original); %s",
			m.FirstID, m.From, cp, matchedExactly(m.From))
	}
	if m.Was != "" {
		return fmt.Sprintf("differs: event %s (sequence %d) is not the event %s committed to: the previous export, which that key signed, holds event %s there; %s",
			m.FirstID, m.From, cp, m.Was, matchedExactly(m.From))
	}
	if m.From == m.To {
		return fmt.Sprintf("differs: event %s (sequence %d) is not the event %s committed to; %s", m.FirstID, m.From, cp, matched(m.From))
	}
	from := ""
	if m.FirstID != "" {
		from = fmt.Sprintf(" (from event %s on)", m.FirstID)
	}
	return fmt.Sprintf("differs: the events do not hash to the root of %s; the first changed event is one of sequences %d to %d%s; %s",
		cp, m.From, m.To, from, matched(m.From))
}

// matchedExactly says which events are the ones signed.
func matchedExactly(from uint64) string {
	if from <= 1 {
		return "it is the first event"
	}
	return fmt.Sprintf("sequences 1 to %d are the events signed", from-1)
}

// matched says which events an earlier checkpoint confirmed.
func matched(from uint64) string {
	if from <= 1 {
		return "no smaller checkpoint confirms any event before them"
	}
	return fmt.Sprintf("sequences 1 to %d match a smaller checkpoint", from-1)
}

func keysOf(cp *Checkpoint) string {
	if len(cp.Keys) == 0 {
		return "the ledger"
	}
	return cp.Keys[0]
}

// History checks a tenant's leaves, in order, against trusted checkpoints:
// at each checkpoint's size, the tree of the leaves so far must have its
// root. It keeps a compact range, so it checks a history of any length in
// constant memory.
type History struct {
	prev     *Previous // an earlier signed export, compared event by event
	diff     uint64    // the first sequence where the history and prev differ
	diffID   string
	tree     *Tree
	cps      []*Checkpoint // by size, one per size
	next     int           // the next checkpoint to reach
	good     uint64        // the largest size confirmed
	firstID  string        // the event at good+1
	mismatch *Mismatch
}

// NewHistory returns a history checker for checkpoints already verified
// (see Verifiers.Open). Two of one size with different roots are a split
// view, reported by Add or Done.
func NewHistory(cps ...*Checkpoint) *History {
	h := &History{tree: NewTree()}
	sorted := slices.SortedFunc(slices.Values(cps), func(a, b *Checkpoint) int { return cmp.Compare(a.Size, b.Size) })
	for _, cp := range sorted {
		if n := len(h.cps); n > 0 && h.cps[n-1].Size == cp.Size {
			if !bytes.Equal(h.cps[n-1].Root, cp.Root) && h.mismatch == nil {
				h.mismatch = &Mismatch{Kind: KindSplit, Checkpoint: cp}
			}
			continue
		}
		h.cps = append(h.cps, cp)
	}
	return h
}

// NewHistoryFrom resumes a history from a tree kept with a snapshot
// (RestoreTree): the events it covers are not read again. A checkpoint of
// exactly its size is checked at once; smaller ones are taken as checked
// when the snapshot was taken. The history appends to tree.
func NewHistoryFrom(tree *Tree, cps ...*Checkpoint) *History {
	h := NewHistory(cps...)
	h.tree = tree
	size := tree.Size()
	for h.next < len(h.cps) && h.cps[h.next].Size <= size {
		cp := h.cps[h.next]
		if cp.Size == size && !bytes.Equal(tree.Root(), cp.Root) && h.mismatch == nil {
			h.mismatch = &Mismatch{Kind: KindDiffers, Checkpoint: cp, From: h.good + 1, To: size}
		}
		h.good = cp.Size
		h.next++
	}
	return h
}

// Add appends the next event's leaf hash and returns the first *Mismatch
// found so far, if any; once there is one, later leaves change nothing.
func (h *History) Add(id string, leafHash []byte) error {
	if h.mismatch != nil {
		return h.mismatch
	}
	if h.tree.Size() == h.good {
		h.firstID = id
	}
	h.compare(id, leafHash)
	h.tree.Append(leafHash)
	size := h.tree.Size()
	for h.next < len(h.cps) && h.cps[h.next].Size <= size {
		cp := h.cps[h.next]
		if cp.Size == size && !bytes.Equal(h.tree.Root(), cp.Root) {
			h.mismatch = &Mismatch{Kind: KindDiffers, Checkpoint: cp, From: h.good + 1, To: size, FirstID: h.firstID}
			h.exactly(h.mismatch)
			return h.mismatch
		}
		h.good = cp.Size
		h.next++
	}
	return nil
}

// compare notes the first event that differs from the previous export.
func (h *History) compare(id string, leafHash []byte) {
	i := h.tree.Size()
	if h.prev == nil || h.diff != 0 || i >= uint64(len(h.prev.Leaves)) || bytes.Equal(h.prev.Leaves[i], leafHash) {
		return
	}
	h.diff, h.diffID = i+1, id
}

// exactly names the changed event of a mismatch when the previous export
// shows where the history first differs from what was signed.
func (h *History) exactly(m *Mismatch) {
	if h.diff != 0 && h.diff >= m.From && h.diff <= m.To {
		m.From, m.To, m.FirstID, m.Was = h.diff, h.diff, h.diffID, h.prev.IDs[h.diff-1]
	}
}

// Done ends the history: a checkpoint beyond its last event means events
// were cut. It returns the first *Mismatch, if any.
func (h *History) Done() error {
	if h.mismatch != nil {
		return h.mismatch
	}
	if h.diff != 0 && h.next > 0 {
		// Signed, yet not what an earlier signed export holds.
		h.mismatch = &Mismatch{Kind: KindSplit, Checkpoint: h.cps[h.next-1], From: h.diff, To: h.diff, FirstID: h.diffID, Was: h.prev.IDs[h.diff-1]}
		return h.mismatch
	}
	if h.next < len(h.cps) {
		h.mismatch = &Mismatch{Kind: KindTruncated, Checkpoint: h.cps[len(h.cps)-1], Size: h.tree.Size()}
		return h.mismatch
	}
	return nil
}

// Size returns how many leaves were added.
func (h *History) Size() uint64 { return h.tree.Size() }

// Root returns the root of the leaves added so far.
func (h *History) Root() []byte { return h.tree.Root() }

// Confirmed returns the largest checkpoint size the history matched.
func (h *History) Confirmed() uint64 { return h.good }

// CheckLeaves checks a tenant's leaf hashes, in sequence order, against
// trusted checkpoints: nil, or a *Mismatch naming the first sequence that
// no checkpoint confirms. ids, if not nil, names the events for messages.
// It is the check ledgerd runs on a tenant's events when it loads them.
func CheckLeaves(ids []string, leaves [][]byte, cps ...*Checkpoint) error {
	h := NewHistory(cps...)
	for i, l := range leaves {
		id := ""
		if i < len(ids) {
			id = ids[i]
		}
		if err := h.Add(id, l); err != nil {
			return err
		}
	}
	return h.Done()
}
