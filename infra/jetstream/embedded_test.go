package jetstream_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

func TestStartEmbeddedReportsPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = l.Close() }()
	_, err = jetstream.StartEmbedded(jetstream.EmbeddedConfig{
		StoreDir: t.TempDir(), Listen: l.Addr().String(), Logger: quietLogger(),
	})
	require.ErrorContains(t, err, "listen")
}

func TestStartEmbeddedReportsUnusableStoreDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err := jetstream.StartEmbedded(jetstream.EmbeddedConfig{StoreDir: file, Logger: quietLogger()})
	require.ErrorContains(t, err, "JetStream")

	_, err = jetstream.StartEmbedded(jetstream.EmbeddedConfig{})
	require.ErrorContains(t, err, "StoreDir")
}

func TestStartEmbeddedListensOnTCP(t *testing.T) {
	ns, err := jetstream.StartEmbedded(jetstream.EmbeddedConfig{
		StoreDir: t.TempDir(), Listen: "127.0.0.1:0", SyncAlways: true, ServerName: "ledger-test", Logger: quietLogger(),
	})
	require.NoError(t, err)
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	nc, err := nats.Connect(ns.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	require.EqualValues(t, jetstream.DefaultMaxPayload, nc.MaxPayload(), "the embedded server's max payload")
	store, err := jetstream.Open(context.Background(), nc, jetstream.StreamConfig{})
	require.NoError(t, err)
	defer func() { _ = store.Close() }()
	_, err = store.Append(context.Background(), "acme", events.Cursor{}, testRecords("acme", events.Cursor{}, 2))
	require.NoError(t, err)
}

// TestRefusedClientsAreLoggedOncePerClient: the server refuses a reader's
// forbidden requests, and ledgerd's log says so once per client, at info
// level (the rest at debug), instead of an error line per request that any
// client could multiply at will.
func TestRefusedClientsAreLoggedOncePerClient(t *testing.T) {
	var out lockedBuffer
	ns, err := jetstream.StartEmbedded(jetstream.EmbeddedConfig{
		StoreDir: t.TempDir(), Listen: "127.0.0.1:0", LedgerPassword: "ledger-test-password",
		Logger: slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	require.NoError(t, err)
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	for range 2 {
		nc, err := nats.Connect(ns.ClientURL())
		require.NoError(t, err)
		for range 5 {
			require.NoError(t, nc.Publish("$JS.API.CONSUMER.DELETE."+jetstream.LogStreamName+".x", nil))
		}
		_, err = nc.SubscribeSync(jetstream.LedgerInboxPrefix + ".>")
		require.NoError(t, err)
		require.NoError(t, nc.Flush())
		nc.Close()
	}
	require.Eventually(t, func() bool { return strings.Count(out.String(), "refused a client") == 2 }, 5*time.Second, 10*time.Millisecond, "log:\n%s", out.String())
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, 2, strings.Count(out.String(), "refused a client"), "one line per client:\n%s", out.String())
	assert.NotContains(t, out.String(), "level=ERROR")
}

// lockedBuffer is a log sink the server's goroutines may write to at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
