package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/oklog/ulid/v2"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/events"
)

// commandIndex locates the events of each command a tenant has run, so that
// a retried command is answered with the events it appended the first time
// (L5). It holds one entry per command for as long as the tenant is cached,
// so it is kept small: command ids that are ULIDs in their canonical form
// (the ids the ledger makes, and those most clients send) are keyed by
// their 16 bytes, and command names are a one-byte index.
type commandIndex struct {
	ulids  map[ulid.ULID]commandRef
	others map[string]commandRef // ids that are not canonical ULIDs
}

// commandRef locates the events of one command in the tenant's stream.
type commandRef struct {
	before events.Cursor // the tenant's cursor before its first event
	count  uint32        // how many events it appended
	name   commandName   // its type, to detect a key reused for another command
}

// get returns where the command's events are, if it has run.
func (x *commandIndex) get(id string) (commandRef, bool) {
	if key, ok := ulidKey(id); ok {
		ref, found := x.ulids[key]
		return ref, found
	}
	ref, found := x.others[id]
	return ref, found
}

// put records where the command's events are.
func (x *commandIndex) put(id string, ref commandRef) {
	if key, ok := ulidKey(id); ok {
		if x.ulids == nil {
			x.ulids = map[ulid.ULID]commandRef{}
		}
		x.ulids[key] = ref
		return
	}
	if x.others == nil {
		x.others = map[string]commandRef{}
	}
	x.others[id] = ref
}

// len returns how many commands the index holds.
func (x *commandIndex) len() int { return len(x.ulids) + len(x.others) }

// each calls fn for every command of the index.
func (x *commandIndex) each(fn func(id string, ref commandRef)) {
	for key, ref := range x.ulids {
		fn(key.String(), ref)
	}
	for id, ref := range x.others {
		fn(id, ref)
	}
}

// ulidKey returns the 16 bytes of id if id is a ULID written exactly as
// the ULID's canonical text, so that the bytes give back the same id.
func ulidKey(id string) (ulid.ULID, bool) {
	if len(id) != ulid.EncodedSize {
		return ulid.ULID{}, false
	}
	key, err := ulid.ParseStrict(id)
	if err != nil {
		return ulid.ULID{}, false
	}
	var text [ulid.EncodedSize]byte
	if key.MarshalTextTo(text[:]) != nil || string(text[:]) != id {
		return ulid.ULID{}, false
	}
	return key, true
}

// commandName is a command type as an index into commandNames; 0 stands
// for a name this release does not know, which skips the check that a
// retried command has the same type.
type commandName uint8

// commandNames lists the command types, the unknown one first.
var commandNames = sync.OnceValue(func() []string {
	names := append([]string{""}, domain.Commands()...)
	slices.Sort(names[1:])
	return names
})

// nameIndex maps each command type to its index in commandNames.
var nameIndex = sync.OnceValue(func() map[string]commandName {
	out := map[string]commandName{}
	for i, name := range commandNames()[1:] {
		if i+1 < 256 {
			out[name] = commandName(i + 1)
		}
	}
	return out
})

// nameOf returns the index of a command type.
func nameOf(name string) commandName { return nameIndex()[name] }

// String returns the command type, or "" if unknown.
func (n commandName) String() string {
	if names := commandNames(); int(n) < len(names) {
		return names[n]
	}
	return ""
}

// The kinds of entries in the index's binary encoding.
const (
	entryULID  = 0 // the id's 16 bytes follow
	entryOther = 1 // the id follows, length first
)

// appendBinary appends the index in its snapshot encoding: the command
// types of this release, so that a later release reads them by name, then
// one entry per command: its kind and id, the tenant's cursor before it,
// its event count and its type's place among the names.
func (x *commandIndex) appendBinary(b []byte) []byte {
	names := commandNames()
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, n := range names {
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(b, n...)
	}
	b = binary.AppendUvarint(b, uint64(x.len()))
	for key, ref := range x.ulids {
		b = append(append(b, entryULID), key[:]...)
		b = ref.appendBinary(b)
	}
	for id, ref := range x.others {
		b = binary.AppendUvarint(append(b, entryOther), uint64(len(id)))
		b = ref.appendBinary(append(b, id...))
	}
	return b
}

// appendBinary appends the entry's cursor, count and type.
func (r commandRef) appendBinary(b []byte) []byte {
	b = binary.AppendUvarint(b, r.before.Sequence)
	b = binary.AppendUvarint(b, uint64(r.before.Position))
	b = binary.AppendUvarint(b, uint64(r.count))
	return binary.AppendUvarint(b, uint64(r.name))
}

var errBadIndex = errors.New("ledger: malformed command index in a snapshot")

// decodeCommandIndex reads an index encoded by appendBinary.
func decodeCommandIndex(b []byte) (commandIndex, error) {
	d := indexDecoder{b: b}
	names := d.names()
	n := d.uvarint()
	x := commandIndex{ulids: make(map[ulid.ULID]commandRef, min(n, uint64(len(b))/4))}
	for i := uint64(0); i < n && d.err == nil; i++ {
		id, key, isULID := d.id()
		ref := commandRef{before: events.Cursor{Sequence: d.uvarint(), Position: events.Position(d.uvarint())}, count: uint32(d.uvarint())}
		if k := d.uvarint(); k < uint64(len(names)) {
			ref.name = nameOf(names[k])
		}
		if isULID {
			x.ulids[key] = ref
		} else {
			x.put(id, ref)
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = errBadIndex
	}
	return x, d.err
}

// indexDecoder reads the binary encoding of an index, remembering the
// first error.
type indexDecoder struct {
	b   []byte
	err error
}

func (d *indexDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *indexDecoder) bytes(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// names reads the table of command types.
func (d *indexDecoder) names() []string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, string(d.bytes(d.uvarint())))
	}
	return out
}

// id reads an entry's kind and id.
func (d *indexDecoder) id() (string, ulid.ULID, bool) {
	kind := d.bytes(1)
	switch {
	case d.err != nil:
		return "", ulid.ULID{}, false
	case kind[0] == entryULID:
		var key ulid.ULID
		copy(key[:], d.bytes(16))
		return "", key, true
	case kind[0] == entryOther:
		return string(d.bytes(d.uvarint())), ulid.ULID{}, false
	}
	d.fail()
	return "", ulid.ULID{}, false
}

func (d *indexDecoder) fail() {
	if d.err == nil {
		d.err = fmt.Errorf("%w at %d bytes from its end", errBadIndex, len(d.b))
	}
	d.b = nil
}
