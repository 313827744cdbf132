package jetstream_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"
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
