package kurrentdbtest

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests drive the server with the real esdb client, the way the
// adapter does, and check KurrentDB's semantics from the client's side.

func newClient(t *testing.T, srv *InProcessServer) *esdb.Client {
	t.Helper()
	config, err := esdb.ParseConnectionString(srv.ConnectionString())
	require.NoError(t, err)
	config.Logger = esdb.NoopLogging()
	client, err := esdb.NewClient(config)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func event(eventType, data string) esdb.EventData {
	return esdb.EventData{EventID: uuid.New(), EventType: eventType, Data: []byte(data)}
}

func appendEvents(t *testing.T, client *esdb.Client, stream string, expected esdb.ExpectedRevision, evs ...esdb.EventData) *esdb.WriteResult {
	t.Helper()
	res, err := client.AppendToStream(testContext(t), stream, esdb.AppendToStreamOptions{ExpectedRevision: expected}, evs...)
	require.NoError(t, err)
	return res
}

func readStream(t *testing.T, client *esdb.Client, stream string, opts esdb.ReadStreamOptions, count uint64) ([]*esdb.RecordedEvent, error) {
	t.Helper()
	rs, err := client.ReadStream(testContext(t), stream, opts, count)
	require.NoError(t, err)
	return drain(rs)
}

func readAll(t *testing.T, client *esdb.Client, opts esdb.ReadAllOptions, count uint64) []*esdb.RecordedEvent {
	t.Helper()
	rs, err := client.ReadAll(testContext(t), opts, count)
	require.NoError(t, err)
	evs, err := drain(rs)
	require.NoError(t, err)
	return evs
}

func drain(rs *esdb.ReadStream) ([]*esdb.RecordedEvent, error) {
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev.OriginalEvent())
	}
}

func TestAppendThenReadStreamGivesEventsWithRevisionsAndPositions(t *testing.T) {
	client := newClient(t, Start(t))
	first, second := event("Opened", "one"), event("Closed", "two")
	res := appendEvents(t, client, "orders-1", esdb.NoStream{}, first, second)
	assert.Equal(t, uint64(1), res.NextExpectedVersion)

	evs, err := readStream(t, client, "orders-1", esdb.ReadStreamOptions{}, 10)
	require.NoError(t, err)
	require.Len(t, evs, 2)
	assert.Equal(t, first.EventID, evs[0].EventID)
	assert.Equal(t, "Opened", evs[0].EventType)
	assert.Equal(t, "application/octet-stream", evs[0].ContentType)
	assert.Equal(t, []byte("one"), evs[0].Data)
	assert.Equal(t, uint64(0), evs[0].EventNumber)
	assert.Equal(t, uint64(1), evs[1].EventNumber)
	assert.WithinDuration(t, time.Now(), evs[0].CreatedDate, time.Minute)
	assert.Equal(t, evs[0].Position.Commit, evs[0].Position.Prepare)
	assert.Positive(t, evs[0].Position.Commit)
	assert.Greater(t, evs[1].Position.Commit, evs[0].Position.Commit+1, "positions are log offsets, with gaps")
	assert.Equal(t, evs[1].Position.Commit, res.CommitPosition, "the append reports the last event's position")
}

func TestReadStreamFromRevisionInBothDirections(t *testing.T) {
	client := newClient(t, Start(t))
	appendEvents(t, client, "s", esdb.NoStream{}, event("A", "0"), event("B", "1"), event("C", "2"))

	forwards, err := readStream(t, client, "s", esdb.ReadStreamOptions{From: esdb.Revision(1)}, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"B", "C"}, types(forwards))

	backwards, err := readStream(t, client, "s", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 2)
	require.NoError(t, err)
	assert.Equal(t, []string{"C", "B"}, types(backwards))

	past, err := readStream(t, client, "s", esdb.ReadStreamOptions{From: esdb.Revision(3)}, 10)
	require.NoError(t, err)
	assert.Empty(t, past)
}

func types(evs []*esdb.RecordedEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.EventType
	}
	return out
}

func TestReadingAStreamNeverWrittenIsNotFound(t *testing.T) {
	client := newClient(t, Start(t))
	_, err := readStream(t, client, "nobody", esdb.ReadStreamOptions{}, 10)
	var esErr *esdb.Error
	require.ErrorAs(t, err, &esErr)
	assert.Equal(t, esdb.ErrorCodeResourceNotFound, esErr.Code())
}

func TestWrongExpectedVersionReportsTheCurrentRevision(t *testing.T) {
	client := newClient(t, Start(t))
	appendEvents(t, client, "s", esdb.NoStream{}, event("A", ""), event("B", ""))

	for name, expected := range map[string]esdb.ExpectedRevision{
		"behind":    esdb.Revision(0),
		"ahead":     esdb.Revision(5),
		"no stream": esdb.NoStream{},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := client.AppendToStream(testContext(t), "s", esdb.AppendToStreamOptions{ExpectedRevision: expected}, event("C", ""))
			var esErr *esdb.Error
			require.ErrorAs(t, err, &esErr)
			assert.Equal(t, esdb.ErrorCodeWrongExpectedVersion, esErr.Code())
			assert.Contains(t, esErr.Error(), "but got '1'")
		})
	}

	_, err := client.AppendToStream(testContext(t), "new", esdb.AppendToStreamOptions{ExpectedRevision: esdb.StreamExists{}}, event("C", ""))
	assert.ErrorContains(t, err, "but got 'no_stream'")
}

