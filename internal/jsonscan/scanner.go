// Package jsonscan reads the tokens of small, flat JSON documents by hand,
// for the two hot paths that read such documents millions of times: the
// server's acknowledgement of each append (infra/jetstream) and command
// bodies (infra/httpapi). It reads only the plain forms (strings without
// escapes, integers without fraction or exponent, true and false) and says
// ok false on anything else; its callers then hand the whole document to a
// full decoder (encoding/json, protojson), which has the last word. So a
// Scanner never needs to accept every valid document, only to never
// misread one.
package jsonscan

import "unicode/utf8"

// Scanner walks a document from its start.
type Scanner struct {
	b []byte
	i int
}

// New returns a Scanner at the start of b.
func New(b []byte) Scanner { return Scanner{b: b} }

// skipSpace consumes white space.
func (s *Scanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// Peek returns the next byte after white space, 0 at the end.
func (s *Scanner) Peek() byte {
	s.skipSpace()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// Next consumes and returns the next byte after white space, 0 at the end.
func (s *Scanner) Next() byte {
	c := s.Peek()
	if c != 0 {
		s.i++
	}
	return c
}

// Byte consumes c, after white space, and reports whether it was next.
func (s *Scanner) Byte(c byte) bool { return s.Next() == c }

// End reports whether only white space is left.
func (s *Scanner) End() bool { return s.Peek() == 0 && s.i == len(s.b) }

// Object reads the whole document as one object whose keys are plain
// strings, calling member with each key, after its colon, to read its
// value from s. It reports false if the document is anything else, or as
// soon as member does.
func (s *Scanner) Object(member func(key []byte) bool) bool {
	if !s.Byte('{') {
		return false
	}
	if s.Peek() == '}' {
		s.Next()
		return s.End()
	}
	for {
		key, ok := s.PlainString()
		if !ok || !s.Byte(':') || !member(key) {
			return false
		}
		switch s.Next() {
		case ',':
			continue
		case '}':
			return s.End()
		}
		return false
	}
}

// PlainString reads a string without escapes or control characters, in
// valid UTF-8, and returns its contents, which point into the document; ok
// is false for any other string.
func (s *Scanner) PlainString() ([]byte, bool) {
	if !s.Byte('"') {
		return nil, false
	}
	start := s.i
	ascii := true
	for ; s.i < len(s.b); s.i++ {
		c := s.b[s.i]
		switch {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			if !ascii && !utf8.Valid(v) {
				return nil, false
			}
			return v, true
		case c == '\\' || c < ' ':
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// Integer reads an integer: an optional minus, then 0 or digits not
// starting with 0, followed by a delimiter (no fraction, no exponent). It
// returns its text.
func (s *Scanner) Integer() ([]byte, bool) {
	s.skipSpace()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	n := s.i - digits
	if n == 0 || (n > 1 && s.b[digits] == '0') || !s.delimited() {
		return nil, false
	}
	return s.b[start:s.i], true
}

// Uint reads an integer without a minus that fits 64 bits, without
// allocating.
func (s *Scanner) Uint() (uint64, bool) {
	text, ok := s.Integer()
	if !ok || text[0] == '-' {
		return 0, false
	}
	var n uint64
	for _, c := range text {
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// Bool reads true or false.
func (s *Scanner) Bool() (v, ok bool) {
	switch s.Peek() {
	case 't':
		return true, s.literal("true")
	case 'f':
		return false, s.literal("false")
	}
	return false, false
}

// literal consumes the word w, which must end there.
func (s *Scanner) literal(w string) bool {
	if len(s.b)-s.i < len(w) || string(s.b[s.i:s.i+len(w)]) != w {
		return false
	}
	s.i += len(w)
	return s.delimited()
}

// delimited reports whether a token ends here: at the end, white space or
// punctuation that may follow a value.
func (s *Scanner) delimited() bool {
	if s.i == len(s.b) {
		return true
	}
	switch s.b[s.i] {
	case ' ', '\t', '\n', '\r', ',', '}', ']':
		return true
	}
	return false
}
