package projections

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// TestPendingListIsTheFilteredFullList checks the index of pending requests
// against the full list filtered by status, over random histories of
// requests, decisions of every outcome, expiries, shares and request ids
// used again, in two tenants, with requests older than the retention.
func TestPendingListIsTheFilteredFullList(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 50 {
		m := NewRequests(func() time.Time { return now })
		for i := range 400 {
			tenant := fmt.Sprintf("t%d", rng.IntN(2))
			id := fmt.Sprintf("req-%d", rng.IntN(40))
			at := now.Add(-time.Duration(rng.IntN(400*24)) * time.Hour)
			e := &ledgerv1.Event{Tenant: tenant, Sequence: uint64(i + 1), Actor: "admin", Time: timestamppb.New(at)}
			switch rng.IntN(5) {
			case 0, 1:
				e.Payload = &ledgerv1.Event_LicenseRequested{LicenseRequested: &ledgerv1.LicenseRequested{RequestId: id, ProductId: "SPB", RequesterId: "u1", UserIds: []string{"u1"}}}
			case 2:
				outcome := ledgerv1.RequestOutcome(rng.IntN(6))
				e.Payload = &ledgerv1.Event_RequestDecided{RequestDecided: &ledgerv1.RequestDecided{RequestId: id, Outcome: outcome}}
			case 3:
				e.Payload = &ledgerv1.Event_RequestExpired{RequestExpired: &ledgerv1.RequestExpired{RequestId: id}}
			default:
				e.Payload = &ledgerv1.Event_RequestShared{RequestShared: &ledgerv1.RequestShared{RequestId: id, RecipientUserIds: []string{"u2"}}}
			}
			m.Apply(e)
			if i%37 != 0 {
				continue
			}
			for _, tenant := range []string{"t0", "t1", "t2"} {
				want := []RequestView{}
				for _, r := range m.List(tenant, "") {
					if r.Pending() {
						want = append(want, r)
					}
				}
				if got := m.List(tenant, "pending"); !reflect.DeepEqual(got, want) {
					t.Fatalf("round %d, event %d, %s: pending list\n got %+v\nwant %+v", round, i, tenant, got, want)
				}
				pending := 0
				for _, r := range m.tenants[tenant] {
					if r.Pending() {
						pending++
					}
				}
				if len(m.pending[tenant]) != pending {
					t.Fatalf("round %d, event %d, %s: the index holds %d requests; %d are pending", round, i, tenant, len(m.pending[tenant]), pending)
				}
			}
		}
	}
}
