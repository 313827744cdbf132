package audittest

import (
	"context"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/checkpoint"
	"github.com/licensing-ledger/ledger/checkpoint/checkpointtest"
	"github.com/licensing-ledger/ledger/events"
)

// StartIssuer signs checkpoints of the store's tenants with a new key
// until the test ends.
func StartIssuer(t testing.TB, store events.Store) (*checkpoint.Issuer, *checkpointtest.MemLog) {
	t.Helper()
	skey, err := checkpoint.GenerateKey(checkpoint.DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := checkpoint.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	log := checkpointtest.NewMemLog()
	iss := checkpoint.NewIssuer(checkpoint.IssuerConfig{Store: store, Log: log, Signer: signer, Interval: 50 * time.Millisecond, Logger: quiet()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = iss.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return iss, log
}
