package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/licensing-ledger/ledger/audit"
)

// defaultServer is where ledgerd listens by default.
const defaultServer = "http://127.0.0.1:8080"

// common are the flags every command takes.
type common struct {
	server string
	token  string
	tenant string
	file   string
	quiet  bool
	ca     string // a CA certificate file that signs an https server's certificate
}

// newFlags returns a command's flag set with the common flags, their
// defaults taken from the environment.
func newFlags(name string, e *env, c *common, offline bool) *flag.FlagSet {
	fs := flag.NewFlagSet("ledgerctl "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	server := e.getenv("LEDGER_SERVER")
	if server == "" {
		server = defaultServer
	}
	fs.StringVar(&c.server, "server", server, "ledgerd API base URL ($LEDGER_SERVER)")
	fs.StringVar(&c.token, "token", e.getenv("LEDGER_TOKEN"), "bearer token ($LEDGER_TOKEN)")
	fs.StringVar(&c.tenant, "tenant", e.getenv("LEDGER_TENANT"), "tenant id ($LEDGER_TENANT)")
	fs.BoolVar(&c.quiet, "quiet", false, "no progress on stderr")
	fs.StringVar(&c.ca, "ca", e.getenv("LEDGER_CA"), "CA certificate (PEM) that signs an https --server's certificate, beside the system's ($LEDGER_CA)")
	if offline {
		fs.StringVar(&c.file, "file", "", "read this export file instead of asking the server (offline)")
	}
	return fs
}

// parse parses flags and positional arguments in any order, as in
// "verify FILE --head H", and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			return rest, nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// online checks what talking to the server needs.
func (c *common) online() error {
	if c.tenant == "" {
		return usagef("--tenant is required (or set LEDGER_TENANT)")
	}
	if c.token == "" {
		return usagef("--token is required (or set LEDGER_TOKEN)")
	}
	if !strings.HasPrefix(c.server, "http://") && !strings.HasPrefix(c.server, "https://") {
		return usagef("--server must be an http:// or https:// URL, not %q", c.server)
	}
	return nil
}

// progress returns the command's progress reporter.
func (c *common) progress(e *env, label string) *progress {
	w := e.stderr
	if c.quiet {
		w = io.Discard
	}
	return newProgress(w, e.tty, label)
}

// instantFlag parses an optional RFC 3339 flag.
func instantFlag(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, usagef("--%s must be an RFC 3339 instant such as 2025-01-31T17:00:00Z, not %q", name, v)
	}
	return t.UTC(), nil
}

// periodFlags parses --from and --to, RFC 3339 or dates, with defaults.
func periodFlags(from, to string, defFrom, defTo time.Time) (audit.Period, error) {
	p := audit.Period{From: defFrom, To: defTo}
	var err error
	if from != "" {
		if p.From, err = audit.ParseInstant(from, false); err != nil {
			return p, usagef("--from: %v", err)
		}
	}
	if to != "" {
		if p.To, err = audit.ParseInstant(to, true); err != nil {
			return p, usagef("--to: %v", err)
		}
	}
	return p, nil
}

// oneOf returns the only non-empty value among named flags.
func oneOf(flags map[string]*string) (name, value string, err error) {
	var set []string
	for n, v := range flags {
		if *v != "" {
			set = append(set, n)
			name, value = n, *v
		}
	}
	if len(set) != 1 {
		return "", "", usagef("name exactly one of --%s", strings.Join(sortedNames(flags), ", --"))
	}
	return name, value, nil
}

func sortedNames(m map[string]*string) []string {
	var out []string
	for _, k := range audit.SubjectKinds {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	return out
}

func reportList() string {
	return fmt.Sprintf("NAME: %s", strings.Join(audit.ReportNames(), ", "))
}

// listFlag is a flag that may be given several times: file names and
// keys, taken whole.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// commaListFlag is a flag given several times, or once with a comma list:
// ids and names, which hold no comma.
type commaListFlag []string

func (l *commaListFlag) String() string { return strings.Join(*l, ",") }

func (l *commaListFlag) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}
