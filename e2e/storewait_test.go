package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLedgerdWaitsForItsStore starts ledgerd before its external NATS:
// it does not exit; it is alive (/healthz), not ready (/readyz 503 saying
// it waits for the store), and answers commands 503 with Retry-After. Once
// nats-server starts, ledgerd opens by itself and takes commands.
func TestLedgerdWaitsForItsStore(t *testing.T) {
	ns := &natsServer{t: t, bin: natsServerBin(t), dir: t.TempDir(), addr: freeAddr(t)}
	ns.URL = "nats://" + ns.addr
	t.Cleanup(ns.kill)
	data := t.TempDir()
	l := &ledgerd{t: t, data: data, httpAddr: freeAddr(t)}
	l.args = []string{"--data", data, "--listen", l.httpAddr, "--nats-url", ns.URL, "--auth-file", writeAuthFile(t, data)}
	l.HTTP = "http://" + l.httpAddr
	l.launch()
	t.Cleanup(l.kill)

	require.Eventually(t, func() bool {
		resp, err := http.Get(l.HTTP + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond, "ledgerd listens while it waits for its store")
	requireNotReady(t, l, "startup", "waiting for the event store", 10*time.Second)
	assert.Equal(t, http.StatusOK, l.get(t, "", "/healthz").Status, "alive while it waits")
	r := l.command(t, adminToken, tenant, "RegisterUser", `{"userId":"early","usageLocation":"US"}`)
	assert.Equal(t, http.StatusServiceUnavailable, r.Status, "%s", r.Raw)
	assert.Equal(t, "Unavailable", r.Code())
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
	time.Sleep(time.Second) // a few tries fail
	select {
	case <-l.exited:
		t.Fatalf("ledgerd gave up:\n%s", l.log())
	default:
	}

	ns.start()
	l.waitOpen(30 * time.Second)
	l.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"late","usageLocation":"US"}`)
	requireReady(t, l, 10*time.Second)
	assert.Contains(t, l.log(), "the event store cannot be reached yet; trying again")
}

// TestLedgerdWaitsForItsStoreNoLongerThanTold: with no NATS within
// --store-wait, ledgerd exits non-zero and says why.
func TestLedgerdWaitsForItsStoreNoLongerThanTold(t *testing.T) {
	data := t.TempDir()
	l := &ledgerd{t: t, data: data, httpAddr: freeAddr(t)}
	l.args = []string{"--data", data, "--listen", l.httpAddr, "--nats-url", "nats://" + freeAddr(t), "--auth-file", writeAuthFile(t, data), "--store-wait", "1s"}
	l.HTTP = "http://" + l.httpAddr
	l.launch()
	t.Cleanup(l.kill)
	select {
	case <-l.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("ledgerd still waits after --store-wait")
	}
	require.NotEqual(t, 0, l.cmd.ProcessState.ExitCode())
	assert.True(t, strings.Contains(l.log(), "did not answer within --store-wait 1s"), l.log())
}
