package jetstream

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/licensing-ledger/ledger/events"
)

// The body of a LEDGER_LOG message: the records of one append, framed as
// the protobuf encoding of
//
//	message Append {
//	  repeated Frame records = 1;
//	}
//	message Frame {
//	  string id = 1;    // events.Record.ID
//	  string type = 2;  // events.Record.Type
//	  bytes data = 3;   // events.Record.Data, the encoded ledger.v1.Event
//	}
//
// written with protowire rather than a format of our own, so that any
// protobuf library can read a log message with this schema. The tenant is
// the message's subject; the tenant sequences and positions follow from its
// headers and stream sequence (see newLogMsg and recordPosition), so a frame
// carries only what differs from record to record. Decoding skips fields it
// does not know, as protobuf does, so fields can be added.
const (
	fieldRecords protowire.Number = 1
	fieldID      protowire.Number = 1
	fieldType    protowire.Number = 2
	fieldData    protowire.Number = 3
)

// frame is what the body holds of one record.
type frame struct {
	id, eventType string
	data          []byte
}

// encodeFrames returns the body holding recs, in one allocation.
func encodeFrames(recs []events.Record) []byte {
	size := 0
	for _, r := range recs {
		size += protowire.SizeTag(fieldRecords) + protowire.SizeBytes(frameSize(r))
	}
	body := make([]byte, 0, size)
	for _, r := range recs {
		body = protowire.AppendTag(body, fieldRecords, protowire.BytesType)
		body = protowire.AppendVarint(body, uint64(frameSize(r)))
		body = appendField(body, fieldID, []byte(r.ID))
		body = appendField(body, fieldType, []byte(r.Type))
		body = appendField(body, fieldData, r.Data)
	}
	return body
}

// frameSize is the encoded size of one record's frame.
func frameSize(r events.Record) int {
	return protowire.SizeTag(fieldID) + protowire.SizeBytes(len(r.ID)) +
		protowire.SizeTag(fieldType) + protowire.SizeBytes(len(r.Type)) +
		protowire.SizeTag(fieldData) + protowire.SizeBytes(len(r.Data))
}

// appendField appends a length-delimited field.
func appendField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// errBadFrame reports a body that is not a well-formed Append.
var errBadFrame = errors.New("malformed record frame")

// decodeFrames calls fn with each frame of the body, in order. The data it
// hands out points into body, capped so that appending to it copies.
func decodeFrames(body []byte, fn func(frame) error) error {
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return fmt.Errorf("%w: %w", errBadFrame, protowire.ParseError(n))
		}
		body = body[n:]
		if num != fieldRecords || typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, body); n < 0 {
				return fmt.Errorf("%w: %w", errBadFrame, protowire.ParseError(n))
			}
			body = body[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(body)
		if n < 0 {
			return fmt.Errorf("%w: %w", errBadFrame, protowire.ParseError(n))
		}
		body = body[n:]
		f, err := decodeFrame(v)
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// decodeFrame decodes one record's frame.
func decodeFrame(b []byte) (frame, error) {
	var f frame
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return frame{}, fmt.Errorf("%w: %w", errBadFrame, protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.BytesType || num < fieldID || num > fieldData {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return frame{}, fmt.Errorf("%w: %w", errBadFrame, protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return frame{}, fmt.Errorf("%w: %w", errBadFrame, protowire.ParseError(n))
		}
		b = b[n:]
		f.set(num, v)
	}
	return f, nil
}

// set stores the value of one known field.
func (f *frame) set(num protowire.Number, v []byte) {
	switch num {
	case fieldID:
		f.id = string(v)
	case fieldType:
		f.eventType = string(v)
	case fieldData:
		f.data = v[:len(v):len(v)]
	}
}
