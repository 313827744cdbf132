package main

import (
	"fmt"
	"math"
	"runtime"
	"runtime/metrics"
	"time"
)

// What makes the query tail: over a query window (idle, or while HTTP
// commands run) the benchmark reads the Go runtime's own metrics of its
// process, which hosts the ledger and the embedded NATS server, at the start
// and the end, and takes the difference (the histograms are cumulative):
// how long runnable goroutines waited for a CPU, the GC's stop-the-world
// pauses, the CPU the GC took, and the time queries spent inside the HTTP
// handler, beside the time the readers saw.

// The runtime metrics a tail window reads, in this order.
var tailMetrics = []string{
	"/sched/latencies:seconds",
	"/sched/pauses/total/gc:seconds",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/gc/mark/assist:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
	"/gc/cycles/total:gc-cycles",
}

const (
	mSched = iota
	mPauses
	mGC
	mAssist
	mTotal
	mCycles
)

// tailReading is the runtime metrics and the process's CPU at one moment.
type tailReading struct {
	at      time.Time
	cpu     time.Duration
	samples []metrics.Sample
}

func readTail() tailReading {
	s := make([]metrics.Sample, len(tailMetrics))
	for i, name := range tailMetrics {
		s[i].Name = name
	}
	metrics.Read(s)
	return tailReading{at: time.Now(), cpu: cpuTime(), samples: s}
}

// tailStats is what a window's runtime metrics say.
type tailStats struct {
	elapsed           time.Duration
	schedP99          time.Duration // p99 of the time goroutines waited runnable
	schedCount        uint64
	pauseP99          time.Duration // p99 of the GC's stop-the-world pauses
	pauses            uint64
	pauseTotal        time.Duration // the pauses added up (each at its bucket's middle)
	gcShare           float64       // GC's CPU over all CPU time (GOMAXPROCS × the time between the window's GCs)
	assistShare       float64       // GC assists' share of the same
	cycles            uint64        // GC cycles that ended in the window
	processCPUShare   float64       // the process's CPU (getrusage) over the machine's CPUs × elapsed
	runnable          float64       // goroutines runnable (not running) on average, sampled
	handler           latencies
	arrival           latencies // from the reader's send to the handler's start
	client            latencies
	commandsPerSecond float64 // of the HTTP commands that ran meanwhile, if any
}

// tailSince returns what the runtime metrics say happened since start.
func tailSince(start tailReading) tailStats {
	end := readTail()
	s := tailStats{elapsed: end.at.Sub(start.at), cycles: end.samples[mCycles].Value.Uint64() - start.samples[mCycles].Value.Uint64()}
	s.schedP99, s.schedCount = histP99(start.samples[mSched].Value.Float64Histogram(), end.samples[mSched].Value.Float64Histogram())
	s.pauseP99, s.pauses = histP99(start.samples[mPauses].Value.Float64Histogram(), end.samples[mPauses].Value.Float64Histogram())
	s.pauseTotal = histSum(start.samples[mPauses].Value.Float64Histogram(), end.samples[mPauses].Value.Float64Histogram())
	diff := func(i int) float64 { return end.samples[i].Value.Float64() - start.samples[i].Value.Float64() }
	if total := diff(mTotal); total > 0 {
		s.gcShare, s.assistShare = diff(mGC)/total, diff(mAssist)/total
	}
	s.processCPUShare = float64(end.cpu-start.cpu) / (float64(s.elapsed) * float64(runtime.NumCPU()))
	return s
}

// runnableEvery is how often a window samples the runnable goroutines.
const runnableEvery = 5 * time.Millisecond

// sampleRunnable samples /sched/goroutines/runnable every runnableEvery
// until the returned function is called, which returns the average.
func sampleRunnable() func() float64 {
	stop, done := make(chan struct{}), make(chan float64, 1)
	go func() {
		s := []metrics.Sample{{Name: "/sched/goroutines/runnable:goroutines"}}
		t := time.NewTicker(runnableEvery)
		defer t.Stop()
		var sum, n float64
		for {
			select {
			case <-stop:
				done <- sum / max(n, 1)
				return
			case <-t.C:
				metrics.Read(s)
				if s[0].Value.Kind() == metrics.KindUint64 {
					sum += float64(s[0].Value.Uint64())
					n++
				}
			}
		}
	}()
	return func() float64 {
		close(stop)
		return <-done
	}
}

