package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"time"

	xtrace "golang.org/x/exp/trace"
)

// The way in of a traced query window, split: where the time from each
// reader's send to the handler's start went, in the runtime's terms. The
// query tail's arrival row says how long the way in takes; a trace says
// whether the query's goroutine spent it waiting on the network (the
// loopback, and the network poller that has yet to see the connection),
// runnable in a run queue, running (reading and parsing the request), or
// waiting on something else (net/http's background read of the previous
// request), and who made it runnable at last.

// arrivalCategory is the trace log category under which a timed query logs
// its arrival, in nanoseconds, at the handler's start.
const arrivalCategory = "arrival"

// logArrival records a query's arrival in the execution trace, if one is
// being taken, at the handler's start.
func logArrival(ctx context.Context, arrival time.Duration) {
	if trace.IsEnabled() {
		trace.Log(ctx, arrivalCategory, strconv.FormatInt(int64(arrival), 10))
	}
}

// The parts of a way in, by the state the query's goroutine was in.
const (
	partNetwork   = iota // waiting on the network
	partOtherWait        // waiting on anything else: a lock, a condition, a channel
	partRunQueue         // runnable, not running
	partRunning          // running
	partSyscall          // in a system call
	partUnknown          // before the trace saw the goroutine
	numParts
)

var partNames = [numParts]string{"waiting on the network", "waiting on something else", "in a run queue", "running", "in a system call", "not seen"}

// wayIn is one query's way in: its parts add up to its arrival.
type wayIn struct {
	arrival time.Duration
	parts   [numParts]time.Duration
	waker   string // who last made the goroutine runnable during the way in
	// allBusy is the part of the wait on the network during which every P
	// was running: the scheduler polls the network when a P runs out of
	// work, so a query's bytes then lie unseen.
	allBusy time.Duration
}

// goState is one state change of a goroutine the splitter follows.
type goState struct {
	at     xtrace.Time
	to     xtrace.GoState
	reason string // why it waits, for a change to waiting
	waker  string // who readied it, for a change from waiting to runnable
}

// maxHistory bounds the state changes kept per goroutine: a way in spans a
// few of them, and a connection's goroutine makes thousands.
const maxHistory = 256

// splitTrace reads an execution trace of a process with procs Ps and
// returns the way in of each query that logged its arrival in it.
func splitTrace(r io.Reader, procs int) ([]wayIn, error) {
	tr, err := xtrace.NewReader(r)
	if err != nil {
		return nil, err
	}
	history := map[xtrace.GoID][]goState{}
	busy := &busyTimeline{procs: procs}
	var ways []wayIn
	for {
		ev, err := tr.ReadEvent()
		if errors.Is(err, io.EOF) {
			return ways, nil
		}
		if err != nil {
			return ways, err
		}
		switch ev.Kind() {
		case xtrace.EventStateTransition:
			follow(history, busy, ev)
		case xtrace.EventLog:
			if l := ev.Log(); l.Category == arrivalCategory {
				if a, err := strconv.ParseInt(l.Message, 10, 64); err == nil {
					ways = append(ways, split(history[ev.Goroutine()], busy, ev.Time(), time.Duration(a)))
				}
			}
		}
	}
}

// follow records a goroutine's state change, forgetting the goroutines
// that end, or a P's.
func follow(history map[xtrace.GoID][]goState, busy *busyTimeline, ev xtrace.Event) {
	st := ev.StateTransition()
	if st.Resource.Kind == xtrace.ResourceProc {
		from, to := st.Proc()
		busy.change(ev.Time(), from.Executing(), to.Executing())
		return
	}
	if st.Resource.Kind != xtrace.ResourceGoroutine {
		return
	}
	id := st.Resource.Goroutine()
	from, to := st.Goroutine()
	if to == xtrace.GoNotExist {
		delete(history, id)
		return
	}
	s := goState{at: ev.Time(), to: to}
	if to == xtrace.GoWaiting {
		s.reason = st.Reason
	}
	if from == xtrace.GoWaiting && to == xtrace.GoRunnable {
		s.waker = waker(ev)
	}
	h := append(history[id], s)
	if len(h) > 2*maxHistory {
		h = slices.Clone(h[len(h)-maxHistory:])
	}
	history[id] = h
}

// waker names who readied a goroutine. Without a goroutine it was the
// network poller: on a P when the scheduler polled (a P out of work, or an
// idle thread blocked in the poller that took a P to run what it found),
// without one when sysmon did (when no one else has polled for 10 ms).
// Else a goroutine, named by its innermost function outside the runtime.
func waker(ev xtrace.Event) string {
	switch {
	case ev.Goroutine() == xtrace.NoGoroutine && ev.Proc() == xtrace.NoProc:
		return "the network poller without a P (sysmon)"
	case ev.Goroutine() == xtrace.NoGoroutine:
		return "the network poller, from the scheduler"
	}
	inRuntime := ""
	for f := range ev.Stack().Frames() {
		switch {
		case f.Func == "runtime.systemstack_switch" || f.Func == "runtime.systemstack":
		case strings.HasPrefix(f.Func, "runtime."):
			if inRuntime == "" {
				inRuntime = f.Func
			}
		case strings.HasPrefix(f.Func, "sync.") || strings.HasPrefix(f.Func, "internal/"):
		default:
			if inRuntime != "" {
				return "the runtime: " + inRuntime
			}
			return "a goroutine: " + f.Func
		}
	}
	return "the runtime: " + inRuntime
}

