package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/infra/auth"
	"github.com/licensing-ledger/ledger/internal/testbin"
)

// auditorToken is the token of auditor@contoso, a GlobalReader.
const auditorToken = "auditor-token-0123456789"

// snapshot is what the live query routes answered at one instant.
type snapshot struct {
	at    time.Time
	views map[string]any
}

// TestAuditEndToEnd plays a tenant's life against the real ledgerd,
// recording the live views after each step, then audits it as an auditor
// would: the state as of each recorded instant equals what the live views
// said then; ledgerctl exports, verifies (and catches tampering), and
// answers state, history and reports.
func TestAuditEndToEnd(t *testing.T) {
	l := startAuditLedgerd(t)
	ctl := buildLedgerctl(t, l)
	snaps := playAuditedTenant(t, l)

	t.Run("StateAsOfEachInstantEqualsTheLiveViewsThen", func(t *testing.T) {
		for i, s := range snaps {
			st := l.get(t, auditorToken, "/v1/tenants/contoso/state?asOf="+url.QueryEscape(s.at.Format(time.RFC3339Nano)))
			require.Equal(t, http.StatusOK, st.Status, string(st.Raw))
			requireSameState(t, s.views, st.Body, i)
		}
		before := l.get(t, auditorToken, "/v1/tenants/contoso/state?asOf="+url.QueryEscape(snaps[0].at.Add(-time.Hour).Format(time.RFC3339Nano)))
		assert.Empty(t, before.Body["products"], "nothing before the first event")
	})

	dir := t.TempDir()
	file := filepath.Join(dir, "contoso.ndjson")
	t.Run("ExportAndVerifyOffline", func(t *testing.T) {
		out := ctl.ok(t, "export", "--tenant", tenant, "--out", file)
		assert.Contains(t, out.stderr, "events of tenant contoso written to "+file)
		v := ctl.ok(t, "verify", file)
		assert.Contains(t, v.stdout, "OK: tenant contoso")
		head := headOf(t, v.stdout)
		live := ctl.ok(t, "verify", "--tenant", tenant, "--head", head)
		assert.Contains(t, live.stdout, head, "the live store ends where the export does")
	})

	t.Run("TamperingIsCaught", func(t *testing.T) {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		lines := strings.SplitAfter(string(data), "\n")
		// lines[0] is the export's signed checkpoint; lines[6] the sixth event.
		var l6 struct{ ID string }
		require.NoError(t, json.Unmarshal([]byte(lines[6]), &l6))
		tampered := filepath.Join(dir, "tampered.ndjson")
		require.NoError(t, os.WriteFile(tampered, []byte(strings.Join(append(lines[:6:6], lines[7:]...), "")), 0o600))
		r := ctl.run(t, "verify", tampered)
		assert.Equal(t, 3, r.code, "exit status 3: the history does not verify")
		assert.Contains(t, r.stderr, "FAIL: line 7")
		assert.Contains(t, r.stderr, "sequence 6 is missing")
	})

	t.Run("StateHistoryAndReportsThroughLedgerctl", func(t *testing.T) {
		s := snaps[len(snaps)/2]
		st := ctl.ok(t, "state", "--tenant", tenant, "--as-of", s.at.Format(time.RFC3339Nano), "--format", "json")
		var body map[string]any
		require.NoError(t, json.Unmarshal([]byte(st.stdout), &body))
		requireSameState(t, s.views, body, len(snaps)/2)
		offline := ctl.ok(t, "state", "--file", file, "--as-of", s.at.Format(time.RFC3339Nano), "--format", "json")
		assert.JSONEq(t, st.stdout, offline.stdout, "the export answers offline what the server answers")

		h := ctl.ok(t, "history", "--tenant", tenant, "--user", "bob")
		assert.Regexp(t, `LicenseAssigned\s+admin@contoso\s+ApproveRequest`, h.stdout)
		csv := ctl.ok(t, "report", "seats", "--tenant", tenant, "--from", time.Now().UTC().Format(time.DateOnly))
		assert.Contains(t, csv.stdout, "date,productId,productName,purchased,assigned,available\n")
		assert.Regexp(t, `\d{4}-\d\d-\d\d,SPB,Microsoft 365 Business Premium,13,3,10`, csv.stdout)
		activity := ctl.ok(t, "report", "activity", "--tenant", tenant, "--format", "json")
		assert.Contains(t, activity.stdout, `"action": "partially_approved"`)
	})

	t.Run("AuditorsOnlyRead", func(t *testing.T) {
		r := l.command(t, auditorToken, tenant, "AssignLicense", `{"productId":"SPB","userIds":["carol"]}`)
		assert.Equal(t, http.StatusForbidden, r.Status)
		r = l.get(t, aliceToken, "/v1/tenants/contoso/events")
		assert.Equal(t, http.StatusForbidden, r.Status)
		assert.Contains(t, r.Body["detail"], "GlobalReader")
	})

	t.Run("TheHistorySurvivesARestartAndGrowsFromTheKeptHead", func(t *testing.T) {
		v := ctl.ok(t, "verify", file)
		l.restart()
		l.mustCommand(t, adminToken, tenant, "AssignLicense", `{"productId":"SPB","userIds":["carol"]}`)
		live := ctl.ok(t, "verify", "--tenant", tenant, "--head", headOf(t, v.stdout))
		assert.Contains(t, live.stdout, "the kept head is the event of sequence")
		assert.NotContains(t, live.stdout, headOf(t, v.stdout), "the history went on")
	})
}

