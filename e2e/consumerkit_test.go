package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/consumer"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// TestTheConsumerKitFollowsLedgerdAcrossARestart: a downstream service on
// the consumer kit, connected to ledgerd's NATS as any read-only client,
// gets every event of interest typed and in order, whichever store ledgerd
// runs on; when ledgerd restarts, its durable consumer goes on after the
// last event it acknowledged, without repeats.
func TestTheConsumerKitFollowsLedgerdAcrossARestart(t *testing.T) {
	for _, store := range eventStores {
		t.Run(store.name, func(t *testing.T) {
			l := startLedgerd(t, store.args(t)...)
			l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"alice","displayName":"Alice","usageLocation":"US"}`)
			l.mustCommand(t, adminToken, tenant, "PurchaseSubscription", `{"subscriptionId":"s1","productId":"SPB","seats":5}`)
			l.mustCommand(t, adminToken, tenant, "AssignLicense", `{"productId":"SPB","userIds":["alice"]}`)

			got := make(chan string, 100)
			var h consumer.Handlers
			consumer.On(&h, func(_ context.Context, e *ledgerv1.Event, p *ledgerv1.LicenseAssigned) error {
				got <- fmt.Sprintf("%s#%d %s %s", e.GetTenant(), e.GetSequence(), p.GetUserId(), p.GetProductId())
				return nil
			})
			consumer.On(&h, func(_ context.Context, e *ledgerv1.Event, p *ledgerv1.UserRegistered) error {
				got <- fmt.Sprintf("%s#%d registered %s", e.GetTenant(), e.GetSequence(), p.GetUserId())
				return nil
			})
			nc, err := nats.Connect(l.NATS, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
			require.NoError(t, err)
			defer nc.Close()
			js, err := natsjs.New(nc)
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { _ = consumer.Run(ctx, js, consumer.Config{Durable: "e2e"}, &h) })
			defer func() { cancel(); wg.Wait() }()

			assert.Equal(t, []string{"contoso#1 registered alice", "contoso#3 alice SPB"}, take(t, got, 2))
			l.restart()
			l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"bob","displayName":"Bob","usageLocation":"US"}`)
			assert.Equal(t, []string{"contoso#4 registered bob"}, take(t, got, 1))
			select {
			case extra := <-got:
				t.Fatalf("delivered again after the restart: %s", extra)
			case <-time.After(300 * time.Millisecond):
			}
		})
	}
}

// take waits for n values.
func take(t *testing.T, ch <-chan string, n int) []string {
	t.Helper()
	var out []string
	for range n {
		select {
		case v := <-ch:
			out = append(out, v)
		case <-time.After(30 * time.Second):
			t.Fatalf("got %v, waiting for %d", out, n)
		}
	}
	return out
}
