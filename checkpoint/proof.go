package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
)

// MaxProofHashes bounds the hashes of a proof a decoder accepts: a tree of
// 2^64 leaves needs at most 64 for inclusion and 128 for consistency.
const MaxProofHashes = 128

// InclusionProof proves that one event is the leaf at Index of the tenant's
// tree of Size leaves. Data, when set, is the event's stored bytes, so that
// the verifier computes the leaf hash itself.
type InclusionProof struct {
	Tenant   string   `json:"tenant"`
	Event    string   `json:"event,omitempty"`
	Sequence uint64   `json:"sequence"` // Index + 1
	Index    uint64   `json:"index"`
	Size     uint64   `json:"size"`
	LeafHash []byte   `json:"leafHash"`
	Hashes   [][]byte `json:"hashes"`
	Data     []byte   `json:"data,omitempty"`
}

// ConsistencyProof proves that the tenant's tree of To leaves extends its
// tree of From leaves.
type ConsistencyProof struct {
	Tenant string   `json:"tenant"`
	From   uint64   `json:"from"`
	To     uint64   `json:"to"`
	Hashes [][]byte `json:"hashes"`
}

// Inclusion returns the hashes proving that leaf index is in the tree of
// the first size leaves.
func (t *FullTree) Inclusion(index, size uint64) ([][]byte, error) {
	if size > t.Size() {
		return nil, fmt.Errorf("tree size %d is beyond the %d leaves", size, t.Size())
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	return t.fetch(nodes)
}

// Consistency returns the hashes proving that the tree of the first to
// leaves extends the tree of the first from leaves.
func (t *FullTree) Consistency(from, to uint64) ([][]byte, error) {
	if to > t.Size() {
		return nil, fmt.Errorf("tree size %d is beyond the %d leaves", to, t.Size())
	}
	nodes, err := proof.Consistency(from, to)
	if err != nil {
		return nil, err
	}
	return t.fetch(nodes)
}

// fetch gathers the nodes a proof needs and rehashes its ephemeral node.
func (t *FullTree) fetch(nodes proof.Nodes) ([][]byte, error) {
	hashes := make([][]byte, 0, len(nodes.IDs))
	for _, id := range nodes.IDs {
		h, err := t.node(id)
		if err != nil {
			return nil, err
		}
		hashes = append(hashes, h)
	}
	return nodes.Rehash(hashes, hasher.HashChildren)
}

// Verify checks the proof against a checkpoint of the same tenant and size:
// the leaf (from Data when present, which must then agree with LeafHash)
// is at Index in the tree whose root the checkpoint signs.
func (p *InclusionProof) Verify(cp *Checkpoint) error {
	if p.Size != cp.Size {
		return fmt.Errorf("the proof is for tree size %d, the checkpoint is of size %d", p.Size, cp.Size)
	}
	leaf := p.LeafHash
	if p.Data != nil {
		leaf = LeafHash(p.Data)
		if p.LeafHash != nil && !bytes.Equal(leaf, p.LeafHash) {
			return errors.New("the event's bytes do not hash to the proof's leaf hash")
		}
	}
	if err := proof.VerifyInclusion(hasher, p.Index, p.Size, leaf, p.Hashes, cp.Root); err != nil {
		return fmt.Errorf("event %s (sequence %d) is not in the tree of checkpoint %s size %d: %w", p.Event, p.Sequence, cp.Origin, cp.Size, err)
	}
	return nil
}

// Verify checks that the checkpoint to extends the checkpoint from.
func (p *ConsistencyProof) Verify(from, to *Checkpoint) error {
	if p.From != from.Size || p.To != to.Size {
		return fmt.Errorf("the proof is from size %d to %d, the checkpoints are of sizes %d and %d", p.From, p.To, from.Size, to.Size)
	}
	if err := proof.VerifyConsistency(hasher, from.Size, to.Size, p.Hashes, from.Root, to.Root); err != nil {
		return fmt.Errorf("the checkpoint of size %d does not extend the one of size %d: %w", to.Size, from.Size, err)
	}
	return nil
}

// DecodeInclusion parses an inclusion proof as the API serves it, and
// checks its shape: sizes, index and hash lengths.
func DecodeInclusion(b []byte) (*InclusionProof, error) {
	var p InclusionProof
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("not an inclusion proof: %w", err)
	}
	if p.Size == 0 || p.Index >= p.Size || p.Sequence != p.Index+1 {
		return nil, fmt.Errorf("an inclusion proof needs 0 <= index < size and sequence = index+1, not index %d, sequence %d, size %d", p.Index, p.Sequence, p.Size)
	}
	if p.LeafHash == nil && p.Data == nil {
		return nil, errors.New("an inclusion proof needs the leaf hash or the event's data")
	}
	if p.LeafHash != nil && len(p.LeafHash) != HashSize {
		return nil, fmt.Errorf("the leaf hash has %d bytes, not %d", len(p.LeafHash), HashSize)
	}
	return &p, checkHashes(p.Hashes)
}

// DecodeConsistency parses a consistency proof as the API serves it.
func DecodeConsistency(b []byte) (*ConsistencyProof, error) {
	var p ConsistencyProof
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("not a consistency proof: %w", err)
	}
	if p.From > p.To {
		return nil, fmt.Errorf("a consistency proof goes from a smaller size to a larger, not %d to %d", p.From, p.To)
	}
	return &p, checkHashes(p.Hashes)
}

func checkHashes(hs [][]byte) error {
	if len(hs) > MaxProofHashes {
		return fmt.Errorf("a proof has at most %d hashes, not %d", MaxProofHashes, len(hs))
	}
	for i, h := range hs {
		if len(h) != HashSize {
			return fmt.Errorf("hash %d of the proof has %d bytes, not %d", i, len(h), HashSize)
		}
	}
	return nil
}
