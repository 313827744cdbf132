package jetstream_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/checkpoint"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// runIssuer runs an issuer over store until the returned stop is called.
func runIssuer(t *testing.T, env *testEnv, store events.Store, signer *checkpoint.Signer) (*checkpoint.Issuer, func()) {
	t.Helper()
	log, err := jetstream.OpenCheckpoints(env.ctx, env.js, 1)
	require.NoError(t, err)
	iss := checkpoint.NewIssuer(checkpoint.IssuerConfig{Store: store, Log: log, Signer: signer, Interval: 20 * time.Millisecond, Logger: quietLogger()})
	ctx, cancel := context.WithCancel(env.ctx)
	done := make(chan error, 1)
	go func() { done <- iss.Run(ctx) }()
	stop := func() { cancel(); require.NoError(t, <-done) }
	return iss, stop
}

func newTestSigner(t *testing.T) *checkpoint.Signer {
	t.Helper()
	skey, err := checkpoint.GenerateKey("test-ledger")
	require.NoError(t, err)
	s, err := checkpoint.NewSigner(skey)
	require.NoError(t, err)
	return s
}

// rootOf returns the tree root of records.
func rootOf(recs []events.Record) []byte {
	tree := checkpoint.NewTree()
	for _, r := range recs {
		tree.Append(checkpoint.LeafHash(r.Data))
	}
	return tree.Root()
}

func TestCheckpointsAreIssuedStoredAndPublished(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	signer := newTestSigner(t)
	keys, err := checkpoint.NewVerifiers(signer.VerifierKey())
	require.NoError(t, err)
	witness := make(chan *nats.Msg, 16)
	sub, err := env.nc.ChanSubscribe(jetstream.CheckpointSubjects, witness)
	require.NoError(t, err)
	defer sub.Unsubscribe()

	cur := env.append(t, "acme", events.Cursor{}, testRecords("acme", events.Cursor{}, 5))
	env.append(t, "beta", events.Cursor{}, testRecords("beta", events.Cursor{}, 3))
	iss, stop := runIssuer(t, env, env.store, signer)
	cp, err := iss.Latest(env.ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, uint64(5), cp.Size)
	assert.Equal(t, rootOf(env.read(t, "acme")), cp.Root)
	assert.Equal(t, "test-ledger/ledger/acme", cp.Origin)

	select {
	case m := <-witness:
		got, err := keys.Open(m.Data)
		require.NoError(t, err, "a witness reads a signed note on %s", m.Subject)
		assert.Contains(t, []string{"acme", "beta"}, got.Tenant())
		assert.Equal(t, jetstream.CheckpointSubject(got.Tenant()), m.Subject)
	case <-time.After(5 * time.Second):
		t.Fatal("no checkpoint published")
	}

	// New events: the next checkpoint extends the last, provably.
	env.append(t, "acme", cur, testRecords("acme", cur, 2))
	next, err := iss.Latest(env.ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, uint64(7), next.Size)
	full := checkpoint.NewFullTree()
	for _, r := range env.read(t, "acme") {
		full.Append(checkpoint.LeafHash(r.Data))
	}
	hashes, err := full.Consistency(5, 7)
	require.NoError(t, err)
	require.NoError(t, (&checkpoint.ConsistencyProof{From: 5, To: 7, Hashes: hashes}).Verify(cp, next))
	stop()

	// A restart rebuilds the trees from the events and checks them.
	iss, stop = runIssuer(t, env, env.store, signer)
	defer stop()
	again, err := iss.Latest(env.ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, next.Note, again.Note, "nothing new: no new checkpoint")
	assert.NoError(t, iss.Damaged("acme"))
	assert.NoError(t, iss.Check("acme", nil, leavesOf(env.read(t, "acme"))))
}

func leavesOf(recs []events.Record) [][]byte {
	var out [][]byte
	for _, r := range recs {
		out = append(out, checkpoint.LeafHash(r.Data))
	}
	return out
}

