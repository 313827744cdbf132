package jetstream

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// startTimeout bounds how long StartEmbedded waits for the server to be ready.
// Recovering a large store on restart is the slow part.
const startTimeout = 30 * time.Second

// DefaultMaxPayload is the largest message the embedded server takes when
// EmbeddedConfig leaves it zero: 8 MiB, where NATS defaults to 1 MiB. One
// append is one message, so this bounds the events one command can produce:
// a group-inherited LicenseAssigned takes about 290 bytes, so 8 MiB holds a
// product assigned to a group of about 28,000 members (1 MiB about 3,500).
const DefaultMaxPayload = 8 << 20

// EmbeddedConfig configures a NATS server with JetStream running inside the
// ledger process, so that a single binary needs no external broker.
type EmbeddedConfig struct {
	// StoreDir is where JetStream keeps its files. Required: events must
	// survive a restart, so a temporary default would lose them silently.
	StoreDir string
	// Listen is the client address as "host:port" ("host:0" picks a free
	// port). Empty means no TCP listener: clients connect in process only,
	// with nats.Connect("", nats.InProcessServer(ns)).
	Listen string
	// SyncAlways makes JetStream fsync every write before acknowledging it.
	// Off, the server flushes on its sync interval (about two minutes), which
	// is faster but can lose the latest acknowledged events on a power cut,
	// unless the store makes its log durable itself (Store.GroupCommit, one
	// fsync for many appends: what ledgerd --sync does).
	SyncAlways bool
	// ServerName names the server in logs and monitoring; empty lets the
	// server use its generated id.
	ServerName string
	// MaxPayload is the largest message clients may publish, in bytes
	// (DefaultMaxPayload when zero; the server allows up to 64 MiB). It
	// bounds the size of one append (see Store.Append).
	MaxPayload int32
	// LedgerPassword, when set, turns authentication on: the ledger connects
	// as LedgerUser with it (see ConnectOption), and every client without
	// credentials may only read LEDGER (readerPermissions). Empty leaves
	// the server open, for tests.
	LedgerPassword string
	// Consumers are downstream services' identities (see ConsumerUser),
	// used only with LedgerPassword: each may read like an anonymous
	// client and alone owns the durable consumers it names.
	Consumers []ConsumerUser
	// Logger receives the server's log lines; nil means slog.Default().
	Logger *slog.Logger
}

// StartEmbedded starts a NATS server with JetStream enabled and waits until it
// accepts connections. It fails with the server's own reason (a port in use,
// an unusable store directory) rather than a bare time out. The caller owns
// the server: stop it with Shutdown followed by WaitForShutdown.
func StartEmbedded(cfg EmbeddedConfig) (*server.Server, error) {
	opts, err := serverOptions(cfg)
	if err != nil {
		return nil, err
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("jetstream: new embedded server: %w", err)
	}
	logger := newServerLogger(cfg.Logger)
	ns.SetLogger(logger, false, false)
	ns.Start()
	if err := waitReady(ns, logger); err != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, err
	}
	return ns, nil
}

// serverOptions translates the configuration into server options.
func serverOptions(cfg EmbeddedConfig) (*server.Options, error) {
	if cfg.StoreDir == "" {
		return nil, errors.New("jetstream: embedded server needs a StoreDir")
	}
	opts := &server.Options{
		ServerName: cfg.ServerName,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		SyncAlways: cfg.SyncAlways,
		MaxPayload: cmp.Or(cfg.MaxPayload, DefaultMaxPayload),
		NoSigs:     true,
		DontListen: cfg.Listen == "",
	}
	if len(cfg.Consumers) > 0 && cfg.LedgerPassword == "" {
		return nil, errors.New("jetstream: consumer users need authentication on: set LedgerPassword")
	}
	if cfg.LedgerPassword != "" {
		if err := authOptions(opts, cfg.LedgerPassword, cfg.Consumers); err != nil {
			return nil, err
		}
	}
	if cfg.Listen == "" {
		return opts, nil
	}
	host, port, err := splitListen(cfg.Listen)
	if err != nil {
		return nil, err
	}
	opts.Host, opts.Port = host, port
	return opts, nil
}

// splitListen parses "host:port". Port 0 becomes the server's "pick a free
// port" value, because the server reads 0 as its default port 4222.
func splitListen(listen string) (string, int, error) {
	host, p, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("jetstream: listen address %q: %w", listen, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("jetstream: listen address %q: bad port", listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// waitReady waits for the server to accept connections with JetStream on,
// failing early when the server reports a fatal error.
func waitReady(ns *server.Server, logger *serverLogger) error {
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case msg := <-logger.fatal:
			return fmt.Errorf("jetstream: embedded server failed to start: %s", msg)
		default:
		}
		if ns.ReadyForConnections(50*time.Millisecond) && ns.JetStreamEnabled() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("jetstream: embedded server not ready after %s", startTimeout)
		}
	}
}

// serverLogger adapts the server's logger interface to log/slog and hands
// fatal errors to StartEmbedded instead of exiting the process, which is what
// the server's default logger would do. A client's refused requests are
// logged once per client (see violation).
type serverLogger struct {
	log   *slog.Logger
	fatal chan string
	mu    sync.Mutex
	// refused holds the clients whose first refusal was logged.
	refused map[string]bool
}

// maxRefusedClients bounds the clients serverLogger remembers; past it, it
// forgets them all and logs each one's next refusal again.
const maxRefusedClients = 4096

// violationLine matches the server's log line for a refused publish or
// subscription, capturing the client ("host:port - cid:N").
var violationLine = regexp.MustCompile(`^(\S+ - cid:\d+) - .* (Publish|Subscription) Violation - `)

func newServerLogger(l *slog.Logger) *serverLogger {
	if l == nil {
		l = slog.Default()
	}
	return &serverLogger{log: l.With("component", "nats-server"), fatal: make(chan string, 1), refused: map[string]bool{}}
}

// Noticef logs the server's notices at info level.
func (l *serverLogger) Noticef(format string, v ...any) { l.log.Info(fmt.Sprintf(format, v...)) }

// Warnf logs the server's warnings.
func (l *serverLogger) Warnf(format string, v ...any) { l.log.Warn(fmt.Sprintf(format, v...)) }

// Errorf logs the server's errors, except a client's refused requests,
// which are the client's doing, not the server's (see violation).
func (l *serverLogger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if m := violationLine.FindStringSubmatch(msg); m != nil {
		l.violation(m[1], msg)
		return
	}
	l.log.Error(msg)
}

// violation logs a client's first refused request at info level and the
// rest at debug: any client may send refused requests as fast as it likes,
// and an error line for each would bury the log.
func (l *serverLogger) violation(client, msg string) {
	l.mu.Lock()
	first := !l.refused[client]
	if first && len(l.refused) >= maxRefusedClients {
		clear(l.refused)
	}
	l.refused[client] = true
	l.mu.Unlock()
	if first {
		l.log.Info("NATS refused a client's request; its further refusals are logged at debug level", "client", client, "refusal", msg)
		return
	}
	l.log.Debug("NATS refused a client's request", "client", client, "refusal", msg)
}

// Debugf logs the server's debug lines (only sent when debug is on).
func (l *serverLogger) Debugf(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }

// Tracef logs the server's protocol traces (only sent when tracing is on).
func (l *serverLogger) Tracef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }

// Fatalf logs a fatal error and reports the first one to StartEmbedded.
func (l *serverLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error(msg, "fatal", true)
	select {
	case l.fatal <- msg:
	default:
	}
}
