package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// permissionsConf is the external server's configuration that
// docs/RELIABILITY.md quotes verbatim: ledgerd's permission block and two
// downstream services'. The passwords of its bcrypt hashes:
const (
	permissionsConf = "testdata/nats-permissions.conf"
	ledgerPassword  = "e2e-ledger-password"
	billingPassword = "e2e-billing-password"
	mailPassword    = "e2e-mail-password"
)

// refusedSub subscribes to subject and requires the server to refuse it.
func (c *natsClient) refusedSub(subject string) {
	c.t.Helper()
	_, err := c.nc.SubscribeSync(subject)
	require.NoError(c.t, err)
	require.NoError(c.t, c.nc.Flush())
	want := strings.ToLower(`permissions violation for subscription to "` + subject + `"`)
	assert.Eventually(c.t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, v := range c.violations {
			if strings.Contains(strings.ToLower(v), want) {
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond, "%s may subscribe to %s", c.name, subject)
}

// TestExternalNATSPermissionBlocks runs ledgerd on a real nats-server
// configured with exactly the permission blocks the documentation gives
// (testdata/nats-permissions.conf, quoted in docs/RELIABILITY.md): with
// the ledger user, every feature works and the server refuses ledgerd
// nothing; a service reads LEDGER with its durable but cannot delete
// ledgerd's consumers or another service's, consume the commit log, read
// ledgerd's replies, or publish on the ledger's subjects.
func TestExternalNATSPermissionBlocks(t *testing.T) {
	conf, err := os.ReadFile(permissionsConf)
	require.NoError(t, err)
	doc, err := os.ReadFile(filepath.Join("..", "docs", "RELIABILITY.md"))
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(doc), string(conf)), "docs/RELIABILITY.md quotes %s verbatim", permissionsConf)

	n := startNATSServerWithConfig(t, permissionsConf, nats.UserInfo("billing", billingPassword))
	t.Setenv("LEDGER_NATS_PASSWORD", ledgerPassword)
	l := startLedgerdOn(t, n, "--nats-user", "ledger")
	l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"alice","usageLocation":"US"}`)
	l.mustCommand(t, adminToken, tenant, "PurchaseSubscription", `{"subscriptionId":"sub-1","productId":"SPB","seats":5}`)
	l.mustCommand(t, adminToken, tenant, "AssignLicense", `{"productId":"SPB","userIds":["alice"]}`)
	r := l.get(t, adminToken, "/v1/tenants/"+tenant+"/users/alice/licenses")
	require.Equal(t, 200, r.Status, "%s", r.Raw)
	assert.Contains(t, string(r.Raw), "SPB", "the projector follows the log")
	ctx := natsCtx(t)

	ledger := connectAs(t, "ledger", n.URL, nats.UserInfo("ledger", ledgerPassword), nats.CustomInboxPrefix(jetstream.LedgerInboxPrefix))
	snapshots, err := jetstream.OpenSnapshots(ctx, ledger.js, 1)
	require.NoError(t, err)
	snap := events.Snapshot{Tenant: tenant, LastID: "e2e", Data: []byte("state")}
	require.NoError(t, snapshots.SaveSnapshot(ctx, snap), "the ledger user saves snapshots")
	got, ok, err := snapshots.LoadSnapshot(ctx, tenant)
	require.NoError(t, err, "the ledger user loads snapshots")
	require.True(t, ok)
	assert.Equal(t, snap.Data, got.Data)
	logStream, err := ledger.js.Stream(ctx, jetstream.LogStreamName)
	require.NoError(t, err)
	var ledgerdConsumers []string
	for name := range logStream.ConsumerNames(ctx).Name() {
		ledgerdConsumers = append(ledgerdConsumers, name)
	}
	require.NotEmpty(t, ledgerdConsumers, "ledgerd reads its log with consumers")

	billing := connectAs(t, "billing", n.URL, nats.UserInfo("billing", billingPassword))
	mail := connectAs(t, "mail", n.URL, nats.UserInfo("mail", mailPassword))
	bc, err := billing.js.CreateOrUpdateConsumer(ctx, jetstream.StreamName, natsjs.ConsumerConfig{Durable: "billing", AckPolicy: natsjs.AckExplicitPolicy})
	require.NoError(t, err, "billing makes its durable on LEDGER")
	for _, want := range []string{"UserRegistered", "SubscriptionPurchased", "LicenseAssigned"} {
		assert.Equal(t, "ledger.contoso."+want, fetchOne(t, ctx, bc).Subject(), "ledgerd forwards to LEDGER")
	}
	mc, err := mail.js.CreateOrUpdateConsumer(ctx, jetstream.StreamName, natsjs.ConsumerConfig{Durable: "mail", AckPolicy: natsjs.AckExplicitPolicy})
	require.NoError(t, err, "mail makes its durable on LEDGER")
	fetchOne(t, ctx, mc)

	for _, subject := range otherConsumerSubjects("billing") {
		mail.refused(subject)
	}
	for _, subject := range otherConsumerSubjects("mail") {
		billing.refused(subject)
	}
	for _, name := range ledgerdConsumers {
		billing.refused("$JS.API.CONSUMER.DELETE." + jetstream.LogStreamName + "." + name)
	}
	for _, subject := range []string{
		"$JS.API.STREAM.INFO.LEDGER_LOG", "$JS.API.CONSUMER.CREATE.LEDGER_LOG.mine", "$JS.API.CONSUMER.CREATE.LEDGER_LOG",
		"$JS.API.DIRECT.GET.LEDGER_LOG", "$JS.API.CONSUMER.NAMES.LEDGER_LOG", "$JS.API.STREAM.INFO.OBJ_LEDGER_SNAPSHOTS",
		jetstream.InputSubject(tenant, "LicenseAssigned"), jetstream.LogSubject(tenant), "ledger.contoso.LicenseAssigned",
		"$O.LEDGER_SNAPSHOTS.C.forged", "_INBOX.forged", jetstream.LedgerInboxPrefix + ".forged",
	} {
		billing.refused(subject)
	}
	billing.refusedSub(jetstream.LedgerInboxPrefix + ".>")

	l.restart() // ledgerd opens its streams, bucket and forwarder's checkpoint again
	l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"bob","usageLocation":"US"}`)
	assert.Equal(t, "ledger.contoso.UserRegistered", fetchOne(t, ctx, bc).Subject(), "billing's durable goes on")
	after, err := logStream.Info(ctx)
	require.NoError(t, err)
	assert.Positive(t, after.State.Consumers, "ledgerd's consumers are there")
	assert.NotContains(t, l.log(), "Permissions Violation", "the server refuses ledgerd nothing")
	assert.NotContains(t, l.log(), "NATS client error")
	for _, line := range strings.Split(n.log(), "\n") {
		assert.False(t, strings.Contains(line, "Violation") && strings.Contains(line, `"ledger"`), "ledgerd was refused: %s", line)
	}
}
