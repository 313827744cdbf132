package jetstream_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
	"github.com/licensing-ledger/ledger/internal/smalldisk"
)

// TestTheWatchdogBringsJetStreamBackAfterAFullDisk fills the 8 MiB disk
// under an embedded server: an append that fails to be written is never
// answered by the server, and every later one neither, until the watchdog
// sees the write error; the store then refuses appends at once and Ping
// says so. Once space is freed, the watchdog restarts JetStream and the
// store takes appends again, every acknowledged one still there, and the
// subscriptions end, to be started again on consumers that exist.
func TestTheWatchdogBringsJetStreamBackAfterAFullDisk(t *testing.T) {
	dir := smalldisk.Mount(t)
	env := startEnvWith(t, jetstream.EmbeddedConfig{StoreDir: dir}, jetstream.StreamConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dog := jetstream.NewWatchdog(env.ns, jetstream.EmbeddedConfig{StoreDir: dir, Logger: quietLogger()})
	go dog.Run(ctx, 100*time.Millisecond, env.store.RefuseWrites)

	var acked []events.Record
	cur := events.Cursor{}
	add := func(size int) error {
		recs := testRecords("acme", cur, 1)
		recs[0].Data = make([]byte, size)
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		c, err := env.store.Append(actx, "acme", cur, recs)
		if err == nil {
			cur, acked = c, append(acked, recs...)
		}
		return err
	}
	for range 3 {
		require.NoError(t, add(100))
	}
	require.NoError(t, env.store.Ping(ctx))

	subscribed := make(chan error, 1)
	go func() { subscribed <- env.store.Subscribe(ctx, 0, func(events.Record) error { return nil }) }()

	filler := smalldisk.Fill(t, dir)
	var err error
	for i := 0; i < 50 && err == nil; i++ {
		err = add(20_000)
	}
	require.ErrorIs(t, err, events.ErrUnavailable, "the disk is full")
	require.Eventually(t, func() bool {
		return assert.ErrorIs(t, env.store.Ping(ctx), events.ErrWritesRefused)
	}, 5*time.Second, 50*time.Millisecond, "Ping tells the store refuses writes")
	start := time.Now()
	err = add(100)
	assert.ErrorIs(t, err, events.ErrWritesRefused)
	assert.ErrorContains(t, err, "no space left on device")
	assert.Less(t, time.Since(start), 100*time.Millisecond, "refused at once")

	require.NoError(t, os.Remove(filler))
	freed := time.Now()
	require.Eventually(t, func() bool { return add(100) == nil }, 10*time.Second, 50*time.Millisecond, "appends are taken again")
	t.Logf("appends taken again %s after the space was freed", time.Since(freed).Round(time.Millisecond))
	require.NoError(t, env.store.Ping(ctx))
	select {
	case err := <-subscribed:
		require.ErrorIs(t, err, events.ErrUnavailable, "a subscription ends with the consumer the restart removed")
	case <-time.After(5 * time.Second):
		t.Fatal("the subscription outlived its consumer")
	}
	require.Equal(t, recordIDs(acked), recordIDs(env.read(t, "acme")), "every acknowledged append is kept")
}

func recordIDs(recs []events.Record) []string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	return ids
}

// TestTheWatchdogEnablesAJetStreamTheServerDisabled: the server disables
// JetStream by itself on some write failures (a permission refused); the
// watchdog starts it again on the same store.
func TestTheWatchdogEnablesAJetStreamTheServerDisabled(t *testing.T) {
	dir := t.TempDir()
	env := startEnvWith(t, jetstream.EmbeddedConfig{StoreDir: dir}, jetstream.StreamConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cur := env.append(t, "acme", events.Cursor{}, testRecords("acme", events.Cursor{}, 2))
	dog := jetstream.NewWatchdog(env.ns, jetstream.EmbeddedConfig{StoreDir: dir, Logger: quietLogger()})
	go dog.Run(ctx, 50*time.Millisecond, env.store.RefuseWrites)

	require.NoError(t, env.ns.ShutdownJetStream())
	recs := testRecords("acme", cur, 1) // the same records at each try: a retry of a stored append succeeds
	require.Eventually(t, func() bool {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := env.store.Append(actx, "acme", cur, recs)
		return err == nil
	}, 10*time.Second, 50*time.Millisecond, "JetStream is back")
	require.True(t, env.ns.JetStreamEnabled())
	require.Len(t, env.read(t, "acme"), 3)
}
