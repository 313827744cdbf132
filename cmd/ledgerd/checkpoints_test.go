package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckpointFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"--data", "/var/lib/ledger"})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join("/var/lib/ledger", "checkpoint.key"), checkpointKeyFile(cfg), "beside the principals file")
	assert.Equal(t, "licensing-ledger", cfg.checkpointOrigin)
	assert.Equal(t, time.Second, cfg.checkpointInterval)

	cfg, err = parseFlags([]string{"--checkpoint-key", "/run/secrets/ledger.key", "--checkpoint-origin", "ledger.example.com", "--checkpoint-interval", "5s"})
	require.NoError(t, err)
	assert.Equal(t, "/run/secrets/ledger.key", checkpointKeyFile(cfg))
	assert.Equal(t, 5*time.Second, cfg.checkpointInterval)

	for _, bad := range [][]string{
		{"--checkpoint-origin", "my ledger"},
		{"--checkpoint-origin", "a+b"},
		{"--checkpoint-origin", ""},
		{"--checkpoint-interval", "0s"},
	} {
		_, err := parseFlags(bad)
		assert.Error(t, err, "%q", bad)
	}
}
