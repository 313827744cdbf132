package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/licensing-ledger/ledger/audit"
	"github.com/licensing-ledger/ledger/checkpoint"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// startCheckpoints runs a checkpoint issuer over the rig's store, as
// ledgerd does (L8): every event hashed into its tenant's tree, a signed
// checkpoint per tenant with new events each second, stored in
// LEDGER_CHECKPOINTS.
func (r *rig) startCheckpoints(ctx context.Context, nc *nats.Conn, log *slog.Logger) error {
	js, err := natsjs.New(nc)
	if err != nil {
		return err
	}
	cps, err := jetstream.OpenCheckpoints(ctx, js, 1)
	if err != nil {
		return err
	}
	signer, err := newSigner()
	if err != nil {
		return err
	}
	r.issuer = checkpoint.NewIssuer(checkpoint.IssuerConfig{Store: r.store.Store, Log: cps, Signer: signer, Logger: quietLogger(log)})
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	r.stopIssuer = stop
	r.done.Go(func() { _ = r.issuer.Run(runCtx) })
	return nil
}

func newSigner() (*checkpoint.Signer, error) {
	skey, err := checkpoint.GenerateKey("ledgerbench")
	if err != nil {
		return nil, err
	}
	return checkpoint.NewSigner(skey)
}

// reportCheckpoints adds what checkpointing cost during a command run:
// the issuer's time hashing, signing and storing, per command.
func reportCheckpoints(t *table, d durability, before, after checkpoint.Stats, commands appendCounts) {
	busy, n := after.Busy-before.Busy, max(commands.appends, 1)
	t.add(secCommands, "checkpointing, "+d.name, fmt.Sprintf("%.1f µs per command", float64(busy.Microseconds())/float64(n)),
		fmt.Sprintf("issuer's time hashing %s events and signing and storing %s checkpoints, over %s commands (in process and HTTP); compare --checkpoints=false",
			thousands(float64(after.Events-before.Events)), thousands(float64(after.Signed-before.Signed)), thousands(float64(n))))
}

// measureVerify exports a tenant with a signed checkpoint, in memory, and
// times what ledgerctl verify --key does with it.
func measureVerify(ctx context.Context, store events.Store, tenant string) (time.Duration, int, error) {
	signer, err := newSigner()
	if err != nil {
		return 0, 0, err
	}
	var body bytes.Buffer
	enc, tree := audit.NewEncoder(&body), checkpoint.NewTree()
	err = store.Read(ctx, tenant, events.Cursor{}, func(r events.Record) error {
		tree.Append(checkpoint.LeafHash(r.Data))
		return enc.Encode(r)
	})
	if err != nil {
		return 0, 0, err
	}
	if err := enc.Flush(); err != nil {
		return 0, 0, err
	}
	note, err := signer.Sign(checkpoint.Origin("ledgerbench", tenant), tree.Size(), tree.Root())
	if err != nil {
		return 0, 0, err
	}
	var export bytes.Buffer
	cenc := audit.NewEncoder(&export)
	if err := cenc.EncodeCheckpoint(note); err != nil {
		return 0, 0, err
	}
	_ = cenc.Flush()
	export.Write(body.Bytes())
	keys, err := checkpoint.NewVerifiers(signer.VerifierKey())
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	sum, err := checkpoint.VerifyExport(audit.NewDecoder(&export), checkpoint.ExportOptions{Keys: keys, Kept: [][]byte{note}})
	return time.Since(start), sum.Events, err
}

// reportVerify adds the time to verify a signed export.
func reportVerify(t *table, took time.Duration, n int) {
	t.add(secCold, fmt.Sprintf("verify a signed export, %s events", thousands(float64(n))), ms(took),
		"ledgerctl verify --key --checkpoint, in process: chain, tree and signatures")
}

// checkpointStats reads the issuer's counters, zero without one.
func (r *rig) checkpointStats() checkpoint.Stats {
	if r.issuer == nil {
		return checkpoint.Stats{}
	}
	return r.issuer.Stats()
}
