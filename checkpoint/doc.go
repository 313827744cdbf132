// Package checkpoint makes a tenant's history verifiable (L8): a Merkle tree
// per tenant over its events in order (RFC 6962 hashing of each event's
// stored bytes), signed checkpoints of that tree in the C2SP tlog-checkpoint
// format (a C2SP signed note, Ed25519), and the inclusion and consistency
// proofs that let an auditor who keeps a checkpoint check, offline and with
// the verifier key only, that a later history extends it or holds one event.
//
// The tree, proof and signature code is the field's own: the compact ranges,
// proofs and RFC 6962 hasher of github.com/transparency-dev/merkle, the
// checkpoint text of github.com/transparency-dev/formats and the signed notes
// of golang.org/x/mod/sumdb/note, which witnesses and monitors already read.
// This package only binds them to the ledger's events; it knows no store.
package checkpoint
