package checkpoint

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// signedAt returns trusted checkpoints of the first sizes of leaves.
func signedAt(t *testing.T, s *Signer, leaves [][]byte, sizes ...uint64) []*Checkpoint {
	t.Helper()
	full := NewFullTree()
	for _, l := range leaves {
		full.Append(l)
	}
	var cps []*Checkpoint
	for _, n := range sizes {
		root, err := full.RootAt(n)
		require.NoError(t, err)
		signed, err := s.Sign(Origin(DefaultName, "contoso"), n, root)
		require.NoError(t, err)
		cp, err := verifiers(t, s.VerifierKey()).Open(signed)
		require.NoError(t, err)
		cps = append(cps, cp)
	}
	return cps
}

func leavesOf(n int) ([]string, [][]byte) {
	var ids []string
	var leaves [][]byte
	for i := range n {
		ids = append(ids, fmt.Sprintf("e%d", i+1))
		leaves = append(leaves, LeafHash(fmt.Appendf(nil, "event %d", i+1)))
	}
	return ids, leaves
}

func TestCheckLeavesNamesTheFirstEventNoCheckpointConfirms(t *testing.T) {
	s := newSigner(t, DefaultName)
	ids, leaves := leavesOf(20)
	cps := signedAt(t, s, leaves, 5, 12, 13, 20)
	require.NoError(t, CheckLeaves(ids, leaves, cps...))

	changed := func(i int) [][]byte {
		out := append([][]byte(nil), leaves...)
		out[i] = LeafHash([]byte("forged"))
		return out
	}
	var m *Mismatch
	err := CheckLeaves(ids, changed(12), cps...) // sequence 13, between checkpoints 12 and 13
	require.ErrorAs(t, err, &m)
	assert.Equal(t, KindDiffers, m.Kind)
	assert.Equal(t, [2]uint64{13, 13}, [2]uint64{m.From, m.To})
	assert.Contains(t, err.Error(), "event e13 (sequence 13) is not the event the checkpoint of tree size 13")

	err = CheckLeaves(ids, changed(7), cps...)
	require.ErrorAs(t, err, &m)
	assert.Equal(t, [2]uint64{6, 12}, [2]uint64{m.From, m.To})
	assert.Contains(t, err.Error(), "one of sequences 6 to 12 (from event e6 on)")

	err = CheckLeaves(ids[:17], leaves[:17], cps...)
	require.ErrorAs(t, err, &m)
	assert.Equal(t, KindTruncated, m.Kind)
	assert.Contains(t, err.Error(), "tree size 20 is missing, sequences 18 to 20")

	err = CheckLeaves(nil, nil, cps...)
	require.ErrorAs(t, err, &m)
	assert.Contains(t, err.Error(), "the history holds 0 events")

	longer := append(append([][]byte(nil), leaves...), LeafHash([]byte("more")))
	assert.NoError(t, CheckLeaves(nil, longer, cps...), "a longer history extends its checkpoints")

	other := signedAt(t, s, changed(3), 20)
	err = CheckLeaves(ids, leaves, append(cps, other...)...)
	require.ErrorAs(t, err, &m)
	assert.Equal(t, KindSplit, m.Kind)
}

func TestAHistoryResumesFromASnapshotsTree(t *testing.T) {
	s := newSigner(t, DefaultName)
	ids, leaves := leavesOf(20)
	cps := signedAt(t, s, leaves, 5, 12, 20)
	tree := NewTree()
	for _, l := range leaves[:12] {
		tree.Append(l)
	}
	restore := func() *Tree {
		kept, err := RestoreTree(tree.Size(), tree.Hashes())
		require.NoError(t, err)
		return kept
	}
	h := NewHistoryFrom(restore(), cps...)
	for i := 12; i < 20; i++ {
		require.NoError(t, h.Add(ids[i], leaves[i]))
	}
	require.NoError(t, h.Done())

	h = NewHistoryFrom(restore(), cps...)
	for i := 12; i < 20; i++ {
		l := leaves[i]
		if i == 15 {
			l = LeafHash([]byte("edited"))
		}
		_ = h.Add(ids[i], l)
	}
	var m *Mismatch
	require.ErrorAs(t, h.Done(), &m)
	assert.Equal(t, [2]uint64{13, 20}, [2]uint64{m.From, m.To})

	wrong := NewTree()
	for _, l := range leaves[:11] {
		wrong.Append(l)
	}
	wrong.Append(LeafHash([]byte("edited")))
	assert.Error(t, NewHistoryFrom(wrong, cps...).Done(), "a snapshot's tree of a checkpoint's size must have its root")
}
