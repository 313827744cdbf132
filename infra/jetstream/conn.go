package jetstream

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/nats-io/nats.go"
)

// errConnectionLost is the error of an append whose answer was still
// awaited when the connection to NATS dropped. classify makes it
// events.ErrUnavailable: the append may or may not be stored, and a retry of
// the same records settles which.
var errConnectionLost = errors.New("jetstream: the connection to NATS dropped before the answer came")

// connWatch tells when the connection that carried a request drops.
//
// A reply comes back on the connection that carried its request; once that
// connection is gone, so is the reply. But nats.go fails the requests in
// flight only when the program closes the connection or forces a
// reconnect: after a drop (the server closing it, a network failure) it
// reconnects and leaves them waiting out their time out, 10 s by default
// here, however soon it is back: every command whose append was in flight
// waited 10 s before its retry. Append stops waiting at the drop instead.
//
// Requests made after the drop are the next connection's: the client
// buffers them while it reconnects and sends them once it is back, so they
// wait for it. Reads do not use the watch: a read has no retry in the
// service, and one whose request was still buffered is answered after the
// reconnect.
type connWatch struct {
	status chan nats.Status
	mu     sync.Mutex
	conn   context.Context // ends when the current connection drops
	drop   context.CancelFunc
}

// watchConn follows nc's status until stop or until nc closes.
func watchConn(nc *nats.Conn) *connWatch {
	w := &connWatch{status: nc.StatusChanged(nats.DISCONNECTED, nats.RECONNECTING, nats.CLOSED)}
	w.conn, w.drop = context.WithCancel(context.Background())
	go w.follow()
	return w
}

// follow ends the current connection's context at each drop, until stop
// or the connection closes.
func (w *connWatch) follow() {
	for status := range w.status {
		w.interrupt()
		if status == nats.CLOSED {
			return
		}
	}
}

// interrupt ends the appends waiting for an answer as a drop would: the
// server will not answer them (see Store.RefuseWrites).
func (w *connWatch) interrupt() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.drop()
	w.conn, w.drop = context.WithCancel(context.Background())
}

// stop stops following the connection.
func (w *connWatch) stop(nc *nats.Conn) { nc.RemoveStatusListener(w.status) }

// current returns a context that ends when the connection in use now
// drops.
func (w *connWatch) current() context.Context {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conn
}

// LogConnection returns connection options that log what would otherwise
// go unseen: the connection dropping (a warning; not when the program
// closes it), the client reconnecting, and its asynchronous errors (a slow
// consumer, a refused permission). ledgerd and ledgerbench use them on
// their connections to NATS.
func LogConnection(log *slog.Logger) []nats.Option {
	return []nats.Option{
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if !nc.IsClosed() { // not the program closing it
				log.Warn("lost the connection to NATS; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("reconnected to NATS", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Warn("NATS client error", "subject", subject, "err", err)
		}),
	}
}
