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
func IDs(commandID, writer string, at time.Time) func() string {
	var n uint64
	ms := ulid.Timestamp(at)
	seed := sha256.New()
	seed.Write([]byte(commandID))
	seed.Write([]byte{0})
	seed.Write([]byte(writer))
	seed.Write(binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano())))
	prefix := seed.Sum(nil)
	return func() string {
		n++
		h := sha256.New()
		h.Write(prefix)
		h.Write(binary.BigEndian.AppendUint64(nil, n))
		var id ulid.ULID
		_ = id.SetTime(ms)
		_ = id.SetEntropy(h.Sum(nil)[:10])
		return id.String()
	}
}

// NewULID returns a fresh random ULID, for command ids the client did not
// give and for naming a writer.
func NewULID() string { return ulid.Make().String() }