// split lays the goroutine's states over the way in: from the send, its
// arrival before the handler's start at end, to end.
func split(h []goState, busy *busyTimeline, end xtrace.Time, arrival time.Duration) wayIn {
	w := wayIn{arrival: arrival, waker: "none (not waiting in the way in)"}
	start := end - xtrace.Time(arrival)
	state, reason, at := xtrace.GoUndetermined, "", start
	i := 0
	for ; i < len(h) && h[i].at <= start; i++ {
		state, reason = h[i].to, h[i].reason
	}
	add := func(until xtrace.Time) {
		p := part(state, reason)
		w.parts[p] += time.Duration(until - at)
		if p == partNetwork {
			w.allBusy += busy.overlap(at, until)
		}
	}
	for ; i < len(h) && h[i].at <= end; i++ {
		add(h[i].at)
		state, reason, at = h[i].to, h[i].reason, h[i].at
		if h[i].waker != "" {
			w.waker = h[i].waker
		}
	}
	add(end)
	return w
}

// busyTimeline remembers when every P was running, over the recent past
// that the ways in reach back to.
type busyTimeline struct {
	procs   int
	running int
	// spans holds when every P was running, in order; the last one is
	// open (until 0) while they still are.
	spans []busySpan
}

type busySpan struct{ from, until xtrace.Time }

// maxSpans bounds the spans kept: a way in reaches back milliseconds, and
// a busy process changes its Ps' states thousands of times a second.
const maxSpans = 4096

// change records a P's state change at t.
func (b *busyTimeline) change(t xtrace.Time, was, is bool) {
	switch {
	case is && !was:
		b.running++
		if b.running == b.procs {
			b.spans = append(b.spans, busySpan{from: t})
		}
	case was && !is:
		if b.running == b.procs && len(b.spans) > 0 {
			b.spans[len(b.spans)-1].until = t
		}
		b.running--
	}
	if len(b.spans) > 2*maxSpans {
		b.spans = slices.Clone(b.spans[len(b.spans)-maxSpans:])
	}
}

// overlap returns how long every P was running between from and until.
func (b *busyTimeline) overlap(from, until xtrace.Time) time.Duration {
	var d time.Duration
	for i := len(b.spans) - 1; i >= 0; i-- {
		s := b.spans[i]
		end := s.until
		if end == 0 {
			end = until
		}
		if end <= from {
			break
		}
		if lo, hi := max(s.from, from), min(end, until); hi > lo {
			d += time.Duration(hi - lo)
		}
	}
	return d
}

// part names the part of a way in that a goroutine's state stands for.
func part(s xtrace.GoState, reason string) int {
	switch s {
	case xtrace.GoWaiting:
		if reason == "network" {
			return partNetwork
		}
		return partOtherWait
	case xtrace.GoRunnable:
		return partRunQueue
	case xtrace.GoRunning:
		return partRunning
	case xtrace.GoSyscall:
		return partSyscall
	}
	return partUnknown
}

// splitTraceFile splits the trace in the named file.
func splitTraceFile(name string) ([]wayIn, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return splitTrace(f, runtime.GOMAXPROCS(0))
}

// describeSplit says where the way in of the slowest 1 % of the queries
// went, on average, and who last readied their goroutines, against all
// the queries. It sorts ways, the slowest first.
func describeSplit(ways []wayIn) string {
	if len(ways) == 0 {
		return "no query logged its arrival in the trace"
	}
	slices.SortFunc(ways, func(a, b wayIn) int { return int(b.arrival - a.arrival) })
	slow := ways[:max(1, len(ways)/100)]
	var mean [numParts]time.Duration
	var network, allBusy time.Duration
	for _, w := range slow {
		for p, d := range w.parts {
			mean[p] += d / time.Duration(len(slow))
		}
		network += w.parts[partNetwork]
		allBusy += w.allBusy
	}
	var parts []string
	for p, d := range mean {
		if d > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", partNames[p], ms(d)))
		}
	}
	return fmt.Sprintf("the slowest 1 %% (%d of %s queries, from %s): on average %s; every P running for %s of their wait on the network; their goroutine last readied by %s; all queries: %s",
		len(slow), thousands(float64(len(ways))), ms(slow[len(slow)-1].arrival), strings.Join(parts, ", "),
		percent(float64(allBusy)/float64(max(network, 1))), wakerShares(slow), wakerShares(ways))
}

// wakerShares gives each waker's share of the ways in, the largest first.
func wakerShares(ways []wayIn) string {
	n := map[string]int{}
	for _, w := range ways {
		n[w.waker]++
	}
	names := make([]string, 0, len(n))
	for name := range n {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return n[b] - n[a] })
	out := make([]string, len(names))
	for i, name := range names {
		out[i] = fmt.Sprintf("%s %s", name, percent(float64(n[name])/float64(len(ways))))
	}
	return strings.Join(out, ", ")
}

// percentileOf returns the p-th percentile of the ways' arrivals.
func percentileOf(ways []wayIn, p float64) time.Duration {
	arrivals := make(latencies, len(ways))
	for i, w := range ways {
		arrivals[i] = w.arrival
	}
	return merge(arrivals).percentile(p)
}
