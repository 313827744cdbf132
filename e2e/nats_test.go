package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
	"github.com/licensing-ledger/ledger/projections"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// subscriber is a downstream program subscribed to ledger.> on NATS.
type subscriber struct {
	mu   sync.Mutex
	msgs []*nats.Msg
	nc   *nats.Conn
}

// subscribe connects to NATS like any downstream service would.
func subscribe(t *testing.T, url string) *subscriber {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	require.NoError(t, err)
	s := &subscriber{nc: nc}
	_, err = nc.Subscribe("ledger.>", func(m *nats.Msg) {
		s.mu.Lock()
		s.msgs = append(s.msgs, m)
		s.mu.Unlock()
	})
	require.NoError(t, err)
	require.NoError(t, nc.Flush())
	t.Cleanup(nc.Close)
	return s
}

// received waits until n messages arrived and returns the events decoded.
func (s *subscriber) received(t *testing.T, n int) []*ledgerv1.Event {
	t.Helper()
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.msgs) >= n
	}, 10*time.Second, 20*time.Millisecond, "waiting for %d events on NATS", n)
	time.Sleep(100 * time.Millisecond) // anything extra would show now
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*ledgerv1.Event, 0, len(s.msgs))
	for _, m := range s.msgs {
		e, err := events.Decode(m.Data)
		require.NoError(t, err)
		require.Equal(t, e.GetId(), m.Header.Get("Nats-Msg-Id"), "Nats-Msg-Id carries the event id")
		require.Equal(t, "ledger."+e.GetTenant()+"."+e.TypeName(), m.Subject)
		out = append(out, e)
	}
	return out
}

// jetStreamClient connects to NATS as an auditor would (a downstream
// reader that may read the commit log too; on an external server without
// authentication the credentials are ignored), for at most a minute of
// work; the connection closes when the test ends.
func jetStreamClient(t *testing.T, url string) (natsjs.JetStream, context.Context) {
	t.Helper()
	nc, err := nats.Connect(url, nats.UserInfo(auditorUser, auditorPassword))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := natsjs.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return js, ctx
}

// replay rebuilds the read models from the first event of the LEDGER
// stream, read over NATS as an auditor's tool would, once the stream holds
// every event the ledger stored (publication follows storage
// asynchronously).
func replay(t *testing.T, url string) (*projections.Licenses, namedRequests) {
	t.Helper()
	js, ctx := jetStreamClient(t, url)
	held := awaitPublished(t, ctx, js)
	stream, err := js.Stream(ctx, jetstream.StreamName)
	require.NoError(t, err)
	licenses, requests, dir := projections.NewLicenses(catalog.Default()), projections.NewRequests(time.Now), projections.NewDirectory()
	p := projections.NewProjector(nil, nil, licenses, requests, dir)
	cons, err := stream.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{})
	require.NoError(t, err)
	it, err := cons.Messages() // pulls in batches: one round trip per message is slow
	require.NoError(t, err)
	defer it.Stop()
	for n := uint64(0); n < held; n++ {
		m, err := it.Next(natsjs.NextContext(ctx))
		require.NoError(t, err)
		rec, err := jetstream.RecordFromStreamMsg(m)
		require.NoError(t, err)
		require.NoError(t, p.Apply(rec))
	}
	return licenses, namedRequests{requests, dir}
}

// namedRequests lists replayed requests as the API lists them: with the
// product's name and the people's display names.
type namedRequests struct {
	requests *projections.Requests
	dir      *projections.Directory
}

func (n namedRequests) List(tenant, status string) []projections.RequestView {
	reqs := n.requests.List(tenant, status)
	for i, r := range reqs {
		p, _ := catalog.Default().Product(r.ProductID)
		reqs[i] = n.dir.Named(tenant, r, p.Name)
	}
	return reqs
}

// sameJSON asserts that a value, once encoded, equals an API answer's body.
func sameJSON(t *testing.T, want any, got map[string]any, msg string) {
	t.Helper()
	data, err := json.Marshal(want)
	require.NoError(t, err)
	var w map[string]any
	require.NoError(t, json.Unmarshal(data, &w))
	require.Equal(t, w, got, msg)
}
