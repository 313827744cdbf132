package checkpoint_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/licensing-ledger/ledger/audit"
	"github.com/licensing-ledger/ledger/audit/audittest"
	. "github.com/licensing-ledger/ledger/checkpoint"
	"github.com/licensing-ledger/ledger/events"
)

func newSigner(b *testing.B, name string) *Signer {
	skey, err := GenerateKey(name)
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewSigner(skey)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func verifiers(b *testing.B, keys ...string) *Verifiers {
	v, err := NewVerifiers(keys...)
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// BenchmarkAppendEvent is the issuer's work per stored event: the leaf
// hash of 200 bytes and the compact range append.
func BenchmarkAppendEvent(b *testing.B) {
	data := bytes.Repeat([]byte{7}, 200)
	tree := NewTree()
	for b.Loop() {
		tree.Append(LeafHash(data))
	}
}

// BenchmarkSignCheckpoint is the issuer's work per checkpoint, storage
// aside: the root of a tree of 100,000 leaves and its Ed25519 signed note.
func BenchmarkSignCheckpoint(b *testing.B) {
	s := newSigner(b, DefaultName)
	tree := NewTree()
	for i := range 100_000 {
		tree.Append(LeafHash(fmt.Appendf(nil, "%d", i)))
	}
	for b.Loop() {
		if _, err := s.Sign(Origin(DefaultName, "contoso"), tree.Size(), tree.Root()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyExport verifies a signed export of the audit story's
// tenant (58 events), as ledgerctl verify --key does; ns/op over 58 is
// the cost per event.
func BenchmarkVerifyExport(b *testing.B) {
	s := audittest.NewScenario("contoso", audittest.StoryStart)
	audittest.Story(b, s, nil)
	recs := s.Store.Records("contoso")
	signer := newSigner(b, DefaultName)
	export := signedExport(b, signer, recs)
	keys := verifiers(b, signer.VerifierKey())
	b.SetBytes(int64(len(export)))
	for b.Loop() {
		if _, err := VerifyExport(audit.NewDecoder(bytes.NewReader(export)), ExportOptions{Keys: keys}); err != nil {
			b.Fatal(err)
		}
	}
}

func signedExport(b *testing.B, signer *Signer, recs []events.Record) []byte {
	tree := NewTree()
	for _, r := range recs {
		tree.Append(LeafHash(r.Data))
	}
	note, err := signer.Sign(Origin(DefaultName, "contoso"), tree.Size(), tree.Root())
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	enc := audit.NewEncoder(&buf)
	if err := enc.EncodeCheckpoint(note); err != nil {
		b.Fatal(err)
	}
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			b.Fatal(err)
		}
	}
	if err := enc.Flush(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}
