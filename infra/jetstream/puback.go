package jetstream

import (
	"encoding/json"
	"fmt"
	"strings"
)

// decodePubAck reads the server's reply to a publish. Every append reads
// one, so the usual acknowledgement, a flat object such as
// {"stream":"LEDGER_LOG","seq":42}, is read by hand without allocating;
// anything else (an error, escapes, spaces, numbers that are not plain
// unsigned integers) goes to encoding/json, which has the last word.
func decodePubAck(data []byte) (pubResponse, error) {
	if resp, ok := scanPubAck(data); ok {
		return resp, nil
	}
	var resp pubResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return pubResponse{}, fmt.Errorf("jetstream: append: unreadable reply %q: %w", data, err)
	}
	return resp, nil
}

// scanPubAck reads a flat JSON object of strings without escapes, unsigned
// integers and booleans, keeping "seq" and "duplicate". It reports false,
// leaving the reply to encoding/json, on anything else, on an "error", and
// on a key that encoding/json would match to a field without being
// spelled as the field's tag (it matches keys case-insensitively).
func scanPubAck(b []byte) (pubResponse, bool) {
	var resp pubResponse
	s := ackScanner{b: b}
	if !s.byte('{') {
		return resp, false
	}
	for more := !s.byte('}'); more; {
		key, ok := s.str()
		if !ok || !s.byte(':') {
			return resp, false
		}
		if ok = s.value(key, &resp); !ok {
			return resp, false
		}
		if more = s.byte(','); !more && !s.byte('}') {
			return resp, false
		}
	}
	return resp, s.i == len(s.b)
}

// ackScanner walks a reply.
type ackScanner struct {
	b []byte
	i int
}

// byte consumes c if it is next.
func (s *ackScanner) byte(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str consumes a string without escapes and returns its contents, which
// point into the reply.
func (s *ackScanner) str() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

// value consumes the value of key, storing the ones resp keeps.
func (s *ackScanner) value(key []byte, resp *pubResponse) bool {
	switch string(key) {
	case "seq":
		n, ok := s.uint()
		resp.Seq = n
		return ok
	case "duplicate":
		v, ok := s.bool()
		resp.Duplicate = v
		return ok
	}
	if k := string(key); strings.EqualFold(k, "seq") || strings.EqualFold(k, "duplicate") || strings.EqualFold(k, "error") {
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '"' {
		_, ok := s.str()
		return ok
	}
	if _, ok := s.bool(); ok {
		return true
	}
	_, ok := s.uint()
	return ok
}

// uint consumes an unsigned integer without leading zeros that fits 64 bits.
func (s *ackScanner) uint() (uint64, bool) {
	start := s.i
	var n uint64
	for ; s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9'; s.i++ {
		d := uint64(s.b[s.i] - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	digits := s.i - start
	return n, digits > 0 && (digits == 1 || s.b[start] != '0')
}

// bool consumes true or false.
func (s *ackScanner) bool() (bool, bool) {
	rest := s.b[s.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		s.i += 4
		return true, true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		s.i += 5
		return false, true
	}
	return false, false
}
