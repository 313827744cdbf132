package projections

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensing-ledger/ledger/events"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// Field numbers of the ledger.v1.Event envelope the projector reads.
const (
	fieldID       = 1
	fieldTenant   = 2
	fieldSequence = 3
	fieldTime     = 4
	fieldActor    = 5
	// payloads are the oneof fields numbered from firstPayload on.
	firstPayload = 100
)

// decodeForModels decodes what read models read of a stored event: tenant,
// sequence, time, actor and payload. The rest of the envelope (command,
// correlation id, hash chain) is for the audit trail and is skipped, which
// saves most of the allocations of decoding; the id is checked, not kept.
// Like events.DecodeRecord it refuses an event whose id, tenant or sequence
// disagree with the record. A payload this release does not know is kept
// unread, as the full decoder keeps it.
func decodeForModels(r events.Record) (*ledgerv1.Event, error) {
	e := &ledgerv1.Event{}
	var idOK, tenantOK bool
	for at := 0; at < len(r.Data); {
		num, typ, n := protowire.ConsumeTag(r.Data[at:])
		if n < 0 {
			return nil, decodeError(r, protowire.ParseError(n))
		}
		m, err := decodeField(e, r, num, typ, at, n, &idOK, &tenantOK)
		if err != nil {
			return nil, decodeError(r, err)
		}
		at += n + m
	}
	if !idOK || !tenantOK || e.Sequence != r.Sequence {
		return nil, fmt.Errorf("events: record %s (tenant %s, sequence %d) holds another event", r.ID, r.Tenant, r.Sequence)
	}
	return e, nil
}

// decodeField decodes the field whose tag of tagLen bytes starts at offset
// at of the record into e, and returns the bytes its value took.
func decodeField(e *ledgerv1.Event, r events.Record, num protowire.Number, typ protowire.Type, at, tagLen int, idOK, tenantOK *bool) (int, error) {
	b := r.Data[at+tagLen:]
	switch {
	case num == fieldSequence && typ == protowire.VarintType:
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		e.Sequence = v
		return n, nil
	case typ != protowire.BytesType || (num > fieldActor && num < firstPayload):
		n := protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		return n, nil
	}
	v, n := protowire.ConsumeBytes(b)
	if n < 0 {
		return 0, protowire.ParseError(n)
	}
	if num >= firstPayload {
		// The generated decoder reads the payload field as it stands in the
		// record, oneof wrapper and all; unknown payloads are kept unread.
		return n, unmarshalMerge.Unmarshal(r.Data[at:at+tagLen+n], e)
	}
	return n, decodeEnvelopeField(e, r, num, v, idOK, tenantOK)
}

// unmarshalMerge decodes a field into an event being built.
var unmarshalMerge = proto.UnmarshalOptions{Merge: true}

// decodeEnvelopeField decodes a length-delimited field of the envelope.
func decodeEnvelopeField(e *ledgerv1.Event, r events.Record, num protowire.Number, v []byte, idOK, tenantOK *bool) error {
	switch num {
	case fieldID:
		*idOK = string(v) == r.ID
	case fieldTenant:
		*tenantOK = string(v) == r.Tenant
		e.Tenant = r.Tenant
	case fieldTime:
		t, err := decodeTimestamp(v)
		e.Time = t
		return err
	case fieldActor:
		e.Actor = string(v)
	}
	return nil
}

// decodeTimestamp decodes a google.protobuf.Timestamp.
func decodeTimestamp(b []byte) (*timestamppb.Timestamp, error) {
	t := &timestamppb.Timestamp{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		if typ != protowire.VarintType {
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			b = b[m:]
			continue
		}
		v, m := protowire.ConsumeVarint(b)
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		b = b[m:]
		switch num {
		case 1:
			t.Seconds = int64(v)
		case 2:
			t.Nanos = int32(v)
		}
	}
	return t, nil
}

func decodeError(r events.Record, err error) error {
	return fmt.Errorf("events: decoding event %s: %w", r.ID, err)
}
