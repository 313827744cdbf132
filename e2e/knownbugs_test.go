package e2e

import (
	"os"
	"testing"
)

// Bugs the suites found outside e2e/, reported to the lead and not fixed
// yet (see docs/RELIABILITY.md). A test that shows one is skipped unless
// LEDGER_KNOWN_BUGS=1, so that everyone's test runs stay green meanwhile;
// the fix removes the knownBug call, and the test then guards it.
const (
	// bugStaleRefusal: ledger.Service decides a command on the tenant state
	// it cached and answers a refusal without checking that the state is
	// current; only an append that conflicts makes it read what other
	// processes wrote. A process that has not written lately refuses what
	// is valid (NotFound for a user or request another process created),
	// denies a partner another process delegated to, and answers a retry
	// of a command another process applied with a refusal (L5, L6).
	bugStaleRefusal = "B1 stale refusals across processes (ledger/service.go attempt, Authorize)"
	// bugReplayBeforeAuthorize: ledger.Service answers a known
	// Idempotency-Key with the first command's events before it authorizes
	// the sender, so anyone with a token, from any tenant, who sends a used
	// key gets that command's events (T1, T3).
	bugReplayBeforeAuthorize = "B2 replay before authorization (ledger/service.go attempt)"
)

// knownBug skips the test while the bug is not fixed, unless
// LEDGER_KNOWN_BUGS=1.
func knownBug(t *testing.T, bug string) {
	t.Helper()
	if os.Getenv("LEDGER_KNOWN_BUGS") != "1" {
		t.Skipf("known bug, reported, not fixed yet: %s; LEDGER_KNOWN_BUGS=1 runs this test", bug)
	}
}
