package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// natsServerModule is the module whose nats-server binary the tests run:
// the version go.mod pins, the one ledgerd embeds.
const natsServerModule = "github.com/nats-io/nats-server/v2"

// natsBinary is the result of looking for the nats-server binary, once.
var natsBinary struct {
	once    sync.Once
	path    string
	missing string // why it cannot be used, when it cannot
}

// natsServerBin returns the nats-server binary that scripts/install-tools.sh
// installs in $(go env GOPATH)/bin, at the version in go.mod. Without it the
// test is skipped with the command that installs it, except in CI (CI=true),
// where a missing server fails the test instead of hiding it.
func natsServerBin(t *testing.T) string {
	t.Helper()
	natsBinary.once.Do(findNATSServer)
	if natsBinary.missing == "" {
		return natsBinary.path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI must run this test: scripts/install-tools.sh installs it)", natsBinary.missing)
	}
	t.Skipf("%s; run scripts/install-tools.sh to run this test", natsBinary.missing)
	return ""
}

// findNATSServer looks for the binary and checks its version.
func findNATSServer() {
	gopath, err1 := goOutput("env", "GOPATH")
	version, err2 := goOutput("list", "-m", "-f", "{{.Version}}", natsServerModule)
	if err := firstError(err1, err2); err != nil {
		natsBinary.missing = fmt.Sprintf("cannot ask go where nats-server is: %v", err)
		return
	}
	path := filepath.Join(gopath, "bin", "nats-server")
	install := fmt.Sprintf("go install %s@%s", natsServerModule, version)
	out, err := exec.Command(path, "--version").Output()
	switch {
	case err != nil:
		natsBinary.missing = fmt.Sprintf("nats-server %s is not installed at %s (%s)", version, path, install)
	case !strings.Contains(string(out), version):
		natsBinary.missing = fmt.Sprintf("%s is %s, not %s as in go.mod (%s)", path, strings.TrimSpace(string(out)), version, install)
	default:
		natsBinary.path = path
	}
}

// goOutput runs the go command and returns its output, trimmed.
func goOutput(args ...string) (string, error) {
	out, err := exec.Command("go", args...).Output()
	return strings.TrimSpace(string(out)), err
}

// firstError returns the first non-nil error.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// natsServer is a nats-server process with JetStream, on a store directory
// and a port it keeps across restarts, as an operator's server would.
type natsServer struct {
	t       *testing.T
	bin     string
	dir     string
	addr    string
	URL     string
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
	starts  int
	conf    string        // configuration file, if any
	opts    []nats.Option // how the readiness check connects (credentials)
}

// startNATSServer starts a nats-server on a new store directory and a free
// loopback port, and stops it when the test ends.
func startNATSServer(t *testing.T) *natsServer {
	t.Helper()
	n := &natsServer{t: t, bin: natsServerBin(t), dir: t.TempDir(), addr: freeAddr(t)}
	n.URL = "nats://" + n.addr
	n.start()
	t.Cleanup(n.kill)
	return n
}

// startNATSServerWithConfig starts a nats-server like startNATSServer, with
// a configuration file (its listen address and store are the test's); the
// readiness check connects with opts.
func startNATSServerWithConfig(t *testing.T, conf string, opts ...nats.Option) *natsServer {
	t.Helper()
	n := &natsServer{t: t, bin: natsServerBin(t), dir: t.TempDir(), addr: freeAddr(t), conf: conf, opts: opts}
	n.URL = "nats://" + n.addr
	n.start()
	t.Cleanup(n.kill)
	return n
}

// start runs the server and waits until JetStream answers.
func (n *natsServer) start() {
	n.t.Helper()
	host, port, _ := strings.Cut(n.addr, ":")
	n.starts++
	n.logPath = filepath.Join(n.dir, fmt.Sprintf("nats-server-%d.log", n.starts))
	logf, err := os.Create(n.logPath)
	require.NoError(n.t, err)
	args := []string{"-a", host, "-p", port, "-js", "-sd", filepath.Join(n.dir, "store"), "-n", "e2e-nats"}
	if n.conf != "" {
		args = append(args, "-c", n.conf)
	}
	n.cmd = exec.Command(n.bin, args...)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	require.NoError(n.t, n.cmd.Start())
	n.exited = make(chan struct{})
	go func() { _ = n.cmd.Wait(); logf.Close(); close(n.exited) }()
	n.waitReady()
}

// waitReady waits, at most 30 s, until a client gets JetStream's account
// information: the server listens and JetStream has recovered its store.
func (n *natsServer) waitReady() {
	n.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-n.exited:
			n.t.Fatalf("nats-server exited at start:\n%s", n.log())
		default:
		}
		if n.jetStreamReady() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.t.Fatalf("nats-server did not become ready:\n%s", n.log())
}

// jetStreamReady reports whether a client gets JetStream's account information.
func (n *natsServer) jetStreamReady() bool {
	nc, err := nats.Connect(n.URL, append([]nats.Option{nats.Timeout(time.Second), nats.NoReconnect()}, n.opts...)...)
	if err != nil {
		return false
	}
	defer nc.Close()
	js, err := natsjs.New(nc)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err == nil
}

// kill ends the server at once (SIGKILL), as a crash would.
func (n *natsServer) kill() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Kill()
	<-n.exited
}

// restart kills the server and starts it again on the same store and port.
func (n *natsServer) restart() {
	n.t.Helper()
	n.kill()
	n.start()
}

// log returns what the server logged since its last start.
func (n *natsServer) log() string {
	b, _ := os.ReadFile(n.logPath)
	return string(b)
}

// startLedgerdOn starts a ledgerd that uses the external server instead of
// an embedded one; its NATS field is the server's URL.
func startLedgerdOn(t *testing.T, n *natsServer, extra ...string) *ledgerd {
	t.Helper()
	l := startLedgerd(t, append([]string{"--nats-url", n.URL}, extra...)...)
	l.NATS = n.URL
	return l
}
