package e2e

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

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
// count of each of its messages, or false when there is no log.
func logRecords(t *testing.T, ctx context.Context, js natsjs.JetStream) (uint64, bool) {
	t.Helper()
	stream, err := js.Stream(ctx, jetstream.LogStreamName)
	if errors.Is(err, natsjs.ErrStreamNotFound) {
		return 0, false
	}
	require.NoError(t, err)
	msgs := stream.CachedInfo().State.Msgs
	if msgs == 0 {
		return 0, true
	}
	cons, err := stream.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{HeadersOnly: true})
	require.NoError(t, err)
	it, err := cons.Messages()
	require.NoError(t, err)
	defer it.Stop()
	var records uint64
	for range msgs {
		m, err := it.Next(natsjs.NextContext(ctx))
		require.NoError(t, err)
		n, err := strconv.ParseUint(m.Headers().Get(jetstream.CountHeader), 10, 64)
		require.NoError(t, err)
		records += n
	}
	return records, true
}
