package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/licensing-ledger/ledger/internal/feedtest"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// tail runs ledgerctl tail in process against the feed's NATS.
func tail(t *testing.T, f *feedtest.Feed, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	code := run(ctx, append([]string{"tail", "--nats", f.URL}, args...), e)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// decoded parses tail's output: one ledger.v1.Event in protojson a line.
func decoded(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	for line := range strings.Lines(out) {
		require.True(t, json.Valid([]byte(line)), "a JSON line: %q", line)
		e := &ledgerv1.Event{}
		require.NoError(t, protojson.Unmarshal([]byte(line), e), line)
		got = append(got, e.GetTenant()+"#"+itoa(e.GetSequence())+" "+e.TypeName())
	}
	return got
}

func itoa(n uint64) string { b, _ := json.Marshal(n); return string(b) }

func feed(t *testing.T) *feedtest.Feed {
	f := feedtest.Start(t)
	f.Append("acme", &ledgerv1.UserRegistered{UserId: "alice"}, &ledgerv1.LicenseAssigned{UserId: "alice", ProductId: "SPB"})
	f.Append("globex", &ledgerv1.LicenseAssigned{UserId: "carol", ProductId: "SPB"})
	f.Append("acme", &ledgerv1.SeatsChanged{SubscriptionId: "s1", Seats: 3})
	return f
}

func TestTailPrintsEveryEventAsAJSONLine(t *testing.T) {
	f := feed(t)
	r := tail(t, f, "--follow=false")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, []string{"acme#1 UserRegistered", "acme#2 LicenseAssigned", "globex#1 LicenseAssigned", "acme#3 SeatsChanged"}, decoded(t, r.stdout))
	assert.Contains(t, r.stdout, `"licenseAssigned":{"userId":"alice","productId":"SPB"}`, "the payload, in protojson")
}

func TestTailFiltersByTenantAndType(t *testing.T) {
	f := feed(t)
	r := tail(t, f, "--follow=false", "--tenant", "acme", "--type", "LicenseAssigned,SeatsChanged")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, []string{"acme#2 LicenseAssigned", "acme#3 SeatsChanged"}, decoded(t, r.stdout))
	r = tail(t, f, "--follow=false", "--type", "LicenseAssigned", "--type", "UserRegistered")
	assert.Equal(t, []string{"acme#1 UserRegistered", "acme#2 LicenseAssigned", "globex#1 LicenseAssigned"}, decoded(t, r.stdout))
}

func TestTailStartsAtASequenceOrATime(t *testing.T) {
	f := feed(t)
	r := tail(t, f, "--follow=false", "--from-seq", "3")
	assert.Equal(t, []string{"globex#1 LicenseAssigned", "acme#3 SeatsChanged"}, decoded(t, r.stdout))
	time.Sleep(20 * time.Millisecond)
	since := time.Now().UTC().Format(time.RFC3339Nano)
	f.Append("globex", &ledgerv1.UserRegistered{UserId: "dave"})
	r = tail(t, f, "--follow=false", "--since", since)
	assert.Equal(t, []string{"globex#2 UserRegistered"}, decoded(t, r.stdout))
	r = tail(t, f, "--follow=false", "--since", "1h")
	assert.Len(t, decoded(t, r.stdout), 5)
}

func TestTailWithNothingToPrintEndsAtOnce(t *testing.T) {
	f := feed(t)
	r := tail(t, f, "--follow=false", "--tenant", "initech")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Empty(t, r.stdout)
}

// TestTailFollowsUntilCount follows the feed and stops after --count
// events, new ones included.
func TestTailFollowsUntilCount(t *testing.T) {
	f := feed(t)
	var wg sync.WaitGroup
	var r result
	wg.Go(func() { r = tail(t, f, "--count", "5", "--tenant", "acme,globex") })
	time.Sleep(300 * time.Millisecond)
	f.Append("globex", &ledgerv1.UserRegistered{UserId: "dave"})
	wg.Wait()
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "globex#2 UserRegistered", decoded(t, r.stdout)[4])
}

func TestTailRefusesBadFlags(t *testing.T) {
	f := feed(t)
	for _, args := range [][]string{
		{"--type", "NoSuchEvent"},
		{"--tenant", "a.b"},
		{"--since", "yesterday"},
		{"--from-seq", "3", "--since", "1h"},
	} {
		r := tail(t, f, args...)
		assert.Equal(t, exitUsage, r.code, "%v: %s", args, r.stderr)
	}
}

// TestTailLeavesNoDurableConsumer: tail reads through an ordered
// consumer, which leaves no position on the server once tail has ended.
func TestTailLeavesNoDurableConsumer(t *testing.T) {
	f := feed(t)
	r := tail(t, f, "--follow=false")
	require.Equal(t, exitOK, r.code, r.stderr)
	js, err := natsjs.New(f.Connect())
	require.NoError(t, err)
	stream, err := js.Stream(t.Context(), "LEDGER")
	require.NoError(t, err)
	for info := range stream.ListConsumers(t.Context()).Info() {
		assert.Empty(t, info.Config.Durable, "consumer %s", info.Name)
	}
}
