package ledger_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/ledger"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// TestCommittedHandsOverEachStoredCommandOnce: the Committed hook gets the
// events of every command this process stored, as the answer has them and
// in the tenant's order; never a refusal, a replayed retry, nor another
// process's events.
func TestCommittedHandsOverEachStoredCommandOnce(t *testing.T) {
	b := newBackend(t)
	var got [][]string
	svc := ledger.New(b.store, ledger.Options{Committed: func(evs []*ledgerv1.Event) {
		got = append(got, ids(ledger.Result{Events: evs}))
	}})
	seed(t, svc, 2, 1)
	require.Len(t, got, 3)

	assign := &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u0"}}
	res, err := run(t, svc, "key-1", admin, assign)
	require.NoError(t, err)
	assert.Equal(t, ids(res), got[3])
	_, err = run(t, svc, "key-1", admin, assign)
	require.NoError(t, err)
	_, err = run(t, svc, "", admin, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u1"}})
	assert.Equal(t, domain.CodeCountViolation, domain.ErrorCode(err))
	other := ledger.New(openStore(t, b.nc), ledger.Options{})
	must(t, other, &ledgerv1.RegisterUser{UserId: "u2", UsageLocation: "US"})
	assert.Len(t, got, 4, "a retry, a refusal and another process's command hand nothing over")

	must(t, svc, &ledgerv1.RegisterUser{UserId: "u3", UsageLocation: "US"})
	require.Len(t, got, 5)
	assert.EqualValues(t, 6, svc.Sequence("contoso"), "this process read u2's registration before deciding")
}
