package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/infra/jetstream"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNobodyButTheLedgerWritesTheLedger connects to the embedded NATS port
// as any client would: it may subscribe to ledger.> and read LEDGER, but
// every attempt to publish on the ledger's subjects or to create, update,
// purge or delete a stream or a message is refused (on the commit log, even
// reading it), and the streams are byte for byte unchanged.
func TestNobodyButTheLedgerWritesTheLedger(t *testing.T) {
	l := startLedgerd(t)
	l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"alice","usageLocation":"US"}`)
	var mu sync.Mutex
	var violations []string
	nc, err := nats.Connect(l.NATS, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		mu.Lock()
		violations = append(violations, err.Error())
		mu.Unlock()
	}))
	require.NoError(t, err)
	defer nc.Close()

	sub, err := nc.SubscribeSync("ledger.>")
	require.NoError(t, err, "a client may subscribe to the ledger's events")
	require.NoError(t, nc.Flush(), "the subscription is in place before the event")
	l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"bob","usageLocation":"US"}`)
	msg, err := sub.NextMsg(10 * time.Second)
	require.NoError(t, err)
	assert.Equal(t, "ledger.contoso.UserRegistered", msg.Subject)
	before := streamDigest(t, l.NATS)

	for _, subject := range []string{"ledger.contoso.LicenseAssigned", jetstream.InputSubject(tenant, "LicenseAssigned"), "ledger-log." + tenant} {
		require.NoError(t, nc.Publish(subject, []byte("forged")))
	}
	require.NoError(t, nc.Flush())
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(violations) >= 3 }, 5*time.Second, 20*time.Millisecond)
	for _, v := range violations {
		assert.Contains(t, strings.ToLower(v), "permissions violation for publish")
	}

	js, err := natsjs.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, jetstream.StreamName)
	require.NoError(t, err, "a client may read stream %s", jetstream.StreamName)
	short := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 500*time.Millisecond) }
	c1, f1 := short()
	assert.Error(t, s.Purge(c1), "purge %s", jetstream.StreamName)
	f1()
	c2, f2 := short()
	assert.Error(t, s.DeleteMsg(c2, 1), "delete a message of %s", jetstream.StreamName)
	f2()
	c3, f3 := short()
	assert.Error(t, js.DeleteStream(c3, jetstream.StreamName), "delete %s", jetstream.StreamName)
	f3()
	c4, f4 := short()
	_, err = js.UpdateStream(c4, natsjs.StreamConfig{Name: jetstream.StreamName, Subjects: []string{"evil.>"}})
	assert.Error(t, err, "update %s", jetstream.StreamName)
	f4()
	anon := connectAs(t, "anonymous", l.NATS)
	for _, op := range []string{"PURGE", "DELETE", "UPDATE", "MSG.DELETE", "INFO"} {
		anon.refused("$JS.API.STREAM." + op + "." + jetstream.LogStreamName)
	}
	c5, f5 := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = js.CreateStream(c5, natsjs.StreamConfig{Name: "EVIL", Subjects: []string{"ledger-in.>"}})
	f5()
	assert.Error(t, err, "a client may not create a stream capturing the ledger's subjects")
	assert.Equal(t, before, streamDigest(t, l.NATS), "the streams are unchanged")
}
