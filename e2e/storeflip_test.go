package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/highwayhash"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// TestAStoreByteFlipWithItsChecksumRewrittenIsCaught edits the JetStream
// file store as someone with the disk would: one byte of an event, and the
// message's checksum recomputed so that NATS reads it without complaint.
// On restart ledgerd finds the history no longer matches its latest
// checkpoint and says so, and the auditor's verify with the kept
// checkpoint names the event.
func TestAStoreByteFlipWithItsChecksumRewrittenIsCaught(t *testing.T) {
	l := startAuditLedgerd(t, "--checkpoint-interval", "100ms")
	ctl := buildLedgerctl(t, l)
	playAuditedTenant(t, l)
	l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"zzmarkerzz","usageLocation":"US"}`)
	l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"after-the-marker","usageLocation":"US"}`)
	l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"last","usageLocation":"US"}`)
	dir := t.TempDir()
	key, kept := filepath.Join(dir, "ledger.pub"), filepath.Join(dir, "kept.checkpoint")
	ctl.ok(t, "key", "--out", key)
	ctl.ok(t, "checkpoint", "--tenant", tenant, "--key", key, "--out", kept)
	l.stop()

	flipInStore(t, l.data, jetstream.LogStreamName, []byte("zzmarkerzz"))
	l.start()
	r := ctl.run(t, "verify", "--tenant", tenant, "--key", key, "--checkpoint", kept)
	assert.Equal(t, 3, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stderr, "altered: its stored bytes changed after they were written")
	assert.Contains(t, l.log(), "the tenant's history does not match its latest checkpoint")
	req, err := http.NewRequest(http.MethodGet, l.HTTP+"/v1/tenants/contoso/checkpoint", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+auditorToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the last good checkpoint is still served, as evidence")
	assert.Contains(t, resp.Header.Get("Ledger-Damaged"), "does not match")
}

// flipInStore flips one byte of the first occurrence of marker in the
// stream's message blocks and rewrites that message's checksum.
func flipInStore(t *testing.T, data, stream string, marker []byte) {
	t.Helper()
	var blocks []string
	require.NoError(t, filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".blk") && strings.Contains(path, string(filepath.Separator)+stream+string(filepath.Separator)) {
			blocks = append(blocks, path)
		}
		return err
	}))
	require.NotEmpty(t, blocks, "no message block of %s under %s", stream, data)
	for _, path := range blocks {
		if flipInBlock(t, path, stream, marker) {
			return
		}
	}
	t.Fatalf("%q is in no message of %s", marker, stream)
}

// flipInBlock edits one block file: records are total_len(4) seq(8) ts(8)
// subj_len(2) subj [hdr_len(4) hdr] msg hash(8), the hash a HighwayHash-64
// keyed by SHA-256("<stream>-<block index>") over seq, ts, subj, hdr, msg.
func flipInBlock(t *testing.T, path, stream string, marker []byte) bool {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var index uint32
	_, err = fmt.Sscanf(filepath.Base(path), "%d.blk", &index)
	require.NoError(t, err)
	le := binary.LittleEndian
	for off := 0; off+22 <= len(b); {
		rl := le.Uint32(b[off:])
		hasHdr := rl&(1<<31) != 0
		n := int(rl &^ (1 << 31))
		if n < 22+8 || off+n > len(b) {
			return false
		}
		rec := b[off : off+n]
		slen := int(le.Uint16(rec[20:]))
		body := rec[22+slen : n-8] // [hdr_len hdr] msg
		if i := bytes.Index(body, marker); i >= 0 {
			body[i+len(marker)-1] ^= 0x01
			hashed := body
			if hasHdr {
				hashed = body[4:]
			}
			key := sha256.Sum256(fmt.Appendf(nil, "%s-%d", stream, index))
			h, err := highwayhash.New64(key[:])
			require.NoError(t, err)
			h.Write(rec[4:20])
			h.Write(rec[22 : 22+slen])
			h.Write(hashed)
			copy(rec[n-8:], h.Sum(nil))
			require.NoError(t, os.WriteFile(path, b, 0o600))
			return true
		}
		off += n
	}
	return false
}
