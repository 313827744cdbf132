package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestLeanClientSendsWhatNetHTTPSends checks the request the server sees:
// method, path, Host, User-Agent, Content-Length, the caller's headers and
// the body.
func TestLeanClientSendsWhatNetHTTPSends(t *testing.T) {
	var got *http.Request
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	c := newLeanClient(addr, 1)
	defer c.closeIdle()
	err := c.do(context.Background(), "POST", "/v1/tenants/t/commands/AssignLicense?x=1", []header{{"Authorization", "Bearer tok"}, {"Idempotency-Key", "k1"}}, []byte(`{"a":1}`), func(status int, answer []byte) error {
		if status != 200 || string(answer) != "ok" {
			t.Errorf("answer %d %q", status, answer)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != "POST" || got.URL.Path != "/v1/tenants/t/commands/AssignLicense" || got.URL.RawQuery != "x=1" || got.Host != addr ||
		got.UserAgent() != "Go-http-client/1.1" || got.ContentLength != 7 || got.Header.Get("Authorization") != "Bearer tok" ||
		got.Header.Get("Idempotency-Key") != "k1" || body != `{"a":1}` || got.Proto != "HTTP/1.1" {
		t.Errorf("the server saw %s %s %s host %s, headers %v, body %q", got.Method, got.URL, got.Proto, got.Host, got.Header, body)
	}
}

// TestLeanClientReadsEveryAnswerShape reads answers with a length, in
// chunks, without a body, and one that closes the connection, on kept-alive
// connections: each answer whole, and a connection reused only when the
// server keeps it open.
func TestLeanClientReadsEveryAnswerShape(t *testing.T) {
	var conns atomic.Int64
	big := strings.Repeat("0123456789", 1000)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/length":
			_, _ = io.WriteString(w, "short")
		case "/chunked":
			_, _ = io.WriteString(w, big[:5000])
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, big[5000:])
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/close":
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, "bye")
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := newLeanClient(strings.TrimPrefix(srv.URL, "http://"), 1)
	defer c.closeIdle()
	for _, tc := range []struct {
		path   string
		status int
		body   string
		conns  int64 // connections opened so far
	}{
		{"/length", 200, "short", 1}, {"/chunked", 200, big, 1}, {"/empty", 204, "", 1}, {"/length", 200, "short", 1},
		{"/close", 409, "bye", 1}, {"/length", 200, "short", 2}, {"/chunked", 200, big, 2},
	} {
		err := c.do(context.Background(), "GET", tc.path, nil, nil, func(status int, answer []byte) error {
			if status != tc.status || string(answer) != tc.body {
				t.Errorf("GET %s: %d, %d bytes; want %d, %d bytes", tc.path, status, len(answer), tc.status, len(tc.body))
			}
			return nil
		})
		if err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		if n := conns.Load(); n != tc.conns {
			t.Errorf("after GET %s: %d connections opened; want %d", tc.path, n, tc.conns)
		}
	}
}
