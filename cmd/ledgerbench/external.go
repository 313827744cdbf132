package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// With --nats-server, the command runs use a nats-server process of their
// own instead of the embedded server, as a ledger whose NATS runs on other
// machines does: the table then tells the ledger's CPU per command apart
// from the server's, which on 2 CPUs share the same processors.

// serverPID is the running external server's process id, 0 when the
// server is embedded (its CPU is then the process's own).
var serverPID atomic.Int64

// serverCPU returns the processor time the external server has used, user
// and system, or 0 when there is none.
func serverCPU() time.Duration {
	pid := serverPID.Load()
	if pid == 0 {
		return 0
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which ends with ')': state is the
	// first, utime the 12th and stime the 13th (proc(5)), in clock ticks of
	// 1/100 s on Linux.
	_, rest, _ := strings.Cut(string(stat), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// startExternalNATS runs the nats-server binary with JetStream keeping its
// files in dir, listening on a free loopback port; sync makes it fsync
// every write. The ledger connects over TCP.
func startExternalNATS(ctx context.Context, bin, dir string, sync bool, log *slog.Logger) (*natsServer, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nats-server.conf")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(conf, serverConf(addr, dir, sync), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-c", conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the benchmark
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	nc, err := dialUntil(ctx, "nats://"+addr, 10*time.Second, log)
	if err != nil {
		stop()
		return nil, err
	}
	js, err := natsjs.New(nc)
	if err != nil {
		nc.Close()
		stop()
		return nil, err
	}
	serverPID.Store(int64(cmd.Process.Pid))
	log.Info("NATS server in a process of its own", "binary", bin, "address", addr, "pid", cmd.Process.Pid)
	return &natsServer{nc: nc, js: js, external: "nats://" + addr, stopExternal: func() {
		serverPID.Store(0)
		stop()
	}}, nil
}

// serverConf is the external server's configuration.
func serverConf(addr, dir string, sync bool) []byte {
	syncLine := ""
	if sync {
		syncLine = "\n  sync_interval: always"
	}
	return fmt.Appendf(nil, "listen: %q\nserver_name: ledgerbench\njetstream {\n  store_dir: %q%s\n}\n", addr, filepath.Join(dir, "js"), syncLine)
}

// freePort returns a loopback address with a port nobody listens on.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// dialUntil connects to url, retrying until the server answers or the time
// is up.
func dialUntil(ctx context.Context, url string, within time.Duration, log *slog.Logger) (*nats.Conn, error) {
	deadline := time.Now().Add(within)
	for {
		nc, err := nats.Connect(url, append(jetstream.LogConnection(log), nats.Name("ledgerbench"), nats.MaxReconnects(-1))...)
		if err == nil {
			return nc, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, errors.Join(fmt.Errorf("the NATS server at %s did not answer within %s", url, within), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
