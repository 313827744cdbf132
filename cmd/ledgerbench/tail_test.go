package main

import (
	"math"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// TestHistP99 takes the 99th percentile of what a cumulative histogram
// counted between two readings.
func TestHistP99(t *testing.T) {
	buckets := []float64{0, 0.001, 0.002, 0.004, math.Inf(1)}
	before := &metrics.Float64Histogram{Counts: []uint64{5, 5, 5, 5}, Buckets: buckets}
	for _, tc := range []struct {
		name   string
		counts []uint64
		want   time.Duration
		n      uint64
	}{
		{name: "Nothing", counts: []uint64{5, 5, 5, 5}, want: 0, n: 0},
		{name: "AllInTheFirst", counts: []uint64{105, 5, 5, 5}, want: time.Millisecond, n: 100},
		{name: "TailInTheThird", counts: []uint64{103, 5, 7, 5}, want: 4 * time.Millisecond, n: 100},
		{name: "BelowTheTail", counts: []uint64{104, 5, 6, 5}, want: time.Millisecond, n: 100},
		{name: "OpenBucket", counts: []uint64{5, 5, 5, 7}, want: 4 * time.Millisecond, n: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after := &metrics.Float64Histogram{Counts: tc.counts, Buckets: buckets}
			got, n := histP99(before, after)
			if got != tc.want || n != tc.n {
				t.Errorf("histP99 = %v, %d; want %v, %d", got, n, tc.want, tc.n)
			}
		})
	}
}

// TestTailWindow reads the runtime metrics over a window of four forced
// collections: the window sees the cycles and their pauses.
func TestTailWindow(t *testing.T) {
	start := readTail()
	for range 4 {
		runtime.GC()
	}
	s := tailSince(start)
	if s.cycles < 4 || s.pauses == 0 || s.pauseP99 <= 0 {
		t.Errorf("after 4 collections the window saw %d cycles, %d pauses, p99 %v", s.cycles, s.pauses, s.pauseP99)
	}
	if s.gcShare < 0 || s.gcShare > 1 || s.assistShare < 0 || s.assistShare > s.gcShare {
		t.Errorf("shares out of range: GC %v, assists %v", s.gcShare, s.assistShare)
	}
}
