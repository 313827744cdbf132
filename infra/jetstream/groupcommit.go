package jetstream

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/licensing-ledger/ledger/events"
)

// Group commit: one fsync for the appends of many tenants.
//
// With SyncAlways the server fsyncs every message before it acknowledges it,
// one after the other in the log's stream: one fsync per append, whatever
// the concurrency. Without it the server still writes each message to the
// operating system before acknowledging it (a file stream that does not
// persist asynchronously writes in place), so the ledger can make the log
// durable itself: after the server's acknowledgement, Append waits for an
// fsync of the log's block file that began after it. Whoever waits while no
// fsync runs starts one, covering every append acknowledged so far; those
// that arrive while it runs wait for the next. Under load one fsync covers
// the appends of all the tenants that arrived during the previous one.
//
// Until an fsync covers a message, Read and Subscribe hold its records back
// (and start an fsync themselves if none is coming), so that the projector,
// the forwarder and the checkpoint issuer never see an event that a power
// cut could still take back.
//
// It needs the server's files on this machine: the embedded server, with
// SyncAlways off and the log on one replica. It relies on the file store's
// layout (<store dir>/jetstream/<account>/streams/LEDGER_LOG/msgs/<n>.blk,
// a new block numbered one more than the last) and on its writing in place;
// TestGroupCommitFindsTheAppendInTheBlockFile guards both.

// ErrFsync is wrapped by Append's error, and by every later one, when an
// fsync of the log failed: the operating system may then have dropped the
// written pages, so nothing after the last good fsync can be trusted as
// durable and the store refuses to go on.
var ErrFsync = errors.New("jetstream: fsync of the commit log failed")

// groupCommit makes log messages durable, many per fsync.
type groupCommit struct {
	files *blockFiles
	sync  func() error // files.sync; tests put a hook around it
	// durable is the highest stream sequence an fsync has covered.
	durable atomic.Uint64

	mu      sync.Mutex
	wanted  uint64        // highest sequence waited for
	running chan struct{} // closed when the fsync in progress ends; nil if none
	failed  error         // the first fsync failure, for good
}

// GroupCommit makes the store durable on its own, on an embedded server that
// does not fsync every write: from now on Append returns only once an fsync
// of the log's files, begun after the server stored the append, has
// finished, one fsync for all the appends that arrived while the previous
// one ran; and Read and Subscribe deliver a record only once an fsync
// covers it. storeDir is the embedded server's StoreDir (EmbeddedConfig).
// Call it once, after Open and before the store is used.
func (s *Store) GroupCommit(ctx context.Context, storeDir string) error {
	files, err := openBlockFiles(storeDir)
	if err != nil {
		return err
	}
	head, err := s.Head(ctx)
	if err != nil {
		files.close()
		return err
	}
	if err := files.sync(); err != nil {
		files.close()
		return fmt.Errorf("%w: %w", ErrFsync, err)
	}
	g := &groupCommit{files: files, sync: files.sync}
	g.durable.Store(msgSeq(head))
	s.commit = g
	return nil
}

// wait returns once an fsync that began after the message at seq was
// stored has finished (at once if one already has).
func (g *groupCommit) wait(ctx context.Context, seq uint64) error {
	g.mu.Lock()
	if seq > g.wanted {
		g.wanted = seq
	}
	for g.durable.Load() < seq {
		if g.failed != nil {
			err := g.failed
			g.mu.Unlock()
			return err
		}
		if g.running == nil {
			g.lead()
			continue
		}
		running := g.running
		g.mu.Unlock()
		select {
		case <-running:
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting for the log's fsync: %w", events.ErrUnavailable, context.Cause(ctx))
		}
		g.mu.Lock()
	}
	g.mu.Unlock()
	return nil
}

// lead runs one fsync, covering every sequence wanted before it began.
// It is called and returns with g.mu held, and releases it meanwhile.
func (g *groupCommit) lead() {
	covers, done := g.wanted, make(chan struct{})
	g.running = done
	g.mu.Unlock()
	err := g.sync()
	g.mu.Lock()
	g.running = nil
	close(done)
	if err != nil {
		g.failed = fmt.Errorf("%w: %w: %w", events.ErrUnavailable, ErrFsync, err)
		return
	}
	if covers > g.durable.Load() {
		g.durable.Store(covers)
	}
}

