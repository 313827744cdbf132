package jetstream_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// startGroupCommit starts a server that does not fsync each write and a
// store that group-commits over it, as ledgerd --sync does.
func startGroupCommit(t testing.TB, dir string) *testEnv {
	t.Helper()
	env := startEnv(t, dir, jetstream.StreamConfig{})
	require.NoError(t, env.store.GroupCommit(env.ctx, dir))
	return env
}

// TestGroupCommitConformance runs the port's suite on a group-committing
// store, restarting the server on the same directory at each open.
func TestGroupCommitConformance(t *testing.T) {
	runConformance(t, startGroupCommit)
}

// TestGroupCommitFindsTheAppendInTheBlockFile pins what the group commit
// relies on in the server, so that an upgrade that changes it fails here:
// when the server acknowledges an append, the message is already written
// to the newest block file of the log's directory, which the fsync after
// the acknowledgement therefore covers.
func TestGroupCommitFindsTheAppendInTheBlockFile(t *testing.T) {
	dir := t.TempDir()
	env := startGroupCommit(t, dir)
	var syncs atomic.Int64
	var want atomic.Pointer[[]byte]
	jetstream.WrapGroupCommitSync(env.store, func(sync func() error) error {
		if w := want.Load(); w != nil {
			require.Contains(t, string(newestBlock(t, dir)), string(*w), "the acknowledged append is in the block file the fsync covers")
		}
		syncs.Add(1)
		return sync()
	})
	cur := events.Cursor{}
	for i := range 5 {
		recs := testRecords("acme", cur, 2)
		want.Store(&recs[1].Data)
		before := syncs.Load()
		cur = env.append(t, "acme", cur, recs)
		require.Greater(t, syncs.Load(), before, "append %d returned without an fsync", i)
	}
}

// TestGroupCommitHoldsBackUntilFsynced: until the fsync after an append
// ends, Append does not return, and neither a subscriber nor a reader sees
// its records: nothing projected, published or signed can be lost in a
// power cut that the caller was told had been stored.
func TestGroupCommitHoldsBackUntilFsynced(t *testing.T) {
	env := startGroupCommit(t, t.TempDir())
	entered, release := holdFsyncs(env)
	ctx, cancel := context.WithCancel(env.ctx)
	defer cancel()
	seen := make(chan events.Record, 8)
	go func() {
		_ = env.store.Subscribe(ctx, 0, func(r events.Record) error { seen <- r; return nil })
	}()
	recs := testRecords("acme", events.Cursor{}, 1)
	appended := make(chan error, 1)
	go func() {
		_, err := env.store.Append(env.ctx, "acme", events.Cursor{}, recs)
		appended <- err
	}()
	select {
	case <-entered:
	case err := <-appended:
		t.Fatalf("Append returned (%v) without an fsync", err)
	case r := <-seen:
		t.Fatalf("a subscriber got %s before any fsync", r.ID)
	case <-time.After(5 * time.Second):
		t.Fatal("no fsync after the append")
	}
	read := make(chan int, 1)
	go func() {
		n := 0
		_ = env.store.Read(ctx, "acme", events.Cursor{}, func(events.Record) error { n++; return nil })
		read <- n
	}()
	select {
	case err := <-appended:
		t.Fatalf("Append returned (%v) before its fsync", err)
	case r := <-seen:
		t.Fatalf("a subscriber got %s before its fsync", r.ID)
	case n := <-read:
		require.Zero(t, n, "a reader got records before their fsync")
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-appended)
	select {
	case r := <-seen:
		require.Equal(t, recs[0].ID, r.ID)
	case <-time.After(5 * time.Second):
		t.Fatal("the subscriber never got the fsynced record")
	}
}

// holdFsyncs makes each fsync of the store's group commit wait, once it has
// begun (entered receives then), until release is closed.
func holdFsyncs(env *testEnv) (entered <-chan struct{}, release chan struct{}) {
	began, release := make(chan struct{}, 16), make(chan struct{})
	jetstream.WrapGroupCommitSync(env.store, func(sync func() error) error {
		began <- struct{}{}
		<-release
		return sync()
	})
	return began, release
}

// TestGroupCommitSharesFsyncs: appends of many tenants that arrive while an
// fsync runs share the next one.
func TestGroupCommitSharesFsyncs(t *testing.T) {
	env := startGroupCommit(t, t.TempDir())
	var syncs atomic.Int64
	jetstream.WrapGroupCommitSync(env.store, func(sync func() error) error {
		syncs.Add(1)
		time.Sleep(10 * time.Millisecond) // a slow disk
		return sync()
	})
	const tenants, each = 16, 4
	var wg sync.WaitGroup
	for i := range tenants {
		wg.Go(func() {
			tenant, cur := "t"+strconv.Itoa(i), events.Cursor{}
			for range each {
				cur = env.append(t, tenant, cur, testRecords(tenant, cur, 1))
			}
		})
	}
	wg.Wait()
	n := syncs.Load()
	t.Logf("%d appends, %d fsyncs", tenants*each, n)
	require.Positive(t, n, "the appends were fsynced")
	require.Less(t, n, int64(tenants*each/4), "appends of different tenants share fsyncs")
	for i := range tenants {
		require.Len(t, env.read(t, "t"+strconv.Itoa(i)), each)
	}
}

