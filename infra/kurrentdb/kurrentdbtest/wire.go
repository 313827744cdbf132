package kurrentdbtest

import (
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
)

// The system metadata keys and content types KurrentDB uses on the wire.
const (
	metadataType        = "type"
	metadataContentType = "content-type"
	metadataCreated     = "created"
	contentTypeJSON     = "application/json"
	contentTypeBinary   = "application/octet-stream"
)

var errMissingID = errors.New("event id is missing")

// uuidFromProto decodes an event id sent either as two big-endian halves or
// as a string.
func uuidFromProto(id *shared.UUID) ([16]byte, error) {
	var out [16]byte
	if s := id.GetStructured(); s != nil {
		binary.BigEndian.PutUint64(out[:8], uint64(s.GetMostSignificantBits()))
		binary.BigEndian.PutUint64(out[8:], uint64(s.GetLeastSignificantBits()))
		return out, nil
	}
	if text := id.GetString_(); text != "" {
		parsed, err := uuid.Parse(text)
		return parsed, err
	}
	return out, errMissingID
}

// uuidToProto encodes an event id the way the reader asked for it.
func uuidToProto(id [16]byte, asString bool) *shared.UUID {
	if asString {
		return &shared.UUID{Value: &shared.UUID_String_{String_: uuid.UUID(id).String()}}
	}
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits:  int64(binary.BigEndian.Uint64(id[:8])),
		LeastSignificantBits: int64(binary.BigEndian.Uint64(id[8:])),
	}}}
}

// eventResp is the read response carrying one event, with its $all
// position filled in as KurrentDB does for events written outside explicit
// transactions.
func eventResp(ev *recordedEvent, idAsString bool) *streams.ReadResp {
	contentType := contentTypeBinary
	if ev.isJSON {
		contentType = contentTypeJSON
	}
	recorded := &streams.ReadResp_ReadEvent_RecordedEvent{
		Id:               uuidToProto(ev.id, idAsString),
		StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(ev.stream)},
		StreamRevision:   ev.revision,
		PreparePosition:  ev.position,
		CommitPosition:   ev.position,
		Metadata: map[string]string{
			metadataType:        ev.eventType,
			metadataContentType: contentType,
			metadataCreated:     strconv.FormatInt(ev.created, 10),
		},
		CustomMetadata: ev.customMetadata,
		Data:           ev.data,
	}
	return &streams.ReadResp{Content: &streams.ReadResp_Event{Event: &streams.ReadResp_ReadEvent{
		Event:    recorded,
		Position: &streams.ReadResp_ReadEvent_CommitPosition{CommitPosition: ev.position},
	}}}
}
