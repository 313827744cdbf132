package jsonscan_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/licensing-ledger/ledger/internal/jsonscan"
)

// members reads doc as an object of plain strings and returns its members,
// or ok false.
func members(doc string) (map[string]string, bool) {
	got := map[string]string{}
	s := jsonscan.New([]byte(doc))
	ok := s.Object(func(key []byte) bool {
		v, ok := s.PlainString()
		got[string(key)] = string(v)
		return ok
	})
	return got, ok
}

func TestObject(t *testing.T) {
	for doc, want := range map[string]map[string]string{
		`{}`:                        {},
		` { } `:                     {},
		`{"a":"1","b":"é"}`:         {"a": "1", "b": "é"},
		"{\n\t\"a\" : \"1\"\r\n}\n": {"a": "1"},
	} {
		got, ok := members(doc)
		assert.True(t, ok, "%q", doc)
		assert.Equal(t, want, got, "%q", doc)
	}
	for _, doc := range []string{
		``, `[]`, `{`, `{"a":"1"`, `{"a":"1",}`, `{"a":"1"}}`, `{"a":"1"}x`, `{"a" "1"}`,
		`{a:"1"}`, `{"a":"\u0031"}`, `{"a\"":"1"}`, "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}",
	} {
		_, ok := members(doc)
		assert.False(t, ok, "%q", doc)
	}
}

func TestNumbersAndBooleans(t *testing.T) {
	for doc, want := range map[string]uint64{`0`: 0, `42 `: 42, `18446744073709551615`: 1<<64 - 1} {
		s := jsonscan.New([]byte(doc))
		n, ok := s.Uint()
		assert.True(t, ok, "%q", doc)
		assert.Equal(t, want, n, "%q", doc)
	}
	for _, doc := range []string{`18446744073709551616`, `-1`, `01`, `1.5`, `1e3`, `x`, ``, `1x`} {
		s := jsonscan.New([]byte(doc))
		_, ok := s.Uint()
		assert.False(t, ok, "%q", doc)
	}
	for doc, want := range map[string]string{`-12,`: "-12", `0]`: "0", `7}`: "7"} {
		s := jsonscan.New([]byte(doc))
		text, ok := s.Integer()
		assert.True(t, ok, "%q", doc)
		assert.Equal(t, want, string(text), "%q", doc)
	}
	for doc, want := range map[string]bool{`true`: true, ` false,`: false} {
		s := jsonscan.New([]byte(doc))
		v, ok := s.Bool()
		assert.True(t, ok, "%q", doc)
		assert.Equal(t, want, v, "%q", doc)
	}
	for _, doc := range []string{`tru`, `truex`, `null`, `"true"`} {
		s := jsonscan.New([]byte(doc))
		_, ok := s.Bool()
		assert.False(t, ok, "%q", doc)
	}
}
