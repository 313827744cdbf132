package events

import (
	"crypto/sha256"
	"fmt"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
)

// Encode returns the bytes a store keeps for an event. Marshalling is
// deterministic, but the bytes as first written are what count: the hash
// chain is over stored bytes, never over a re-encoding.
func Encode(e *ledgerv1.Event) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(e)
}

// Decode parses stored bytes into an event. Fields and payloads unknown to
// this release are kept, not dropped, so old readers never lose data.
func Decode(data []byte) (*ledgerv1.Event, error) {
	e := &ledgerv1.Event{}
	if err := proto.Unmarshal(data, e); err != nil {
		return nil, fmt.Errorf("events: decoding an event: %w", err)
	}
	return e, nil
}

// NewRecord encodes an event into the record a store appends.
func NewRecord(e *ledgerv1.Event) (Record, error) {
	data, err := Encode(e)
	if err != nil {
		return Record{}, err
	}
	typ := e.TypeName()
	if typ == "" {
		return Record{}, fmt.Errorf("events: event %s has no payload", e.GetId())
	}
	return Record{ID: e.GetId(), Tenant: e.GetTenant(), Type: typ, Sequence: e.GetSequence(), Data: data}, nil
}

// DecodeRecord decodes a stored record and checks that its envelope agrees
// with what the store says of it.
func DecodeRecord(r Record) (*ledgerv1.Event, error) {
	e, err := Decode(r.Data)
	if err != nil {
		return nil, err
	}
	if e.GetId() != r.ID || e.GetSequence() != r.Sequence || e.GetTenant() != r.Tenant {
		return nil, fmt.Errorf("events: record %s (tenant %s, sequence %d) holds event %s (tenant %s, sequence %d)",
			r.ID, r.Tenant, r.Sequence, e.GetId(), e.GetTenant(), e.GetSequence())
	}
	return e, nil
}

// Hash returns the SHA-256 of an event's stored bytes: the next event of the
// tenant carries it as prev_hash.
func Hash(data []byte) []byte {
	h := sha256.Sum256(data)
	return h[:]
}