// TestGroupCommitStopsAfterAFailedFsync: after an fsync fails, the pages it
// was to make durable may be gone, so the append is not acknowledged, no
// later one is, /readyz's probe says why, and no reader gets the record.
func TestGroupCommitStopsAfterAFailedFsync(t *testing.T) {
	env := startGroupCommit(t, t.TempDir())
	var fail atomic.Bool
	fail.Store(true)
	jetstream.WrapGroupCommitSync(env.store, func(sync func() error) error {
		if fail.Swap(false) {
			return errors.New("EIO")
		}
		return sync()
	})
	_, err := env.store.Append(env.ctx, "acme", events.Cursor{}, testRecords("acme", events.Cursor{}, 1))
	require.ErrorIs(t, err, jetstream.ErrFsync)
	require.ErrorIs(t, err, events.ErrUnavailable)
	_, err = env.store.Append(env.ctx, "globex", events.Cursor{}, testRecords("globex", events.Cursor{}, 1))
	require.ErrorIs(t, err, jetstream.ErrFsync, "no append is acknowledged after a failed fsync")
	require.ErrorIs(t, env.store.Ping(env.ctx), jetstream.ErrFsync)
	err = env.store.Read(env.ctx, "acme", events.Cursor{}, func(r events.Record) error {
		t.Fatalf("read %s, which no fsync covers", r.ID)
		return nil
	})
	require.ErrorIs(t, err, jetstream.ErrFsync)
}

// TestGroupCommitFollowsNewBlocks: when the server starts a new block file,
// the group commit moves to it, so that the fsync after an append covers
// the file the append is in.
func TestGroupCommitFollowsNewBlocks(t *testing.T) {
	dir := t.TempDir()
	env := startGroupCommit(t, dir)
	first := jetstream.GroupCommitBlock(env.store)
	cur := events.Cursor{}
	for blockFiles(t, dir) < 2 {
		recs := testRecords("acme", cur, 1)
		recs[0].Data = bytes.Repeat([]byte("x"), 1<<20)
		cur = env.append(t, "acme", cur, recs)
	}
	require.Greater(t, jetstream.GroupCommitBlock(env.store), first)
	require.Equal(t, blockFiles(t, dir), jetstream.GroupCommitBlock(env.store), "the newest block is the one fsynced")
}

// logDir is the log's message directory under the server's store directory.
func logDir(t testing.TB, storeDir string) string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(storeDir, "jetstream", "*", "streams", jetstream.LogStreamName, "msgs"))
	require.NoError(t, err)
	require.Len(t, dirs, 1)
	return dirs[0]
}

// blockFiles is the highest block number in the log's directory.
func blockFiles(t testing.TB, storeDir string) int {
	t.Helper()
	entries, err := os.ReadDir(logDir(t, storeDir))
	require.NoError(t, err)
	high := 0
	for _, e := range entries {
		if n, err := strconv.Atoi(strings.TrimSuffix(e.Name(), ".blk")); err == nil && strings.HasSuffix(e.Name(), ".blk") {
			high = max(high, n)
		}
	}
	return high
}

// newestBlock reads the newest block file of the log.
func newestBlock(t testing.TB, storeDir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(logDir(t, storeDir), strconv.Itoa(blockFiles(t, storeDir))+".blk"))
	require.NoError(t, err)
	return b
}

// TestGroupCommitClosesAfterTheFsyncInProgress: Close waits for the fsync
// an append is waiting for, that append is told the truth (its fsync ended
// well), and the store refuses appends after it.
func TestGroupCommitClosesAfterTheFsyncInProgress(t *testing.T) {
	env := startGroupCommit(t, t.TempDir())
	entered, release := holdFsyncs(env)
	appended := make(chan error, 1)
	go func() {
		_, err := env.store.Append(env.ctx, "acme", events.Cursor{}, testRecords("acme", events.Cursor{}, 1))
		appended <- err
	}()
	<-entered
	closed := make(chan struct{})
	go func() {
		_ = env.store.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while an fsync was in progress")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	<-closed
	require.NoError(t, <-appended, "the fsync it waited for ended well")
	_, err := env.store.Append(env.ctx, "acme", events.Cursor{}, testRecords("acme", events.Cursor{}, 1))
	require.ErrorIs(t, err, jetstream.ErrClosed)
}
