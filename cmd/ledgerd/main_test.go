package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStoreFlags(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		store string
		fails bool
	}{
		{name: "JetStreamByDefault", store: storeJetStream},
		{name: "KurrentDB", args: []string{"--store", "kurrentdb", "--kurrentdb-url", "esdb://localhost:2113?tls=false"}, store: storeKurrentDB},
		{name: "KurrentDBNeedsAURL", args: []string{"--store", "kurrentdb"}, fails: true},
		{name: "URLNeedsKurrentDB", args: []string{"--kurrentdb-url", "esdb://localhost:2113"}, fails: true},
		{name: "UnknownStore", args: []string{"--store", "postgres"}, fails: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseFlags(tc.args)
			if tc.fails {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.store, cfg.store)
		})
	}
}

func TestRedactHidesCredentials(t *testing.T) {
	assert.Equal(t, "esdb://***@db1:2113,db2:2113?tls=true", redact("esdb://admin:changeit@db1:2113,db2:2113?tls=true"))
	assert.Equal(t, "esdb://localhost:2113?tls=false", redact("esdb://localhost:2113?tls=false"))
}

func TestCommandTimeoutFlag(t *testing.T) {
	cfg, err := parseFlags(nil)
	require.NoError(t, err)
	assert.Equal(t, 5*time.Second, cfg.commandTimeout, "the default")
	cfg, err = parseFlags([]string{"--command-timeout", "750ms"})
	require.NoError(t, err)
	assert.Equal(t, 750*time.Millisecond, cfg.commandTimeout)
	for _, bad := range []string{"0s", "-1s"} {
		_, err = parseFlags([]string{"--command-timeout", bad})
		assert.ErrorContains(t, err, "--command-timeout", bad)
	}
}

func TestNATSUsersFlag(t *testing.T) {
	cfg, err := parseFlags([]string{"--nats-users", "users.json"})
	require.NoError(t, err)
	assert.Equal(t, "users.json", cfg.nats.users)
	_, err = parseFlags([]string{"--nats-users", "users.json", "--nats-url", "nats://nats:4222"})
	require.ErrorContains(t, err, "--nats-users sets the embedded server")
}

func TestNATSPasswordFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "password")
	require.NoError(t, os.WriteFile(path, []byte("s3cret-from-a-file\n"), 0o600))
	cfg, err := parseFlags([]string{"--nats-url", "nats://nats:4222", "--nats-user", "ledger", "--nats-password-file", path})
	require.NoError(t, err)
	assert.Equal(t, "s3cret-from-a-file", cfg.nats.password, "the file's content, without its newline")

	_, err = parseFlags([]string{"--nats-url", "nats://nats:4222", "--nats-password-file", path})
	assert.ErrorContains(t, err, "add --nats-user")
	_, err = parseFlags([]string{"--nats-url", "nats://nats:4222", "--nats-user", "ledger", "--nats-password-file", path + ".missing"})
	assert.ErrorContains(t, err, "--nats-password-file")
	require.NoError(t, os.WriteFile(path, []byte("\n"), 0o600))
	_, err = parseFlags([]string{"--nats-url", "nats://nats:4222", "--nats-user", "ledger", "--nats-password-file", path})
	assert.ErrorContains(t, err, "is empty")
}

func TestKurrentDBURLFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "url")
	require.NoError(t, os.WriteFile(path, []byte("esdb://ledger:s3cret@kurrentdb:2113?tls=true\n"), 0o600))
	cfg, err := parseFlags([]string{"--store", "kurrentdb", "--kurrentdb-url-file", path})
	require.NoError(t, err)
	assert.Equal(t, "esdb://ledger:s3cret@kurrentdb:2113?tls=true", cfg.kurrentdbURL)

	_, err = parseFlags([]string{"--store", "kurrentdb", "--kurrentdb-url-file", path, "--kurrentdb-url", "esdb://x:2113"})
	assert.ErrorContains(t, err, "choose one")
	_, err = parseFlags([]string{"--store", "kurrentdb", "--kurrentdb-url-file", path + ".missing"})
	assert.ErrorContains(t, err, "--kurrentdb-url-file")
}
