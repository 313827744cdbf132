package kurrentdb

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/infra/kurrentdb/kurrentdbtest"
)

// TestAnAppendCutOffWhileSendingIsTooLargeOnlyIfTheNodeAnswers: when a
// node refuses an append over its MaxAppendSize while the client is still
// sending it, the esdb client reports only io.EOF. The store takes that
// for "too large" only if the node then answers a read; a node that is
// gone is unavailable.
func TestAnAppendCutOffWhileSendingIsTooLargeOnlyIfTheNodeAnswers(t *testing.T) {
	srv := kurrentdbtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := Open(ctx, srv.ConnectionString(), WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer s.Close()
	cutOff := fmt.Errorf("could not send append request. Reason: %w", io.EOF)

	assert.True(t, s.cutOffWhileSending(ctx, cutOff), "the node answers: it refused this append")
	assert.False(t, s.cutOffWhileSending(ctx, fmt.Errorf("some other failure")), "not an end while sending")
	srv.Stop()
	assert.False(t, s.cutOffWhileSending(ctx, cutOff), "the node is gone")
}
