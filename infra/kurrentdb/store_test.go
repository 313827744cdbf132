package kurrentdb_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/events/storetest"
	"github.com/licensing-ledger/ledger/infra/kurrentdb"
	"github.com/licensing-ledger/ledger/infra/kurrentdb/kurrentdbtest"
)

// TestConformanceInProcess runs the event store conformance suite against
// the in-process KurrentDB stand-in: each case gets a fresh server, and
// each open() a new store (with its own client) over that server.
func TestConformanceInProcess(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() events.Store {
		srv := kurrentdbtest.Start(t)
		return func() events.Store { return open(t, srv.ConnectionString()) }
	})
}

// TestConformanceKurrentDB runs the suite against the KurrentDB node at
// $KURRENTDB_URL, an esdb connection string such as
// "esdb://localhost:2113?tls=false". A node can't be emptied between cases,
// so each case gets its own stream prefix, which hides every other case's
// streams from its stores.
func TestConformanceKurrentDB(t *testing.T) {
	url := os.Getenv("KURRENTDB_URL")
	if url == "" {
		t.Skip("KURRENTDB_URL is not set: set it to an esdb connection string, e.g. esdb://localhost:2113?tls=false, to run the suite against a real KurrentDB")
	}
	storetest.Run(t, func(t *testing.T) func() events.Store {
		prefix := uniquePrefix()
		return func() events.Store { return open(t, url, kurrentdb.WithStreamPrefix(prefix)) }
	})
}

// uniquePrefix returns a stream prefix no other test run uses, and that no
// other prefix starts with.
func uniquePrefix() string {
	return fmt.Sprintf("ledgertest%s-", strings.ToLower(ulid.Make().String()))
}

// open opens a store for the test, logging warnings and errors to it.
func open(t *testing.T, connectionString string, opts ...kurrentdb.Option) *kurrentdb.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts = append([]kurrentdb.Option{kurrentdb.WithLogger(testLogger(t))}, opts...)
	store, err := kurrentdb.Open(ctx, connectionString, opts...)
	require.NoError(t, err)
	return store
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// rawClient connects to the server with the esdb client alone, to look at
// what the store wrote or to write what the store never would.
func rawClient(t *testing.T, srv *kurrentdbtest.InProcessServer) *esdb.Client {
	t.Helper()
	config, err := esdb.ParseConnectionString(srv.ConnectionString())
	require.NoError(t, err)
	config.Logger = esdb.NoopLogging()
	client, err := esdb.NewClient(config)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// readRaw returns the events of a stream as the node keeps them.
func readRaw(t *testing.T, client *esdb.Client, stream string) []*esdb.RecordedEvent {
	t.Helper()
	rs, err := client.ReadStream(t.Context(), stream, esdb.ReadStreamOptions{}, 100)
	require.NoError(t, err)
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, ev.OriginalEvent())
	}
}

// appendRaw writes an event the store did not write.
func appendRaw(t *testing.T, client *esdb.Client, stream string, eventType string) {
	t.Helper()
	_, err := client.AppendToStream(t.Context(), stream, esdb.AppendToStreamOptions{},
		esdb.EventData{EventID: uuid.New(), EventType: eventType, Data: []byte("foreign")})
	require.NoError(t, err)
}

// newRecords makes n records of the tenant following the cursor.
func newRecords(tenant string, after events.Cursor, n int) []events.Record {
	recs := make([]events.Record, n)
	for i := range recs {
		recs[i] = events.Record{
			ID:       ulid.Make().String(),
			Tenant:   tenant,
			Type:     "SeatAdded",
			Sequence: after.Sequence + uint64(i) + 1,
			Data:     fmt.Appendf(nil, "record %d", i),
		}
	}
	return recs
}

// testContext bounds a test's store calls.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
