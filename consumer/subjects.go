package consumer

import (
	"fmt"
	"strings"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// StreamName is the JetStream stream that holds every ledger event, one
// message per event. Bind to it by name: its configured subjects are the
// ledger's input subjects (ledger-in.*.*), which JetStream transforms into
// the stored subjects ledger.<tenant>.<Type>, so looking the stream up by a
// stored subject finds nothing.
const StreamName = "LEDGER"

// Subjects returns the stored subjects that select the events of the
// tenants and types: ledger.<tenant>.<Type>, with "*" for "any" when a list
// is empty, so Subjects(nil, nil) is every event. Use them as a consumer's
// filter subjects. It refuses a tenant or type that is not one subject
// token, and a type that is not a ledger event type.
func Subjects(tenants, types []string) ([]string, error) {
	if len(tenants) == 0 {
		tenants = []string{"*"}
	}
	if len(types) == 0 {
		types = []string{"*"}
	}
	for _, t := range tenants {
		if t != "*" && !validToken(t) {
			return nil, fmt.Errorf("consumer: tenant %q is not a tenant id", t)
		}
	}
	for _, t := range types {
		if t != "*" && !ledgerv1.IsEventType(t) {
			return nil, fmt.Errorf("consumer: %q is not a ledger event type", t)
		}
	}
	out := make([]string, 0, len(tenants)*len(types))
	for _, tenant := range tenants {
		for _, typ := range types {
			out = append(out, "ledger."+tenant+"."+typ)
		}
	}
	return out, nil
}

// validToken reports whether s can be one NATS subject token.
func validToken(s string) bool {
	return s != "" && !strings.ContainsAny(s, ".*> \t\r\n")
}
