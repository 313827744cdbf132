package jetstream_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// flipInLog changes one byte of needle's first occurrence in the commit
// log's message blocks under dir, as a disk or a hand could.
func flipInLog(t *testing.T, dir string, needle []byte) {
	t.Helper()
	blocks, err := filepath.Glob(filepath.Join(dir, "jetstream", "*", "streams", jetstream.LogStreamName, "msgs", "*.blk"))
	require.NoError(t, err)
	for _, blk := range blocks {
		b, err := os.ReadFile(blk)
		require.NoError(t, err)
		if i := bytes.Index(b, needle); i >= 0 {
			b[i+len(needle)-1] ^= 0x20
			require.NoError(t, os.WriteFile(blk, b, 0o600))
			return
		}
	}
	t.Fatalf("%q is in no block of %s", needle, dir)
}

// TestALostMessageEndsTheReadAtOnce: a log message whose bytes changed
// on disk is dropped by the server when it recovers the store, but still
// counted among the tenant's messages. A read delivers every message that
// is left, in order, and ends at once, wherever the lost one was: the
// reader then sees the gap, rather than a time out reported as an
// unavailable store. The large tenant reads past its first page through a
// consumer, which waits for the lost message until it asks the server.
func TestALostMessageEndsTheReadAtOnce(t *testing.T) {
	cases := map[string]struct{ messages, lost int }{
		"first":                 {7, 0},
		"middle":                {7, 2},
		"last":                  {7, 6},
		"beyond the first page": {1100, 1050},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			env := startEnv(t, dir, jetstream.StreamConfig{})
			var cur events.Cursor
			var recs []events.Record
			for range c.messages {
				r := testRecords("acme", cur, 1)
				cur = env.append(t, "acme", cur, r)
				recs = append(recs, r...)
			}
			env.append(t, "globex", events.Cursor{}, testRecords("globex", events.Cursor{}, 2))
			env.stop()
			flipInLog(t, dir, recs[c.lost].Data)

			env = startEnv(t, dir, jetstream.StreamConfig{})
			start := time.Now()
			var got []uint64
			err := env.store.Read(env.ctx, "acme", events.Cursor{}, func(r events.Record) error {
				got = append(got, r.Sequence)
				return nil
			})
			require.NoError(t, err)
			var want []uint64
			for i := range c.messages {
				if i != c.lost {
					want = append(want, uint64(i+1))
				}
			}
			require.Equal(t, want, got, "every message left, in order, without the lost one")
			require.Less(t, time.Since(start), 5*time.Second, "the read ended without waiting out its time out")
			require.Len(t, env.read(t, "globex"), 2, "other tenants read as before")
		})
	}
}
