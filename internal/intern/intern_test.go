package intern_test

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"

	"github.com/licensing-ledger/ledger/internal/intern"
)

func TestOfReturnsTheFirstCopy(t *testing.T) {
	var s intern.Strings
	first := strings.Clone("SPB")
	second := strings.Clone("SPB")
	assert.Equal(t, "SPB", s.Of(first))
	got := s.Of(second)
	assert.Equal(t, "SPB", got)
	assert.Same(t, unsafe.StringData(first), unsafe.StringData(got), "the second decoding shares the first's bytes")
	assert.Equal(t, "E3", s.Of("E3"))
}
