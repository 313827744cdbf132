package jetstream

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Watchdog brings an embedded server's JetStream back once it can write
// again, and tells the store meanwhile.
//
// A file store that fails a write (a full disk: "no space left on device")
// remembers the error for good: the stream then refuses every write
// without answering the publisher, so each append waits out its time out,
// and only a restart of JetStream clears it, even once space is back
// (nats-server 2.15, filestore.go setWriteErr, stream.go
// processJetStreamMsg). A write refused for permissions disables JetStream
// altogether, with the same cure. The watchdog reads the server's own
// health check; while it reports a write error or JetStream disabled, it
// tells notify why (the store then refuses appends at once), and as soon as
// the store directory takes a probe write it restarts JetStream on the same
// directory, which recovers every stream from its files, and tells notify
// nil.
type Watchdog struct {
	ns        *server.Server
	cfg       EmbeddedConfig
	log       *slog.Logger
	fault     error
	restarted time.Time
}

// probeSize is how much the store directory must take before a restart is
// tried: enough for a few appends.
const probeSize = 1 << 20

// restartPause spaces the restarts of a JetStream that still fails.
const restartPause = 5 * time.Second

// NewWatchdog returns a watchdog of the server StartEmbedded started with
// cfg.
func NewWatchdog(ns *server.Server, cfg EmbeddedConfig) *Watchdog {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Watchdog{ns: ns, cfg: cfg, log: log}
}

// Run checks the server every interval until ctx ends, calling notify
// with the reason JetStream cannot write when it stops, and with nil when
// it writes again.
func (w *Watchdog) Run(ctx context.Context, every time.Duration, notify func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.check(notify)
	}
}

// check looks at the server once, restarting JetStream if it needs it and
// can, and reports a change.
func (w *Watchdog) check(notify func(error)) {
	fault := w.writeFault()
	if fault != nil && time.Since(w.restarted) >= restartPause && w.diskTakesWrites() {
		w.restart(fault)
		fault = w.writeFault()
	}
	switch {
	case fault != nil && w.fault == nil:
		w.log.Error("JetStream refuses writes; commands are answered Unavailable until it writes again", "reason", fault)
		notify(fault)
	case fault == nil && w.fault != nil:
		w.log.Info("JetStream writes again")
		notify(nil)
	}
	w.fault = fault
}

// writeFault returns why JetStream cannot write, from the server's own
// health check, or nil. Other health problems are not the watchdog's.
func (w *Watchdog) writeFault() error {
	h := w.ns.Healthz(&server.HealthzOptions{Details: true}) // every problem, not the first
	if h.StatusCode == 200 {
		return nil
	}
	msg := h.Error
	for _, e := range h.Errors {
		msg = strings.TrimPrefix(msg+"; "+e.Error, "; ")
	}
	if !w.ns.JetStreamEnabled() || strings.Contains(msg, "write error") {
		return errors.New(msg)
	}
	return nil
}

// diskTakesWrites reports whether the store directory takes a probe file
// of probeSize bytes, which it removes.
func (w *Watchdog) diskTakesWrites() bool {
	f, err := os.CreateTemp(w.cfg.StoreDir, ".ledger-probe-*")
	if err != nil {
		w.log.Debug("the store directory takes no writes yet", "err", err)
		return false
	}
	defer os.Remove(f.Name())
	_, err = f.Write(make([]byte, probeSize))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		w.log.Debug("the store directory takes no writes yet", "err", err)
	}
	return err == nil
}

// restart stops JetStream and starts it again on the same directory, as
// the server does on a configuration reload (restartJetStream).
func (w *Watchdog) restart(fault error) {
	w.restarted = time.Now()
	w.log.Warn("restarting JetStream on the same store to clear its write error", "reason", fault)
	if w.ns.JetStreamEnabled() {
		if err := w.ns.ShutdownJetStream(); err != nil {
			w.log.Error("stopping JetStream", "err", err)
			return
		}
	}
	cfg := &server.JetStreamConfig{StoreDir: w.cfg.StoreDir, SyncAlways: w.cfg.SyncAlways, Strict: true}
	if err := w.ns.EnableJetStream(cfg); err != nil {
		w.log.Error("starting JetStream again", "err", err)
		return
	}
	w.log.Info("JetStream restarted", "took", time.Since(w.restarted).Round(time.Millisecond))
}
