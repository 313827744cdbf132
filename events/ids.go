package events

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/oklog/ulid/v2"
)

// IDs returns a source of ULIDs derived from a command id and the time the
// command was accepted. The same command at the same time yields the same
// ids, so a decision replayed after a failure writes the same event ids and
// stores deduplicate it.
func IDs(commandID string, at time.Time) func() string {
	var n uint64
	ms := ulid.Timestamp(at)
	return func() string {
		n++
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], n)
		h := sha256.New()
		h.Write([]byte(commandID))
		h.Write(buf[:])
		var id ulid.ULID
		_ = id.SetTime(ms)
		_ = id.SetEntropy(h.Sum(nil)[:10])
		return id.String()
	}
}

// NewULID returns a fresh random ULID, for command ids the client did not give.
func NewULID() string { return ulid.Make().String() }
