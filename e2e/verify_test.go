package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
	"github.com/licensing-ledger/ledger/projections"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// publicEvent is one message of the public stream LEDGER as a downstream
// consumer reads it.
type publicEvent struct {
	StreamSeq uint64
	Subject   string
	MsgID     string
	Event     *ledgerv1.Event
}

// readPublicStream waits, at most 30 s, until the LEDGER stream holds at
// least want messages (a forwarder may still be publishing), then reads
// every message from the first with an ordered consumer.
func readPublicStream(t *testing.T, url string, want int) []publicEvent {
	t.Helper()
	js, ctx := jetStreamClient(t, url)
	stream, err := js.Stream(ctx, jetstream.StreamName)
	require.NoError(t, err)
	held := streamHolding(t, ctx, stream, max(uint64(want), awaitPublished(t, ctx, js)))
	cons, err := stream.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{})
	require.NoError(t, err)
	it, err := cons.Messages()
	require.NoError(t, err)
	defer it.Stop()
	out := make([]publicEvent, 0, held)
	for range held {
		m, err := it.Next(natsjs.NextContext(ctx))
		require.NoError(t, err)
		meta, err := m.Metadata()
		require.NoError(t, err)
		e, err := events.Decode(m.Data())
		require.NoError(t, err, "message %d on %s", meta.Sequence.Stream, m.Subject())
		out = append(out, publicEvent{StreamSeq: meta.Sequence.Stream, Subject: m.Subject(), MsgID: m.Headers().Get(natsjs.MsgIDHeader), Event: e})
	}
	return out
}

// streamHolding returns how many messages the stream holds once it holds
// at least want, or after 30 s.
func streamHolding(t *testing.T, ctx context.Context, stream natsjs.Stream, want uint64) uint64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := stream.Info(ctx)
		require.NoError(t, err)
		if info.State.Msgs >= want || time.Now().After(deadline) {
			return info.State.Msgs
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// commandKey names one command of one tenant: command ids are per tenant.
func commandKey(tenantID, commandID string) string { return tenantID + "/" + commandID }

// checkPublicStream checks what L2 promises a downstream consumer: each
// event once, with its id as Nats-Msg-Id, on ledger.<tenant>.<Type>, and
// each tenant's events in their order without gaps. It returns the events
// of each command, by commandKey, in stream order.
func checkPublicStream(t *testing.T, stream []publicEvent) map[string][]*ledgerv1.Event {
	t.Helper()
	seen := map[string]uint64{}
	last := map[string]uint64{}
	byCommand := map[string][]*ledgerv1.Event{}
	for _, m := range stream {
		e := m.Event
		if first, dup := seen[e.GetId()]; dup {
			t.Errorf("event %s is in the stream twice: messages %d and %d", e.GetId(), first, m.StreamSeq)
			continue
		}
		seen[e.GetId()] = m.StreamSeq
		assert.Equal(t, e.GetId(), m.MsgID, "message %d: Nats-Msg-Id carries the event id", m.StreamSeq)
		assert.Equal(t, "ledger."+e.GetTenant()+"."+e.TypeName(), m.Subject, "message %d", m.StreamSeq)
		if want := last[e.GetTenant()] + 1; e.GetSequence() != want {
			t.Errorf("message %d: tenant %s event %s has sequence %d, want %d (tenant order)", m.StreamSeq, e.GetTenant(), e.GetId(), e.GetSequence(), want)
		}
		last[e.GetTenant()] = e.GetSequence()
		k := commandKey(e.GetTenant(), e.GetCommandId())
		byCommand[k] = append(byCommand[k], e)
	}
	return byCommand
}

// registeredUsers returns the users the stream registered in the tenant.
func registeredUsers(stream []publicEvent, tenantID string) []string {
	var users []string
	for _, m := range stream {
		if p, ok := m.Event.PayloadMessage().(*ledgerv1.UserRegistered); ok && m.Event.GetTenant() == tenantID {
			users = append(users, p.GetUserId())
		}
	}
	return users
}

// tenantViews names a tenant whose views a test compares, a token that
// reads them, and its users.
type tenantViews struct {
	id, token string
	users     []string
}

// requireViewsEqualReplay checks that a ledgerd's read models of the
// tenants equal the ones rebuilt from the first event of the public stream.
// A process that did not write the last events may still be applying them,
// so its views get 20 s to converge.
func requireViewsEqualReplay(t *testing.T, l *ledgerd, tenants ...tenantViews) {
	t.Helper()
	licenses, requests := replay(t, l.NATS)
	for _, tv := range tenants {
		want := replayedViews(t, licenses, requests, tv.id, tv.users)
		deadline := time.Now().Add(20 * time.Second)
		got := liveViews(t, l, tv.token, tv.id, tv.users)
		for !reflect.DeepEqual(want, got) && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			got = liveViews(t, l, tv.token, tv.id, tv.users)
		}
		require.Equal(t, want, got, "the read models of %s equal a replay of %s from the first event", l.HTTP, tv.id)
	}
}

// liveViews returns every view of the tenant as the API answers it.
func liveViews(t *testing.T, l *ledgerd, token, tenantID string, users []string) map[string]any {
	t.Helper()
	base := "/v1/tenants/" + tenantID
	paths := map[string]string{"licenses": base + "/licenses", "subscriptions": base + "/subscriptions", "requests": base + "/requests"}
	for _, u := range users {
		paths["user:"+u] = base + "/users/" + u + "/licenses"
	}
	out := map[string]any{}
	for name, path := range paths {
		r := l.get(t, token, path)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", path, r.Raw)
		out[name] = r.Body
	}
	return out
}

// replayedViews returns what liveViews should answer, from replayed models.
func replayedViews(t *testing.T, licenses *projections.Licenses, requests namedRequests, tenantID string, users []string) map[string]any {
	t.Helper()
	out := map[string]any{
		"licenses":      asJSON(t, map[string]any{"tenant": tenantID, "products": licenses.Products(tenantID)}),
		"subscriptions": asJSON(t, map[string]any{"tenant": tenantID, "subscriptions": licenses.Subscriptions(tenantID)}),
		"requests":      asJSON(t, map[string]any{"tenant": tenantID, "requests": requests.List(tenantID, "")}),
	}
	for _, u := range users {
		v, ok := licenses.User(tenantID, u)
		require.True(t, ok, "the replay knows user %s", u)
		out["user:"+u] = asJSON(t, v)
	}
	return out
}

// asJSON returns v as the API's JSON decodes: maps, slices, float64s.
func asJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(data, &out))
	return out
}

// requireNoOversale checks that no product of the tenant has more seats
// assigned than it has (A3), as the API shows them.
func requireNoOversale(t *testing.T, l *ledgerd, token, tenantID string) {
	t.Helper()
	r := l.get(t, token, "/v1/tenants/"+tenantID+"/licenses")
	require.Equal(t, http.StatusOK, r.Status, string(r.Raw))
	for _, p := range r.Body["products"].([]any) {
		row := p.(map[string]any)
		assert.LessOrEqual(t, row["assigned"], row["total"], "%s %v: never more assigned than seats", tenantID, row["productId"])
		assert.GreaterOrEqual(t, row["available"], 0.0, "%s %v", tenantID, row["productId"])
	}
}
