package ledger

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/licensing-ledger/ledger/events"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// TestNewEventKnowsEveryPayload: setPayload knows every payload of the
// Event oneof, and newEvent makes the event ledgerv1.NewEvent makes, to
// the byte.
func TestNewEventKnowsEveryPayload(t *testing.T) {
	desc := (&ledgerv1.Event{}).ProtoReflect()
	fields := desc.Descriptor().Oneofs().ByName("payload").Fields()
	require.Positive(t, fields.Len())
	for i := range fields.Len() {
		p := desc.NewField(fields.Get(i)).Message().Interface()
		require.True(t, setPayload(&ledgerv1.Event{}, p), "%s", fields.Get(i).Name())
		want, err := ledgerv1.NewEvent(p)
		require.NoError(t, err)
		got, err := newEvent(p)
		require.NoError(t, err)
		require.True(t, proto.Equal(want, got), "%s", fields.Get(i).Name())
		wantBytes, err := events.Encode(want)
		require.NoError(t, err)
		gotBytes, err := events.Encode(got)
		require.NoError(t, err)
		require.Equal(t, wantBytes, gotBytes, "%s", fields.Get(i).Name())
	}
	_, err := newEvent(&ledgerv1.Event{})
	require.Error(t, err, "not a payload")
	_, err = newEvent((*ledgerv1.LicenseAssigned)(nil))
	_, wantErr := ledgerv1.NewEvent((*ledgerv1.LicenseAssigned)(nil))
	require.Equal(t, wantErr == nil, err == nil, "a nil payload goes NewEvent's way")
}
