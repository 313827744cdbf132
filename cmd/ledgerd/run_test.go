package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/licensing-ledger/ledger/infra/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTheFirstStartLogsWhereTheTokenIsNotTheToken: the generated Global
// Administrator token is a secret; the log says which file holds it.
func TestTheFirstStartLogsWhereTheTokenIsNotTheToken(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	data := t.TempDir()
	_, err := loadAuth(config{data: data}, log)
	require.NoError(t, err)

	path := filepath.Join(data, "principals.json")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var f auth.File
	require.NoError(t, json.Unmarshal(raw, &f))
	require.Len(t, f.Principals, 1)
	token := f.Principals[0].Token
	require.NotEmpty(t, token)
	assert.NotContains(t, logs.String(), token, "the token is never logged")
	assert.NotContains(t, logs.String(), "token=", "no token attribute at all")
	assert.Contains(t, logs.String(), path, "the log says where the token is")
}
