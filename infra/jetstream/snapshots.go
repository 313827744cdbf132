package jetstream

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"

	"github.com/licensing-ledger/ledger/events"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// SnapshotBucket is the object store bucket holding tenants' snapshots.
const SnapshotBucket = "LEDGER_SNAPSHOTS"

// Snapshots keeps each tenant's latest snapshot in a JetStream object store,
// beside the events it summarizes. Objects are chunked, so a large tenant's
// snapshot is not bound by the connection's maximum payload.
type Snapshots struct {
	store natsjs.ObjectStore
}

var _ events.SnapshotStore = (*Snapshots)(nil)

// OpenSnapshots creates or opens the snapshot bucket.
func OpenSnapshots(ctx context.Context, js natsjs.JetStream, replicas int) (*Snapshots, error) {
	if replicas < 1 {
		replicas = 1
	}
	os, err := js.CreateOrUpdateObjectStore(ctx, natsjs.ObjectStoreConfig{
		Bucket:      SnapshotBucket,
		Description: "the ledger's tenant snapshots: a cache, rebuilt from the events when missing",
		Storage:     natsjs.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: opening the snapshot bucket: %v", events.ErrUnavailable, err)
	}
	return &Snapshots{store: os}, nil
}

// LoadSnapshot returns the tenant's snapshot, or false if it has none.
func (s *Snapshots) LoadSnapshot(ctx context.Context, tenant string) (events.Snapshot, bool, error) {
	data, err := s.store.GetBytes(ctx, tenant)
	if errors.Is(err, natsjs.ErrObjectNotFound) {
		return events.Snapshot{}, false, nil
	}
	if err != nil {
		return events.Snapshot{}, false, fmt.Errorf("%w: loading the snapshot of %s: %v", events.ErrUnavailable, tenant, err)
	}
	var snap events.Snapshot
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&snap); err != nil {
		return events.Snapshot{}, false, fmt.Errorf("decoding the snapshot of %s: %w", tenant, err)
	}
	return snap, true, nil
}

// SaveSnapshot replaces the tenant's snapshot.
func (s *Snapshots) SaveSnapshot(ctx context.Context, snap events.Snapshot) error {
	if !ValidToken(snap.Tenant) {
		return fmt.Errorf("jetstream: invalid tenant %q", snap.Tenant)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(snap); err != nil {
		return err
	}
	if _, err := s.store.PutBytes(ctx, snap.Tenant, buf.Bytes()); err != nil {
		return fmt.Errorf("%w: saving the snapshot of %s: %v", events.ErrUnavailable, snap.Tenant, err)
	}
	return nil
}
