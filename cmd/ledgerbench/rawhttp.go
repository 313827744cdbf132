package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"strconv"
	"time"
)

// leanClient is the benchmark's HTTP/1.1 client: it writes each request in
// one write on a kept-alive connection and reads the answer on the calling
// goroutine. net/http's client runs two more goroutines per connection and
// hands every request and answer between them, which on the benchmark's
// two CPUs cost about as much as the server's whole HTTP layer and queued
// each query behind the writers' goroutines twice more; real clients run on
// other machines, so that cost is not the ledger's. The requests are what
// net/http's client sends (request line, Host, User-Agent, Content-Length,
// the caller's headers, the body), and answers are read in full, with
// Content-Length or chunked encoding, before the connection is reused.
type leanClient struct {
	addr    string // host:port
	timeout time.Duration
	idle    chan *leanConn
}

// leanConn is one kept-alive connection and its buffers.
type leanConn struct {
	c   net.Conn
	r   *bufio.Reader
	req []byte
	ans []byte
	// deadline is when the connection's deadline expires; it is moved
	// only once it is near, not for every request.
	deadline time.Time
}

// header is one request header.
type header struct{ name, value string }

// newLeanClient returns a client of the server at addr (host:port) that
// keeps up to conns connections alive.
func newLeanClient(addr string, conns int) *leanClient {
	return &leanClient{addr: addr, timeout: 30 * time.Second, idle: make(chan *leanConn, conns)}
}

// closeIdle closes the connections kept alive.
func (c *leanClient) closeIdle() {
	for {
		select {
		case lc := <-c.idle:
			_ = lc.c.Close()
		default:
			return
		}
	}
}

func (c *leanClient) conn() (*leanConn, error) {
	select {
	case lc := <-c.idle:
		return lc, nil
	default:
	}
	nc, err := net.DialTimeout("tcp", c.addr, c.timeout)
	if err != nil {
		return nil, err
	}
	return &leanConn{c: nc, r: bufio.NewReaderSize(nc, 16<<10), req: make([]byte, 0, 1024), ans: make([]byte, 0, 4096)}, nil
}

func (c *leanClient) release(lc *leanConn) {
	select {
	case c.idle <- lc:
	default:
		_ = lc.c.Close()
	}
}

// do sends a request and returns the answer's status and body. The body
// is valid until fn returns: do calls fn with it before the connection is
// reused.
func (c *leanClient) do(ctx context.Context, method, path string, headers []header, body []byte, fn func(status int, answer []byte) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	lc, err := c.conn()
	if err != nil {
		return err
	}
	status, answer, keep, err := lc.roundTrip(c.addr, method, path, headers, body, c.timeout)
	if err != nil {
		_ = lc.c.Close()
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	err = fn(status, answer)
	if keep {
		c.release(lc)
	} else {
		_ = lc.c.Close()
	}
	return err
}

// roundTrip writes the request and reads the whole answer; keep tells
// whether the connection may carry another request.
func (lc *leanConn) roundTrip(host, method, path string, headers []header, body []byte, timeout time.Duration) (status int, answer []byte, keep bool, err error) {
	b := lc.req[:0]
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUser-Agent: Go-http-client/1.1\r\n"...)
	if body != nil || method == "POST" {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	for _, h := range headers {
		b = append(b, h.name...)
		b = append(b, ": "...)
		b = append(b, h.value...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	lc.req = b
	if now := time.Now(); lc.deadline.Sub(now) < timeout/2 {
		lc.deadline = now.Add(timeout)
		if err := lc.c.SetDeadline(lc.deadline); err != nil {
			return 0, nil, false, err
		}
	}
	if _, err := lc.c.Write(b); err != nil {
		return 0, nil, false, err
	}
	return lc.readAnswer(method)
}

var errMalformed = errors.New("malformed HTTP answer")

// readAnswer reads a status line, the headers and the body.
func (lc *leanConn) readAnswer(method string) (status int, answer []byte, keep bool, err error) {
	line, err := lc.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, false, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, nil, false, errMalformed
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, false, errMalformed
	}
	keep = line[7] == '1'
	length, chunked := -1, false
	for {
		line, err = lc.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, nil, false, errMalformed
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, nil, false, errMalformed
			}
		case asciiEqualFold(name, "Transfer-Encoding"):
			chunked = asciiEqualFold(value, "chunked")
			if !chunked {
				return 0, nil, false, fmt.Errorf("unsupported Transfer-Encoding %q", value)
			}
		case asciiEqualFold(name, "Connection"):
			if asciiEqualFold(value, "close") {
				keep = false
			}
		}
	}
	noBody := method == "HEAD" || status == 204 || status == 304 || status < 200
	switch {
	case noBody:
		lc.ans = lc.ans[:0]
	case chunked:
		if lc.ans, err = readAllInto(lc.ans[:0], httputil.NewChunkedReader(lc.r)); err != nil {
			return 0, nil, false, err
		}
		for { // the trailer, up to its empty line
			line, err = lc.r.ReadSlice('\n')
			if err != nil {
				return 0, nil, false, err
			}
			if len(bytes.TrimRight(line, "\r\n")) == 0 {
				break
			}
		}
	case length >= 0:
		if cap(lc.ans) < length {
			lc.ans = make([]byte, length)
		}
		lc.ans = lc.ans[:length]
		if _, err = io.ReadFull(lc.r, lc.ans); err != nil {
			return 0, nil, false, err
		}
	default: // the body ends with the connection
		if lc.ans, err = readAllInto(lc.ans[:0], lc.r); err != nil {
			return 0, nil, false, err
		}
		keep = false
	}
	return status, lc.ans, keep, nil
}

// readAllInto appends everything r gives to b.
func readAllInto(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// asciiEqualFold reports whether b is s, ignoring ASCII case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
