package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/checkpoint"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// TestTheAuditorsRoutine runs the auditor's routine of docs/AUDIT.md with
// the real binaries: get the key, keep a checkpoint, verify the export
// against it; the history grows, survives a restart, and the next
// checkpoint still extends the kept one. Witnesses on the NATS port
// receive every checkpoint. The same on either event store: the
// checkpoints live in NATS for both.
func TestTheAuditorsRoutine(t *testing.T) {
	for _, store := range eventStores {
		t.Run(store.name, func(t *testing.T) { auditorsRoutine(t, store) })
	}
}

func auditorsRoutine(t *testing.T, store eventStore) {
	l := startAuditLedgerd(t, append(store.args(t), "--checkpoint-interval", "100ms")...)
	ctl := buildLedgerctl(t, l)
	witness := make(chan *nats.Msg, 64)
	nc, err := nats.Connect(l.NATS)
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.ChanSubscribe(jetstream.CheckpointSubjects, witness)
	require.NoError(t, err)
	require.NoError(t, nc.Flush())
	playAuditedTenant(t, l)

	info, err := os.Stat(filepath.Join(l.data, "checkpoint.key"))
	require.NoError(t, err, "the signing key lives in the data directory")
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	dir := t.TempDir()
	key, kept, file := filepath.Join(dir, "ledger.pub"), filepath.Join(dir, "first.checkpoint"), filepath.Join(dir, "contoso.ndjson")
	ctl.ok(t, "key", "--out", key)
	ctl.ok(t, "checkpoint", "--tenant", tenant, "--key", key, "--out", kept)
	ctl.ok(t, "export", "--tenant", tenant, "--out", file)
	v := ctl.ok(t, "verify", file, "--key", key, "--checkpoint", kept)
	assert.Contains(t, v.stdout, "signed: licensing-ledger/ledger/contoso")

	select {
	case m := <-witness:
		keys, err := checkpoint.NewVerifiers(strings.TrimSpace(readFile(t, key)))
		require.NoError(t, err)
		cp, err := keys.Open(m.Data)
		require.NoError(t, err, "a witness reads the signed note")
		assert.Equal(t, "ledger-checkpoints."+cp.Tenant(), m.Subject)
	case <-time.After(10 * time.Second):
		t.Fatal("no checkpoint reached the NATS port")
	}

	l.restart()
	l.mustCommand(t, adminToken, tenant, "AssignLicense", `{"productId":"SPB","userIds":["carol"]}`)
	next := filepath.Join(dir, "next.checkpoint")
	r := ctl.ok(t, "checkpoint", "--tenant", tenant, "--key", key, "--checkpoint", kept, "--out", next)
	assert.Contains(t, r.stderr, "it extends the kept checkpoint")
	live := ctl.ok(t, "verify", "--tenant", tenant, "--key", key, "--checkpoint", kept, "--checkpoint", next)
	assert.Contains(t, live.stdout, "OK: tenant contoso")
	events := exportLines(t, file)
	p := ctl.ok(t, "prove", events[3], "--tenant", tenant, "--checkpoint", next, "--key", key)
	assert.Contains(t, p.stdout, "OK: event "+events[3]+" (sequence 4)")
	assert.NotContains(t, l.log(), "does not match", "the restart found the history as signed")
}

// TestWithoutTheKeyNothingVerifies: a tampered export whose forger
// recomputed the chain passes the chain alone, never the signed check.
func TestWithoutTheKeyNothingVerifies(t *testing.T) {
	l := startAuditLedgerd(t)
	ctl := buildLedgerctl(t, l)
	playAuditedTenant(t, l)
	dir := t.TempDir()
	key, file := filepath.Join(dir, "ledger.pub"), filepath.Join(dir, "contoso.ndjson")
	ctl.ok(t, "key", "--out", key)
	ctl.ok(t, "export", "--tenant", tenant, "--out", file)
	lines := strings.SplitAfter(readFile(t, file), "\n")
	cut := filepath.Join(dir, "cut.ndjson")
	require.NoError(t, os.WriteFile(cut, []byte(strings.Join(lines[1:len(lines)-2], "")), 0o600))
	assert.Equal(t, 0, ctl.run(t, "verify", cut).code, "the chain alone cannot tell a cut tail")
	r := ctl.run(t, "verify", cut, "--key", key)
	assert.Equal(t, 3, r.code)
	assert.Contains(t, r.stderr, "unsigned: the export holds")
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// exportLines returns the event ids of an export, in order.
func exportLines(t *testing.T, path string) []string {
	t.Helper()
	var ids []string
	for _, l := range strings.Split(strings.TrimSpace(readFile(t, path)), "\n") {
		var line struct{ ID string }
		require.NoError(t, json.Unmarshal([]byte(l), &line))
		if line.ID != "" {
			ids = append(ids, line.ID)
		}
	}
	require.NotEmpty(t, ids, fmt.Sprintf("no events in %s", path))
	return ids
}
