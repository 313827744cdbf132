package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/audit/audittest"
	"github.com/licensing-ledger/ledger/events"
)

// result is what one run of ledgerctl did.
type result struct {
	code   int
	stdout string
	stderr string
}

// ctl runs ledgerctl in process against the API, as the auditor whose
// token is in LEDGER_TOKEN.
func ctl(t *testing.T, api *audittest.API, token string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	vars := map[string]string{"LEDGER_TOKEN": token, "LEDGER_TENANT": "contoso"}
	if api != nil {
		vars["LEDGER_SERVER"] = api.URL
	}
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
	code := run(context.Background(), args, e)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func TestExportThenVerifyOffline(t *testing.T) {
	api := audittest.StartAPI(t, nil)
	file := filepath.Join(t.TempDir(), "contoso.ndjson")
	r := ctl(t, api, audittest.ReaderToken, "export", "--out", file)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "58 events of tenant contoso written to "+file)
	assert.Empty(t, r.stdout)

	v := ctl(t, nil, "", "verify", file)
	require.Equal(t, exitOK, v.code, v.stderr)
	assert.Contains(t, v.stdout, "OK: tenant contoso, 58 events, sequence 1 to 58")
	head := strings.Fields(strings.SplitN(v.stdout, "head sha256 ", 2)[1])[0]
	assert.Contains(t, r.stderr, head, "export and verify agree on the head")
	kept := ctl(t, nil, "", "verify", file, "--head", head)
	assert.Equal(t, exitOK, kept.code)
	assert.Contains(t, kept.stdout, "the kept head is the event of sequence 58")
}

func TestVerifyNamesTheTamperedEvent(t *testing.T) {
	api := audittest.StartAPI(t, nil)
	file := filepath.Join(t.TempDir(), "contoso.ndjson")
	require.Equal(t, exitOK, ctl(t, api, audittest.ReaderToken, "export", "--out", file).code)
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(data), "\n")
	tampered := filepath.Join(t.TempDir(), "tampered.ndjson")
	// lines[0] is the export's signed checkpoint: lines[10] is the tenth event.
	require.NoError(t, os.WriteFile(tampered, []byte(strings.Join(slices.Delete(slices.Clone(lines), 10, 11), "")), 0o600))

	r := ctl(t, nil, "", "verify", tampered)
	assert.Equal(t, exitBroken, r.code)
	eleventh := api.Scenario.Store.Records("contoso")[10].ID
	assert.Contains(t, r.stderr, "FAIL: line 11, event "+eleventh+" (sequence 11): missing: sequence 11 follows")

	cut := filepath.Join(t.TempDir(), "cut.ndjson")
	require.NoError(t, os.WriteFile(cut, []byte(strings.Join(lines[:40], "")), 0o600))
	head := strings.Fields(strings.SplitN(ctl(t, nil, "", "verify", file).stdout, "head sha256 ", 2)[1])[0]
	r = ctl(t, nil, "", "verify", cut, "--head", head)
	assert.Equal(t, exitBroken, r.code)
	assert.Contains(t, r.stderr, "truncated")
}

