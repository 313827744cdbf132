package forward_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// TestEventsDocDescribesTheMessages checks docs/EVENTS.md, the contract
// with downstream consumers, against the messages the forwarder really
// publishes: the LEDGER stream's configured subjects and stored subjects,
// and every header of a stored message and of its core-NATS republication.
// A header added without documenting it fails here.
func TestEventsDocDescribesTheMessages(t *testing.T) {
	doc := readDoc(t, "../../docs/EVENTS.md")
	nc := startNATS(t).connect()
	sub, err := nc.SubscribeSync(jetstream.PublicSubjects)
	require.NoError(t, err)
	require.NoError(t, nc.Flush())
	src := logSource(t)
	appendRecords(t, src, "acme", events.Cursor{}, 2)
	startForwarder(t, src, nc)
	stored := stored(t, nc, 2)
	republished, err := sub.NextMsg(5 * time.Second)
	require.NoError(t, err)

	js, err := natsjs.New(nc)
	require.NoError(t, err)
	stream, err := js.Stream(t.Context(), jetstream.StreamName)
	require.NoError(t, err)
	assert.Equal(t, "ledger.acme.SeatsChanged", stored[0].Subject)
	_, err = js.StreamNameBySubject(t.Context(), "ledger.acme.>")
	require.ErrorIs(t, err, natsjs.ErrStreamNotFound, "as EVENTS.md says, a lookup by stored subject finds no stream: bind by name")
	want := append(stream.CachedInfo().Config.Subjects, "ledger.<tenant>.<EventType>")
	want = append(want, headerNames(stored[0].Header, stored[1].Header, republished.Header)...)
	var missing []string
	for _, name := range want {
		if !strings.Contains(doc, "`"+name+"`") {
			missing = append(missing, name)
		}
	}
	assert.Empty(t, missing, "EVENTS.md must name these subjects and headers, in backquotes")
}

func readDoc(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// headerNames lists the header names of the messages, sorted.
func headerNames(headers ...nats.Header) []string {
	var names []string
	for _, h := range headers {
		for name := range h {
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	slices.SortFunc(names, strings.Compare)
	return names
}
