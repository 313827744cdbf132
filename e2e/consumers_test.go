package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/infra/jetstream"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// natsClient is a connection that records the permission violations the
// server reports to it.
type natsClient struct {
	t          *testing.T
	name       string
	nc         *nats.Conn
	js         natsjs.JetStream
	mu         sync.Mutex
	violations []string
}

// connectAs connects to url with opts (none: anonymously).
func connectAs(t *testing.T, name, url string, opts ...nats.Option) *natsClient {
	t.Helper()
	c := &natsClient{t: t, name: name}
	opts = append(opts, nats.Name(name), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		c.mu.Lock()
		c.violations = append(c.violations, err.Error())
		c.mu.Unlock()
	}))
	nc, err := nats.Connect(url, opts...)
	require.NoError(t, err, "%s connects", name)
	t.Cleanup(nc.Close)
	c.nc = nc
	c.js, err = natsjs.New(nc, natsjs.WithDefaultTimeout(5*time.Second))
	require.NoError(t, err)
	return c
}

// refused publishes on subject and requires the server to refuse it as a
// permissions violation: the message goes nowhere.
func (c *natsClient) refused(subject string) {
	c.t.Helper()
	require.NoError(c.t, c.nc.PublishRequest(subject, c.nc.NewInbox(), []byte(`{}`)))
	require.NoError(c.t, c.nc.Flush())
	want := strings.ToLower(`permissions violation for publish to "` + subject + `"`)
	ok := assert.Eventually(c.t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, v := range c.violations {
			if strings.Contains(strings.ToLower(v), want) {
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond, "%s may publish on %s", c.name, subject)
	if !ok {
		c.t.Logf("%s's violations: %q", c.name, c.violations)
	}
}

// natsCtx is a context for one test's NATS calls.
func natsCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// refusedCtx is a context for one call the server is expected to refuse:
// a request it drops as a permissions violation gets no answer, so the
// call ends at this deadline.
func refusedCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fetchOne pulls one message from cons and, unless the consumer takes no
// acknowledgements, acknowledges it and waits for the server to confirm.
func fetchOne(t *testing.T, ctx context.Context, cons natsjs.Consumer) natsjs.Msg {
	t.Helper()
	batch, err := cons.Fetch(1, natsjs.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	for msg := range batch.Messages() {
		if cons.CachedInfo().Config.AckPolicy != natsjs.AckNonePolicy {
			require.NoError(t, msg.DoubleAck(ctx))
		}
		return msg
	}
	require.NoError(t, batch.Error())
	t.Fatal("no message")
	return nil
}

// otherConsumerSubjects are the JetStream API subjects that would delete,
// change, read from or acknowledge for the consumer name on LEDGER, and the
// legacy subject that names a consumer in its body only.
func otherConsumerSubjects(name string) []string {
	return []string{
		"$JS.API.CONSUMER.DELETE.LEDGER." + name,
		"$JS.API.CONSUMER.CREATE.LEDGER." + name,
		"$JS.API.CONSUMER.CREATE.LEDGER." + name + ".ledger.contoso.>",
		"$JS.API.CONSUMER.DURABLE.CREATE.LEDGER." + name,
		"$JS.API.CONSUMER.MSG.NEXT.LEDGER." + name,
		"$JS.API.CONSUMER.INFO.LEDGER." + name,
		"$JS.API.CONSUMER.PAUSE.LEDGER." + name,
		"$JS.API.CONSUMER.RESET.LEDGER." + name,
		"$JS.ACK.LEDGER." + name + ".1.2.2.1700000000000000000.0",
		"$JS.API.CONSUMER.CREATE.LEDGER",
	}
}

// TestOutsidersReadThePublicFeedOnly (O3): a client without credentials on
// the embedded NATS port reads LEDGER through consumers of its own, durable
// or ordered, and subscribes to ledger.>, and nothing else: it cannot see,
// list, delete or create consumers on the commit log LEDGER_LOG (where
// ledgerd's own consumers are), read the log through ledgerd's replies,
// create a consumer through the legacy subject that names it in the body
// only, or forge replies on anyone's inbox.
func TestOutsidersReadThePublicFeedOnly(t *testing.T) {
	l := startLedgerd(t)
	snoop := connectAs(t, "snoop", l.NATS)
	leaks := make(chan *nats.Msg, 1024)
	_, err := snoop.nc.ChanSubscribe("_INBOX.>", leaks)
	require.NoError(t, err)
	require.NoError(t, snoop.nc.Flush())
	l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"alice","usageLocation":"US"}`)
	anon := connectAs(t, "anonymous", l.NATS)
	ctx := natsCtx(t)

	stream, err := anon.js.Stream(ctx, jetstream.StreamName)
	require.NoError(t, err, "an outsider reads LEDGER")
	ordered, err := stream.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{})
	require.NoError(t, err, "an outsider reads LEDGER with an ordered consumer")
	assert.Equal(t, "ledger.contoso.UserRegistered", fetchOne(t, ctx, ordered).Subject())
	durable, err := stream.CreateOrUpdateConsumer(ctx, natsjs.ConsumerConfig{Durable: "anonymous-reader", AckPolicy: natsjs.AckExplicitPolicy})
	require.NoError(t, err, "an outsider may make a durable on LEDGER (unprotected: see README)")
	assert.Equal(t, "ledger.contoso.UserRegistered", fetchOne(t, ctx, durable).Subject())

	logStream, err := anon.js.Stream(refusedCtx(t), jetstream.LogStreamName)
	if err == nil { // what an outsider could do before: list and delete ledgerd's own consumers
		for name := range logStream.ListConsumers(ctx).Info() {
			assert.Error(t, logStream.DeleteConsumer(ctx, name.Name), "an outsider deleted ledgerd's consumer %s on %s", name.Name, jetstream.LogStreamName)
		}
		_, err := logStream.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{})
		assert.Error(t, err, "an outsider made a consumer on %s", jetstream.LogStreamName)
	}
	assert.Error(t, err, "an outsider sees %s", jetstream.LogStreamName)
	for _, subject := range []string{
		"$JS.API.CONSUMER.NAMES.LEDGER_LOG", "$JS.API.CONSUMER.LIST.LEDGER_LOG",
		"$JS.API.CONSUMER.DELETE.LEDGER_LOG.any", "$JS.API.CONSUMER.CREATE.LEDGER_LOG.any",
		"$JS.API.CONSUMER.CREATE.LEDGER_LOG", "$JS.API.CONSUMER.MSG.NEXT.LEDGER_LOG.any",
		"$JS.API.DIRECT.GET.LEDGER_LOG", "$JS.API.STREAM.MSG.GET.LEDGER_LOG", "$JS.API.STREAM.INFO.LEDGER_LOG",
		"$JS.API.STREAM.LIST", "$JS.API.CONSUMER.NAMES.LEDGER", "$JS.API.CONSUMER.LIST.LEDGER",
		"$JS.API.CONSUMER.CREATE.LEDGER", "$JS.API.STREAM.INFO.OBJ_LEDGER_SNAPSHOTS",
		"_INBOX.forged", jetstream.LedgerInboxPrefix + ".forged",
	} {
		anon.refused(subject)
	}

	l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"bob","usageLocation":"US"}`)
	assert.Equal(t, "ledger.contoso.UserRegistered", fetchOne(t, ctx, durable).Subject(), "ledgerd forwards as before")
	time.Sleep(200 * time.Millisecond)
	for len(leaks) > 0 {
		m := <-leaks
		assert.False(t, m.Header.Get("Nats-Stream") == jetstream.LogStreamName || strings.HasPrefix(m.Reply, "$JS.ACK."+jetstream.LogStreamName) ||
			strings.HasPrefix(m.Subject, "ledger-log."), "an outsider read the commit log on %s (reply %s)", m.Subject, m.Reply)
	}
	assert.NotContains(t, l.log(), "NATS client error", "ledgerd itself is refused nothing")
}

// consumersFile writes a --nats-users file into dir and returns its path.
func consumersFile(t *testing.T, dir string, users ...map[string]any) string {
	t.Helper()
	data, err := json.Marshal(map[string]any{"users": users})
	require.NoError(t, err)
	path := filepath.Join(dir, "nats-users.json")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

// bcryptHash hashes a password as nats-server expects it.
func bcryptHash(t *testing.T, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	require.NoError(t, err)
	return string(h)
}

// TestEachServiceHasItsOwnConsumers (O3): with --nats-users, each
// downstream service connects as itself (a password or an nkey) and owns
// the durable consumers the file names: no other service, and no
// anonymous client, may delete, change, pull from, acknowledge for or even
// take the name of one of them; each still reads LEDGER freely with
// consumers of its own.
func TestEachServiceHasItsOwnConsumers(t *testing.T) {
	mailKey, err := nkeys.CreateUser()
	require.NoError(t, err)
	mailPub, err := mailKey.PublicKey()
	require.NoError(t, err)
	users := consumersFile(t, t.TempDir(),
		map[string]any{"user": "billing", "password": bcryptHash(t, "billing-secret"), "durables": []string{"billing"}},
		map[string]any{"user": "mail", "nkey": mailPub, "durables": []string{"mail", "mail-digest"}},
	)
	l := startLedgerd(t, "--nats-users", users)
	l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"alice","usageLocation":"US"}`)
	ctx := natsCtx(t)

	billing := connectAs(t, "billing", l.NATS, nats.UserInfo("billing", "billing-secret"))
	mail := connectAs(t, "mail", l.NATS, nats.Nkey(mailPub, mailKey.Sign))
	anon := connectAs(t, "anonymous", l.NATS)
	_, err = nats.Connect(l.NATS, nats.UserInfo("billing", "wrong"))
	require.Error(t, err, "a wrong password is refused")

	billingCfg := natsjs.ConsumerConfig{Durable: "billing", AckPolicy: natsjs.AckExplicitPolicy, FilterSubject: "ledger.>"}
	bc, err := billing.js.CreateOrUpdateConsumer(ctx, jetstream.StreamName, billingCfg)
	require.NoError(t, err, "billing makes its durable")
	assert.Equal(t, "ledger.contoso.UserRegistered", fetchOne(t, ctx, bc).Subject())

	for _, other := range []*natsClient{mail, anon} {
		assert.Error(t, other.js.DeleteConsumer(refusedCtx(t), jetstream.StreamName, "billing"), "%s deletes billing's durable", other.name)
		_, err := other.js.CreateOrUpdateConsumer(refusedCtx(t), jetstream.StreamName, natsjs.ConsumerConfig{Durable: "billing", AckPolicy: natsjs.AckExplicitPolicy, FilterSubject: "ledger.nobody.>"})
		assert.Error(t, err, "%s changes billing's durable", other.name)
		for _, subject := range otherConsumerSubjects("billing") {
			other.refused(subject)
		}
	}
	for _, name := range []string{"mail", "mail-digest"} {
		_, err := anon.js.CreateOrUpdateConsumer(refusedCtx(t), jetstream.StreamName, natsjs.ConsumerConfig{Durable: name})
		assert.Error(t, err, "anonymous takes mail's name %s", name)
		for _, subject := range otherConsumerSubjects(name) {
			anon.refused(subject)
			billing.refused(subject)
		}
	}

	mc, err := mail.js.CreateOrUpdateConsumer(ctx, jetstream.StreamName, natsjs.ConsumerConfig{Durable: "mail-digest", AckPolicy: natsjs.AckExplicitPolicy})
	require.NoError(t, err, "mail makes its own durable")
	assert.Equal(t, "ledger.contoso.UserRegistered", fetchOne(t, ctx, mc).Subject())
	stream, err := mail.js.Stream(ctx, jetstream.StreamName)
	require.NoError(t, err)
	ordered, err := stream.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{})
	require.NoError(t, err, "mail reads with an ordered consumer too")
	fetchOne(t, ctx, ordered)
	for _, c := range []*natsClient{billing, mail} {
		_, err := c.js.Stream(refusedCtx(t), jetstream.LogStreamName)
		assert.Error(t, err, "%s sees %s", c.name, jetstream.LogStreamName)
		c.refused("$JS.API.CONSUMER.CREATE.LEDGER_LOG.any")
		c.refused(jetstream.InputSubject(tenant, "LicenseAssigned"))
	}

	l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"bob","usageLocation":"US"}`)
	info, err := bc.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, "ledger.>", info.Config.FilterSubject, "billing's durable is unchanged")
	assert.Equal(t, uint64(1), info.AckFloor.Consumer, "nobody acknowledged for billing")
	assert.Equal(t, "ledger.contoso.UserRegistered", fetchOne(t, ctx, bc).Subject(), "billing goes on where it was")
}

// TestABadConsumersFileStopsLedgerd: ledgerd refuses to start on a
// consumers file with a bad entry, naming the file and the entry, rather
// than run with access nobody meant to give.
func TestABadConsumersFileStopsLedgerd(t *testing.T) {
	dir := t.TempDir()
	users := consumersFile(t, dir, map[string]any{"user": "billing", "password": "plain-text-password", "durables": []string{"billing"}})
	cmd := exec.Command(ledgerdBin, "--data", dir, "--listen", freeAddr(t), "--nats-listen", freeAddr(t),
		"--auth-file", writeAuthFile(t, dir), "--nats-users", users)
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "ledgerd started:\n%s", out)
	assert.Contains(t, string(out), users)
	assert.Contains(t, string(out), `users[0] (\"billing\"): password: want a bcrypt hash`)
}
