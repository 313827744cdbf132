package ledger_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/infra/kurrentdb"
	"github.com/licensing-ledger/ledger/infra/kurrentdb/kurrentdbtest"
	"github.com/licensing-ledger/ledger/ledger"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// openKurrentDB opens the KurrentDB store on the stand-in.
func openKurrentDB(t *testing.T, srv *kurrentdbtest.InProcessServer, opts ...kurrentdb.Option) *kurrentdb.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := kurrentdb.Open(ctx, srv.ConnectionString(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	return store
}

// TestACommandTooLargeForTheStoreIsPayloadTooLarge: a command whose events
// exceed what the store takes in one append is refused with a stable code
// that says so, not as "unavailable, send it again" nor as an internal
// error, and records nothing.
func TestACommandTooLargeForTheStoreIsPayloadTooLarge(t *testing.T) {
	const limit = 1024
	srv := kurrentdbtest.Start(t, kurrentdbtest.WithMaxAppendSize(limit))
	svc := ledger.New(openKurrentDB(t, srv, kurrentdb.WithMaxAppendSize(limit)), ledger.Options{})
	seed(t, svc, 20, 20)
	users := make([]string, 20)
	for i := range users {
		users[i] = fmt.Sprintf("u%d", i)
	}
	_, err := run(t, svc, "", admin, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users})
	require.Equal(t, domain.CodePayloadTooLarge, domain.ErrorCode(err), "%v", err)
	assert.Contains(t, err.Error(), "1024")
	assert.Contains(t, err.Error(), "--kurrentdb-max-append")

	res, err := run(t, svc, "", admin, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: users[:3]})
	require.NoError(t, err, "smaller commands still work")
	assert.Equal(t, uint64(22), res.Events[0].GetSequence(), "the refused command recorded nothing")
}

// TestATenantDeletedInKurrentDBIsDamaged: a tenant stream deleted by hand
// in KurrentDB, soft or for good, is a damaged tenant (CodeDamaged), never
// an empty one whose history would start again at 1.
func TestATenantDeletedInKurrentDBIsDamaged(t *testing.T) {
	for name, remove := range map[string]func(*esdb.Client) error{
		"soft": func(c *esdb.Client) error {
			_, err := c.DeleteStream(context.Background(), "ledger-contoso", esdb.DeleteStreamOptions{})
			return err
		},
		"tombstone": func(c *esdb.Client) error {
			_, err := c.TombstoneStream(context.Background(), "ledger-contoso", esdb.TombstoneStreamOptions{})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := kurrentdbtest.Start(t)
			running := ledger.New(openKurrentDB(t, srv), ledger.Options{})
			seed(t, running, 2, 5)
			require.NoError(t, remove(rawClient(t, srv)))

			svc := ledger.New(openKurrentDB(t, srv), ledger.Options{}) // a process started afterwards
			_, err := run(t, svc, "", admin, &ledgerv1.RegisterUser{UserId: "u9", UsageLocation: "US"})
			require.Equal(t, domain.CodeDamaged, domain.ErrorCode(err), "%v", err)
			require.Len(t, svc.Damaged(), 1)
			assert.Equal(t, "contoso", svc.Damaged()[0].Tenant)
			assert.Contains(t, svc.Damaged()[0].Reason, "deleted")

			_, err = run(t, running, "", admin, &ledgerv1.RegisterUser{UserId: "u9", UsageLocation: "US"})
			require.Equal(t, domain.CodeDamaged, domain.ErrorCode(err), "the process that held the tenant: %v", err)
		})
	}
}

// rawClient connects to the stand-in with the esdb client alone.
func rawClient(t *testing.T, srv *kurrentdbtest.InProcessServer) *esdb.Client {
	t.Helper()
	config, err := esdb.ParseConnectionString(srv.ConnectionString())
	require.NoError(t, err)
	config.Logger = esdb.NoopLogging()
	client, err := esdb.NewClient(config)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	return client
}
