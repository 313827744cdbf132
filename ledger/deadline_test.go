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

// silentStore is a store whose appends, once armed, never get an answer:
// they wait until their context ends, as over a connection to a NATS that
// is gone.
type silentStore struct {
	*audittest.MemStore
	armed   chan struct{}
	entered chan struct{}
}

func (s *silentStore) Append(ctx context.Context, tenant string, expected events.Cursor, recs []events.Record) (events.Cursor, error) {
	select {
	case <-s.armed:
	default:
		return s.MemStore.Append(ctx, tenant, expected, recs)
	}
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return events.Cursor{}, ctx.Err()
}

// TestACommandWaitsForItsTenantNoLongerThanItsDeadline: while one command
// of a tenant waits for a store that does not answer, another command of
// the tenant with a deadline gives up waiting for the tenant's lock at
// that deadline, answered Unavailable and told it was not applied; the
// first one, at its own deadline, is told it may have been applied.
func TestACommandWaitsForItsTenantNoLongerThanItsDeadline(t *testing.T) {
	store := &silentStore{MemStore: audittest.NewMemStore(), armed: make(chan struct{}), entered: make(chan struct{}, 1)}
	svc := ledger.New(store, ledger.Options{})
	must := func(id string) {
		_, err := svc.Execute(context.Background(), ledger.Command{Tenant: "contoso", Principal: admin, Message: &ledgerv1.RegisterUser{UserId: id, UsageLocation: "US"}})
		require.NoError(t, err)
	}
	must("u0")
	close(store.armed)

	first := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err := svc.Execute(ctx, ledger.Command{Tenant: "contoso", Principal: admin, Message: &ledgerv1.RegisterUser{UserId: "u1", UsageLocation: "US"}})
		first <- err
	}()
	<-store.entered

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := svc.Execute(ctx, ledger.Command{Tenant: "contoso", Principal: admin, Message: &ledgerv1.RegisterUser{UserId: "u2", UsageLocation: "US"}})
	took := time.Since(start)
	assert.Less(t, took, time.Second, "the lock wait ends with the command's deadline")
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "%v", err)
	assert.ErrorContains(t, err, "not applied")

	err = <-first
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "%v", err)
	assert.ErrorContains(t, err, "may have been applied")
}

// TestACommandTimeOutBoundsEveryCommand: Options.CommandTimeout gives a
// command without a deadline one, so that a store that never answers holds
// the tenant no longer than that.
func TestACommandTimeOutBoundsEveryCommand(t *testing.T) {
	store := &silentStore{MemStore: audittest.NewMemStore(), armed: make(chan struct{}), entered: make(chan struct{}, 1)}
	close(store.armed)
	svc := ledger.New(store, ledger.Options{CommandTimeout: 300 * time.Millisecond})
	start := time.Now()
	_, err := svc.Execute(context.Background(), ledger.Command{Tenant: "contoso", Principal: admin, Message: &ledgerv1.RegisterUser{UserId: "u1", UsageLocation: "US"}})
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "%v", err)
	assert.ErrorContains(t, err, "may have been applied")
}
