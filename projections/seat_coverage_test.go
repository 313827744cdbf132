package projections_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/licensing-ledger/ledger/domain"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
)

// coverage counts what the seat invariant's runs exercised, so that a
// generator that stops producing meaningful commands (every one refused, no
// product ever short of seats) fails the test instead of passing vacuously.
type coverage struct {
	accepted, refused map[string]int // by command
	codes             map[domain.Code]int
	events            map[string]int // by type, plus the cases below
}

func newCoverage() *coverage {
	return &coverage{accepted: map[string]int{}, refused: map[string]int{}, codes: map[domain.Code]int{}, events: map[string]int{}}
}

// Cases counted among events beyond the event types.
const (
	partialThroughGroup = "partial approval through a group"
	seatLossRefused     = "seats or state change refused for seats in use"
)

// merged adds up the coverage of several shards.
func merged(covs []*coverage) *coverage {
	out := newCoverage()
	for _, c := range covs {
		for k, n := range c.accepted {
			out.accepted[k] += n
		}
		for k, n := range c.refused {
			out.refused[k] += n
		}
		for k, n := range c.codes {
			out.codes[k] += n
		}
		for k, n := range c.events {
			out.events[k] += n
		}
	}
	return out
}

// decided counts one decision.
func (c *coverage) decided(command string, err error, evs []proto.Message) {
	if err != nil {
		c.refused[command]++
		c.codes[domain.ErrorCode(err)]++
		if domain.ErrorCode(err) == domain.CodeCountViolation && (command == "ChangeSeats" || command == "ChangeSubscriptionState") {
			c.events[seatLossRefused]++
		}
		return
	}
	c.accepted[command]++
	for _, ev := range evs {
		c.events[string(ev.ProtoReflect().Descriptor().Name())]++
		if d, ok := ev.(*ledgerv1.RequestDecided); ok && d.GroupId != "" && d.Outcome == ledgerv1.RequestOutcome_REQUEST_OUTCOME_PARTIALLY_APPROVED {
			c.events[partialThroughGroup]++
		}
	}
}

// check fails when a large enough number of runs missed a command or a
// case the invariant is about.
func (c *coverage) check(t *testing.T, runs int) {
	t.Helper()
	if runs < 100 {
		return // replaying a few runs: nothing to expect
	}
	for _, g := range generators {
		if c.accepted[g.name] == 0 {
			t.Errorf("no %s was ever accepted: the generator does not exercise it", g.name)
		}
	}
	for _, code := range []domain.Code{domain.CodeCountViolation, domain.CodeMutuallyExclusive, domain.CodeDependency, domain.CodeProhibitedUsageLocation} {
		if c.codes[code] == 0 {
			t.Errorf("no command was refused with %s", code)
		}
	}
	for _, ev := range []string{"GroupLicenseMemberFailed", "SubscriptionTakenOver", "LicenseRemoved", "UserRemoved", partialThroughGroup, seatLossRefused} {
		if c.events[ev] == 0 {
			t.Errorf("the runs never produced %s", ev)
		}
	}
}

// String summarizes the counts for the test log.
func (c *coverage) String() string {
	var b strings.Builder
	for _, g := range generators {
		fmt.Fprintf(&b, "\n  %-24s accepted %6d, refused %6d", g.name, c.accepted[g.name], c.refused[g.name])
	}
	for _, code := range slices.Sorted(maps.Keys(c.codes)) {
		fmt.Fprintf(&b, "\n  refused with %-34s %6d", code, c.codes[code])
	}
	for _, ev := range slices.Sorted(maps.Keys(c.events)) {
		fmt.Fprintf(&b, "\n  %-46s %6d", ev, c.events[ev])
	}
	return b.String()
}
