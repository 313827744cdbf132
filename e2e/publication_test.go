package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// publicationTimeout bounds the wait for the forwarder to publish every
// stored event into LEDGER.
const publicationTimeout = 30 * time.Second

// awaitPublished waits until the public LEDGER stream holds every event of
// the JetStream store's commit log, and returns how many messages LEDGER
// holds. Publication follows the append asynchronously, so a test that reads
// LEDGER after commands must wait for it. Without a commit log in this NATS
// (the ledger runs on KurrentDB) it returns what LEDGER holds now.
func awaitPublished(t *testing.T, ctx context.Context, js natsjs.JetStream) uint64 {
	t.Helper()
	want, ok := logRecords(t, ctx, js)
	deadline := time.Now().Add(publicationTimeout)
	for {
		held := ledgerMsgs(t, ctx, js)
		if !ok || held >= want {
			return held
		}
		require.True(t, time.Now().Before(deadline), "LEDGER holds %d of the %d events of %s after %s", held, want, jetstream.LogStreamName, publicationTimeout)
		time.Sleep(20 * time.Millisecond)
	}
}

// ledgerMsgs returns how many messages LEDGER holds (0 before it exists).
func ledgerMsgs(t *testing.T, ctx context.Context, js natsjs.JetStream) uint64 {
	t.Helper()
	stream, err := js.Stream(ctx, jetstream.StreamName)
	if errors.Is(err, natsjs.ErrStreamNotFound) {
		return 0
	}
	require.NoError(t, err)
	return stream.CachedInfo().State.Msgs
}

// logRecords returns how many events the commit log holds, by the record
// count header of each of its messages, and false if there is no log yet.
// It reads them by batched direct gets: a reader of the log may not make
// consumers on it.
func logRecords(t *testing.T, ctx context.Context, js natsjs.JetStream) (uint64, bool) {
	t.Helper()
	stream, err := js.Stream(ctx, jetstream.LogStreamName)
	if errors.Is(err, natsjs.ErrStreamNotFound) {
		return 0, false
	}
	require.NoError(t, err)
	var records uint64
	for seq := stream.CachedInfo().State.FirstSeq; seq > 0; {
		var n uint64
		n, seq = logRecordsFrom(t, ctx, js.Conn(), seq)
		records += n
	}
	return records, true
}

// logRecordsFrom counts the records of up to a page of log messages from
// the stream sequence on, and returns the sequence to go on from (0 at the
// end of the log).
func logRecordsFrom(t *testing.T, ctx context.Context, nc *nats.Conn, from uint64) (records, next uint64) {
	t.Helper()
	sub, err := nc.SubscribeSync(nc.NewInbox())
	require.NoError(t, err)
	defer sub.Unsubscribe()
	req, err := json.Marshal(map[string]any{"seq": from, "next_by_subj": jetstream.LogSubjects, "batch": 1000})
	require.NoError(t, err)
	require.NoError(t, nc.PublishRequest("$JS.API.DIRECT.GET."+jetstream.LogStreamName, sub.Subject, req))
	for {
		m, err := sub.NextMsgWithContext(ctx)
		require.NoError(t, err)
		switch m.Header.Get("Status") {
		case "404":
			return records, 0
		case "204":
			return records, next
		case "":
		default:
			t.Fatalf("direct get of %s: %s %s", jetstream.LogStreamName, m.Header.Get("Status"), m.Header.Get("Description"))
		}
		n, err := strconv.ParseUint(m.Header.Get(jetstream.CountHeader), 10, 64)
		require.NoError(t, err)
		seq, err := strconv.ParseUint(m.Header.Get(natsjs.SequenceHeader), 10, 64)
		require.NoError(t, err)
		records, next = records+n, seq+1
	}
}