func TestVerifyTheLiveStore(t *testing.T) {
	api := audittest.StartAPI(t, nil)
	r := ctl(t, api, audittest.AdminToken, "verify", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"events": 58`)

	r = ctl(t, api, audittest.AdminToken, "verify", "--head", strings.Repeat("0", 64))
	assert.Equal(t, exitBroken, r.code)
}

func TestAnIncompleteExportIsNeitherKeptNorVerified(t *testing.T) {
	api := audittest.StartAPI(t, func(s *audittest.MemStore) events.Store {
		return &audittest.FlakyStore{MemStore: s, Repeat: 30, Err: errors.New("the disk is on fire")}
	})
	file := filepath.Join(t.TempDir(), "contoso.ndjson")
	r := ctl(t, api, audittest.ReaderToken, "export", "--out", file)
	assert.Equal(t, exitFailed, r.code)
	assert.Regexp(t, `the server stopped the export after \d+ events: internal error`, r.stderr, "the cause stays in the server's log")
	assert.NoFileExists(t, file)
	entries, err := os.ReadDir(filepath.Dir(file))
	require.NoError(t, err)
	assert.Empty(t, entries, "no partial file left behind")
}

func TestOnlineAndOfflineAnswersAgree(t *testing.T) {
	api := audittest.StartAPI(t, nil)
	file := filepath.Join(t.TempDir(), "contoso.ndjson")
	require.Equal(t, exitOK, ctl(t, api, audittest.ReaderToken, "export", "--out", file).code)
	for name, args := range map[string][]string{
		"state":        {"state", "--as-of", "2025-01-11T09:00:33Z", "--format", "json"},
		"state text":   {"state", "--as-of", "2025-01-09T12:00:00Z"},
		"history":      {"history", "--request", "req-pbi", "--format", "json"},
		"history text": {"history", "--user", "carol", "--from", "2025-01-08", "--to", "2025-01-12"},
		"seats":        {"report", "seats", "--from", "2025-01-06", "--to", "2025-01-12"},
		"activity":     {"report", "activity", "--from", "2025-01-06", "--to", "2025-01-12", "--format", "json"},
		"requests":     {"report", "requests", "--from", "2025-01-06", "--to", "2025-01-12"},
		"guests":       {"report", "guests", "--from", "2025-01-06", "--to", "2025-01-10"},
	} {
		t.Run(name, func(t *testing.T) {
			online := ctl(t, api, audittest.ReaderToken, args...)
			require.Equal(t, exitOK, online.code, online.stderr)
			offline := ctl(t, nil, "", append(args, "--file", file)...)
			require.Equal(t, exitOK, offline.code, offline.stderr)
			assert.Equal(t, online.stdout, offline.stdout)
			assert.NotEmpty(t, online.stdout)
		})
	}
}

func TestTextAnswersAreReadable(t *testing.T) {
	api := audittest.StartAPI(t, nil)
	st := ctl(t, api, audittest.ReaderToken, "state", "--as-of", "2025-01-08T09:00:18Z")
	require.Equal(t, exitOK, st.code, st.stderr)
	assert.Contains(t, st.stdout, "Tenant contoso as of 2025-01-08T09:00:18.000Z: 22 events")
	assert.Regexp(t, `SPB\s+Microsoft 365 Business Premium\s+13\s+2\s+11`, st.stdout)
	assert.Regexp(t, `carol\s+no\s+ENTERPRISEPACK\s+group sales`, st.stdout)
	assert.Regexp(t, `alice\s+no\s+SPB\s+direct\s+SWAY`, st.stdout)

	h := ctl(t, api, audittest.ReaderToken, "history", "--user", "bob")
	require.Equal(t, exitOK, h.code, h.stderr)
	assert.Contains(t, h.stdout, "History of user bob in tenant contoso: 12 changes")
	assert.Regexp(t, `LicenseAssigned\s+admin@contoso\s+ApproveRequest\s+cmd-\d+\s+request req-pbi`, h.stdout)
}

func TestReportToAFile(t *testing.T) {
	api := audittest.StartAPI(t, nil)
	file := filepath.Join(t.TempDir(), "seats.csv")
	r := ctl(t, api, audittest.ReaderToken, "report", "seats", "--from", "2025-01-08", "--to", "2025-01-08", "--out", file)
	require.Equal(t, exitOK, r.code, r.stderr)
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Contains(t, string(data), "2025-01-08,SPB,Microsoft 365 Business Premium,13,2,11\n")
}

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "Commands:"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"export", "extra"}, "unexpected arguments"},
		{[]string{"export", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"verify", "a", "b"}, "verify takes one file"},
		{[]string{"verify", "a", "--head", "abc"}, "--head must be a SHA-256 in hex"},
		{[]string{"history"}, "name exactly one of --user, --product, --subscription, --request, --group"},
		{[]string{"history", "--user", "a", "--group", "g"}, "name exactly one of"},
		{[]string{"history", "--user", "a", "--from", "soon"}, "--from: "},
		{[]string{"state", "--as-of", "yesterday"}, "--as-of must be an RFC 3339 instant"},
		{[]string{"state", "--format", "xml"}, "--format must be one of"},
		{[]string{"report", "nope"}, "name one report: NAME: activity, guests, requests, seats"},
		{[]string{"report", "seats", "--from", "2025-02-01", "--to", "2025-01-01"}, "ends"},
	} {
		r := ctl(t, nil, "x", c.args...)
		assert.Equal(t, exitUsage, r.code, "%q: %s", c.args, r.stderr)
		assert.Contains(t, r.stderr, c.want, "%q", c.args)
	}
	var out, errOut bytes.Buffer
	e := &env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	assert.Equal(t, exitUsage, run(context.Background(), []string{"export"}, e))
	assert.Contains(t, errOut.String(), "--tenant is required")
	assert.Equal(t, exitOK, run(context.Background(), []string{"help"}, e))
	assert.Equal(t, exitOK, run(context.Background(), []string{"state", "-h"}, e))
}

func TestServerRefusalsAreSaid(t *testing.T) {
	api := audittest.StartAPI(t, nil)
	r := ctl(t, api, audittest.LicenseAdminToken, "export")
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "the server answered 403 Forbidden: Forbidden: ListEvents needs the role GlobalAdministrator or GlobalReader")

	r = ctl(t, api, "not-a-token", "state")
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "401 Unauthorized")

	gone := audittest.StartAPI(t, nil)
	gone.Close()
	r = ctl(t, gone, audittest.ReaderToken, "state")
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "cannot reach ledgerd at "+gone.URL)

	r = ctl(t, nil, "", "state", "--file", filepath.Join(t.TempDir(), "missing.ndjson"))
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "no such file")
}