func TestAppendingStoredEventIDsAgainIsIdempotent(t *testing.T) {
	client := newClient(t, Start(t))
	batch := []esdb.EventData{event("A", ""), event("B", "")}
	first := appendEvents(t, client, "s", esdb.NoStream{}, batch...)
	appendEvents(t, client, "s", esdb.Revision(1), event("C", ""))

	again := appendEvents(t, client, "s", esdb.NoStream{}, batch...)
	assert.Equal(t, first.NextExpectedVersion, again.NextExpectedVersion)
	assert.Equal(t, first.CommitPosition, again.CommitPosition)
	evs, err := readStream(t, client, "s", esdb.ReadStreamOptions{}, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"A", "B", "C"}, types(evs))

	_, err = client.AppendToStream(testContext(t), "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, batch[0], event("D", ""))
	assert.ErrorContains(t, err, "wrong expected version", "a batch that only starts like a stored one is no retry")
}

func TestReadAllFromAPositionIsInclusiveForwardsAndExclusiveBackwards(t *testing.T) {
	client := newClient(t, Start(t))
	appendEvents(t, client, "a", esdb.NoStream{}, event("A1", ""))
	appendEvents(t, client, "b", esdb.NoStream{}, event("B1", ""))
	appendEvents(t, client, "a", esdb.Revision(0), event("A2", ""))

	all := readAll(t, client, esdb.ReadAllOptions{}, 100)
	require.Equal(t, []string{"A1", "B1", "A2"}, types(all))
	middle := all[1].Position

	assert.Equal(t, []string{"B1", "A2"}, types(readAll(t, client, esdb.ReadAllOptions{From: middle}, 100)))
	assert.Equal(t, []string{"A1"}, types(readAll(t, client, esdb.ReadAllOptions{Direction: esdb.Backwards, From: middle}, 100)))
	assert.Equal(t, []string{"A2", "B1"}, types(readAll(t, client, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 2)))
}

func TestFilteredSubscriptionCatchesUpThenGoesLive(t *testing.T) {
	srv := Start(t)
	client := newClient(t, srv)
	appendEvents(t, client, "ledger-a", esdb.NoStream{}, event("A1", ""))
	appendEvents(t, client, "other", esdb.NoStream{}, event("O1", ""))
	appendEvents(t, client, "ledger-b", esdb.NoStream{}, event("B1", ""))

	sub, err := client.SubscribeToAll(testContext(t), esdb.SubscribeToAllOptions{
		From:   esdb.Start{},
		Filter: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"ledger-"}},
	})
	require.NoError(t, err)
	defer sub.Close()

	first := nextEvent(t, sub)
	assert.Equal(t, "A1", first.EventType)
	assert.Equal(t, "B1", nextEvent(t, sub).EventType)
	appendEvents(t, client, "other", esdb.Revision(0), event("O2", ""))
	appendEvents(t, client, "ledger-a", esdb.Revision(0), event("A2", ""))
	assert.Equal(t, "A2", nextEvent(t, sub).EventType)

	resumed, err := client.SubscribeToAll(testContext(t), esdb.SubscribeToAllOptions{
		From:   first.Position,
		Filter: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"ledger-"}},
	})
	require.NoError(t, err)
	defer resumed.Close()
	assert.Equal(t, "B1", nextEvent(t, resumed).EventType, "a subscription starts after its position")
}

// nextEvent skips checkpoints and caught-up notices to the next event.
func nextEvent(t *testing.T, sub *esdb.Subscription) *esdb.RecordedEvent {
	t.Helper()
	for {
		msg := sub.Recv()
		require.Nil(t, msg.SubscriptionDropped, "subscription dropped")
		if msg.EventAppeared != nil {
			return msg.EventAppeared.OriginalEvent()
		}
	}
}

func TestDropSubscriptionsEndsThemAsUnavailable(t *testing.T) {
	srv := Start(t)
	client := newClient(t, srv)
	sub, err := client.SubscribeToAll(testContext(t), esdb.SubscribeToAllOptions{From: esdb.Start{}})
	require.NoError(t, err)
	defer sub.Close()

	srv.DropSubscriptions()
	for {
		msg := sub.Recv()
		if msg.SubscriptionDropped != nil {
			assert.ErrorContains(t, msg.SubscriptionDropped.Error, "Unavailable")
			return
		}
	}
}

func TestRestartKeepsTheEvents(t *testing.T) {
	srv := Start(t)
	appendEvents(t, newClient(t, srv), "s", esdb.NoStream{}, event("A", ""))
	require.NoError(t, srv.Restart())

	evs, err := readStream(t, newClient(t, srv), "s", esdb.ReadStreamOptions{}, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"A"}, types(evs))
}
