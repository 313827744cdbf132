package jetstream

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBlockFilesFollowTheFileTheNameHolds: a block the server rewrites is a
// new file renamed over the old one; the next fsync must be of the new file,
// and of the directory that now names it.
func TestBlockFilesFollowTheFileTheNameHolds(t *testing.T) {
	store := t.TempDir()
	dir := filepath.Join(store, "jetstream", "$G", "streams", LogStreamName, "msgs")
	require.NoError(t, os.MkdirAll(dir, 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "1.blk"), []byte("old"), 0o640))
	b, err := openBlockFiles(store)
	require.NoError(t, err)
	defer b.close()
	require.NoError(t, b.sync())

	tmp := filepath.Join(dir, "1.blk.tmp")
	require.NoError(t, os.WriteFile(tmp, []byte("rewritten"), 0o640))
	require.NoError(t, os.Rename(tmp, filepath.Join(dir, "1.blk")))
	require.NoError(t, b.sync())
	named, err := os.Stat(filepath.Join(dir, "1.blk"))
	require.NoError(t, err)
	held, err := b.last.Stat()
	require.NoError(t, err)
	require.True(t, os.SameFile(named, held), "the fsynced file is the one the block's name holds")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "2.blk"), nil, 0o640))
	require.NoError(t, b.sync())
	require.Equal(t, 2, b.index, "a new block is followed")
}
