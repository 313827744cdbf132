// Package checkpointtest holds test support for the checkpoint issuer: a
// checkpoint.Log in memory, for the store conformance suite and the audit
// tests, which need checkpoints without a NATS server.
package checkpointtest

import (
	"context"
	"sync"
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
