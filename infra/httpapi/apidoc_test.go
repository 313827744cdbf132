package httpapi

import (
	"os"
	"regexp"
	"testing"

	"github.com/licensing-ledger/ledger/domain"
)

// TestAPIDocExamplesDecode keeps docs/API.md honest: every command has a
// row with an example body, and every example decodes as that command, so
// no example names a field the protobuf contract does not have.
func TestAPIDocExamplesDecode(t *testing.T) {
	doc, err := os.ReadFile("../../docs/API.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Za-z]+)`[^|]*\\|.*?`(\\{[^`]*\\})`")
	documented := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		msg, ok := domain.NewCommand(m[1])
		if !ok {
			continue
		}
		documented[m[1]] = true
		if err := DecodeCommand([]byte(m[2]), msg); err != nil {
			t.Errorf("docs/API.md: the example of %s does not decode: %v", m[1], err)
		}
	}
	for _, name := range domain.Commands() {
		if !documented[name] {
			t.Errorf("docs/API.md has no example body for %s", name)
		}
	}
}
