package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOneProcessPerDataDirectory proves O1: a second ledgerd on a data
// directory that a running ledgerd owns exits at once, with a non-zero
// status and a message naming the directory and the holder's pid, and
// changes nothing; the owner goes on acknowledging commands, and after a
// SIGKILL of the owner a new ledgerd starts on the directory without any
// cleanup and holds every acknowledged event.
//
// Before the lock both processes started on the directory, each with its
// own embedded NATS on the same files, and acknowledged commands were lost.
func TestOneProcessPerDataDirectory(t *testing.T) {
	first := startLedgerd(t)
	first.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"u1","displayName":"U1","usageLocation":"US"}`)

	out, code := runSecondLedgerd(t, first)
	require.NotEqual(t, 0, code, "the second ledgerd must not run:\n%s", out)
	assert.Contains(t, out, first.data, "the message names the directory")
	assert.Contains(t, out, "pid "+strconv.Itoa(first.cmd.Process.Pid), "the message names the holder")
	assert.NotContains(t, out, "embedded NATS", "the second ledgerd opened nothing")
	lock, err := os.ReadFile(filepath.Join(first.data, "ledgerd.lock"))
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(first.cmd.Process.Pid), strings.TrimSpace(string(lock)), "the lock file still names the owner")

	first.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"u2","displayName":"U2","usageLocation":"US"}`)
	first.kill() // SIGKILL: the kernel releases the lock
	first.start()
	first.mustCommand(t, adminToken, tenant, "RegisterUser", `{"userId":"u3","displayName":"U3","usageLocation":"US"}`)
	assert.Equal(t, 3, exportedEvents(t, first), "every acknowledged event is kept")
}

// runSecondLedgerd runs ledgerd on owner's data directory with ports of
// its own and returns its output and exit status; it fails the test if the
// process is still running after 10 s (it became a second owner).
func runSecondLedgerd(t *testing.T, owner *ledgerd) (string, int) {
	t.Helper()
	httpAddr := freeAddr(t)
	args := []string{"--data", owner.data, "--listen", httpAddr, "--nats-listen", freeAddr(t), "--auth-file", filepath.Join(owner.data, "principals.json")}
	var out strings.Builder
	cmd := exec.Command(ledgerdBin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return out.String(), exit.ExitCode()
		}
		require.NoError(t, err)
		return out.String(), 0
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the second ledgerd on %s is still running (API on %s):\n%s", owner.data, httpAddr, out.String())
		return "", 0
	}
}

// exportedEvents counts the tenant's events in its export.
func exportedEvents(t *testing.T, l *ledgerd) int {
	t.Helper()
	n, _ := exportRaw(t, l, adminToken)
	return n
}

// countEventLines counts the events of an export, not its checkpoint line.
func countEventLines(t *testing.T, export []byte) int {
	t.Helper()
	n := 0
	for _, l := range bytes.Split(bytes.TrimSpace(export), []byte("\n")) {
		var line struct{ ID string }
		require.NoError(t, json.Unmarshal(l, &line))
		if line.ID != "" {
			n++
		}
	}
	return n
}
