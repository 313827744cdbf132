package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licensing-ledger/ledger/infra/auth"
	"github.com/licensing-ledger/ledger/infra/httpapi"
)

// apiServer serves the rig's HTTP API, as ledgerd does, behind a wrapper of
// the benchmark's: it times each query (GET) inside the handler while a
// window is open, and can hold the commands (every other method) to a
// number executing at once. It listens twice on loopback: the commands'
// and, by default, the readers' address, and a second address for readers
// of their own (a lever on the query tail, see tailLever).
type apiServer struct {
	h       http.Handler
	servers []*http.Server

	// commands is the client of the commands, and of the readers on the
	// shared listener; readers is the client of the readers' own listener.
	commands, readers *leanClient

	queryTimes atomic.Pointer[handlerTimes]  // nil: queries are not timed
	limit      atomic.Pointer[chan struct{}] // nil: commands are not limited
}

// handlerTimes collects the time queries spent in the handler and, for
// those that say when they were sent (sentHeader), how long they took to
// reach it.
type handlerTimes struct {
	mu       sync.Mutex
	lat      latencies
	arrivals latencies
}

// sentHeader carries a reader's clock when it sent the query, in Unix
// nanoseconds: the readers run in a process of their own on the same
// machine, so both ends read the same clock.
const sentHeader = "Ledgerbench-Sent"

func (h *handlerTimes) add(d, arrival time.Duration, arrived bool) {
	h.mu.Lock()
	h.lat = append(h.lat, d)
	if arrived {
		h.arrivals = append(h.arrivals, arrival)
	}
	h.mu.Unlock()
}

// sorted returns the handler's times and the arrivals, sorted.
func (h *handlerTimes) sorted() (handler, arrivals latencies) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return merge(h.lat), merge(h.arrivals)
}

// startAPI serves the rig's API for the tenants' tokens on two free
// loopback ports until close, with clients for cfg.clients command clients
// and cfg.readers readers.
func startAPI(r *rig, models []*tenantModel, cfg config) (*apiServer, error) {
	authn, err := auth.New(authFile(models))
	if err != nil {
		return nil, err
	}
	a := &apiServer{
		h: httpapi.New(httpapi.Config{Service: r.svc, Projector: r.projector, Licenses: r.licenses, Requests: r.requests, Auth: authn, Logger: r.log, Store: r.store}),
	}
	var addrs []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			a.close()
			return nil, err
		}
		srv := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(r.log.Handler(), slog.LevelWarn)}
		a.servers = append(a.servers, srv)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				r.log.Error("HTTP server stopped", "err", err)
			}
		}()
		addrs = append(addrs, ln.Addr().String())
	}
	a.commands = newLeanClient(addrs[0], cfg.clients+cfg.readers)
	a.readers = newLeanClient(addrs[1], cfg.readers)
	return a, nil
}

// ServeHTTP passes the request to the API, timing queries while a window
// is open and holding commands to the limit when one is set.
func (a *apiServer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet {
		if sem := a.limit.Load(); sem != nil {
			select {
			case *sem <- struct{}{}:
				defer func() { <-*sem }()
			case <-req.Context().Done():
				return
			}
		}
		a.h.ServeHTTP(w, req)
		return
	}
	times := a.queryTimes.Load()
	if times == nil || !strings.HasPrefix(req.URL.Path, "/v1/tenants/") {
		a.h.ServeHTTP(w, req)
		return
	}
	start := time.Now()
	arrival, arrived := arrivalOf(req, start)
	if arrived {
		logArrival(req.Context(), arrival)
	}
	a.h.ServeHTTP(w, req)
	times.add(time.Since(start), arrival, arrived)
}

// arrivalOf returns how long a query took from its reader's send
// (sentHeader) to at, and false if it does not say when it was sent.
func arrivalOf(req *http.Request, at time.Time) (time.Duration, bool) {
	sent, err := strconv.ParseInt(req.Header.Get(sentHeader), 10, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(at.UnixNano() - sent), true
}

// limitCommands holds the commands to n executing at once; 0 lifts the
// limit.
func (a *apiServer) limitCommands(n int) {
	if n <= 0 {
		a.limit.Store(nil)
		return
	}
	sem := make(chan struct{}, n)
	a.limit.Store(&sem)
}

// close stops both listeners and closes the clients' connections.
func (a *apiServer) close() {
	for _, c := range []*leanClient{a.commands, a.readers} {
		if c != nil {
			c.closeIdle()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range a.servers {
		_ = srv.Shutdown(ctx)
	}
}

// openWindow starts timing the queries in the handler and reading the
// runtime metrics; the returned function ends the window and returns what
// it measured (the readers' own latencies are the caller's to add).
func (a *apiServer) openWindow() func() tailStats {
	times := &handlerTimes{}
	a.queryTimes.Store(times)
	stopSampling := sampleRunnable()
	start := readTail()
	return func() tailStats {
		s := tailSince(start)
		s.runnable = stopSampling()
		a.queryTimes.Store(nil)
		s.handler, s.arrival = times.sorted()
		return s
	}
}
