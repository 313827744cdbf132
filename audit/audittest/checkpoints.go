package audittest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/checkpoint"
	"github.com/licensing-ledger/ledger/events"
)

// MemLog is a checkpoint.Log in memory, for tests.
type MemLog struct {
	mu    sync.Mutex
	notes map[string][][]byte
}

// NewMemLog returns an empty log.
func NewMemLog() *MemLog { return &MemLog{notes: map[string][][]byte{}} }

// Append keeps a tenant's checkpoint.
func (l *MemLog) Append(_ context.Context, tenant string, signed []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notes[tenant] = append(l.notes[tenant], signed)
	return nil
}

// Latest returns the tenant's last checkpoint.
func (l *MemLog) Latest(_ context.Context, tenant string) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ns := l.notes[tenant]
	if len(ns) == 0 {
		return nil, nil
	}
	return ns[len(ns)-1], nil
}

// Tenants returns the tenants with checkpoints.
func (l *MemLog) Tenants(context.Context) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for t := range l.notes {
		out = append(out, t)
	}
	return out, nil
}

// All returns every checkpoint of a tenant, oldest first.
func (l *MemLog) All(tenant string) [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([][]byte(nil), l.notes[tenant]...)
}

// StartIssuer signs checkpoints of the store's tenants with a new key
// until the test ends.
func StartIssuer(t testing.TB, store events.Store) (*checkpoint.Issuer, *MemLog) {
	t.Helper()
	skey, err := checkpoint.GenerateKey(checkpoint.DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := checkpoint.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	log := NewMemLog()
	iss := checkpoint.NewIssuer(checkpoint.IssuerConfig{Store: store, Log: log, Signer: signer, Interval: 50 * time.Millisecond, Logger: quiet()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = iss.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return iss, log
}
