package main

import (
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

// startTailTrace starts an execution trace of the loaded query window when
// LEDGERBENCH_TRACE names a file, so that the query tail can be studied
// (go tool trace -pprof=sched, -pprof=net); the returned function stops it.
func startTailTrace() func() {
	name := os.Getenv("LEDGERBENCH_TRACE")
	if name == "" {
		return func() {}
	}
	f, err := os.Create(name)
	if err != nil {
		return func() {}
	}
	if err := trace.Start(f); err != nil {
		_ = f.Close()
		return func() {}
	}
	return func() {
		trace.Stop()
		_ = f.Close()
	}
}
