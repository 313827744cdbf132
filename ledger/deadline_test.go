package ledger_test

import (
	"context"
	"fmt"
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

// refusingStore loses the answer of its first append, as a server that
// stopped writing does, then refuses every append without sending it.
type refusingStore struct {
	*audittest.MemStore
	armed bool
	tries int
}

func (s *refusingStore) Append(ctx context.Context, tenant string, expected events.Cursor, recs []events.Record) (events.Cursor, error) {
	if !s.armed {
		return s.MemStore.Append(ctx, tenant, expected, recs)
	}
	s.tries++
	if s.tries == 1 {
		return events.Cursor{}, fmt.Errorf("%w: the server stopped writing before it answered", events.ErrUnavailable)
	}
	return events.Cursor{}, fmt.Errorf("%w: %w: disk full", events.ErrUnavailable, events.ErrWritesRefused)
}

// TestAnAppendLostThenRefusedMayHaveBeenApplied: the retry of an append
// whose answer was lost is refused unsent; the first try may still have
// been stored, so the answer says so. A command refused unsent from its
// first try was not applied, and is not tried again.
func TestAnAppendLostThenRefusedMayHaveBeenApplied(t *testing.T) {
	store := &refusingStore{MemStore: audittest.NewMemStore()}
	svc := ledger.New(store, ledger.Options{})
	exec := func(id string) error {
		_, err := svc.Execute(context.Background(), ledger.Command{Tenant: "contoso", Principal: admin, Message: &ledgerv1.RegisterUser{UserId: id, UsageLocation: "US"}})
		return err
	}
	require.NoError(t, exec("u0"))
	store.armed = true
	err := exec("u1")
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "%v", err)
	assert.ErrorContains(t, err, "may have been applied")
	assert.Equal(t, 2, store.tries, "a refusal is not tried again")

	err = exec("u2")
	assert.ErrorContains(t, err, "not applied")
	assert.NotContains(t, err.Error(), "may have been applied")
	assert.Equal(t, 3, store.tries)
}

// deafReads is a store whose reads, once armed, wait until their context
// ends, as over a connection to a NATS that is gone.
type deafReads struct {
	*audittest.MemStore
	armed bool
}

func (s *deafReads) Read(ctx context.Context, tenant string, after events.Cursor, fn func(events.Record) error) error {
	if !s.armed {
		return s.MemStore.Read(ctx, tenant, after, fn)
	}
	<-ctx.Done()
	return ctx.Err()
}

// TestAQueryHoldsItsTenantNoLongerThanTheBound: a query's authorization
// that must read the tenant, under its lock, gives up at
// Options.CommandTimeout too, so that it cannot hold the tenant's commands
// longer.
func TestAQueryHoldsItsTenantNoLongerThanTheBound(t *testing.T) {
	store := &deafReads{MemStore: audittest.NewMemStore()}
	svc := ledger.New(store, ledger.Options{CommandTimeout: 300 * time.Millisecond})
	store.armed = true
	start := time.Now()
	err := svc.Authorize(context.Background(), "contoso", admin, domain.QueryLicenses, "")
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "%v", err)
}
