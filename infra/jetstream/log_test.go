package jetstream_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// TestStoredMessageFormat reads an append back as the raw log message the
// package documents: one message on the tenant's subject, headers, and a
// body any protobuf reader decodes.
func TestStoredMessageFormat(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	c1 := env.append(t, "acme", events.Cursor{}, testRecords("acme", events.Cursor{}, 1))
	recs := testRecords("acme", c1, 3)
	recs[2].Data = nil
	cur := env.append(t, "acme", c1, recs)

	stream := env.logStream(t)
	require.EqualValues(t, 2, stream.CachedInfo().State.Msgs, "one message per append")
	msg, err := stream.GetMsg(env.ctx, uint64(cur.Position)>>16)
	require.NoError(t, err)
	require.Equal(t, "ledger-log.acme", msg.Subject)
	require.Empty(t, msg.Header.Values("Nats-Msg-Id"), "the sequence check makes an append once; no duplicate window")
	require.Equal(t, "2", msg.Header.Get("Ledger-Sequence"))
	require.Equal(t, "3", msg.Header.Get("Ledger-Count"))
	require.Equal(t, strconv.FormatUint(uint64(c1.Position)>>16, 10), msg.Header.Get("Nats-Expected-Last-Subject-Sequence"))
	require.Equal(t, recs, decodeBody(t, msg.Data, "acme", 2))
}

// TestEarlierMessagesWithMsgID reads log messages as earlier releases wrote
// them, with the first record's id as Nats-Msg-Id: they read as before, and
// one whose header names another id than its first record is refused.
func TestEarlierMessagesWithMsgID(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	recs := testRecords("acme", events.Cursor{}, 2)
	code, _ := env.rawAppend(t, earlierLogMsg("acme", recs[0].ID, 0, recs))
	require.Zero(t, code)
	requireSameRecords(t, recs, env.read(t, "acme"))
	more := testRecords("acme", recs[1].Cursor(), 1)
	env.append(t, "acme", env.read(t, "acme")[1].Cursor(), more)
	requireSameRecords(t, append(recs, more...), env.read(t, "acme"))

	other := testRecords("globex", events.Cursor{}, 1)
	code, _ = env.rawAppend(t, earlierLogMsg("globex", "01J00000000000000000000000", 0, other))
	require.Zero(t, code)
	err := env.store.Read(env.ctx, "globex", events.Cursor{}, func(events.Record) error { return nil })
	require.ErrorContains(t, err, "does not match the headers")
}

// earlierLogMsg builds a log message as earlier releases did, with msgID
// as its Nats-Msg-Id.
func earlierLogMsg(tenant, msgID string, expectSeq uint64, recs []events.Record) *nats.Msg {
	msg := nats.NewMsg(jetstream.LogSubject(tenant))
	msg.Header.Set("Nats-Msg-Id", msgID)
	msg.Header.Set("Nats-Expected-Last-Subject-Sequence", strconv.FormatUint(expectSeq, 10))
	msg.Header.Set(jetstream.LedgerSequenceHeader, strconv.FormatUint(recs[0].Sequence, 10))
	msg.Header.Set(jetstream.CountHeader, strconv.Itoa(len(recs)))
	for _, r := range recs {
		var frame []byte
		frame = protowire.AppendTag(frame, 1, protowire.BytesType)
		frame = protowire.AppendString(frame, r.ID)
		frame = protowire.AppendTag(frame, 2, protowire.BytesType)
		frame = protowire.AppendString(frame, r.Type)
		frame = protowire.AppendTag(frame, 3, protowire.BytesType)
		frame = protowire.AppendBytes(frame, r.Data)
		msg.Data = protowire.AppendTag(msg.Data, 1, protowire.BytesType)
		msg.Data = protowire.AppendBytes(msg.Data, frame)
	}
	return msg
}

// decodeBody decodes a log message body by the documented schema alone.
func decodeBody(t *testing.T, body []byte, tenant string, firstSeq uint64) []events.Record {
	t.Helper()
	var out []events.Record
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		require.Positive(t, n)
		require.Equal(t, protowire.Number(1), num)
		require.Equal(t, protowire.BytesType, typ)
		frame, m := protowire.ConsumeBytes(body[n:])
		require.Positive(t, m)
		body = body[n+m:]
		rec := events.Record{Tenant: tenant, Sequence: firstSeq + uint64(len(out))}
		for len(frame) > 0 {
			num, _, n := protowire.ConsumeTag(frame)
			v, m := protowire.ConsumeBytes(frame[n:])
			require.Positive(t, m)
			frame = frame[n+m:]
			switch num {
			case 1:
				rec.ID = string(v)
			case 2:
				rec.Type = string(v)
			case 3:
				if len(v) > 0 {
					rec.Data = v
				}
			}
		}
		out = append(out, rec)
	}
	return out
}

// TestPositions pins the position of each record: stream sequence << 16,
// and the append's records numbered so that the last is 0xFFFF.
func TestPositions(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	c1 := env.append(t, "acme", events.Cursor{}, testRecords("acme", events.Cursor{}, 1))
	env.append(t, "globex", events.Cursor{}, testRecords("globex", events.Cursor{}, 2))
	c3 := env.append(t, "acme", c1, testRecords("acme", c1, 3))

	require.Equal(t, events.Position(1<<16|0xFFFF), c1.Position)
	require.Equal(t, events.Position(3<<16|0xFFFF), c3.Position)
	got := env.read(t, "acme")
	want := []events.Position{1<<16 | 0xFFFF, 3<<16 | 0xFFFD, 3<<16 | 0xFFFE, 3<<16 | 0xFFFF}
	for i, r := range got {
		require.Equal(t, want[i], r.Position, "record %d", i)
	}
	require.Equal(t, c3.Position, env.head(t))
}

