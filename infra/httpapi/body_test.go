package httpapi

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestReadBodyReadsWhatMaxBytesReaderRead: readBody, which reads a body
// of declared length with one ReadFull, gives the bytes and the errors
// that reading the whole body through http.MaxBytesReader gave, for
// bodies parsed by net/http as its server parses them.
func TestReadBodyReadsWhatMaxBytesReaderRead(t *testing.T) {
	big := strings.Repeat("x", MaxBodyBytes)
	withLength := func(declared int, body string) string {
		return "POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(declared) + "\r\n\r\n" + body
	}
	chunked := func(body string) string {
		var b strings.Builder
		b.WriteString("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
		for len(body) > 0 {
			n := min(len(body), 7000)
			b.WriteString(strconv.FormatInt(int64(n), 16) + "\r\n" + body[:n] + "\r\n")
			body = body[n:]
		}
		b.WriteString("0\r\n\r\n")
		return b.String()
	}
	cases := map[string]string{
		"exact":                  withLength(5, "hello"),
		"empty":                  withLength(0, ""),
		"more than declared":     withLength(5, "hello, world"),
		"short":                  withLength(10, "hello"),
		"nothing of it":          withLength(10, ""),
		"larger than the pool":   withLength(100_000, big[:100_000]),
		"just below the limit":   withLength(MaxBodyBytes-1, big[:MaxBodyBytes-1]),
		"at the limit":           withLength(MaxBodyBytes, big),
		"past the limit":         withLength(MaxBodyBytes+1, big+"x"),
		"chunked":                chunked("hello"),
		"chunked past the limit": chunked(big + "x"),
		"chunked, cut":           chunked("hello")[:70],
	}
	read := func(raw string, fn func(http.ResponseWriter, *http.Request, *[]byte) ([]byte, error)) ([]byte, error) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			t.Fatal(err)
		}
		b := getBuf()
		defer putBuf(b)
		body, err := fn(httptest.NewRecorder(), r, b)
		return bytes.Clone(body), err
	}
	old := func(w http.ResponseWriter, r *http.Request, b *[]byte) ([]byte, error) {
		return readBodyUpTo(w, r, b, 0)
	}
	for name, raw := range cases {
		got, gotErr := read(raw, readBody)
		want, wantErr := read(raw, old)
		if (gotErr == nil) != (wantErr == nil) || errors.Is(gotErr, io.ErrUnexpectedEOF) != errors.Is(wantErr, io.ErrUnexpectedEOF) {
			t.Errorf("%s: error %v; want %v", name, gotErr, wantErr)
		}
		var tooBig *http.MaxBytesError
		if errors.As(gotErr, &tooBig) != errors.As(wantErr, &tooBig) {
			t.Errorf("%s: error %v; want %v", name, gotErr, wantErr)
		}
		if gotErr == nil && !bytes.Equal(got, want) {
			t.Errorf("%s: read %d bytes; want %d", name, len(got), len(want))
		}
	}
}
