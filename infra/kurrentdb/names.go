package kurrentdb

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ErrInvalidTenant is returned for a tenant id the ledger cannot route. A
// tenant id must be usable as one NATS subject token, the rule the
// JetStream store applies, so that every store accepts the same tenants.
var ErrInvalidTenant = errors.New("kurrentdb: invalid tenant id")

// checkTenant refuses tenant ids that are not one subject token.
func checkTenant(tenant string) error {
	if problem := tokenProblem(tenant); problem != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidTenant, tenant, problem)
	}
	return nil
}

// tokenProblem says why a string cannot be one NATS subject token, or ""
// if it can: it is empty, or holds '.', '*', '>', whitespace or control
// characters. Tenant ids and event types both become subject tokens when
// events are forwarded to NATS.
func tokenProblem(token string) string {
	switch {
	case token == "":
		return "it is empty"
	case strings.ContainsFunc(token, badTokenRune):
		return "it holds '.', '*', '>', a space or a control character"
	default:
		return ""
	}
}

func badTokenRune(r rune) bool {
	return r == '.' || r == '*' || r == '>' || unicode.IsSpace(r) || unicode.IsControl(r)
}

// streamName returns the name of the tenant's stream.
func (s *Store) streamName(tenant string) (string, error) {
	if err := checkTenant(tenant); err != nil {
		return "", err
	}
	return s.prefix + tenant, nil
}

// tenantOf returns the tenant whose stream this is, if it is one of ours.
func (s *Store) tenantOf(stream string) (string, bool) {
	tenant, ok := strings.CutPrefix(stream, s.prefix)
	return tenant, ok && checkTenant(tenant) == nil
}