// TestCursorInsideAnAppend uses the cursor of a record that is not the last
// of its append: the stream goes on after it, so appending there conflicts;
// reading and subscribing from it re-read the append and skip up to it.
func TestCursorInsideAnAppend(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	cur := env.append(t, "acme", events.Cursor{}, testRecords("acme", events.Cursor{}, 3))
	all := env.read(t, "acme")
	inside := all[0].Cursor()

	_, err := env.store.Append(env.ctx, "acme", inside, testRecords("acme", inside, 1))
	require.ErrorIs(t, err, events.ErrConflict)
	require.Equal(t, cur.Position, env.head(t), "nothing stored")

	var read []events.Record
	require.NoError(t, env.store.Read(env.ctx, "acme", inside, func(r events.Record) error {
		read = append(read, r)
		return nil
	}))
	require.Equal(t, all[1:], read)

	got := make(chan events.Record, 10)
	go func() {
		_ = env.store.Subscribe(t.Context(), inside.Position, func(r events.Record) error {
			got <- r
			return nil
		})
	}()
	require.Equal(t, all[1], receive(t, got))
	require.Equal(t, all[2], receive(t, got))
}

// receive waits for the next record a subscription delivers.
func receive(t *testing.T, ch <-chan events.Record) events.Record {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no record delivered")
		return events.Record{}
	}
}

func TestAppendRefusesMoreThanMaxAppend(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	_, err := env.store.Append(env.ctx, "acme", events.Cursor{}, testRecords("acme", events.Cursor{}, jetstream.MaxAppend+1))
	require.ErrorContains(t, err, "at most 65535")
	require.NotErrorIs(t, err, events.ErrConflict)
	require.Equal(t, events.Position(0), env.head(t))

	recs := testRecords("acme", events.Cursor{}, jetstream.MaxAppend)
	cur := env.append(t, "acme", events.Cursor{}, recs)
	require.Equal(t, events.Position(1<<16|0xFFFF), cur.Position)
	got := env.read(t, "acme")
	require.Len(t, got, jetstream.MaxAppend)
	require.Equal(t, events.Position(1<<16|1), got[0].Position)
}

// TestPayloadLimit appends as much as one message takes, on the embedded
// server's 8 MiB and on a server keeping NATS's default 1 MiB, as an
// external NATS may: a larger append is refused before it is sent.
func TestPayloadLimit(t *testing.T) {
	for name, limit := range map[string]int32{"embedded default": 0, "1 MiB": 1 << 20} {
		t.Run(name, func(t *testing.T) {
			env := startEnvWith(t, jetstream.EmbeddedConfig{StoreDir: t.TempDir(), MaxPayload: limit}, jetstream.StreamConfig{})
			max := int(env.nc.MaxPayload())
			if limit == 0 {
				require.Equal(t, jetstream.DefaultMaxPayload, max)
			}
			fits := recordsOfSize("acme", events.Cursor{}, 4, max-2048)
			cur := env.append(t, "acme", events.Cursor{}, fits)
			requireSameRecords(t, fits, env.read(t, "acme"))

			tooLarge := recordsOfSize("acme", cur, 4, max)
			_, err := env.store.Append(env.ctx, "acme", cur, tooLarge)
			require.ErrorIs(t, err, jetstream.ErrTooLarge)
			require.ErrorContains(t, err, "at most")
			require.NotErrorIs(t, err, events.ErrConflict)
			require.NotErrorIs(t, err, events.ErrUnavailable)
			require.Equal(t, cur.Position, env.head(t), "nothing stored")
		})
	}
}

// recordsOfSize makes n records whose data adds up to size bytes.
func recordsOfSize(tenant string, after events.Cursor, n, size int) []events.Record {
	recs := testRecords(tenant, after, n)
	for i := range recs {
		recs[i].Data = make([]byte, size/n)
	}
	return recs
}

// TestLogCannotBeEdited checks the log's configuration, and that the
// server refuses to delete its messages, purge it, or be reconfigured to
// allow either.
func TestLogCannotBeEdited(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	env.append(t, "acme", events.Cursor{}, testRecords("acme", events.Cursor{}, 2))
	stream := env.logStream(t)
	cfg := stream.CachedInfo().Config
	require.Equal(t, []string{"ledger-log.*"}, cfg.Subjects)
	require.Equal(t, natsjs.FileStorage, cfg.Storage)
	require.Equal(t, natsjs.DiscardNew, cfg.Discard)
	require.True(t, cfg.AllowDirect)
	require.True(t, cfg.DenyDelete)
	require.True(t, cfg.DenyPurge)

	require.Error(t, stream.DeleteMsg(env.ctx, 1))
	require.Error(t, stream.SecureDeleteMsg(env.ctx, 1))
	require.Error(t, stream.Purge(env.ctx))
	for _, allow := range []func(*natsjs.StreamConfig){
		func(c *natsjs.StreamConfig) { c.DenyDelete = false },
		func(c *natsjs.StreamConfig) { c.DenyPurge = false },
	} {
		changed := cfg
		allow(&changed)
		_, err := env.js.UpdateStream(env.ctx, changed)
		require.Error(t, err)
	}
	require.Len(t, env.read(t, "acme"), 2)
}

// TestStoreWritesOnlyTheLog: publication is the forwarder's, so the store
// neither creates nor fills the public stream.
func TestStoreWritesOnlyTheLog(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	env.append(t, "acme", events.Cursor{}, testRecords("acme", events.Cursor{}, 2))
	_, err := env.js.Stream(env.ctx, jetstream.StreamName)
	require.ErrorIs(t, err, natsjs.ErrStreamNotFound)
}
