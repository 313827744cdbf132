package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/licensing-ledger/ledger/infra/auth"
	"github.com/stretchr/testify/require"
)

// tokenFor is the bearer token of a principal a suite adds to the auth file.
func tokenFor(id string) string { return "tok-" + id + "-0123456789abcdef" }

// member is an ordinary user of a tenant, with tokenFor(id) as token.
func member(id, tenantID string) auth.Entry {
	return auth.Entry{ID: id, Tenant: tenantID, Token: tokenFor(id)}
}

// principalsFile writes an auth file holding the harness's principals and
// extra, and returns its path for ledgerd's --auth-file (the last one given
// wins over the harness's own).
func principalsFile(t *testing.T, extra ...auth.Entry) string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(writeAuthFile(t, dir))
	require.NoError(t, err)
	var f auth.File
	require.NoError(t, json.Unmarshal(data, &f))
	f.Principals = append(f.Principals, extra...)
	data, err = json.Marshal(f)
	require.NoError(t, err)
	path := filepath.Join(dir, "suite-principals.json")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}
