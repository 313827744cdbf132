package events_test

import (
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
)

func take(next func() string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = next()
	}
	return out
}

// TestIDsAreTheDecisionsOwn: one decision (command, writer, instant) always
// makes the same ids, so a retried append is deduplicated; another writer
// or another instant makes others, so no store takes one writer's events
// for a retry of another's.
func TestIDsAreTheDecisionsOwn(t *testing.T) {
	at := time.Date(2026, 11, 21, 9, 0, 0, 123456789, time.UTC)
	ids := take(events.IDs("cmd", "writer-a", at), 3)
	assert.Equal(t, ids, take(events.IDs("cmd", "writer-a", at), 3))
	assert.Len(t, map[string]bool{ids[0]: true, ids[1]: true, ids[2]: true}, 3, "distinct within a decision")

	for name, other := range map[string][]string{
		"another writer":  take(events.IDs("cmd", "writer-b", at), 3),
		"another instant": take(events.IDs("cmd", "writer-a", at.Add(time.Nanosecond)), 3),
		"another command": take(events.IDs("cmd2", "writer-a", at), 3),
	} {
		for _, id := range other {
			assert.NotContains(t, ids, id, name)
		}
	}
	for _, id := range ids {
		parsed, err := ulid.ParseStrict(id)
		require.NoError(t, err)
		assert.Equal(t, ulid.Timestamp(at), parsed.Time(), "a ULID carries the decision's millisecond")
	}
}

// TestIDsIncrease: a decision's ids count up from its first, across a carry.
func TestIDsIncrease(t *testing.T) {
	ids := take(events.IDs("cmd", "writer-a", time.Unix(1, 0)), 300)
	for i := 1; i < len(ids); i++ {
		assert.Less(t, ids[i-1], ids[i], "id %d", i)
	}
}

// BenchmarkIDs makes the ids of a three-event decision.
func BenchmarkIDs(b *testing.B) {
	at := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		next := events.IDs("01J9ZQ3X5K8Y7W6V5T4S3R2Q1P", "01J9ZQ3X5K8Y7W6V5T4S3R2Q1Q", at)
		next()
		next()
		next()
	}
}
