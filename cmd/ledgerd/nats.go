package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
	"github.com/nats-io/nats.go"
)

// natsConfig is how ledgerd reaches NATS: the embedded server, or an
// external one with the credentials and TLS its deployment uses.
type natsConfig struct {
	url      string // external server; empty: embedded
	listen   string // embedded server's client address
	users    string // embedded: the consumers file (downstream services' identities)
	creds    string // external: a user credentials file (JWT + nkey seed)
	nkey     string // external: an nkey seed file
	user     string // external: user name, with password
	password string
	// passwordFile, external: a file holding the password (a secret).
	passwordFile string
	tlsCA        string // external: CA certificate file to verify the server
	tlsCert      string // external: client certificate and key files (mutual TLS)
	tlsKey       string
}

// connectNATS connects to the external NATS given by --nats-url, or starts
// the embedded server and connects in process; then it also returns the
// embedded server's watchdog, which ledgerd runs once the store is open.
func connectNATS(cfg config, log *slog.Logger) (*nats.Conn, *jetstream.Watchdog, func(), error) {
	if cfg.nats.url != "" {
		nc, closeNATS, err := connectExternal(cfg.nats, log)
		return nc, nil, closeNATS, err
	}
	return startEmbedded(cfg, log)
}

// connectExternal connects to an external server or cluster.
func connectExternal(c natsConfig, log *slog.Logger) (*nats.Conn, func(), error) {
	opts := append(baseOptions(log), externalOptions(c)...)
	nc, err := nats.Connect(c.url, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to NATS at %s: %w", redactURLs(c.url), err)
	}
	log.Info("using external NATS", "url", redactURLs(c.url), "tls", nc.TLSRequired() || c.tlsCA != "", "max_payload", nc.MaxPayload())
	return nc, nc.Close, nil
}

// externalOptions translates the credential and TLS flags into options.
func externalOptions(c natsConfig) []nats.Option {
	var opts []nats.Option
	switch {
	case c.creds != "":
		opts = append(opts, nats.UserCredentials(c.creds))
	case c.nkey != "":
		if o, err := nats.NkeyOptionFromSeed(c.nkey); err == nil {
			opts = append(opts, o)
		} else {
			opts = append(opts, func(*nats.Options) error { return fmt.Errorf("nkey seed %s: %w", c.nkey, err) })
		}
	case c.user != "":
		opts = append(opts, nats.UserInfo(c.user, c.password))
	}
	if c.tlsCA != "" {
		opts = append(opts, nats.RootCAs(c.tlsCA))
	}
	if c.tlsCert != "" {
		opts = append(opts, nats.ClientCert(c.tlsCert, c.tlsKey))
	}
	return opts
}

// natsDir is where the embedded server keeps its files.
func (c config) natsDir() string { return filepath.Join(c.data, "nats") }

// groupCommit reports whether the store fsyncs the commit log itself, many
// appends per fsync (jetstream.Store.GroupCommit): with --sync on the
// embedded server and the JetStream store. With KurrentDB as the store,
// --sync keeps the embedded server fsyncing every write of its streams.
func (c config) groupCommit() bool {
	return c.syncAlways && c.nats.url == "" && c.store != storeKurrentDB
}

// fsyncMode names the durability in the start-up log line.
func (c config) fsyncMode() string {
	switch {
	case c.groupCommit():
		return "group commit of the log before each acknowledgement"
	case c.syncAlways:
		return "every write"
	default:
		return "off (written to the OS; the server syncs every 2 minutes)"
	}
}

// startEmbedded runs NATS in the process. Only ledgerd itself may write:
// it connects with a password made anew at each start that never leaves the
// process, and any other client is a read-only subscriber.
func startEmbedded(cfg config, log *slog.Logger) (*nats.Conn, *jetstream.Watchdog, func(), error) {
	password, err := randomPassword()
	if err != nil {
		return nil, nil, nil, err
	}
	consumers, err := loadConsumers(cfg.nats.users, log)
	if err != nil {
		return nil, nil, nil, err
	}
	ecfg := jetstream.EmbeddedConfig{
		StoreDir: cfg.natsDir(), Listen: cfg.nats.listen, SyncAlways: cfg.syncAlways && !cfg.groupCommit(),
		ServerName: "ledgerd", Logger: log, LedgerPassword: password, Consumers: consumers,
	}
	ns, err := jetstream.StartEmbedded(ecfg)
	if err != nil {
		return nil, nil, nil, err
	}
	opts := append(baseOptions(log), nats.InProcessServer(ns), nats.UserInfo(jetstream.LedgerUser, password))
	nc, err := nats.Connect("", opts...)
	if err != nil {
		ns.Shutdown()
		return nil, nil, nil, err
	}
	log.Info("embedded NATS with JetStream running", "data", cfg.data, "clients", cfg.nats.listen,
		"client_access", "read-only", "fsync", cfg.fsyncMode(), "max_payload", nc.MaxPayload())
	return nc, jetstream.NewWatchdog(ns, ecfg), func() { nc.Close(); ns.Shutdown(); ns.WaitForShutdown() }, nil
}

// watchdogInterval is how often the embedded server's health is read: a
// full disk is then refused at once within that time, and JetStream is
// back within that time of the space returning.
const watchdogInterval = 500 * time.Millisecond

// runWatchdog runs the embedded server's watchdog (none on an external
// NATS), telling the store when JetStream cannot write, until the returned
// function is called.
func runWatchdog(dog *jetstream.Watchdog, store events.Store) (stop func()) {
	if dog == nil {
		return func() {}
	}
	notify := func(error) {}
	if r, ok := store.(writeRefuser); ok {
		notify = r.RefuseWrites
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); dog.Run(ctx, watchdogInterval, notify) }()
	return func() { cancel(); <-done }
}

// loadConsumers reads the consumers file, if any: without one, only
// anonymous read-only clients connect.
func loadConsumers(path string, log *slog.Logger) ([]jetstream.ConsumerUser, error) {
	if path == "" {
		return nil, nil
	}
	users, err := jetstream.LoadConsumerUsers(path)
	if err == nil {
		log.Info("NATS consumer users loaded", "file", path, "users", len(users))
	}
	return users, err
}

// reconnectWait is how long the client waits before trying a server again
// after losing it. An append in flight when the connection drops is retried
// once the client is back (see jetstream's connWatch), so the wait is what
// such a command pays: nats.go's default of 2 s is long for that.
const reconnectWait = 250 * time.Millisecond

// baseOptions are the options of every connection of ledgerd: it never
// gives up reconnecting, it logs losing and regaining its server and the
// client's asynchronous errors (jetstream.LogConnection), and its replies
// come to inboxes no reader may subscribe to (jetstream.LedgerInboxPrefix).
func baseOptions(log *slog.Logger) []nats.Option {
	opts := []nats.Option{nats.Name("ledgerd"), nats.MaxReconnects(-1), nats.ReconnectWait(reconnectWait),
		nats.CustomInboxPrefix(jetstream.LedgerInboxPrefix)}
	return append(opts, jetstream.LogConnection(log)...)
}

func randomPassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
