package kurrentdbtest

import (
	"bytes"
	"math"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests check the failures a real node answers with, as the esdb
// client reports them.

func TestAnAppendOverTheMaxAppendSizeIsRefusedWhole(t *testing.T) {
	srv := Start(t, WithMaxAppendSize(4096))
	client := newClient(t, srv)
	big := esdb.EventData{EventID: uuid.New(), EventType: "Big", Data: bytes.Repeat([]byte("x"), 3000)}
	again := esdb.EventData{EventID: uuid.New(), EventType: "Big", Data: bytes.Repeat([]byte("y"), 3000)}
	_, err := client.AppendToStream(testContext(t), "s", esdb.AppendToStreamOptions{}, big, again)
	require.Error(t, err)
	requireCode(t, err, esdb.ErrorCodeUnknown) // the client has no code for it
	_, err = readStream(t, client, "s", esdb.ReadStreamOptions{}, 10)
	require.Error(t, err, "nothing stored: the stream does not exist")

	appendEvents(t, client, "s", esdb.NoStream{}, big) // within the limit
}

func TestADefaultNodeTakesOneMebibyteAnAppend(t *testing.T) {
	client := newClient(t, Start(t))
	within := esdb.EventData{EventID: uuid.New(), EventType: "T", Data: make([]byte, DefaultMaxAppendSize-100)}
	appendEvents(t, client, "s", esdb.NoStream{}, within)
	over := esdb.EventData{EventID: uuid.New(), EventType: "T", Data: make([]byte, DefaultMaxAppendSize+1)}
	_, err := client.AppendToStream(testContext(t), "s", esdb.AppendToStreamOptions{}, over)
	require.Error(t, err)
}

func TestASoftDeletedStreamReadsAsNotFoundAndKeepsItsTruncation(t *testing.T) {
	client := newClient(t, Start(t))
	appendEvents(t, client, "s", esdb.NoStream{}, event("A", "1"), event("B", "2"))
	_, err := client.DeleteStream(testContext(t), "s", esdb.DeleteStreamOptions{})
	require.NoError(t, err)

	_, err = readStream(t, client, "s", esdb.ReadStreamOptions{}, 10)
	requireCode(t, err, esdb.ErrorCodeResourceNotFound)
	meta, err := client.GetStreamMetadata(testContext(t), "s", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}})
	require.NoError(t, err)
	require.NotNil(t, meta.TruncateBefore())
	assert.GreaterOrEqual(t, *meta.TruncateBefore(), uint64(math.MaxInt64), "the client reads $tb through a float64")
}

func TestATombstonedStreamIsDeletedForReadsAndAppends(t *testing.T) {
	client := newClient(t, Start(t))
	appendEvents(t, client, "s", esdb.NoStream{}, event("A", "1"))
	_, err := client.TombstoneStream(testContext(t), "s", esdb.TombstoneStreamOptions{})
	require.NoError(t, err)

	_, err = readStream(t, client, "s", esdb.ReadStreamOptions{}, 10)
	requireCode(t, err, esdb.ErrorCodeStreamDeleted)
	_, err = client.AppendToStream(testContext(t), "s", esdb.AppendToStreamOptions{}, event("B", "2"))
	requireCode(t, err, esdb.ErrorCodeStreamDeleted)
	all := readAll(t, client, esdb.ReadAllOptions{}, 10)
	require.Len(t, all, 2)
	assert.Equal(t, "$streamDeleted", all[1].EventType, "the tombstone is in $all")
	assert.Equal(t, uint64(math.MaxInt64), all[1].EventNumber)
}

func TestAccessControl(t *testing.T) {
	srv := Start(t, WithUser("admin", "changeit", Read|Write|ReadAll), WithUser("reader", "secret", Read))
	admin := connect(t, srv.ConnectionStringFor("admin", "changeit"))
	appendEvents(t, admin, "s", esdb.NoStream{}, event("A", "1"))
	readAll(t, admin, esdb.ReadAllOptions{}, 10)

	reader := connect(t, srv.ConnectionStringFor("reader", "secret"))
	evs, err := readStream(t, reader, "s", esdb.ReadStreamOptions{}, 10)
	require.NoError(t, err)
	assert.Len(t, evs, 1)
	_, err = reader.AppendToStream(testContext(t), "s", esdb.AppendToStreamOptions{})
	requireCode(t, err, esdb.ErrorCodeAccessDenied)
	// With events, the node refuses after the options, while the client may
	// still be sending: the client then reports only the end of the stream
	// (ErrorCodeUnknown, EOF). Either way nothing is stored.
	_, err = reader.AppendToStream(testContext(t), "s", esdb.AppendToStreamOptions{}, event("B", "2"))
	require.Error(t, err)
	evs, err = readStream(t, admin, "s", esdb.ReadStreamOptions{}, 10)
	require.NoError(t, err)
	assert.Len(t, evs, 1, "nothing stored")
	_, err = reader.ReadAll(testContext(t), esdb.ReadAllOptions{}, 10)
	if err == nil {
		_, err = drainAll(reader, t)
	}
	requireCode(t, err, esdb.ErrorCodeAccessDenied)

	stranger := connect(t, srv.ConnectionStringFor("admin", "wrong"))
	_, err = readStream(t, stranger, "s", esdb.ReadStreamOptions{}, 10)
	requireCode(t, err, esdb.ErrorCodeUnauthenticated)
}

func drainAll(client *esdb.Client, t *testing.T) ([]*esdb.RecordedEvent, error) {
	rs, err := client.ReadAll(testContext(t), esdb.ReadAllOptions{}, 10)
	if err != nil {
		return nil, err
	}
	return drain(rs)
}

func connect(t *testing.T, connectionString string) *esdb.Client {
	t.Helper()
	config, err := esdb.ParseConnectionString(connectionString)
	require.NoError(t, err)
	config.Logger = esdb.NoopLogging()
	client, err := esdb.NewClient(config)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func requireCode(t *testing.T, err error, code esdb.ErrorCode) {
	t.Helper()
	require.Error(t, err)
	var got *esdb.Error
	require.ErrorAs(t, err, &got)
	require.Equal(t, code, got.Code(), "%v", err)
}
