package jetstream

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/licensing-ledger/ledger/events"
)

func TestFramesRoundTrip(t *testing.T) {
	recs := []events.Record{
		{ID: "01A", Type: "LicenseAssigned", Data: []byte("payload")},
		{ID: "01B", Type: "SeatsChanged"},
		{ID: "01C", Type: "RequestDecided", Data: bytes.Repeat([]byte{0, 0xff}, 300)},
	}
	body := encodeFrames(recs)
	var got []frame
	require.NoError(t, decodeFrames(body, func(f frame) error {
		got = append(got, f)
		return nil
	}))
	require.Len(t, got, len(recs))
	for i, r := range recs {
		require.Equal(t, r.ID, got[i].id)
		require.Equal(t, r.Type, got[i].eventType)
		require.True(t, bytes.Equal(r.Data, got[i].data))
		require.Equal(t, len(got[i].data), cap(got[i].data), "appending to data never overwrites the next frame")
	}
}

// TestFramesSkipUnknownFields: fields added later are skipped, as protobuf
// readers skip them.
func TestFramesSkipUnknownFields(t *testing.T) {
	inner := protowire.AppendTag(nil, 9, protowire.VarintType)
	inner = protowire.AppendVarint(inner, 42)
	inner = appendField(inner, fieldID, []byte("01A"))
	inner = appendField(inner, fieldType, []byte("T"))
	body := protowire.AppendTag(nil, 7, protowire.BytesType)
	body = protowire.AppendBytes(body, []byte("later"))
	body = protowire.AppendTag(body, fieldRecords, protowire.BytesType)
	body = protowire.AppendBytes(body, inner)
	var got []frame
	require.NoError(t, decodeFrames(body, func(f frame) error {
		got = append(got, f)
		return nil
	}))
	require.Equal(t, []frame{{id: "01A", eventType: "T"}}, got)
}

func TestFramesRefuseTruncatedBodies(t *testing.T) {
	body := encodeFrames([]events.Record{{ID: "01A", Type: "T", Data: []byte("data")}})
	for n := 1; n < len(body); n++ {
		err := decodeFrames(body[:n], func(frame) error { return nil })
		require.ErrorIs(t, err, errBadFrame, "cut at %d", n)
	}
}

func FuzzDecodeFrames(f *testing.F) {
	f.Add(encodeFrames([]events.Record{{ID: "01A", Type: "T", Data: []byte("x")}}))
	f.Add([]byte{0x0a, 0x80})
	f.Fuzz(func(t *testing.T, body []byte) {
		var frames []frame
		err := decodeFrames(body, func(f frame) error {
			frames = append(frames, f)
			return nil
		})
		if err != nil {
			require.True(t, errors.Is(err, errBadFrame))
			return
		}
		recs := make([]events.Record, len(frames))
		for i, f := range frames {
			recs[i] = events.Record{ID: f.id, Type: f.eventType, Data: f.data}
		}
		var again []frame
		require.NoError(t, decodeFrames(encodeFrames(recs), func(f frame) error {
			again = append(again, f)
			return nil
		}))
		require.Len(t, again, len(frames))
	})
}

func TestPositionArithmetic(t *testing.T) {
	require.Equal(t, events.Position(5<<16|0xFFFD), recordPosition(5, 0, 3))
	require.Equal(t, events.Position(5<<16|0xFFFF), recordPosition(5, 2, 3))
	require.Equal(t, lastPosition(5), recordPosition(5, 2, 3))
	require.Equal(t, events.Position(5<<16|1), recordPosition(5, 0, MaxAppend))
	require.Less(t, lastPosition(4), recordPosition(5, 0, MaxAppend))

	for _, c := range []struct {
		p     events.Position
		ends  bool
		first uint64
	}{
		{0, true, 1},
		{lastPosition(1), true, 2},
		{recordPosition(7, 0, 2), false, 7},
		{recordPosition(7, 1, 2), true, 8},
	} {
		require.Equal(t, c.ends, endsAppend(c.p), "position %x", c.p)
		require.Equal(t, c.first, firstSeqAfter(c.p), "position %x", c.p)
	}
}
