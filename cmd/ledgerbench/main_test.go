package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

// TestMain lets the test binary serve as the memory child and the readers'
// child that the smoke run starts, as the ledgerbench binary does.
func TestMain(m *testing.M) {
	child := map[bool]func() error{isMemoryChild(): func() error { return memoryChild(discard) }, isReadersChild(): readersChild}[true]
	if child != nil {
		if err := child(); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSmoke runs ledgerbench --smoke once: it must finish and print every
// row of the table. The figures themselves are not checked: they depend on
// the machine.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("the smoke run starts several NATS servers")
	}
	var out bytes.Buffer
	code := cli(context.Background(), []string{"--smoke", "--dir", t.TempDir()}, &out, discard)
	if code != 0 {
		t.Fatalf("ledgerbench --smoke exited with %d; output:\n%s", code, out.String())
	}
	for _, measure := range []string{
		"in process, default", "HTTP, default", "HTTP, default, p99", "in process, fsync", "HTTP, fsync",
		"raw publish, default", "ledger ÷ raw, default", "raw publish, fsync", "ledger ÷ raw, fsync",
		"raw, same work, default", "raw, same work, fsync", "ledger ÷ raw same work, default",
		"ledger ÷ raw publish, fsync", "HTTP ÷ in-process, default, one run with readers", "forwarding, CPU per command, default",
		"query p99 loaded ÷ idle", "ledger ÷ raw same work, default, pairs",
		"GET /licenses, p99", "GET /requests?status=pending, p99",
		"rebuild read models", "events, no snapshot", "events, snapshot", "resident memory (VmRSS)",
	} {
		if !strings.Contains(out.String(), measure) {
			t.Errorf("the table has no row %q:\n%s", measure, out.String())
		}
	}
	checkPairRows(t, out.String())
	checkTailRows(t, out.String())
	if !strings.Contains(out.String(), "load average") {
		t.Errorf("the header does not give the load average:\n%s", out.String())
	}
	if strings.Contains(out.String(), "WITHOUT the forwarder") {
		t.Errorf("the default run says it ran without the forwarder:\n%s", out.String())
	}
}

// TestWithoutTheForwarderSmoke: --forward=false runs the commands without
// publishing to LEDGER, and the header says so, so that its figures are
// never taken for the service's.
func TestWithoutTheForwarderSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("the run starts a NATS server")
	}
	var out bytes.Buffer
	args := []string{"--smoke", "--sections", "commands", "--durability", "default", "--http=false", "--forward=false", "--dir", t.TempDir()}
	if code := cli(context.Background(), args, &out, discard); code != 0 {
		t.Fatalf("ledgerbench %q exited with %d; output:\n%s", args, code, out.String())
	}
	if !strings.Contains(out.String(), "WITHOUT the forwarder") {
		t.Errorf("the header does not say the forwarder was off:\n%s", out.String())
	}
	if rowOf(out.String(), "in process, default") == "" {
		t.Errorf("no in-process row:\n%s", out.String())
	}
}

// TestExternalServerSmoke runs the command section against nats-server in
// a process of its own (--nats-server): every command row must split its
// CPU between the two processes. It needs the nats-server binary that
// scripts/install-tools.sh installs, and fails without it in CI.
func TestExternalServerSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("the run starts nats-server processes")
	}
	bin := natsServerBinary(t)
	var out bytes.Buffer
	args := []string{"--smoke", "--sections", "commands", "--nats-server", bin, "--dir", t.TempDir()}
	if code := cli(context.Background(), args, &out, discard); code != 0 {
		t.Fatalf("ledgerbench %q exited with %d; output:\n%s", args, code, out.String())
	}
	for _, measure := range []string{"in process, default", "HTTP, default", "in process, fsync", "raw publish, default"} {
		line := rowOf(out.String(), measure)
		if !strings.Contains(line, "in the ledger's process") || !strings.Contains(line, "in nats-server") {
			t.Errorf("row %q does not split its CPU: %q\n%s", measure, line, out.String())
		}
	}
}

// natsServerBinary returns the nats-server that scripts/install-tools.sh
// installs in $(go env GOPATH)/bin, skipping the test without it (failing
// it in CI, where it must run).
func natsServerBinary(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		t.Fatalf("go env GOPATH: %v", err)
	}
	bin := filepath.Join(strings.TrimSpace(string(out)), "bin", "nats-server")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v (scripts/install-tools.sh installs it)", bin, err)
		}
		t.Skipf("%s: %v; run scripts/install-tools.sh", bin, err)
	}
	return bin
}

// checkPairRows checks the ratios that alternating pairs back: each has a
// figure in ×, its target, met or MISSED, and a note that gives every pair.
func checkPairRows(t *testing.T, table string) {
	t.Helper()
	for _, measure := range []string{
		"HTTP ÷ in-process, default, pairs", "ledger ÷ raw publish, fsync, pairs", "query p99 loaded ÷ idle, pairs",
		"ledger ÷ raw same work, default, pairs",
	} {
		f := fieldsOf(rowOf(table, measure))
		if len(f) != 6 || f[0] != "ratios" || f[1] != measure {
			t.Errorf("no well-formed ratio row %q: %q", measure, f)
			continue
		}
		if !strings.HasSuffix(f[2], "×") || !strings.HasPrefix(f[3], "≥ ") && !strings.HasPrefix(f[3], "≤ ") {
			t.Errorf("row %q: figure %q or target %q is not a ratio", measure, f[2], f[3])
		}
		if f[4] != "met" && f[4] != "MISSED" {
			t.Errorf("row %q: verdict %q", measure, f[4])
		}
		if !strings.Contains(f[5], "median of 2 alternating pairs") || strings.Count(f[5], "÷") < 2 {
			t.Errorf("row %q does not give each of its two pairs: %q", measure, f[5])
		}
	}
}

