package ledger_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/ledger"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestANoOpIsDecidedOnTheCurrentState: a command that would change nothing
// on the state this process cached ("alice already holds SPB") is decided
// again on the tenant's newest events, since another process may have
// changed what it means (L6: a lost race is never silently dropped).
func TestANoOpIsDecidedOnTheCurrentState(t *testing.T) {
	b := newBackend(t)
	a := ledger.New(b.store, ledger.Options{})
	seed(t, a, 1, 1)
	assign := &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u0"}}
	must(t, a, assign)
	other := ledger.New(openStore(t, b.nc), ledger.Options{})
	must(t, other, &ledgerv1.RevokeAssignment{ProductId: "SPB", UserIds: []string{"u0"}})

	res := must(t, a, assign)
	require.Len(t, res.Events, 1, "u0 holds nothing since the other process revoked it: the assignment is recorded again")
	assert.Equal(t, "LicenseAssigned", eventType(res.Events[0]))
}

// TestL6_LastSeatRacesWithReusedUsers: two processes race for the last
// seats, round after round, over the same users; each round exactly the
// seats are won and every other answer is a CountViolation, never a 200
// that recorded nothing.
func TestL6_LastSeatRacesWithReusedUsers(t *testing.T) {
	b := newBackend(t)
	const users, seats, rounds = 6, 2, 20
	first := ledger.New(b.store, ledger.Options{})
	seed(t, first, users, seats)
	second := ledger.New(openStore(t, b.nc), ledger.Options{})
	procs := []*ledger.Service{first, second}
	for round := range rounds {
		var won, refused atomic.Int32
		var wg sync.WaitGroup
		for i := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := run(t, procs[(i+round)%2], "", admin, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{fmt.Sprintf("u%d", i)}})
				switch {
				case err == nil && len(res.Events) == 1:
					won.Add(1)
				case domain.ErrorCode(err) == domain.CodeCountViolation:
					refused.Add(1)
				default:
					t.Errorf("round %d, u%d: %d events, err %v", round, i, len(res.Events), err)
				}
			}()
		}
		wg.Wait()
		require.EqualValues(t, seats, won.Load(), "round %d", round)
		require.EqualValues(t, users-seats, refused.Load(), "round %d", round)
		// The other process takes every seat back, so the next round starts
		// from a state the deciding processes may not have seen.
		all := make([]string, users)
		for i := range all {
			all[i] = fmt.Sprintf("u%d", i)
		}
		must(t, procs[(round+1)%2], &ledgerv1.UnassignAll{UserIds: all})
	}
}

func eventType(e *ledgerv1.Event) string {
	return string(e.ProtoReflect().WhichOneof(e.ProtoReflect().Descriptor().Oneofs().ByName("payload")).Message().Name())
}
