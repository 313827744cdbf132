package checkpoint

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

const treeLeaves = 70

// trees returns our trees and the library's reference tree over the same
// leaves.
func trees(n int) (*Tree, *FullTree, *testonly.Tree) {
	t, f, ref := NewTree(), NewFullTree(), testonly.New(rfc6962.DefaultHasher)
	for i := range n {
		data := fmt.Appendf(nil, "event %d", i)
		t.Append(LeafHash(data))
		f.Append(LeafHash(data))
		ref.AppendData(data)
	}
	return t, f, ref
}

func TestTheRootIsTheReferenceTreesAtEverySize(t *testing.T) {
	assert.Equal(t, testonly.EmptyRootHash(), NewTree().Root())
	tree, full, ref := NewTree(), NewFullTree(), testonly.New(rfc6962.DefaultHasher)
	for i := range treeLeaves {
		data := fmt.Appendf(nil, "event %d", i)
		tree.Append(LeafHash(data))
		full.Append(LeafHash(data))
		ref.AppendData(data)
		require.Equal(t, ref.Hash(), tree.Root(), "size %d", i+1)
	}
	for size := uint64(0); size <= treeLeaves; size++ {
		root, err := full.RootAt(size)
		require.NoError(t, err)
		require.Equal(t, ref.HashAt(size), root, "size %d", size)
	}
	_, err := full.RootAt(treeLeaves + 1)
	assert.Error(t, err)
}

func TestTheRFC6962TestVectors(t *testing.T) {
	tree := NewTree()
	for i, leaf := range testonly.LeafInputs() {
		tree.Append(LeafHash(leaf))
		assert.Equal(t, testonly.RootHashes()[i+1], tree.Root(), "size %d", i+1)
	}
}

func TestInclusionProofsOfEveryLeafAtEverySize(t *testing.T) {
	_, full, ref := trees(treeLeaves)
	for size := uint64(1); size <= treeLeaves; size++ {
		root := ref.HashAt(size)
		for index := range size {
			hashes, err := full.Inclusion(index, size)
			require.NoError(t, err)
			want, err := ref.InclusionProof(index, size)
			require.NoError(t, err)
			require.Equal(t, want, hashes, "index %d size %d", index, size)
			require.NoError(t, proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, full.Leaf(index), hashes, root))
		}
	}
	_, err := full.Inclusion(treeLeaves, treeLeaves)
	assert.Error(t, err)
	_, err = full.Inclusion(0, treeLeaves+1)
	assert.Error(t, err)
}

func TestConsistencyProofsOfRandomPairs(t *testing.T) {
	_, full, ref := trees(treeLeaves)
	rng := rand.New(rand.NewPCG(1, 2))
	pairs := [][2]uint64{{1, 1}, {1, treeLeaves}, {treeLeaves, treeLeaves}, {32, 64}, {0, 5}}
	for range 300 {
		a, b := rng.Uint64N(treeLeaves)+1, rng.Uint64N(treeLeaves)+1
		pairs = append(pairs, [2]uint64{min(a, b), max(a, b)})
	}
	for _, p := range pairs {
		hashes, err := full.Consistency(p[0], p[1])
		require.NoError(t, err)
		want, err := ref.ConsistencyProof(p[0], p[1])
		require.NoError(t, err)
		require.Equal(t, len(want), len(hashes), "%v", p)
		if p[0] > 0 {
			require.NoError(t, proof.VerifyConsistency(rfc6962.DefaultHasher, p[0], p[1], hashes, ref.HashAt(p[0]), ref.HashAt(p[1])), "%v", p)
		}
	}
	_, err := full.Consistency(5, 4)
	assert.Error(t, err)
}

func TestATreeResumesFromItsCompactRange(t *testing.T) {
	tree, _, ref := trees(37)
	again, err := RestoreTree(tree.Size(), tree.Hashes())
	require.NoError(t, err)
	assert.Equal(t, ref.Hash(), again.Root())
	again.Append(LeafHash([]byte("next")))
	ref.AppendData([]byte("next"))
	assert.Equal(t, ref.Hash(), again.Root())
	_, err = RestoreTree(5, tree.Hashes())
	assert.Error(t, err)
}