// checkTailRows checks the rows of what makes the query tail: each measure
// in the idle and the loaded window, with its figure.
func checkTailRows(t *testing.T, table string) {
	t.Helper()
	for _, measure := range []string{
		"scheduler latency p99", "GC stop-the-world pause p99", "CPU in GC", "CPU in GC assists", "query time in the handler p99",
	} {
		for _, window := range []string{"idle", "loaded"} {
			name := measure + ", " + window
			f := fieldsOf(rowOf(table, name))
			if len(f) < 4 || f[0] != "query tail" || f[1] != name {
				t.Errorf("no well-formed row %q: %q", name, f)
				continue
			}
			if !strings.HasSuffix(f[2], " ms") && !strings.HasSuffix(f[2], " %") {
				t.Errorf("row %q: figure %q is neither a time nor a share", name, f[2])
			}
		}
	}
	if line := rowOf(table, "query time in the handler p99, loaded"); !strings.Contains(line, "the readers saw p99") {
		t.Errorf("the handler's row does not give the readers' p99 beside it: %q", line)
	}
}

// fieldsOf splits a row of the table into its columns, which are at least
// two spaces apart (an empty target or verdict leaves no column).
func fieldsOf(line string) []string {
	var out []string
	for _, f := range regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1) {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// TestTailLeverSmoke tries each lever on the query tail with tiny sizes:
// each must give its row.
func TestTailLeverSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("the run starts a NATS server")
	}
	gogc := debug.SetGCPercent(100)
	debug.SetGCPercent(gogc)
	var out bytes.Buffer
	args := []string{"--smoke", "--sections", "commands", "--durability", "default", "--tail-lever", "listener,gogc=400,limit=2", "--dir", t.TempDir()}
	if code := cli(context.Background(), args, &out, discard); code != 0 {
		t.Fatalf("ledgerbench %q exited with %d; output:\n%s", args, code, out.String())
	}
	for _, lever := range []string{"readers on a listener of their own", "GOGC 400", "commands limited to 2 at once"} {
		line := rowOf(out.String(), "loaded query p99 with ÷ without: "+lever)
		if !strings.Contains(line, "×") || !strings.Contains(line, "median of 2 alternating pairs") {
			t.Errorf("no row for the lever %q: %q\n%s", lever, line, out.String())
		}
	}
	if after := debug.SetGCPercent(gogc); after != gogc {
		t.Errorf("the GOGC lever left GOGC at %d, not %d", after, gogc)
	}
}

// rowOf returns the line of the table that holds measure.
func rowOf(table, measure string) string {
	for _, line := range strings.Split(table, "\n") {
		if strings.Contains(line, measure) {
			return line
		}
	}
	return ""
}

// TestFsyncStudySmoke runs the fsync study with tiny sizes: it must print
// each of its rows.
func TestFsyncStudySmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("the study starts a NATS server that fsyncs every write")
	}
	var out bytes.Buffer
	code := cli(context.Background(), []string{"--smoke", "--sections", "fsync", "--dir", t.TempDir()}, &out, discard)
	if code != 0 {
		t.Fatalf("ledgerbench --sections fsync exited with %d; output:\n%s", code, out.String())
	}
	for _, measure := range []string{"1 stream(s)", "4 stream(s)", "16 stream(s)", "group commit", "atomic batches of 8", "atomic batches of 32"} {
		if !strings.Contains(out.String(), measure) {
			t.Errorf("the study has no row %q:\n%s", measure, out.String())
		}
	}
}

// TestFlags checks the command line's refusals and the smoke sizes.
func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		fails bool
	}{
		{name: "Defaults"},
		{name: "Smoke", args: []string{"--smoke"}},
		{name: "MoreClientsThanTenants", args: []string{"--tenants", "4", "--clients", "8"}, fails: true},
		{name: "TooFewUsers", args: []string{"--users", "10"}, fails: true},
		{name: "UnknownSection", args: []string{"--sections", "commands,nope"}, fails: true},
		{name: "UnknownDurability", args: []string{"--durability", "paranoid"}, fails: true},
		{name: "UnknownStore", args: []string{"--store", "postgres"}, fails: true},
		{name: "StrayArgument", args: []string{"now"}, fails: true},
		{name: "Levers", args: []string{"--tail-lever", "listener, gogc=200,limit=8"}},
		{name: "UnknownLever", args: []string{"--tail-lever", "gogc=off"}, fails: true},
		{name: "LimitWithoutNumber", args: []string{"--tail-lever", "limit"}, fails: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags(tc.args)
			if (err != nil) != tc.fails {
				t.Fatalf("parseFlags(%q) = %v, want failure %v", tc.args, err, tc.fails)
			}
		})
	}
}
