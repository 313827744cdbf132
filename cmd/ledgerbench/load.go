package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// loadStats is what command clients measured over one phase.
type loadStats struct {
	accepted, refused, failed int
	lat                       latencies
	elapsed                   time.Duration
	cpu                       time.Duration  // processor time of the whole process meanwhile
	serverCPU                 time.Duration  // and of the NATS server, when it runs in a process of its own
	details                   map[string]int // refusal and failure details, counted
}

// commands returns every command sent.
func (s loadStats) commands() int { return s.accepted + s.refused + s.failed }

// rate returns the commands per second.
func (s loadStats) rate() float64 { return float64(s.commands()) / s.elapsed.Seconds() }

// refusalRate returns the share of commands refused or failed, in percent.
func (s loadStats) refusalRate() float64 {
	if s.commands() == 0 {
		return 0
	}
	return 100 * float64(s.refused+s.failed) / float64(s.commands())
}

// cpuPerCommand returns the processor time used per command, in
// microseconds, the NATS server's included wherever it runs: the cost of a
// command on a machine that others share.
func (s loadStats) cpuPerCommand() float64 {
	return float64((s.cpu + s.serverCPU).Microseconds()) / float64(max(s.commands(), 1))
}

// cpuNote tells the CPU per command, split between the ledger's process
// and the NATS server's when the server runs in a process of its own.
func (s loadStats) cpuNote() string {
	if s.serverCPU == 0 {
		return fmt.Sprintf("%.0f µs CPU", s.cpuPerCommand())
	}
	n := float64(max(s.commands(), 1))
	return fmt.Sprintf("%.0f µs CPU (%.0f in the ledger's process, %.0f in nats-server)",
		s.cpuPerCommand(), float64(s.cpu.Microseconds())/n, float64(s.serverCPU.Microseconds())/n)
}

// add counts one command.
func (s *loadStats) add(o outcome, detail string, d time.Duration) {
	s.lat = append(s.lat, d)
	switch o {
	case accepted:
		s.accepted++
		return
	case refused:
		s.refused++
	default:
		s.failed++
	}
	if s.details == nil {
		s.details = map[string]int{}
	}
	if len(s.details) < 20 {
		s.details[truncate(detail, 160)]++
	}
}

// mergeStats adds up the clients' stats.
func mergeStats(parts []loadStats, elapsed time.Duration) loadStats {
	out := loadStats{elapsed: elapsed, details: map[string]int{}}
	lats := make([]latencies, len(parts))
	for i, p := range parts {
		out.accepted += p.accepted
		out.refused += p.refused
		out.failed += p.failed
		lats[i] = p.lat
		for k, v := range p.details {
			out.details[k] += v
		}
	}
	out.lat = merge(lats...)
	return out
}

// drive runs every client against the driver until the time is up, each
// sending its next command as soon as the previous one is answered, and
// returns what they measured. A progress line goes to the log every few
// seconds.
func drive(ctx context.Context, clients []*client, d driver, length time.Duration, what string, log *slog.Logger) loadStats {
	return driveAt(ctx, clients, d, length, 0, what, log)
}

// driveAt is drive with the clients sending rate commands/s between them,
// each on a fixed schedule (an open-loop load, as a service's users send:
// a client held up sends what it owes at once); 0 sends each command as
// soon as the last is answered.
func driveAt(ctx context.Context, clients []*client, d driver, length time.Duration, rate float64, what string, log *slog.Logger) loadStats {
	var every time.Duration
	if rate > 0 {
		every = time.Duration(float64(len(clients)) / rate * float64(time.Second))
	}
	var sent atomic.Int64
	stopProgress := progress(log, what, length, &sent)
	defer stopProgress()
	deadline := time.Now().Add(length)
	parts := make([]loadStats, len(clients))
	var wg sync.WaitGroup
	start, cpu, scpu := time.Now(), cpuTime(), serverCPU()
	for i, c := range clients {
		wg.Go(func() { parts[i] = c.run(ctx, d, deadline, every, &sent) })
	}
	wg.Wait()
	s := mergeStats(parts, time.Since(start))
	s.cpu, s.serverCPU = cpuTime()-cpu, serverCPU()-scpu
	return s
}

// run sends commands until the deadline: one every every, on a fixed
// schedule, or as fast as they are answered when every is 0.
func (c *client) run(ctx context.Context, d driver, deadline time.Time, every time.Duration, sent *atomic.Int64) loadStats {
	var s loadStats
	next := time.Now().Add(time.Duration(rand.Int64N(int64(every) + 1))) // the clients spread over the first interval
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if every > 0 {
			if wait := time.Until(next); wait > 0 {
				time.Sleep(min(wait, time.Until(deadline)))
				continue
			}
			next = next.Add(every)
		}
		cmd := c.next()
		start := time.Now()
		o, detail := d.execute(ctx, cmd)
		s.add(o, detail, time.Since(start))
		if o == accepted {
			cmd.accepted()
		}
		sent.Add(1)
	}
	return s
}

// progress logs how far a timed phase has come every five seconds, until
// the returned function is called.
func progress(log *slog.Logger, what string, length time.Duration, done *atomic.Int64) func() {
	stop := make(chan struct{})
	start := time.Now()
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				log.Info(what, "elapsed", time.Since(start).Round(time.Second), "of", length, "done", done.Load())
			}
		}
	}()
	return func() { close(stop) }
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
