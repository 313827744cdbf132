package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progressEvery is how often progress is shown; runs shorter than that
// show none but their final line.
const progressEvery = time.Second

// progress shows how a long run goes, on stderr: on a terminal it rewrites
// one line, elsewhere it prints a line each time.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	label string
	start time.Time
	last  time.Time
	shown bool // a rewritable line is on the terminal
}

func newProgress(w io.Writer, tty bool, label string) *progress {
	now := time.Now()
	return &progress{w: w, tty: tty, label: label, start: now, last: now}
}

// update shows the message if the last one is old enough.
func (p *progress) update(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < progressEvery {
		return
	}
	p.last = time.Now()
	msg := fmt.Sprintf("%s: %s (%s)", p.label, fmt.Sprintf(format, args...), time.Since(p.start).Round(time.Second))
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", msg)
		p.shown = true
		return
	}
	fmt.Fprintln(p.w, msg)
}

// done shows the final message.
func (p *progress) done(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
	fmt.Fprintf(p.w, "%s: %s\n", p.label, fmt.Sprintf(format, args...))
}

// clear removes a rewritable line before other output.
func (p *progress) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// waiting shows that the server is at work until the returned stop is
// called: replays of large tenants take a while before the first byte.
func (p *progress) waiting() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(progressEvery / 4)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p.update("waiting for the server")
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// counter counts the bytes and lines that pass through it and shows them.
type counter struct {
	r     io.Reader
	p     *progress
	what  string
	bytes int64
	lines int
}

func (c *counter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.bytes += int64(n)
	for _, x := range b[:n] {
		if x == '\n' {
			c.lines++
		}
	}
	c.p.update("%d %s, %s", c.lines, c.what, size(c.bytes))
	return n, err
}

// size formats a byte count.
func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
