// Command ledgerd runs the licensing ledger: the HTTP API, the command
// handler, the projectors, and by default an embedded NATS server with
// JetStream that stores the events (the commit log LEDGER_LOG). A forwarder
// publishes them, once stored, to subscribers and the public stream LEDGER.
// With --store kurrentdb the events are stored in KurrentDB instead and
// forwarded to the same NATS subjects and stream.
//
//	go run ./cmd/ledgerd                 # embedded NATS, data in ./data
//	go run ./cmd/ledgerd --nats-url nats://nats:4222   # an external NATS cluster
//	go run ./cmd/ledgerd --store kurrentdb --kurrentdb-url 'esdb://localhost:2113?tls=false'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/licensing-ledger/ledger/checkpoint"
	"github.com/licensing-ledger/ledger/infra/kurrentdb"
	"github.com/licensing-ledger/ledger/ledger"
)

// config is the command line.
type config struct {
	data         string
	listen       string
	nats         natsConfig
	store        string
	kurrentdbURL string
	// kurrentdbURLFile holds the connection string, credentials included.
	kurrentdbURLFile string
	authFile         string
	catalogFile      string
	syncAlways       bool
	replicas         int
	logLevel         string
	expireInterval   time.Duration
	commandTimeout   time.Duration
	storeWait        time.Duration
	tlsCert          string
	tlsKey           string
	// Signed checkpoints (L8): see checkpoints.go.
	checkpointKey      string
	checkpointOrigin   string
	checkpointInterval time.Duration

	// kurrentdbMaxAppend is the KurrentDB node's MaxAppendSize in bytes.
	kurrentdbMaxAppend int
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("ledgerd", flag.ContinueOnError)
	fs.StringVar(&c.data, "data", "./data", "directory for the embedded NATS store and the generated auth file")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "HTTP API address")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "serve the API over HTTPS with this certificate (PEM, chain first); reloaded on change and on SIGHUP")
	fs.StringVar(&c.tlsKey, "tls-key", "", "the private key of --tls-cert (PEM)")
	fs.StringVar(&c.nats.listen, "nats-listen", "127.0.0.1:4222", "address where the embedded NATS server accepts clients, read-only (empty: in-process only)")
	fs.StringVar(&c.nats.users, "nats-users", "", "embedded NATS: consumers file giving downstream services identities and durable consumer names of their own")
	fs.StringVar(&c.nats.url, "nats-url", "", "use this external NATS server or cluster instead of the embedded one")
	fs.StringVar(&c.nats.creds, "nats-creds", "", "external NATS: user credentials file (JWT and nkey seed)")
	fs.StringVar(&c.nats.nkey, "nats-nkey", "", "external NATS: nkey seed file")
	fs.StringVar(&c.nats.user, "nats-user", "", "external NATS: user name (password from $LEDGER_NATS_PASSWORD or --nats-password-file)")
	fs.StringVar(&c.nats.passwordFile, "nats-password-file", "", "external NATS: file holding the password of --nats-user (a container secret); overrides $LEDGER_NATS_PASSWORD")
	fs.StringVar(&c.nats.tlsCA, "nats-tls-ca", "", "external NATS: CA certificate file that signs the server's certificate")
	fs.StringVar(&c.nats.tlsCert, "nats-tls-cert", "", "external NATS: client certificate file, for mutual TLS")
	fs.StringVar(&c.nats.tlsKey, "nats-tls-key", "", "external NATS: client key file, for mutual TLS")
	fs.StringVar(&c.store, "store", storeJetStream, "event store: jetstream (NATS JetStream) or kurrentdb (KurrentDB, events forwarded to NATS)")
	fs.StringVar(&c.kurrentdbURL, "kurrentdb-url", "", "KurrentDB connection string for --store kurrentdb, e.g. esdb://localhost:2113?tls=false")
	fs.StringVar(&c.kurrentdbURLFile, "kurrentdb-url-file", "", "the KurrentDB connection string from a file (a container secret: it holds the user's password)")
	fs.IntVar(&c.kurrentdbMaxAppend, "kurrentdb-max-append", kurrentdb.DefaultMaxAppendSize, "the KurrentDB node's MaxAppendSize in bytes: larger commands are refused as PayloadTooLarge before they are sent")
	fs.StringVar(&c.authFile, "auth-file", "", "principals file (default: <data>/principals.json, created with an admin token if missing)")
	fs.StringVar(&c.catalogFile, "catalog", "", "product catalog file replacing the built-in one")
	fs.BoolVar(&c.syncAlways, "sync", false, "fsync every event before acknowledging it, one fsync for the commands of many tenants (embedded NATS; recommended in production)")
	fs.IntVar(&c.replicas, "replicas", 1, "replicas of the LEDGER_LOG and LEDGER streams (3 on a NATS cluster)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&c.expireInterval, "expire-interval", time.Hour, "how often pending requests older than 12 months are expired")
	fs.DurationVar(&c.storeWait, "store-wait", 5*time.Minute, "how long to wait at start for an external NATS or KurrentDB to answer, trying again with backoff")
	fs.DurationVar(&c.commandTimeout, "command-timeout", ledger.DefaultCommandTimeout, "how long a command may take, waiting for its tenant included, before it is answered 503 Unavailable")
	fs.StringVar(&c.checkpointKey, "checkpoint-key", "", "checkpoint signing key file (default: <data>/checkpoint.key, created on the first run); never in NATS or KurrentDB")
	fs.StringVar(&c.checkpointOrigin, "checkpoint-origin", checkpoint.DefaultName, "the ledger's name in checkpoint origins (NAME/ledger/<tenant>) and in a new key")
	fs.DurationVar(&c.checkpointInterval, "checkpoint-interval", checkpoint.DefaultInterval, "how often, at most, a tenant with new events gets a signed checkpoint")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	c.nats.password = os.Getenv("LEDGER_NATS_PASSWORD")
	if err := c.nats.readPasswordFile(); err != nil {
		return c, err
	}
	if err := c.readKurrentDBURLFile(); err != nil {
		return c, err
	}
	return c, errors.Join(c.checkStore(), c.checkNATS(), c.checkTimeouts(), c.checkTLS(), c.checkCheckpoints())
}

