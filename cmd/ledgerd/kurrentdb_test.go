package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/kurrentdb"
	"github.com/licensing-ledger/ledger/infra/kurrentdb/kurrentdbtest"
)

// TestAKurrentDBUserWithoutARightStopsTheStart: ledgerd refuses to start
// on a KurrentDB user that may not do what the ledger needs, saying which
// user and which right, rather than start and fail every command later.
func TestAKurrentDBUserWithoutARightStopsTheStart(t *testing.T) {
	srv := kurrentdbtest.Start(t, kurrentdbtest.WithUser("ledger", "secret", kurrentdbtest.Read|kurrentdbtest.Write))
	cfg, err := parseFlags([]string{"--store", "kurrentdb", "--kurrentdb-url", srv.ConnectionStringFor("ledger", "secret")})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = openKurrentDB(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.ErrorIs(t, err, kurrentdb.ErrAccessDenied)
	assert.Contains(t, err.Error(), `user "ledger" may not read $all`)
	assert.NotContains(t, err.Error(), "secret", "the password is not shown")
}

// TestKurrentDBMaxAppendFlag: --kurrentdb-max-append tells the store the
// node's MaxAppendSize; an append over it is refused before it is sent.
func TestKurrentDBMaxAppendFlag(t *testing.T) {
	srv := kurrentdbtest.Start(t)
	cfg, err := parseFlags([]string{"--store", "kurrentdb", "--kurrentdb-url", srv.ConnectionString(), "--kurrentdb-max-append", "2048"})
	require.NoError(t, err)
	assert.Equal(t, 2048, cfg.kurrentdbMaxAppend)
	store, err := openKurrentDB(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	defer store.Close()
	rec := events.Record{ID: "01KBHX4QWQ8T4N5C6Z4Y3J2M1A", Tenant: "acme", Type: "T", Sequence: 1, Data: make([]byte, 4096)}
	_, err = store.Append(t.Context(), "acme", events.Cursor{}, []events.Record{rec})
	require.ErrorIs(t, err, events.ErrTooLarge)
	assert.Contains(t, err.Error(), "2048")

	cfg, err = parseFlags([]string{"--store", "kurrentdb", "--kurrentdb-url", srv.ConnectionString()})
	require.NoError(t, err)
	assert.Equal(t, kurrentdb.DefaultMaxAppendSize, cfg.kurrentdbMaxAppend, "KurrentDB's own default")
}
