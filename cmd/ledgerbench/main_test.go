package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// TestMain lets the test binary serve as the memory child that the smoke
// run starts, as the ledgerbench binary does.
func TestMain(m *testing.M) {
	if isMemoryChild() {
		if err := memoryChild(discard); err != nil {
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
		"GET /licenses, p99", "GET /requests?status=pending, p99",
		"rebuild read models", "events, no snapshot", "events, snapshot", "resident memory (VmRSS)",
	} {
		if !strings.Contains(out.String(), measure) {
			t.Errorf("the table has no row %q:\n%s", measure, out.String())
		}
	}
	if !strings.Contains(out.String(), "load average") {
		t.Errorf("the header does not give the load average:\n%s", out.String())
	}
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags(tc.args)
			if (err != nil) != tc.fails {
				t.Fatalf("parseFlags(%q) = %v, want failure %v", tc.args, err, tc.fails)
			}
		})
	}
}
