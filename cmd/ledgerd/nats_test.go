package main

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// syncBuffer is a log sink the client's callbacks may write from their own
// goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLosingNATSIsLoggedAndRecovered: when the server drops ledgerd's
// connection, ledgerd logs it, reconnects, and logs that too; closing the
// connection itself is not logged as losing it.
func TestLosingNATSIsLoggedAndRecovered(t *testing.T) {
	ns, err := jetstream.StartEmbedded(jetstream.EmbeddedConfig{StoreDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	var out syncBuffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	closed := make(chan struct{})
	nc, err := nats.Connect("", append(baseOptions(log), nats.InProcessServer(ns), nats.ClosedHandler(func(*nats.Conn) { close(closed) }))...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	id, err := nc.GetClientID()
	require.NoError(t, err)

	require.NoError(t, ns.DisconnectClientByID(id))
	require.Eventually(t, func() bool {
		return strings.Contains(out.String(), "reconnected to NATS")
	}, 10*time.Second, 10*time.Millisecond, "log so far:\n%s", out.String())
	require.Equal(t, 1, strings.Count(out.String(), "lost the connection to NATS"))
	require.True(t, nc.IsConnected())

	nc.Close()
	<-closed // the client runs its callbacks in order: the disconnect's came first
	require.Equal(t, 1, strings.Count(out.String(), "lost the connection to NATS"), "closing is not losing:\n%s", out.String())
}

// TestTheNATSPasswordIsNeverLogged: a --nats-url may carry a user and
// password (nats://user:pass@host); the logs name the servers without them.
func TestTheNATSPasswordIsNeverLogged(t *testing.T) {
	const password = "s3cret-password-of-ledgerd"
	ns, err := jetstream.StartEmbedded(jetstream.EmbeddedConfig{StoreDir: t.TempDir(), Listen: "127.0.0.1:0", LedgerPassword: password, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	host := strings.TrimPrefix(ns.ClientURL(), "nats://")

	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	url := "nats://" + jetstream.LedgerUser + ":" + password + "@" + host
	_, closeNC, err := connectExternal(natsConfig{url: url + ",nats://" + jetstream.LedgerUser + ":" + password + "@127.0.0.1:1"}, log)
	require.NoError(t, err)
	closeNC()
	_, _, err = connectExternal(natsConfig{url: "nats://" + jetstream.LedgerUser + ":wrong-" + password + "@" + host}, log)
	require.Error(t, err)
	require.NotContains(t, err.Error(), password, "the error, logged by main, names no password")
	require.NotContains(t, logs.String(), password)
	require.Contains(t, logs.String(), "nats://***@"+host)
}
