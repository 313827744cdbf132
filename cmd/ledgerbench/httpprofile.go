package main

import (
	"log/slog"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// startHTTPProfile starts a CPU profile of the measured HTTP run when
// LEDGERBENCH_HTTPPROFILE names a file, so that the HTTP path can be
// studied apart from the in-process run that --cpuprofile also covers (it
// does nothing when --cpuprofile is given too); the returned function
// stops it.
func startHTTPProfile() func() {
	name := os.Getenv("LEDGERBENCH_HTTPPROFILE")
	if name == "" {
		return func() {}
	}
	f, err := os.Create(name)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

// The variables that name an execution trace's file: of the saturated
// query window, and of the first paced one (commands at half the
// saturating rate).
const (
	traceEnv      = "LEDGERBENCH_TRACE"
	pacedTraceEnv = "LEDGERBENCH_TRACE_PACED"
)

// traceWindow starts an execution trace of a query window when the
// variable env names a file, so that the query tail can be studied (go
// tool trace -pprof=sched, -pprof=net). The returned function stops it and
// adds the row that splits the window's way in (see splitTrace) to the
// query tail section, as measure.
func traceWindow(env string, t *table, measure string, log *slog.Logger) func() {
	name := os.Getenv(env)
	if name == "" {
		return func() {}
	}
	f, err := os.Create(name)
	if err != nil {
		log.Warn("no trace", "err", err)
		return func() {}
	}
	if err := trace.Start(f); err != nil {
		log.Warn("no trace", "err", err)
		_ = f.Close()
		return func() {}
	}
	return func() {
		trace.Stop()
		if err := f.Close(); err != nil {
			log.Warn("trace not written", "file", name, "err", err)
			return
		}
		ways, err := splitTraceFile(name)
		if err != nil {
			log.Warn("trace not split", "file", name, "err", err)
			return
		}
		t.add(secTail, measure, ms(percentileOf(ways, 99)), "from the execution trace in "+name+" (tracing slows the run); "+describeSplit(ways))
	}
}
