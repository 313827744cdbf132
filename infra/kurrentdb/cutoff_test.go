package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/infra/kurrentdb/kurrentdbtest"
)

// An append the node ends while its events are still being sent reaches
// the store as io.EOF alone (the esdb client drops the node's reason).
var cutOff = fmt.Errorf("could not send append request. Reason: %w", io.EOF)

// TestAnAppendCutOffWhileSendingIsTooLargeOnlyIfTheNodeAnswers: the store
// takes such an end for "too large" only if the node then answers a read
// and a probe of the write right; a node that is gone is unavailable.
func TestAnAppendCutOffWhileSendingIsTooLargeOnlyIfTheNodeAnswers(t *testing.T) {
	srv := kurrentdbtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := Open(ctx, srv.ConnectionString(), WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer s.Close()

	assert.ErrorIs(t, s.explainCutOff(ctx, cutOff), errCutOff, "the node answers: it refused this append for its size")
	assert.NoError(t, s.explainCutOff(ctx, errors.New("some other failure")), "not an end while sending")
	srv.Stop()
	assert.NoError(t, s.explainCutOff(ctx, cutOff), "the node is gone: unavailable")
}

// TestAnAppendCutOffForAUserWhoMayNotWriteIsAccessDenied: a user whose
// write right went away after Open sees its appends ended early too; that
// is access denied, not too large.
func TestAnAppendCutOffForAUserWhoMayNotWriteIsAccessDenied(t *testing.T) {
	srv := kurrentdbtest.Start(t, kurrentdbtest.WithUser("reader", "secret", kurrentdbtest.Read|kurrentdbtest.ReadAll))
	config, err := esdb.ParseConnectionString(srv.ConnectionStringFor("reader", "secret"))
	require.NoError(t, err)
	config.Logger = esdb.NoopLogging()
	client, err := esdb.NewClient(config)
	require.NoError(t, err)
	defer client.Close()
	s, err := New(client, WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	s.user = "reader"

	err = s.explainCutOff(t.Context(), cutOff)
	require.ErrorIs(t, err, ErrAccessDenied)
	assert.Contains(t, err.Error(), `user "reader" may not append`)
}
