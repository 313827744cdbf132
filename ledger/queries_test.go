package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/audit/audittest"
	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/ledger"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// heldStore is a store whose appends wait until released, as a slow store
// round trip would.
type heldStore struct {
	*audittest.MemStore
	entered chan struct{}
	release chan struct{}
}

func (s *heldStore) Append(ctx context.Context, tenant string, expected events.Cursor, recs []events.Record) (events.Cursor, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.MemStore.Append(ctx, tenant, expected, recs)
}

// TestQueriesDoNotWaitForACommandInFlight: while a command waits for the
// store, queries of the tenant are authorized at once against the state as
// it stands, and the sequence they wait for is the last one acknowledged.
func TestQueriesDoNotWaitForACommandInFlight(t *testing.T) {
	store := &heldStore{MemStore: audittest.NewMemStore(), entered: make(chan struct{}, 1), release: make(chan struct{})}
	svc := ledger.New(store, ledger.Options{})
	ctx := context.Background()
	register := func(id string) {
		_, err := svc.Execute(ctx, ledger.Command{Tenant: "contoso", Principal: admin, Message: &ledgerv1.RegisterUser{UserId: id, UsageLocation: "US"}})
		assert.NoError(t, err)
	}
	go func() { store.release <- struct{}{} }()
	register("u0")
	<-store.entered
	require.Equal(t, uint64(1), svc.Sequence("contoso"))

	done := make(chan struct{})
	go func() { defer close(done); register("u1") }()
	<-store.entered // the second command is in flight
	answered := make(chan error, 1)
	go func() { answered <- svc.Authorize(ctx, "contoso", admin, domain.QueryLicenses, "") }()
	select {
	case err := <-answered:
		assert.NoError(t, err)
	case <-time.After(2 * time.Second):
		t.Fatal("Authorize waited for the command in flight")
	}
	assert.Equal(t, uint64(1), svc.Sequence("contoso"), "a command in flight is not acknowledged yet")
	close(store.release)
	<-done
	assert.Equal(t, uint64(2), svc.Sequence("contoso"))
}
