package e2e

import (
	"testing"

	"github.com/licensing-ledger/ledger/infra/kurrentdb/kurrentdbtest"
)

// eventStore is one event store ledgerd can run on, for scenarios that
// must behave the same on each.
type eventStore struct {
	name string
	// args starts what the store needs in the test process, if anything,
	// and returns ledgerd's arguments for it.
	args func(t *testing.T) []string
}

// eventStores are JetStream (the default) and KurrentDB. The KurrentDB node
// is the in-process stand-in, started in the test process: it outlives
// restarts of ledgerd, as a real node would.
var eventStores = []eventStore{
	{name: "jetstream", args: func(*testing.T) []string { return nil }},
	{name: "kurrentdb", args: func(t *testing.T) []string {
		return []string{"--store", "kurrentdb", "--kurrentdb-url", kurrentdbtest.Start(t).ConnectionString()}
	}},
}
