package main

import (
	"fmt"
	"slices"
	"time"
)

// latencies holds every latency of one kind of operation, so that
// percentiles are exact. A client fills its own and the run merges them.
type latencies []time.Duration

// merge returns every sample of the parts in one sorted set.
func merge(parts ...latencies) latencies {
	var n int
	for _, p := range parts {
		n += len(p)
	}
	out := make(latencies, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	slices.Sort(out)
	return out
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted samples.
func (l latencies) percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	i := int(float64(len(l))*p/100+0.5) - 1
	return l[min(max(i, 0), len(l)-1)]
}

// summary formats p50, p99 and p999.
func (l latencies) summary() string {
	return fmt.Sprintf("p50 %s  p99 %s  p999 %s", ms(l.percentile(50)), ms(l.percentile(99)), ms(l.percentile(99.9)))
}
