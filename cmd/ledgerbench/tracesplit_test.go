package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"runtime"
	"runtime/trace"
	"strings"
	"testing"
	"time"

	xtrace "golang.org/x/exp/trace"
)

// TestSplitTrace traces queries sent over a real socket a few
// milliseconds apart, each logging its arrival at the handler as the
// benchmark's server does, and splits their ways in: one per query, parts
// that add up to its arrival, and, since each was sent to a connection
// whose goroutine sat waiting for it, time waiting on the network and a
// goroutine readied by the network poller.
func TestSplitTrace(t *testing.T) {
	if trace.IsEnabled() {
		t.Skip("a trace is already being taken")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrival, ok := arrivalOf(r, time.Now())
		if !ok {
			http.Error(w, "no "+sentHeader, http.StatusBadRequest)
			return
		}
		logArrival(r.Context(), arrival)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()
	hc := newLeanClient(ln.Addr().String(), 1)
	defer hc.closeIdle()

	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatal(err)
	}
	const queries = 20
	for range queries {
		time.Sleep(3 * time.Millisecond)
		if _, err := get(context.Background(), hc, "/", "token"); err != nil {
			trace.Stop()
			t.Fatal(err)
		}
	}
	trace.Stop()

	ways, err := splitTrace(&buf, runtime.GOMAXPROCS(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(ways) != queries {
		t.Fatalf("split %d ways in, want %d", len(ways), queries)
	}
	var network time.Duration
	polled := 0
	for i, w := range ways {
		var sum time.Duration
		for p, d := range w.parts {
			if d < 0 {
				t.Errorf("query %d: %s %v", i, partNames[p], d)
			}
			sum += d
		}
		if sum != w.arrival {
			t.Errorf("query %d: parts add up to %v, arrival %v (%v)", i, sum, w.arrival, w.parts)
		}
		network += w.parts[partNetwork]
		if strings.HasPrefix(w.waker, "the network poller") {
			polled++
		}
	}
	if network <= 0 || polled < queries/2 {
		t.Errorf("waiting on the network %v in all, %d of %d readied by the poller: %s", network, polled, queries, describeSplit(ways))
	}
	if s := describeSplit(ways); !strings.Contains(s, "the slowest 1 % (1 of 20 queries") {
		t.Errorf("description: %s", s)
	}
}

// TestBusyTimeline measures how long every P was running in a window, from
// the Ps' state changes: closed spans, an open one, and none.
func TestBusyTimeline(t *testing.T) {
	b := &busyTimeline{procs: 2}
	b.change(10, false, true) // P0 runs
	b.change(20, false, true) // P1 runs: every P from 20
	b.change(50, true, false) // until 50
	b.change(60, false, true) // again from 60, still at the end
	for _, tc := range []struct {
		from, until int64
		want        time.Duration
	}{
		{0, 100, 30 + 40},
		{30, 65, 20 + 5},
		{0, 15, 0},
		{50, 60, 0},
	} {
		if got := b.overlap(xtrace.Time(tc.from), xtrace.Time(tc.until)); got != tc.want {
			t.Errorf("overlap(%d, %d) = %v, want %v", tc.from, tc.until, got, tc.want)
		}
	}
}
