// Command ledgerctl is the auditor's tool for the licensing ledger (L3, L4,
// L8): it keeps the ledger's signed checkpoints, exports a tenant's events,
// verifies them offline against the checkpoints (and their hash chain),
// proves single events, and asks
// for the state as of any instant, histories and compliance reports, from a
// running ledgerd or, offline, from an export file.
//
//	ledgerctl export  --tenant contoso --out contoso.ndjson
//	ledgerctl key     --out ledger.pub
//	ledgerctl checkpoint --tenant contoso --key ledger.pub --checkpoint last.checkpoint --out today.checkpoint
//	ledgerctl verify  contoso.ndjson --key ledger.pub --checkpoint last.checkpoint
//	ledgerctl prove   EVENT-ID --checkpoint today.checkpoint --key ledger.pub
//	ledgerctl state   --tenant contoso --as-of 2025-01-31T17:00:00Z
//	ledgerctl history --tenant contoso --user alice
//	ledgerctl report  seats --tenant contoso --from 2025-01-01 --to 2025-01-31
//	ledgerctl tail    --nats nats://127.0.0.1:4222 --tenant contoso --type LicenseAssigned
//
// Exit status: 0 done, 1 failed, 2 wrong usage, 3 the history does not verify.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
	exitBroken = 3 // verify found an event that does not fit
)

// env is what a run sees of the world, so tests can run it in process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// tty reports whether stderr is a terminal: progress then rewrites one
	// line instead of printing one line at a time.
	tty bool
}

// command is one subcommand.
type command struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string, e *env) error
}

var commands = []command{
	{"export", "export --tenant T [--out FILE]          write the tenant's events, as stored, to FILE (or stdout)", runExport},
	{"verify", "verify [FILE] --key KEY [--checkpoint KEPT ...]   check an export (or the live store) against signed checkpoints", runVerify},
	{"checkpoint", "checkpoint --tenant T --key KEY [--checkpoint KEPT ...] [--out FILE]   fetch the latest signed checkpoint, to keep", runCheckpoint},
	{"prove", "prove EVENT-ID --checkpoint KEPT --key KEY [--file EXPORT]   check that one event is in a kept checkpoint", runProve},
	{"key", "key [--out FILE] [--signing-key FILE]   print the ledger's checkpoint verifier key", runKey},
	{"state", "state --tenant T [--as-of TIME]         the tenant as of an instant: seats, licenses, requests", runState},
	{"history", "history --tenant T --user U|--product P|--subscription S|--request R|--group G", runHistory},
	{"report", "report NAME --tenant T [--from D --to D] [--format csv|json]   " + reportList(), runReport},
	{"ready", "ready                                   exit 0 if ledgerd is ready to serve (GET /readyz), 1 with the reasons if not", runReady},
	{"tail", "tail [--nats URL] [--tenant T] [--type E] [--from-seq N | --since TIME] [--follow=false] [--count N]   events from NATS as JSON lines", runTail},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, tty: isTerminal(os.Stderr)}
	os.Exit(run(ctx, os.Args[1:], e))
}

// run runs one subcommand and returns the exit status.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return status(e, c.name, c.run(ctx, args[1:], e))
		}
	}
	fmt.Fprintf(e.stderr, "ledgerctl: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return exitUsage
}

// status prints a command's error and returns the exit status it means.
func status(e *env, name string, err error) int {
	var ue usageError
	var be brokenError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "ledgerctl %s: %v\nRun 'ledgerctl help' for the commands and their flags.\n", name, err)
		return exitUsage
	case errors.As(err, &be):
		fmt.Fprintf(e.stderr, "FAIL: %v\n", be.err)
		return exitBroken
	}
	fmt.Fprintf(e.stderr, "ledgerctl %s: %v\n", name, err)
	return exitFailed
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "ledgerctl audits a licensing ledger: signed checkpoints, export, verify, proofs, state, history, reports; tail follows its NATS feed.")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintln(w, "  ledgerctl", c.usage)
	}
	fmt.Fprintln(w, `
Flags every command takes:
  --server URL   the ledgerd API (default $LEDGER_SERVER or http://127.0.0.1:8080)
  --token TOKEN  bearer token (default $LEDGER_TOKEN)
  --tenant T     the tenant (default $LEDGER_TENANT)
  --file FILE    state, history, report: read an export file instead of the server (offline)
  --quiet        no progress on stderr
Times are RFC 3339 (2025-01-31T17:00:00Z); --from and --to also take dates (2025-01-31).
tail takes --nats URL (default $LEDGER_NATS or nats://127.0.0.1:4222) instead of --server and --token.
Run 'ledgerctl COMMAND -h' for a command's flags.
Exit status: 0 done, 1 failed, 2 wrong usage, 3 the history does not verify.`)
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// brokenError is a history that does not verify.
type brokenError struct{ err error }

func (b brokenError) Error() string { return b.err.Error() }
