package ledger_test

import (
	"context"
	"testing"

	"github.com/licensing-ledger/ledger/ledger"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// BenchmarkAnswersThatRecordNothing measures what deciding a no-op or a
// refusal on the current state costs: one read of the tenant's stream
// after the cached cursor (a direct get that finds nothing) before the
// answer. Recorded is a command that appends, for scale; NoOp assigns a
// license the user holds; Refusal assigns a product with no seat left.
//
//	go test -run '^$' -bench AnswersThatRecordNothing ./ledger/
func BenchmarkAnswersThatRecordNothing(b *testing.B) {
	t := b
	back := newBackend(t)
	svc := ledger.New(back.store, ledger.Options{})
	seed(t, svc, 2, 1)
	must(t, svc, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u0"}})
	ctx := context.Background()
	exec := func(b *testing.B, msg *ledgerv1.AssignLicense) {
		for b.Loop() {
			if _, err := svc.Execute(ctx, ledger.Command{Tenant: "contoso", Principal: admin, Message: msg}); err != nil && msg.UserIds[0] == "u0" {
				b.Fatal(err)
			}
		}
	}
	b.Run("NoOp", func(b *testing.B) { exec(b, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u0"}}) })
	b.Run("Refusal", func(b *testing.B) { exec(b, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u1"}}) })
	b.Run("Recorded", func(b *testing.B) {
		msgs := []*ledgerv1.ChangeSeats{{SubscriptionId: "s1", Seats: 2}, {SubscriptionId: "s1", Seats: 1}}
		i := 0
		for b.Loop() {
			i++
			if _, err := svc.Execute(ctx, ledger.Command{Tenant: "contoso", Principal: admin, Message: msgs[i%2]}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