// readPasswordFile takes the NATS password from --nats-password-file, if
// given: a secret mounted as a file stays out of the environment, which
// other processes and crash reports can read. A trailing newline is not
// part of it.
func (n *natsConfig) readPasswordFile() error {
	if n.passwordFile == "" {
		return nil
	}
	if n.user == "" {
		return errors.New("--nats-password-file is the password of --nats-user: add --nats-user")
	}
	b, err := os.ReadFile(n.passwordFile)
	if err != nil {
		return fmt.Errorf("--nats-password-file: %w", err)
	}
	n.password = strings.TrimRight(string(b), "\r\n")
	if n.password == "" {
		return fmt.Errorf("--nats-password-file %s is empty", n.passwordFile)
	}
	return nil
}

// readKurrentDBURLFile takes the KurrentDB connection string from
// --kurrentdb-url-file, if given: it holds a password, which a secret
// mounted as a file keeps out of the command line and the environment.
func (c *config) readKurrentDBURLFile() error {
	if c.kurrentdbURLFile == "" {
		return nil
	}
	if c.kurrentdbURL != "" {
		return errors.New("choose one of --kurrentdb-url and --kurrentdb-url-file")
	}
	b, err := os.ReadFile(c.kurrentdbURLFile)
	if err != nil {
		return fmt.Errorf("--kurrentdb-url-file: %w", err)
	}
	c.kurrentdbURL = strings.TrimSpace(string(b))
	if c.kurrentdbURL == "" {
		return fmt.Errorf("--kurrentdb-url-file %s is empty", c.kurrentdbURLFile)
	}
	return nil
}

// checkTimeouts refuses durations that would bound nothing.
func (c config) checkTimeouts() error {
	if c.storeWait <= 0 {
		return fmt.Errorf("--store-wait %s: want a positive duration such as 5m", c.storeWait)
	}
	if c.commandTimeout <= 0 {
		return fmt.Errorf("--command-timeout %s: want a positive duration such as 5s", c.commandTimeout)
	}
	return nil
}

// checkNATS refuses NATS flags that cannot work together.
func (c config) checkNATS() error {
	n := c.nats
	external := n.creds != "" || n.nkey != "" || n.user != "" || n.tlsCA != "" || n.tlsCert != ""
	switch {
	case n.url == "" && external:
		return errors.New("--nats-creds, --nats-nkey, --nats-user and --nats-tls-* are for an external NATS: add --nats-url")
	case n.url != "" && n.users != "":
		return errors.New("--nats-users sets the embedded server; on an external NATS give the users in its configuration (docs/RELIABILITY.md)")
	case n.url != "" && c.syncAlways:
		return errors.New("--sync sets the embedded server; on an external NATS set jetstream { sync_interval: always } in its configuration")
	case (n.tlsCert == "") != (n.tlsKey == ""):
		return errors.New("--nats-tls-cert and --nats-tls-key go together")
	case btoi(n.creds != "")+btoi(n.nkey != "")+btoi(n.user != "") > 1:
		return errors.New("choose one of --nats-creds, --nats-nkey and --nats-user")
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkStore refuses a store choice ledgerd cannot open, before anything
// starts.
func (c config) checkStore() error {
	switch c.store {
	case storeJetStream:
		if c.kurrentdbURL != "" {
			return errors.New("--kurrentdb-url needs --store kurrentdb")
		}
	case storeKurrentDB:
		if c.kurrentdbURL == "" {
			return errors.New("--store kurrentdb needs --kurrentdb-url")
		}
	default:
		return fmt.Errorf("--store %q: want %s or %s", c.store, storeJetStream, storeKurrentDB)
	}
	return nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "ledgerd:", err)
		os.Exit(2)
	}
	log := newLogger(cfg.logLevel)
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("ledgerd stopped", "err", err)
		os.Exit(1)
	}
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
