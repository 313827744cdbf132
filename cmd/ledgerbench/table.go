package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// row is one line of the results: a measure, its figure, and the target it
// is held to, if any.
type row struct {
	section string
	measure string
	figure  string
	target  string
	status  string // met, missed, or empty when there is no target
	note    string
}

// table collects the rows of a run in the order they are added.
type table struct {
	mu   sync.Mutex
	rows []row
}

// add appends a row without a target.
func (t *table) add(section, measure, figure, note string) {
	t.put(row{section: section, measure: measure, figure: figure, note: note})
}

// atLeast appends a row whose figure must reach min.
func (t *table) atLeast(section, measure string, value, min float64, unit func(float64) string, note string) {
	t.put(row{section: section, measure: measure, figure: unit(value),
		target: "≥ " + unit(min), status: verdict(value >= min), note: note})
}

// below appends a row whose figure must stay under max.
func (t *table) below(section, measure string, value, max float64, unit func(float64) string, note string) {
	t.put(row{section: section, measure: measure, figure: unit(value),
		target: "< " + unit(max), status: verdict(value < max), note: note})
}

// atMost appends a row whose figure must not exceed max.
func (t *table) atMost(section, measure string, value, max float64, unit func(float64) string, note string) {
	t.put(row{section: section, measure: measure, figure: unit(value),
		target: "≤ " + unit(max), status: verdict(value <= max), note: note})
}

// faster appends a row whose duration must stay under max.
func (t *table) faster(section, measure string, d, max time.Duration, note string) {
	t.put(row{section: section, measure: measure, figure: ms(d), target: "< " + ms(max), status: verdict(d < max), note: note})
}

func (t *table) put(r row) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rows = append(t.rows, r)
}

// print writes the table, one aligned row per line.
func (t *table) print(w io.Writer) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "section\tmeasure\tfigure\ttarget\t\tnote")
	fmt.Fprintln(tw, "-------\t-------\t------\t------\t\t----")
	for _, r := range t.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.section, r.measure, r.figure, r.target, r.status, r.note)
	}
	return tw.Flush()
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// ms formats a duration in milliseconds with a precision that suits it.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v < 1:
		return fmt.Sprintf("%.3f ms", v)
	case v < 100:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

// perSecond formats a rate: 12,345/s.
func perSecond(v float64) string { return thousands(v) + "/s" }

// times formats a ratio: 0.83×.
func times(v float64) string { return fmt.Sprintf("%.2f×", v) }

// mib formats a size in MiB given in bytes.
func mib(v float64) string { return fmt.Sprintf("%.0f MiB", v/(1<<20)) }

// thousands formats n with thin separators: 12,345.
func thousands(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// sort orders the rows by section, in the given order, keeping the order
// of rows within a section.
func (t *table) sort(order []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	slices.SortStableFunc(t.rows, func(a, b row) int {
		return slices.Index(order, a.section) - slices.Index(order, b.section)
	})
}