// playAuditedTenant runs the tenant's life step by step, recording the live
// views after each step and the instant they were read.
func playAuditedTenant(t *testing.T, l *ledgerd) []snapshot {
	steps := []struct{ name, body string }{
		{"RegisterUser", `{"userId":"alice","usageLocation":"US"}`},
		{"RegisterUser", `{"userId":"bob","usageLocation":"US"}`},
		{"RegisterUser", `{"userId":"carol","usageLocation":"FR"}`},
		{"RegisterUser", `{"userId":"dave","usageLocation":"US"}`},
		{"PurchaseSubscription", `{"subscriptionId":"sub-a","productId":"SPB","seats":5,"channel":"CHANNEL_DIRECT"}`},
		{"PurchaseSubscription", `{"subscriptionId":"sub-b","productId":"SPB","seats":8,"channel":"CHANNEL_PARTNER"}`},
		{"AssignLicense", `{"productId":"SPB","userIds":["dave","carol"],"disabledPlans":["SWAY"]}`},
		{"RevokeAssignment", `{"productId":"SPB","userIds":["carol"]}`},
		{"ChangeSeats", `{"subscriptionId":"sub-a","seats":3}`},
		{"ChangeSeats", `{"subscriptionId":"sub-a","seats":5}`},
	}
	var snaps []snapshot
	for _, s := range steps {
		l.mustCommand(t, adminToken, tenant, s.name, s.body)
		snaps = append(snaps, record(t, l))
	}
	req := l.mustCommand(t, aliceToken, tenant, "RequestLicense", `{"productId":"SPB","userIds":["bob","carol"]}`)
	snaps = append(snaps, record(t, l))
	id := req.Events()[0]["data"].(map[string]any)["requestId"].(string)
	l.mustCommand(t, adminToken, tenant, "ApproveRequest", `{"requestId":"`+id+`","approvedUserIds":["alice","bob"]}`)
	return append(snaps, record(t, l))
}

// record reads every live view, then notes the instant: no later event can
// have an earlier time, since the next command is sent after it.
func record(t *testing.T, l *ledgerd) snapshot {
	t.Helper()
	views := map[string]any{
		"products":      l.get(t, auditorToken, "/v1/tenants/contoso/licenses").Body["products"],
		"subscriptions": l.get(t, auditorToken, "/v1/tenants/contoso/subscriptions").Body["subscriptions"],
		"requests":      l.get(t, auditorToken, "/v1/tenants/contoso/requests").Body["requests"],
	}
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		if r := l.get(t, auditorToken, "/v1/tenants/contoso/users/"+u+"/licenses"); r.Status == http.StatusOK {
			views["user:"+u] = r.Body
		}
	}
	return snapshot{at: time.Now().UTC(), views: views}
}

// requireSameState requires a state answer to hold the recorded views.
func requireSameState(t *testing.T, views, state map[string]any, step int) {
	t.Helper()
	for _, k := range []string{"products", "subscriptions", "requests"} {
		require.Equal(t, views[k], state[k], "step %d: %s", step, k)
	}
	users := map[string]any{}
	for _, u := range state["users"].([]any) {
		users["user:"+u.(map[string]any)["userId"].(string)] = u
	}
	for k, v := range views {
		if strings.HasPrefix(k, "user:") {
			require.Equal(t, v, users[k], "step %d: %s", step, k)
			delete(users, k)
		}
	}
	require.Empty(t, users, "step %d: users the live views did not know", step)
}

// startAuditLedgerd starts ledgerd with the harness's principals and a
// GlobalReader, auditor@contoso.
func startAuditLedgerd(t *testing.T, extra ...string) *ledgerd {
	t.Helper()
	auditor := auth.Entry{ID: "auditor@contoso", Tenant: tenant, Roles: []string{"GlobalReader"}, Token: auditorToken}
	return startLedgerd(t, append([]string{"--auth-file", principalsFile(t, auditor)}, extra...)...) // the last --auth-file wins
}

// ledgerctl runs the real ledgerctl binary against one ledgerd.
type ledgerctl struct {
	bin string
	l   *ledgerd
}

// ctlResult is one run of ledgerctl.
type ctlResult struct {
	code           int
	stdout, stderr string
}

func buildLedgerctl(t *testing.T, l *ledgerd) *ledgerctl {
	t.Helper()
	bin, remove, err := testbin.Build("../cmd/ledgerctl")
	require.NoError(t, err)
	t.Cleanup(remove)
	return &ledgerctl{bin: bin, l: l}
}

// run runs ledgerctl as the auditor, with the token in the environment.
func (c *ledgerctl) run(t *testing.T, args ...string) ctlResult {
	t.Helper()
	cmd := exec.Command(c.bin, append(args, "--server", c.l.HTTP)...)
	cmd.Env = append(os.Environ(), "LEDGER_TOKEN="+auditorToken)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return ctlResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// ok runs ledgerctl and requires it to succeed.
func (c *ledgerctl) ok(t *testing.T, args ...string) ctlResult {
	t.Helper()
	r := c.run(t, args...)
	require.Equal(t, 0, r.code, "ledgerctl %q: %s", args, r.stderr)
	return r
}

// headOf returns the head hash verify printed.
func headOf(t *testing.T, out string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, "head sha256 ")
	require.True(t, ok, out)
	return strings.Fields(rest)[0]
}
