package ledger

import (
	"bytes"
	"encoding/gob"
	"strings"
	"testing"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/events"
)

// TestCommandIndexKeepsEveryKindOfID: ids that are canonical ULIDs and ids
// that are not (a lowercase ULID, a client's own key) are told apart and
// each found again exactly, and the index lists them all back.
func TestCommandIndexKeepsEveryKindOfID(t *testing.T) {
	canonical := events.NewULID()
	ids := []string{canonical, strings.ToLower(canonical), "order-42", "", strings.Repeat("7", 26), "ZZZZZZZZZZZZZZZZZZZZZZZZZZ"}
	var x commandIndex
	for i, id := range ids {
		x.put(id, commandRef{before: events.Cursor{Sequence: uint64(i)}, count: uint32(i + 1), name: nameOf("AssignLicense")})
	}
	if x.len() != len(ids) {
		t.Fatalf("the index holds %d commands, want %d", x.len(), len(ids))
	}
	for i, id := range ids {
		ref, ok := x.get(id)
		if !ok || ref.count != uint32(i+1) || ref.before.Sequence != uint64(i) {
			t.Errorf("get(%q) = %+v, %v; want the ref put for it", id, ref, ok)
		}
	}
	if _, ok := x.get(events.NewULID()); ok {
		t.Error("get found a command that never ran")
	}
	seen := map[string]bool{}
	x.each(func(id string, _ commandRef) { seen[id] = true })
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("each did not list %q", id)
		}
	}
}

// TestCommandNamesRoundTrip: every command's name survives its one-byte
// index; an unknown name becomes the unknown index.
func TestCommandNamesRoundTrip(t *testing.T) {
	for _, name := range commandNames()[1:] {
		if got := nameOf(name).String(); got != name {
			t.Errorf("nameOf(%q).String() = %q", name, got)
		}
	}
	if n := nameOf("SomeFutureCommand"); n != 0 || n.String() != "" {
		t.Errorf("an unknown command name is %d (%q), want 0", n, n.String())
	}
}

// TestCommandIndexEncodingRoundTrips: the snapshot encoding of the index
// gives back every command, and a truncated or altered encoding is an
// error, never a panic.
func TestCommandIndexEncodingRoundTrips(t *testing.T) {
	var x commandIndex
	x.put(events.NewULID(), commandRef{before: events.Cursor{Sequence: 7, Position: 1 << 40}, count: 3, name: nameOf("ApproveRequest")})
	x.put("order-42", commandRef{before: events.Cursor{Sequence: 10, Position: 12}, count: 1, name: nameOf("AssignLicense")})
	x.put(strings.ToLower(events.NewULID()), commandRef{count: 20, name: 0})
	data := x.appendBinary(nil)
	got, err := decodeCommandIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.len() != x.len() {
		t.Fatalf("decoded %d commands, want %d", got.len(), x.len())
	}
	x.each(func(id string, want commandRef) {
		if ref, ok := got.get(id); !ok || ref != want {
			t.Errorf("command %q decoded as %+v, %v; want %+v", id, ref, ok, want)
		}
	})
	for n := range len(data) {
		if _, err := decodeCommandIndex(data[:n]); err == nil {
			t.Errorf("the encoding cut to %d of %d bytes decoded without an error", n, len(data))
		}
	}
	if _, err := decodeCommandIndex(append(data, 0)); err == nil {
		t.Error("an encoding with a trailing byte decoded without an error")
	}
}

// TestSnapshotsOfTheFirstFormatStillRestore: a snapshot written before the
// index had its binary encoding restores with its command index; and the
// current format cannot be read as the first one, so a release that knows
// only that one rebuilds the tenant from its events instead.
func TestSnapshotsOfTheFirstFormatStillRestore(t *testing.T) {
	state, err := domain.EncodeState(domain.NewState("contoso"))
	if err != nil {
		t.Fatal(err)
	}
	id := events.NewULID()
	old := snapshotData{State: state, Commands: map[string]snapshotCommand{id: {Name: "RegisterUser", Before: events.Cursor{Sequence: 4, Position: 9}, Count: 1}}}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(old); err != nil {
		t.Fatal(err)
	}
	a := newAggregate("contoso")
	if err := a.restore(events.Snapshot{Tenant: "contoso", Data: buf.Bytes()}); err != nil {
		t.Fatal(err)
	}
	if ref, ok := a.commands.get(id); !ok || ref.count != 1 || ref.before.Sequence != 4 || ref.name.String() != "RegisterUser" {
		t.Errorf("the first format's command restored as %+v, %v", ref, ok)
	}
	snap, err := a.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var asOld snapshotData
	if err := gob.NewDecoder(bytes.NewReader(snap.Data)).Decode(&asOld); err == nil {
		t.Error("a snapshot of the current format decodes as the first format")
	}
}
