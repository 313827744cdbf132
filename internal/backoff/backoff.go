// Package backoff paces work that resumes after each failure for as long
// as its context lasts: the forwarder, and the stores' subscriptions. One
// policy for all of them, so that an outage is retried alike everywhere.
package backoff

import (
	"context"
	"time"
)

// Defaults: the first retry comes soon, and an outage is polled at most
// every few seconds.
const (
	DefaultMin = 100 * time.Millisecond
	DefaultMax = 5 * time.Second
)

// Backoff is the delay before the next attempt. It starts at Min, doubles
// after each attempt that made no progress, up to Max, and goes back to Min
// after one that did. The zero value uses DefaultMin and DefaultMax.
type Backoff struct {
	Min, Max time.Duration
	delay    time.Duration
}

// Next returns how long to wait before the next attempt, given whether the
// last one made progress.
func (b *Backoff) Next(progressed bool) time.Duration {
	lo, hi := b.bounds()
	switch {
	case progressed || b.delay == 0:
		b.delay = lo
	default:
		b.delay = min(2*b.delay, hi)
	}
	return b.delay
}

// bounds returns Min and Max, or their defaults.
func (b *Backoff) bounds() (time.Duration, time.Duration) {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = DefaultMin
	}
	if hi < lo {
		hi = max(DefaultMax, lo)
	}
	return lo, hi
}

// Sleep waits for d or until ctx ends, and reports whether it waited d out.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
