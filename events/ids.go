package events

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/oklog/ulid/v2"
)

// IDs returns a source of ULIDs for the events of one decision of a
// command: derived from the command id, the writer that decided it and the
// instant it did. An append retried with the same records carries the same
// ids, so stores deduplicate it; two writers (processes) deciding the same
// command never make the same ids, which a store would take for a retry of
// the other's append and store only one of the two decisions while
// acknowledging both.
//
// One SHA-256 of the decision gives the 80 bits of entropy of its first
// id; the next ones count up from there (as ULIDs made in one millisecond
// by a monotonic source do). The ids of a decision are thus distinct and
// increasing, and those of two decisions overlap only if their hashes fall
// within a few ids of each other: as unlikely as a collision of two random
// ULIDs.
func IDs(commandID, writer string, at time.Time) func() string {
	var buf [128]byte // usually enough: no allocation
	seed := append(append(append(buf[:0], commandID...), 0), writer...)
	seed = binary.BigEndian.AppendUint64(seed, uint64(at.UnixNano()))
	sum := sha256.Sum256(seed)
	var id ulid.ULID
	_ = id.SetTime(ulid.Timestamp(at))
	copy(id[6:], sum[:10])
	return func() string {
		increment(id[6:])
		return id.String()
	}
}

// increment adds one to the big-endian number b, wrapping around.
func increment(b []byte) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			return
		}
	}
}

// NewULID returns a fresh random ULID, for command ids the client did not
// give and for naming a writer.
func NewULID() string { return ulid.Make().String() }
