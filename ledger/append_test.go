package ledger_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/ledger"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// unavailableStore answers every append, once armed, as a store whose
// answer was lost.
type unavailableStore struct {
	events.Store
	armed   atomic.Bool
	appends atomic.Int32
}

func (s *unavailableStore) Append(ctx context.Context, tenant string, expected events.Cursor, recs []events.Record) (events.Cursor, error) {
	if !s.armed.Load() {
		return s.Store.Append(ctx, tenant, expected, recs)
	}
	s.appends.Add(1)
	return events.Cursor{}, events.ErrUnavailable
}

// TestALostAnswerIsTriedThreeTimes: an append whose answer is lost is sent
// again twice, then the command is answered Unavailable; with its context
// ended, it is not sent again.
func TestALostAnswerIsTriedThreeTimes(t *testing.T) {
	b := newBackend(t)
	store := &unavailableStore{Store: b.store}
	svc := ledger.New(store, ledger.Options{})
	seed(t, svc, 1, 1)
	store.armed.Store(true)

	_, err := run(t, svc, "", admin, &ledgerv1.RegisterUser{UserId: "u9", UsageLocation: "US"})
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err))
	assert.EqualValues(t, 3, store.appends.Load())

	store.appends.Store(0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = svc.Execute(ctx, ledger.Command{Tenant: "contoso", Principal: admin, Message: &ledgerv1.RegisterUser{UserId: "u9", UsageLocation: "US"}})
	require.Error(t, err)
	assert.LessOrEqual(t, store.appends.Load(), int32(1), "no retry once the caller has gone")
}
