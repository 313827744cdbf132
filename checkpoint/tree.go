package checkpoint

import (
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// HashSize is the size of every hash of the tree: SHA-256.
const HashSize = 32

var (
	hasher  = rfc6962.DefaultHasher
	factory = &compact.RangeFactory{Hash: hasher.HashChildren}
)

// LeafHash returns the RFC 6962 leaf hash of an event's stored bytes, as
// the export carries them (the line's data): SHA-256(0x00 || data).
func LeafHash(data []byte) []byte { return hasher.HashLeaf(data) }

// EmptyRoot is the root of a tree with no leaves.
func EmptyRoot() []byte { return hasher.EmptyRoot() }

// Tree is the Merkle tree of one tenant's events as a compact range: a few
// dozen hashes at most, whatever the number of events, enough to append and
// to compute the root. It is not safe for concurrent use.
type Tree struct{ r *compact.Range }

// NewTree returns an empty tree.
func NewTree() *Tree { return &Tree{r: factory.NewEmptyRange(0)} }

// Append adds the next leaf hash.
func (t *Tree) Append(leafHash []byte) {
	// Append fails only on a corrupted range, which this type never builds.
	if err := t.r.Append(leafHash, nil); err != nil {
		panic(fmt.Sprintf("checkpoint: appending to a compact range: %v", err))
	}
}

// Size returns the number of leaves.
func (t *Tree) Size() uint64 { return t.r.End() }

// Root returns the tree's root hash; EmptyRoot for an empty tree.
func (t *Tree) Root() []byte {
	root, err := t.r.GetRootHash(nil)
	if err != nil || root == nil {
		return EmptyRoot()
	}
	return root
}

// FullTree keeps every node of a tree, so that it can prove inclusion and
// consistency at any size up to its own. It costs about two hashes per
// leaf: the server builds one per proof query, from the stored events.
type FullTree struct {
	r      *compact.Range
	levels [][][]byte // levels[l][i]: the hash of the perfect subtree NodeID(l, i)
}

// NewFullTree returns an empty full tree.
func NewFullTree() *FullTree { return &FullTree{r: factory.NewEmptyRange(0)} }

// Append adds the next leaf hash.
func (t *FullTree) Append(leafHash []byte) {
	if err := t.r.Append(leafHash, t.visit); err != nil {
		panic(fmt.Sprintf("checkpoint: appending to a compact range: %v", err))
	}
}

func (t *FullTree) visit(id compact.NodeID, hash []byte) {
	for uint(len(t.levels)) <= id.Level {
		t.levels = append(t.levels, nil)
	}
	t.levels[id.Level] = append(t.levels[id.Level], hash)
}

// Size returns the number of leaves.
func (t *FullTree) Size() uint64 { return t.r.End() }

// Leaf returns the leaf hash at index (0-based).
func (t *FullTree) Leaf(index uint64) []byte { return t.levels[0][index] }

// RootAt returns the root of the tree of the first size leaves.
func (t *FullTree) RootAt(size uint64) ([]byte, error) {
	if size > t.Size() {
		return nil, fmt.Errorf("tree size %d is beyond the %d leaves", size, t.Size())
	}
	if size == 0 {
		return EmptyRoot(), nil
	}
	var hashes [][]byte
	for _, id := range compact.RangeNodes(0, size, nil) {
		hashes = append(hashes, t.levels[id.Level][id.Index])
	}
	r, err := factory.NewRange(0, size, hashes)
	if err != nil {
		return nil, err
	}
	return r.GetRootHash(nil)
}

// node returns the hash of a perfect subtree the tree holds.
func (t *FullTree) node(id compact.NodeID) ([]byte, error) {
	if id.Level >= uint(len(t.levels)) || id.Index >= uint64(len(t.levels[id.Level])) {
		return nil, fmt.Errorf("the tree holds no node at level %d, index %d", id.Level, id.Index)
	}
	return t.levels[id.Level][id.Index], nil
}

// Hashes returns the compact range's hashes: with Size, all a snapshot
// needs to keep to resume the tree (RestoreTree) without its events.
// They are a copy: the tree goes on changing its own.
func (t *Tree) Hashes() [][]byte { return clone(t.r.Hashes()) }

// RestoreTree resumes a tree of size leaves from its compact range hashes.
func RestoreTree(size uint64, hashes [][]byte) (*Tree, error) {
	r, err := factory.NewRange(0, size, clone(hashes))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: restoring a tree of %d leaves: %w", size, err)
	}
	return &Tree{r: r}, nil
}

// clone copies a list of hashes, each hash too.
func clone(hs [][]byte) [][]byte {
	out := make([][]byte, len(hs))
	for i, h := range hs {
		out[i] = append([]byte(nil), h...)
	}
	return out
}
