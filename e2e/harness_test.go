// Package e2e tests the real ledgerd binary over real sockets: it builds the
// binary once, starts it on temporary directories and free ports, and talks
// to it over HTTP and NATS as users and downstream services do.
package e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/infra/auth"
	"github.com/licensing-ledger/ledger/internal/testbin"
	"github.com/stretchr/testify/require"
)

// ledgerdBin is the binary built once for the whole package.
var ledgerdBin string

func TestMain(m *testing.M) {
	bin, remove, err := testbin.Build("../cmd/ledgerd")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ledgerdBin = bin
	code := m.Run()
	remove()
	os.Exit(code)
}

// Tokens of the principals every test's auth file holds.
const (
	adminToken   = "admin-token-0123456789"
	aliceToken   = "alice-token-0123456789"
	fabrikamTok  = "fabrikam-token-0123456"
	tenant       = "contoso"
	otherTenant  = "northwind"
	otherAdminTk = "northwind-admin-token-01"
)

// writeAuthFile writes the principals of the tests into dir.
func writeAuthFile(t *testing.T, dir string) string {
	t.Helper()
	f := auth.File{Principals: []auth.Entry{
		{ID: "admin@contoso", Tenant: tenant, Roles: []string{"GlobalAdministrator"}, Token: adminToken},
		{ID: "alice", Tenant: tenant, TokenSHA256: sha256Hex(aliceToken)},
		{ID: "admin@northwind", Tenant: otherTenant, Roles: []string{"GlobalAdministrator"}, Token: otherAdminTk},
		{ID: "agent@fabrikam", Partner: "fabrikam", Roles: []string{"AdminAgent"}, Token: fabrikamTok},
	}}
	data, err := json.Marshal(f)
	require.NoError(t, err)
	path := filepath.Join(dir, "principals.json")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

// The NATS user the tests' helpers (jetStreamClient) read the streams as:
// it may read the commit log by gets, as no anonymous client may.
const (
	auditorUser     = "e2e-auditor"
	auditorPassword = "e2e-auditor-password"
)

// writeAuditorFile writes a consumers file (--nats-users) holding the
// auditor into dir.
func writeAuditorFile(t *testing.T, dir string) string {
	t.Helper()
	return consumersFile(t, dir, map[string]any{"user": auditorUser, "password": bcryptHash(t, auditorPassword), "readLog": true})
}

// ledgerd is one running ledgerd process.
type ledgerd struct {
	t        *testing.T
	cmd      *exec.Cmd
	data     string
	args     []string
	HTTP     string // base URL of the API
	NATS     string // nats:// URL of the embedded server
	logPath  string
	exited   chan struct{}
	httpAddr string
	natsAddr string
	bin      string // the binary; ledgerdBin when empty
}

// startLedgerd starts ledgerd on a new data directory and free ports. On
// its embedded NATS, unless the test gives its own --nats-users, the
// tests' helpers read the streams as auditorUser.
func startLedgerd(t *testing.T, extra ...string) *ledgerd {
	t.Helper()
	data := t.TempDir()
	l := &ledgerd{t: t, data: data, httpAddr: freeAddr(t), natsAddr: freeAddr(t)}
	l.args = append([]string{"--data", data, "--listen", l.httpAddr, "--nats-listen", l.natsAddr, "--auth-file", writeAuthFile(t, data)}, extra...)
	if !slices.Contains(extra, "--nats-users") && !slices.Contains(extra, "--nats-url") {
		l.args = append(l.args, "--nats-users", writeAuditorFile(t, data))
	}
	l.HTTP, l.NATS = "http://"+l.httpAddr, "nats://"+l.natsAddr
	l.start()
	t.Cleanup(l.kill)
	return l
}

// start runs the process with the ledger's arguments and waits until healthy.
func (l *ledgerd) start() {
	l.t.Helper()
	l.launch()
	l.waitOpen(30 * time.Second)
}

// launch runs the process with the ledger's arguments, without waiting.
func (l *ledgerd) launch() {
	l.t.Helper()
	l.logPath = filepath.Join(l.data, fmt.Sprintf("ledgerd-%d.log", time.Now().UnixNano()))
	logf, err := os.Create(l.logPath)
	require.NoError(l.t, err)
	l.cmd = exec.Command(cmp.Or(l.bin, ledgerdBin), l.args...)
	l.cmd.Stdout, l.cmd.Stderr = logf, logf
	require.NoError(l.t, l.cmd.Start())
	l.exited = make(chan struct{})
	go func() { _ = l.cmd.Wait(); logf.Close(); close(l.exited) }()
}

// waitOpen waits until the API is open, and fails if ledgerd exits first.
func (l *ledgerd) waitOpen(within time.Duration) {
	l.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-l.exited:
			l.t.Fatalf("ledgerd exited at start:\n%s", l.log())
		default:
		}
		if apiOpen(l.HTTP) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	l.t.Fatalf("ledgerd did not become healthy:\n%s", l.log())
}

// apiOpen reports whether ledgerd's API is open: /healthz answers "ok"
// (while ledgerd waits for its store and rebuilds its read models, it
// answers "starting").
func apiOpen(base string) bool {
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var h struct{ Status string }
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&h) == nil && h.Status == "ok"
}

// stop ends the process gracefully (SIGTERM) and waits for it.
func (l *ledgerd) stop() {
	l.t.Helper()
	_ = l.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-l.exited:
	case <-time.After(20 * time.Second):
		l.t.Fatalf("ledgerd did not stop on SIGTERM:\n%s", l.log())
	}
}

// kill ends the process at once (SIGKILL), as a crash would.
func (l *ledgerd) kill() {
	if l.cmd == nil || l.cmd.Process == nil {
		return
	}
	_ = l.cmd.Process.Kill()
	<-l.exited
}

// restart stops the process and starts it again on the same data and ports.
func (l *ledgerd) restart() {
	l.t.Helper()
	l.stop()
	l.start()
}

func (l *ledgerd) log() string {
	b, _ := os.ReadFile(l.logPath)
	return string(b)
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// response is an HTTP answer with its JSON body decoded.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

// Code returns the problem code of an error answer.
func (r response) Code() string { s, _ := r.Body["code"].(string); return s }

// Events returns the events of a command answer.
func (r response) Events() []map[string]any {
	var out []map[string]any
	for _, e := range r.Body["events"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

// command posts a command as the holder of token.
func (l *ledgerd) command(t *testing.T, token, tenant, name, body string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/v1/tenants/%s/commands/%s", l.HTTP, tenant, name), strings.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return do(t, req, token)
}

// mustCommand posts a command and fails the test unless it is accepted.
func (l *ledgerd) mustCommand(t *testing.T, token, tenant, name, body string) response {
	t.Helper()
	r := l.command(t, token, tenant, name, body)
	require.Equal(t, http.StatusOK, r.Status, "%s %s: %s", name, body, r.Raw)
	return r
}

// get sends a query as the holder of token.
func (l *ledgerd) get(t *testing.T, token, path string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, l.HTTP+path, nil)
	require.NoError(t, err)
	return do(t, req, token)
}

func do(t *testing.T, req *http.Request, token string) response {
	t.Helper()
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 {
		require.NoError(t, json.Unmarshal(raw, &r.Body), "body: %s", raw)
	}
	return r
}
