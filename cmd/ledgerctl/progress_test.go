package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestProgressShowsLongRunsOnly(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, false, "export")
	p.update("%d events", 10)
	assert.Empty(t, buf.String(), "nothing in the first second")
	p.last = time.Now().Add(-2 * progressEvery)
	p.update("%d events", 20000)
	assert.Contains(t, buf.String(), "export: 20000 events (")
	p.done("finished")
	assert.True(t, strings.HasSuffix(buf.String(), "export: finished\n"))
}

func TestProgressRewritesOneLineOnATerminal(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, true, "verify")
	p.last = time.Now().Add(-2 * progressEvery)
	p.update("%d events verified", 10000)
	p.last = time.Now().Add(-2 * progressEvery)
	p.update("%d events verified", 20000)
	p.done("OK")
	assert.Equal(t, 3, strings.Count(buf.String(), "\r\033[K"), "each update and the end clear the line")
	assert.NotContains(t, strings.TrimSuffix(buf.String(), "\n"), "\n", "one line only")
}

func TestCounterCountsLines(t *testing.T) {
	var out bytes.Buffer
	c := &counter{r: strings.NewReader("a\nb\nc\n"), p: newProgress(&out, false, "x"), what: "lines"}
	_, _ = new(bytes.Buffer).ReadFrom(c)
	assert.Equal(t, 3, c.lines)
	assert.EqualValues(t, 6, c.bytes)
	assert.Equal(t, "1.5 kB", size(1536))
	assert.Equal(t, "2.0 MB", size(2<<20))
}
