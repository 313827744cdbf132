package events

import "context"

// Snapshot is a tenant's write model saved at a place in its stream, so that
// loading a large tenant reads only the events after it. Snapshots are a
// cache: losing one costs a longer load, never data, and one that does not
// fit the stream is ignored.
type Snapshot struct {
	Tenant string
	// Cursor is the place of the last event the snapshot includes.
	Cursor Cursor
	// Previous is a place before that event (the event before it, or before
	// the append that wrote it; zero for the start), from which a loader
	// re-reads the last event to check the snapshot belongs to this stream.
	Previous Cursor
	// LastID and LastHash identify the last event included.
	LastID   string
	LastHash []byte
	// Data is the encoded state, opaque to the store.
	Data []byte
}

// SnapshotStore keeps the latest snapshot of each tenant.
type SnapshotStore interface {
	// LoadSnapshot returns the tenant's latest snapshot, or false if none.
	LoadSnapshot(ctx context.Context, tenant string) (Snapshot, bool, error)
	// SaveSnapshot replaces the tenant's snapshot.
	SaveSnapshot(ctx context.Context, s Snapshot) error
}
