package jetstream

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/licensing-ledger/ledger/internal/jsonscan"
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

// scanPubAck reads a flat JSON object of plain strings, unsigned integers
// and booleans (jsonscan), keeping "seq" and "duplicate". It reports false,
// leaving the reply to encoding/json, on anything else, on an "error", and
// on a key that encoding/json would match to a field without being
// spelled as the field's tag (it matches keys case-insensitively).
func scanPubAck(b []byte) (pubResponse, bool) {
	var resp pubResponse
	s := jsonscan.New(b)
	ok := s.Object(func(key []byte) bool { return ackValue(&s, key, &resp) })
	return resp, ok
}

// ackValue reads the value of key, storing the ones resp keeps.
func ackValue(s *jsonscan.Scanner, key []byte, resp *pubResponse) bool {
	switch string(key) {
	case "seq":
		n, ok := s.Uint()
		resp.Seq = n
		return ok
	case "duplicate":
		v, ok := s.Bool()
		resp.Duplicate = v
		return ok
	}
	if k := string(key); strings.EqualFold(k, "seq") || strings.EqualFold(k, "duplicate") || strings.EqualFold(k, "error") {
		return false
	}
	switch s.Peek() {
	case '"':
		_, ok := s.PlainString()
		return ok
	case 't', 'f':
		_, ok := s.Bool()
		return ok
	}
	_, ok := s.Uint()
	return ok
}
