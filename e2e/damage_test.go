package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/audit"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// TestDamagedHistory flips a byte of one stored event in the commit log's
// files while ledgerd is stopped, as a failing disk would, then starts it
// again. The server drops the message whose checksum fails: the tenant's
// history has a gap. The damage is found once and logged once; the
// tenant's commands and views are refused at once with the code Damaged
// naming the first missing event, without reading the history again;
// /readyz names it; other tenants work; the tenant's auditor exports every event that is
// stored, with the damage in a trailer, and ledgerctl verify names it.
func TestDamagedHistory(t *testing.T) {
	l := startAuditLedgerd(t)
	ctl := buildLedgerctl(t, l)
	for i := range 6 {
		l.mustCommand(t, adminToken, tenant, "RegisterUser", fmt.Sprintf(`{"userId":"damaged-user-%d","usageLocation":"US"}`, i+1))
	}
	l.mustCommand(t, otherAdminTk, otherTenant, "RegisterUser", `{"userId":"elsewhere","usageLocation":"US"}`)
	l.stop()
	flipStoredByte(t, l.data, []byte("damaged-user-3"))
	l.start()

	start := time.Now()
	r := l.command(t, adminToken, tenant, "RegisterUser", `{"userId":"late","usageLocation":"US"}`)
	require.Equal(t, http.StatusInternalServerError, r.Status, "%s", r.Raw)
	assert.Equal(t, "Damaged", r.Code())
	assert.Contains(t, r.Body["detail"], "damaged at event 3")
	assert.Less(t, time.Since(start), 5*time.Second, "the damage is answered at once, not after a time out")
	for range 3 {
		v := l.get(t, adminToken, "/v1/tenants/"+tenant+"/licenses")
		assert.Equal(t, "Damaged", v.Code(), "%s", v.Raw)
	}
	assert.Equal(t, 1, strings.Count(l.log(), "history is damaged"), "found and logged once, not replayed per request:\n%s", l.log())
	requireNotReady(t, l, "history", "contoso at event 3", 5*time.Second)
	assert.Equal(t, http.StatusOK, l.get(t, "", "/healthz").Status, "alive all the same")
	other := l.command(t, otherAdminTk, otherTenant, "RegisterUser", `{"userId":"still-fine","usageLocation":"US"}`)
	assert.Equal(t, http.StatusOK, other.Status, "other tenants keep working: %s", other.Raw)

	t.Run("TheAuditorExportsWhatIsStored", func(t *testing.T) {
		lines, trailer := exportRaw(t, l, auditorToken)
		assert.Equal(t, 5, lines, "every stored event: six written, one lost")
		assert.Equal(t, "5", trailer.Get(audit.TrailerEventCount))
		assert.Contains(t, trailer.Get(audit.TrailerDamage), "sequence 3 is missing")

		file := filepath.Join(t.TempDir(), "contoso.ndjson")
		out := ctl.ok(t, "export", "--tenant", tenant, "--out", file)
		assert.Contains(t, out.stderr, "damaged")
		v := ctl.run(t, "verify", file)
		assert.NotEqual(t, 0, v.code)
		assert.Contains(t, v.stdout+v.stderr, "sequence 3 is missing")
		live := ctl.run(t, "verify", "--tenant", tenant)
		assert.NotEqual(t, 0, live.code)
		assert.Contains(t, live.stdout+live.stderr, "sequence 3 is missing")
	})
}

// flipStoredByte changes the last byte of needle's first occurrence in the
// commit log's message blocks under the data directory.
func flipStoredByte(t *testing.T, data string, needle []byte) {
	t.Helper()
	blocks, err := filepath.Glob(filepath.Join(data, "nats", "jetstream", "*", "streams", jetstream.LogStreamName, "msgs", "*.blk"))
	require.NoError(t, err)
	for _, blk := range blocks {
		b, err := os.ReadFile(blk)
		require.NoError(t, err)
		if i := bytes.Index(b, needle); i >= 0 {
			b[i+len(needle)-1] ^= 0x01
			require.NoError(t, os.WriteFile(blk, b, 0o600))
			return
		}
	}
	t.Fatalf("%q is in no block of %s", needle, data)
}

// exportRaw reads the tenant's export and returns its lines and trailers.
func exportRaw(t *testing.T, l *ledgerd, token string) (int, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.HTTP+"/v1/tenants/"+tenant+"/events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return countEventLines(t, body), resp.Trailer
}
