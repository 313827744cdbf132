package storetest

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/checkpoint"
	"github.com/licensing-ledger/ledger/checkpoint/checkpointtest"
	"github.com/licensing-ledger/ledger/events"
)

// checkpointsCoverTheStore: the checkpoint issuer (L8) runs over any store
// and signs, for each tenant, the root of the tree of its events as the
// store reads them; the next checkpoint provably extends the last, and a
// store reopened gives the trees back as signed.
func checkpointsCoverTheStore(f *fixture) {
	skey, err := checkpoint.GenerateKey("storetest")
	require.NoError(f.t, err)
	signer, err := checkpoint.NewSigner(skey)
	require.NoError(f.t, err)
	log := checkpointtest.NewMemLog()
	f.appendInterleaved(9)

	iss, stop := f.runIssuer(log, signer)
	first := f.latest(iss, acme)
	f.appendInterleaved(4)
	next := f.latest(iss, acme)
	require.Equal(f.t, uint64(7), next.Size)
	full := checkpoint.NewFullTree()
	for _, r := range f.read(acme, events.Cursor{}) {
		full.Append(checkpoint.LeafHash(r.Data))
	}
	hashes, err := full.Consistency(first.Size, next.Size)
	require.NoError(f.t, err)
	require.NoError(f.t, (&checkpoint.ConsistencyProof{From: first.Size, To: next.Size, Hashes: hashes}).Verify(first, next))
	proof, err := full.Inclusion(2, next.Size)
	require.NoError(f.t, err)
	require.NoError(f.t, (&checkpoint.InclusionProof{Index: 2, Sequence: 3, Size: next.Size, LeafHash: full.Leaf(2), Hashes: proof}).Verify(next))
	stop()

	f.reopen()
	iss, stop = f.runIssuer(log, signer)
	defer stop()
	again := f.latest(iss, acme)
	assert.Equal(f.t, next.Note, again.Note, "nothing new since: the same checkpoint")
	assert.NoError(f.t, iss.Damaged(acme))
	assert.Equal(f.t, uint64(6), f.latest(iss, globex).Size)
}

// runIssuer runs an issuer over the fixture's store until stop.
func (f *fixture) runIssuer(log checkpoint.Log, signer *checkpoint.Signer) (*checkpoint.Issuer, func()) {
	iss := checkpoint.NewIssuer(checkpoint.IssuerConfig{Store: f.store, Log: log, Signer: signer, Interval: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = iss.Run(ctx) }()
	return iss, func() { cancel(); <-done }
}

// latest returns the tenant's latest checkpoint and checks its root
// against the tenant's events as the store reads them.
func (f *fixture) latest(iss *checkpoint.Issuer, tenant string) *checkpoint.Checkpoint {
	f.t.Helper()
	cp, err := iss.Latest(f.ctx, tenant)
	require.NoError(f.t, err)
	tree := checkpoint.NewTree()
	for _, r := range f.read(tenant, events.Cursor{}) {
		tree.Append(checkpoint.LeafHash(r.Data))
	}
	require.Equal(f.t, tree.Size(), cp.Size, "the checkpoint covers every event stored")
	require.Equal(f.t, tree.Root(), cp.Root)
	return cp
}