// err is the fsync failure that stopped the group commit, or nil.
func (g *groupCommit) err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.failed
}

// idle returns once no fsync is running. It is called and returns with
// g.mu held, and releases it meanwhile; none can start until the caller
// releases it.
func (g *groupCommit) idle() {
	for g.running != nil {
		running := g.running
		g.mu.Unlock()
		<-running
		g.mu.Lock()
	}
}

// durableFirst wraps a reader's fn so that it gets a record only once an
// fsync covers its message.
func (g *groupCommit) durableFirst(ctx context.Context, fn func(events.Record) error) func(events.Record) error {
	return func(rec events.Record) error {
		if seq := msgSeq(rec.Position); seq > g.durable.Load() {
			if err := g.wait(ctx, seq); err != nil {
				return err
			}
		}
		return fn(rec)
	}
}

// close waits for the fsync in progress, if any, releases the block file
// and makes every later wait fail: nothing is durable by a closed store.
func (g *groupCommit) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.idle()
	if g.failed == nil {
		g.failed = ErrClosed
	}
	g.files.close()
}

// blockFiles follows the last message block file of LEDGER_LOG.
type blockFiles struct {
	dir   string   // the stream's msgs directory
	last  *os.File // the newest block, opened for fsync
	index int      // its number
}

// openBlockFiles finds the log's directory under the embedded server's store
// directory and opens its newest block.
func openBlockFiles(storeDir string) (*blockFiles, error) {
	pattern := filepath.Join(storeDir, "jetstream", "*", "streams", LogStreamName, "msgs")
	dirs, err := filepath.Glob(pattern)
	if err != nil || len(dirs) != 1 {
		return nil, fmt.Errorf("jetstream: group commit: want one directory %s, found %d (%v)", pattern, len(dirs), err)
	}
	b := &blockFiles{dir: dirs[0]}
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return nil, fmt.Errorf("jetstream: group commit: %w", err)
	}
	for _, e := range entries {
		if n, ok := blockIndex(e.Name()); ok && n > b.index {
			b.index = n
		}
	}
	if b.index > 0 {
		if b.last, err = os.Open(b.path(b.index)); err != nil {
			return nil, fmt.Errorf("jetstream: group commit: %w", err)
		}
	}
	return b, nil
}

// blockIndex parses a block file's name, <n>.blk.
func blockIndex(name string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSuffix(name, ".blk"))
	return n, err == nil && strings.HasSuffix(name, ".blk") && n > 0
}

func (b *blockFiles) path(n int) string {
	return filepath.Join(b.dir, strconv.Itoa(n)+".blk")
}

// sync makes every message the server has written to the log's files
// durable: it moves on to the blocks the server created since the last call
// (each full block fsynced a last time, the directory once, for their
// names) and fsyncs the newest.
func (b *blockFiles) sync() error {
	moved, err := b.reopenIfReplaced()
	if err != nil {
		return err
	}
	for {
		next, err := os.Open(b.path(b.index + 1))
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return err
		}
		if b.last != nil {
			err = b.last.Sync()
			_ = b.last.Close()
			if err != nil {
				_ = next.Close()
				b.last = nil
				return err
			}
		}
		b.last, b.index, moved = next, b.index+1, true
	}
	if moved {
		if err := syncDir(b.dir); err != nil {
			return err
		}
	}
	if b.last == nil {
		return nil
	}
	return b.last.Sync()
}

// reopenIfReplaced opens the newest block again if its name now holds
// another file: the server rewrites a block by writing a new file and
// renaming it over the old one (atomicOverwriteFile; for the log, which is
// neither compressed nor encrypted and refuses deletes, it should not
// happen), and an fsync of the old one would cover nothing it writes next.
func (b *blockFiles) reopenIfReplaced() (bool, error) {
	if b.last == nil {
		return false, nil
	}
	named, err := os.Stat(b.path(b.index))
	if err != nil {
		return false, err
	}
	held, err := b.last.Stat()
	if err != nil {
		return false, err
	}
	if os.SameFile(named, held) {
		return false, nil
	}
	f, err := os.Open(b.path(b.index))
	if err != nil {
		return false, err
	}
	_ = b.last.Close()
	b.last = f
	return true, nil
}

// syncDir fsyncs a directory, making the names of files created in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (b *blockFiles) close() {
	if b.last != nil {
		_ = b.last.Close()
		b.last = nil
	}
}
