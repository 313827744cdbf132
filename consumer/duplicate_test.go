package consumer

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/internal/feedtest"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// TestAnEventDeliveredAgainAfterItsHandlerSucceededIsSkipped: the server
// delivers an event again when its ack is late or lost; the second
// delivery must not run the handler again, and must be acknowledged.
func TestAnEventDeliveredAgainAfterItsHandlerSucceededIsSkipped(t *testing.T) {
	f := feedtest.Start(t)
	f.Append("acme", &ledgerv1.LicenseAssigned{UserId: "alice"})
	js, err := natsjs.New(f.Connect())
	require.NoError(t, err)
	ctx := t.Context()
	cons, err := js.CreateOrUpdateConsumer(ctx, StreamName, natsjs.ConsumerConfig{
		Durable: "late-ack", AckPolicy: natsjs.AckExplicitPolicy, AckWait: 200 * time.Millisecond, MaxAckPending: 1,
	})
	require.NoError(t, err)
	first := fetchOne(t, cons)
	time.Sleep(300 * time.Millisecond) // the ack wait passes without an ack
	again := fetchOne(t, cons)
	meta, err := again.Metadata()
	require.NoError(t, err)
	require.Equal(t, uint64(2), meta.NumDelivered, "delivered again")

	calls := 0
	h := &Handlers{Default: func(context.Context, *ledgerv1.Event) error { calls++; return nil }}
	r := &runner{h: h, log: slog.New(slog.NewTextHandler(io.Discard, nil)), ackWait: time.Second, last: map[string]uint64{}}
	require.NoError(t, r.deliver(ctx, first))
	require.NoError(t, r.deliver(ctx, again))
	assert.Equal(t, 1, calls, "the handler ran once")
	require.Eventually(t, func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumAckPending == 0 && info.AckFloor.Stream == 1
	}, 5*time.Second, 20*time.Millisecond, "both deliveries acknowledged")
}

func fetchOne(t *testing.T, cons natsjs.Consumer) natsjs.Msg {
	t.Helper()
	batch, err := cons.Fetch(1, natsjs.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	for msg := range batch.Messages() {
		return msg
	}
	t.Fatalf("no message: %v", batch.Error())
	return nil
}