// histP99 returns the 99th percentile of what a cumulative histogram
// counted between two readings (the upper bound of its bucket, or the lower
// one for the last, open bucket) and how many it counted.
func histP99(before, after *metrics.Float64Histogram) (time.Duration, uint64) {
	counts := make([]uint64, len(after.Counts))
	var n uint64
	for i := range counts {
		counts[i] = after.Counts[i] - before.Counts[i]
		n += counts[i]
	}
	if n == 0 {
		return 0, 0
	}
	want := uint64(math.Ceil(0.99 * float64(n)))
	var seen uint64
	for i, c := range counts {
		seen += c
		if seen < want {
			continue
		}
		v := after.Buckets[i+1]
		if math.IsInf(v, 1) {
			v = after.Buckets[i]
		}
		return time.Duration(v * float64(time.Second)), n
	}
	return 0, n
}

// histSum adds up what a cumulative histogram counted between two
// readings, each at the middle of its bucket (the lower bound of the last,
// open one).
func histSum(before, after *metrics.Float64Histogram) time.Duration {
	var sum float64
	for i := range after.Counts {
		lo, hi := after.Buckets[i], after.Buckets[i+1]
		mid := (lo + hi) / 2
		if math.IsInf(hi, 1) || math.IsInf(lo, -1) {
			mid = max(lo, 0)
		}
		sum += float64(after.Counts[i]-before.Counts[i]) * mid
	}
	return time.Duration(sum * float64(time.Second))
}

// percent formats a share as a percentage.
func percent(v float64) string { return fmt.Sprintf("%.1f %%", 100*v) }

// reportTail adds the rows that say where the loaded query p99 goes: each
// measure in the idle window and in the loaded one.
func reportTail(t *table, idle, loaded tailStats) {
	for _, w := range []struct {
		name string
		s    tailStats
	}{{"idle", idle}, {"loaded", loaded}} {
		s, name := w.s, w.name
		t.add(secTail, "scheduler latency p99, "+name, ms(s.schedP99),
			fmt.Sprintf("time a goroutine waited runnable for a CPU (/sched/latencies); %s waits in %s; %.1f goroutines runnable on average (sampled every %s); the process used %s of the machine's %d CPUs",
				thousands(float64(s.schedCount)), s.elapsed.Round(100*time.Millisecond), s.runnable, runnableEvery, percent(s.processCPUShare), runtime.NumCPU()))
		t.add(secTail, "GC stop-the-world pause p99, "+name, ms(s.pauseP99),
			fmt.Sprintf("/sched/pauses/total/gc, stopping included; %s pauses, %d GC cycles (%.1f/s); about %s in all, %s of the window",
				thousands(float64(s.pauses)), s.cycles, float64(s.cycles)/s.elapsed.Seconds(), ms(s.pauseTotal), percent(float64(s.pauseTotal)/float64(s.elapsed))))
		t.add(secTail, "CPU in GC, "+name, percent(s.gcShare),
			"/cpu/classes/gc/total over /cpu/classes/total (GOMAXPROCS × time, idle included), between the GC cycles that ended in the window"+fewCycles(s))
		t.add(secTail, "CPU in GC assists, "+name, percent(s.assistShare),
			"/cpu/classes/gc/mark/assist over /cpu/classes/total: goroutines made to mark while they allocate"+fewCycles(s))
		t.add(secTail, "query time in the handler p99, "+name, ms(s.handler.percentile(99)),
			fmt.Sprintf("inside the API's handler (a wrapper in the benchmark's server); p50 %s; the readers saw p99 %s, p50 %s; %s queries%s",
				ms(s.handler.percentile(50)), ms(s.client.percentile(99)), ms(s.client.percentile(50)), thousands(float64(len(s.handler))), commandsNote(s)))
		t.add(secTail, "query arrival p99, "+name, ms(s.arrival.percentile(99)),
			fmt.Sprintf("from the reader's send (its clock, in its own process, in a request header) to the handler's start in this process: the way in, socket, network poller and scheduler; p50 %s; the rest of the readers' p99 is the handler and the way back",
				ms(s.arrival.percentile(50))))
	}
}

// fewCycles warns when the CPU classes, which the runtime updates at the
// end of each GC cycle, cover too few cycles to mean much.
func fewCycles(s tailStats) string {
	if s.cycles < 2 {
		return fmt.Sprintf("; only %d GC cycle(s) ended in the window, too few for a share", s.cycles)
	}
	return ""
}

func commandsNote(s tailStats) string {
	if s.commandsPerSecond == 0 {
		return "; no writes"
	}
	return fmt.Sprintf("; HTTP commands %s/s meanwhile", thousands(s.commandsPerSecond))
}