func TestTheCheckpointStreamCannotBeEdited(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	log, err := jetstream.OpenCheckpoints(env.ctx, env.js, 1)
	require.NoError(t, err)
	require.NoError(t, log.Append(env.ctx, "acme", []byte("one")))
	require.NoError(t, log.Append(env.ctx, "acme", []byte("two")))
	latest, err := log.Latest(env.ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, "two", string(latest))
	none, err := log.Latest(env.ctx, "nobody")
	require.NoError(t, err)
	assert.Nil(t, none)
	tenants, err := log.Tenants(env.ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"acme"}, tenants)

	stream, err := env.js.Stream(env.ctx, jetstream.CheckpointStreamName)
	require.NoError(t, err)
	cfg := stream.CachedInfo().Config
	assert.True(t, cfg.DenyDelete)
	assert.True(t, cfg.DenyPurge)
	assert.Equal(t, int64(-1), cfg.MaxMsgsPerSubject)
	assert.Error(t, stream.DeleteMsg(env.ctx, 1))
	assert.Error(t, stream.Purge(env.ctx))
	changed := cfg
	changed.DenyDelete = false
	_, err = env.js.UpdateStream(env.ctx, changed)
	assert.Error(t, err)
	assert.Error(t, log.Append(env.ctx, "not a token", []byte("x")))
}

// alteredStore serves one tenant's events with a byte of one flipped, as a
// store whose file was edited would, checksum rewritten.
type alteredStore struct {
	events.Store
	tenant string
	seq    uint64
}

func (s alteredStore) alter(r events.Record) events.Record {
	if r.Tenant == s.tenant && r.Sequence == s.seq {
		r.Data = slices.Clone(r.Data)
		r.Data[len(r.Data)-1] ^= 1
	}
	return r
}

func (s alteredStore) Read(ctx context.Context, tenant string, after events.Cursor, fn func(events.Record) error) error {
	return s.Store.Read(ctx, tenant, after, func(r events.Record) error { return fn(s.alter(r)) })
}

func (s alteredStore) Subscribe(ctx context.Context, after events.Position, fn func(events.Record) error) error {
	return s.Store.Subscribe(ctx, after, func(r events.Record) error { return fn(s.alter(r)) })
}

func TestARestartFindsAHistoryThatNoLongerMatchesItsCheckpoint(t *testing.T) {
	env := startEnv(t, t.TempDir(), jetstream.StreamConfig{})
	signer := newTestSigner(t)
	env.append(t, "beta", events.Cursor{}, testRecords("beta", events.Cursor{}, 2))
	iss, stop := runIssuer(t, env, env.store, signer)
	var cur events.Cursor
	var before *checkpoint.Checkpoint
	for range 3 { // checkpoints of sizes 2, 4 and 6
		cur = env.append(t, "acme", cur, testRecords("acme", cur, 2))
		var err error
		before, err = iss.Latest(env.ctx, "acme")
		require.NoError(t, err)
	}
	_, err := iss.Latest(env.ctx, "beta")
	require.NoError(t, err)
	stop()

	iss, stop = runIssuer(t, env, alteredStore{Store: env.store, tenant: "acme", seq: 3}, signer)
	defer stop()
	after, err := iss.Latest(env.ctx, "acme")
	require.ErrorIs(t, err, checkpoint.ErrDamaged)
	// The latest checkpoint (size 6) finds it; the narrowing to the stored
	// checkpoint of size 4, below, may already have happened.
	assert.Regexp(t, "the checkpoint of tree size (6|4)", err.Error())
	assert.Equal(t, before.Note, after.Note, "a damaged tenant keeps its last checkpoint and gets no new one")
	_, err = iss.Latest(env.ctx, "beta")
	assert.NoError(t, err, "other tenants go on")
	require.Eventually(t, func() bool {
		return strings.Contains(fmt.Sprint(iss.Damaged("acme")), "one of sequences 3 to 4")
	}, 5*time.Second, 10*time.Millisecond, "the stored checkpoints narrow it down: %v", iss.Damaged("acme"))

	var m *checkpoint.Mismatch
	leaves := leavesOf(env.read(t, "acme"))
	leaves[2] = checkpoint.LeafHash([]byte("edited"))
	require.ErrorAs(t, iss.Check("acme", nil, leaves), &m, "the hook the ledger's loading calls")
	assert.Equal(t, uint64(1), m.From)
}
