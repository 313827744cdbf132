package checkpoint

import (
	"bytes"
	"testing"
)

// FuzzOpenCheckpoint feeds hostile signed checkpoints to the decoders an
// auditor runs on what a server or a file gives: they refuse or parse,
// never panic, and never trust what the key did not sign.
func FuzzOpenCheckpoint(f *testing.F) {
	s := newSigner(f, DefaultName)
	signed, err := s.Sign(Origin(DefaultName, "contoso"), 58, bytes.Repeat([]byte{9}, HashSize))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add([]byte("licensing-ledger/ledger/contoso\n1\nAA==\n\n— x y\n"))
	f.Add([]byte(""))
	v := verifiers(f, s.VerifierKey())
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Parse(b)
		cp, err := v.Open(b)
		if err == nil && (len(cp.Root) != HashSize || cp.Tenant() == "") {
			t.Fatalf("opened a malformed checkpoint: %+v", cp)
		}
	})
}

// FuzzDecodeProof feeds hostile proofs to the proof decoders and checks
// that what they accept verifies or fails without panicking.
func FuzzDecodeProof(f *testing.F) {
	f.Add([]byte(`{"tenant":"contoso","event":"e1","sequence":1,"index":0,"size":2,"leafHash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","hashes":["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]}`))
	f.Add([]byte(`{"tenant":"contoso","from":1,"to":3,"hashes":[]}`))
	f.Add([]byte(`{"size":18446744073709551615,"index":18446744073709551614,"sequence":18446744073709551615,"data":"AA=="}`))
	cp := &Checkpoint{Origin: "x/ledger/contoso", Size: 2, Root: make([]byte, HashSize)}
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := DecodeInclusion(b); err == nil {
			c := *cp
			c.Size = p.Size
			_ = p.Verify(&c)
		}
		if p, err := DecodeConsistency(b); err == nil {
			from, to := *cp, *cp
			from.Size, to.Size = p.From, p.To
			_ = p.Verify(&from, &to)
		}
	})
}
