package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensing-ledger/ledger/audit"
	"github.com/licensing-ledger/ledger/audit/audittest"
	"github.com/licensing-ledger/ledger/checkpoint"
	"github.com/licensing-ledger/ledger/events"
	v1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// signedHistory is a tenant's history as an auditor receives it: the
// records, checkpoints signed by the ledger's key, and the key.
type signedHistory struct {
	recs   []events.Record
	signer *checkpoint.Signer
	dir    string
	key    string // file holding the verifier key
}

func newSignedHistory(t *testing.T) *signedHistory {
	t.Helper()
	s := audittest.NewScenario("contoso", audittest.StoryStart)
	audittest.Story(t, s, nil)
	skey, err := checkpoint.GenerateKey(checkpoint.DefaultName)
	require.NoError(t, err)
	signer, err := checkpoint.NewSigner(skey)
	require.NoError(t, err)
	h := &signedHistory{recs: s.Store.Records("contoso"), signer: signer, dir: t.TempDir()}
	h.key = h.write(t, "ledger.pub", []byte(signer.VerifierKey()+"\n"))
	return h
}

func (h *signedHistory) write(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(h.dir, name)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

// sign returns the signed checkpoint of the first n records, by signer.
func (h *signedHistory) sign(t *testing.T, signer *checkpoint.Signer, n int) []byte {
	t.Helper()
	tree := checkpoint.NewTree()
	for _, r := range h.recs[:n] {
		tree.Append(checkpoint.LeafHash(r.Data))
	}
	note, err := signer.Sign(checkpoint.Origin(checkpoint.DefaultName, "contoso"), uint64(n), tree.Root())
	require.NoError(t, err)
	return note
}

// keep writes a checkpoint of the first n records as an auditor keeps it.
func (h *signedHistory) keep(t *testing.T, n int) string {
	t.Helper()
	return h.write(t, "kept-"+strings.Repeat("x", n%7)+"-"+string(rune('a'+n%26))+".checkpoint", h.sign(t, h.signer, n))
}

// lines returns the export lines of the records.
func (h *signedHistory) lines(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range h.recs {
		out = append(out, marshal(t, audit.LineOf(r)))
	}
	return out
}

// export writes an export: its checkpoint line (if any), then the lines.
func (h *signedHistory) export(t *testing.T, cp []byte, lines []string) string {
	t.Helper()
	var b bytes.Buffer
	if cp != nil {
		b.WriteString(marshal(t, audit.CheckpointLine{Checkpoint: string(cp)}) + "\n")
	}
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return h.write(t, "export.ndjson", b.Bytes())
}

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// flipByte changes one byte of an event's actor, keeping it decodable.
func flipByte(t *testing.T, r events.Record) events.Record {
	t.Helper()
	e, err := events.Decode(r.Data)
	require.NoError(t, err)
	i := bytes.Index(r.Data, []byte(e.GetActor()))
	require.GreaterOrEqual(t, i, 0)
	r.Data = slices.Clone(r.Data)
	r.Data[i] ^= 0x01
	return r
}

// rechain recomputes sequences and prev_hash from index i on, as a forger
// who can write the store would after changing an event.
func rechain(t *testing.T, recs []events.Record, i int) []events.Record {
	t.Helper()
	out := slices.Clone(recs)
	for k := i; k < len(out); k++ {
		e, err := events.Decode(out[k].Data)
		require.NoError(t, err)
		e.Sequence = uint64(k + 1)
		e.PrevHash = nil
		if k > 0 {
			e.PrevHash = events.Hash(out[k-1].Data)
		}
		out[k], err = events.NewRecord(e)
		require.NoError(t, err)
	}
	return out
}

// forged returns a forged event for the place after prev.
func forged(t *testing.T, prev events.Record) events.Record {
	t.Helper()
	e, err := v1.NewEvent(&v1.LicenseAssigned{UserId: "mallory", ProductId: "SPB"})
	require.NoError(t, err)
	e.Id, e.Tenant, e.Sequence, e.Time, e.Actor = "01FORGED0000000000000000000", "contoso", prev.Sequence+1, timestamppb.New(time.Now()), "admin@contoso"
	e.PrevHash = events.Hash(prev.Data)
	r, err := events.NewRecord(e)
	require.NoError(t, err)
	return r
}

func linesOf(t *testing.T, recs []events.Record) []string {
	t.Helper()
	var out []string
	for _, r := range recs {
		out = append(out, marshal(t, audit.LineOf(r)))
	}
	return out
}

func TestASignedExportVerifies(t *testing.T) {
	h := newSignedHistory(t)
	file := h.export(t, h.sign(t, h.signer, 58), h.lines(t))
	r := ctl(t, nil, "", "verify", file, "--key", h.key, "--checkpoint", h.keep(t, 40), "--checkpoint", h.keep(t, 58))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "OK: tenant contoso, 58 events")
	assert.Contains(t, r.stdout, "signed: licensing-ledger/ledger/contoso, tree size 58")
	assert.Contains(t, r.stdout, "extends the kept checkpoint of tree size 40")

	// Rotation: a file of two keys, the ledger's among them.
	other, err := checkpoint.GenerateKey("old")
	require.NoError(t, err)
	old, err := checkpoint.NewSigner(other)
	require.NoError(t, err)
	keys := h.write(t, "keys.pub", []byte("# old, then new\n"+old.VerifierKey()+"\n"+h.signer.VerifierKey()+"\n"))
	r = ctl(t, nil, "", "verify", file, "--key", keys)
	require.Equal(t, exitOK, r.code, r.stderr)

	// A key given on the command line, and a JSON summary.
	r = ctl(t, nil, "", "verify", file, "--key", h.signer.VerifierKey(), "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"events": 58`)

	// Offline answers read past the checkpoint line.
	r = ctl(t, nil, "", "state", "--file", file)
	require.Equal(t, exitOK, r.code, r.stderr)
}

// TestVerifyCatchesEveryTamperWithAKeptCheckpoint tampers with the export
// in every way the issue lists, the auditor holding the key and checkpoints
// obtained from the service before the tampering (sizes 40 and 58, the
// latter also the export's own).
func TestVerifyCatchesEveryTamperWithAKeptCheckpoint(t *testing.T) {
	h := newSignedHistory(t)
	cp58 := h.sign(t, h.signer, 58)
	kept := []string{"--key", h.key, "--checkpoint", h.keep(t, 40), "--checkpoint", h.keep(t, 58)}
	ls := h.lines(t)
	id := func(i int) string { return h.recs[i].ID }
	altered := func(i int) []string { return setAt(ls, i, linesOf(t, []events.Record{flipByte(t, h.recs[i])})[0]) }
	for _, c := range []struct {
		name  string
		cp    []byte
		lines []string
		want  []string
	}{
		{"a byte of the first event", cp58, altered(0), []string{"line 2, event " + id(0) + " (sequence 1): altered: its stored bytes changed"}},
		{"a byte of a middle event", cp58, altered(20), []string{"line 22, event " + id(20) + " (sequence 21): altered: its stored bytes changed"}},
		{"a byte of the last event", cp58, altered(57), []string{"differs: the events do not hash to the root of the checkpoint of tree size 58", "one of sequences 41 to 58 (from event " + id(40) + " on); sequences 1 to 40 match a smaller checkpoint"}},
		{"an event deleted", cp58, slices.Delete(slices.Clone(ls), 9, 10), []string{"event " + id(10) + " (sequence 11): missing"}},
		{"two events swapped", cp58, setAt(setAt(ls, 20, ls[21]), 21, ls[20]), []string{"(sequence 22): reordered"}},
		{"an event duplicated", cp58, slices.Insert(slices.Clone(ls), 21, ls[20]), []string{"line 23, event " + id(20) + " (sequence 21): inserted: it is a copy of the event on line 22"}},
		{"the tail cut", cp58, ls[:45], []string{"truncated: the history holds 45 events", "tree size 58 is missing, sequences 46 to 58"}},
		{"the tail cut and the checkpoint line dropped", nil, ls[:45], []string{"truncated: the history holds 45 events", "tree size 58 is missing"}},
		{"everything removed", cp58, nil, []string{"truncated: the history holds 0 events", "sequences 1 to 58"}},
		{"an empty file", nil, nil, []string{"truncated: the history holds 0 events"}},
		{"a forged event appended", cp58, append(slices.Clone(ls), linesOf(t, []events.Record{forged(t, h.recs[57])})...), []string{"unsigned: the export holds 59 events, its checkpoint covers 58"}},
		{"a forged event inserted, the chain recomputed", cp58, linesOf(t, rechain(t, slices.Insert(slices.Clone(h.recs), 45, forged(t, h.recs[44])), 45)), []string{"differs: the events do not hash to the root of the checkpoint of tree size 58", "one of sequences 41 to 58"}},
		{"an event altered, the chain recomputed", cp58, linesOf(t, rechain(t, setAtRec(h.recs, 50, flipByte(t, h.recs[50])), 50)), []string{"differs:", "one of sequences 41 to 58 (from event " + id(40) + " on); sequences 1 to 40 match a smaller checkpoint"}},
		{"an early event altered, the chain recomputed", cp58, linesOf(t, rechain(t, setAtRec(h.recs, 5, flipByte(t, h.recs[5])), 5)), []string{"differs:", "one of sequences 1 to 40"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ctl(t, nil, "", append([]string{"verify", h.export(t, c.cp, c.lines)}, kept...)...)
			assert.Equal(t, exitBroken, r.code, r.stdout+r.stderr)
			for _, w := range c.want {
				assert.Contains(t, r.stderr, w)
			}
			t.Log(strings.TrimSpace(r.stderr))
		})
	}
}

// TestVerifyWithoutAKeptCheckpoint: the key alone refuses an unsigned or
// wrongly signed head and a forged append.
func TestVerifyWithoutAKeptCheckpoint(t *testing.T) {
	h := newSignedHistory(t)
	ls := h.lines(t)
	stranger, err := checkpoint.GenerateKey(checkpoint.DefaultName)
	require.NoError(t, err)
	mallory, err := checkpoint.NewSigner(stranger)
	require.NoError(t, err)
	cp58 := h.sign(t, h.signer, 58)
	withForged := append(slices.Clone(ls), linesOf(t, []events.Record{forged(t, h.recs[57])})...)
	forgedRecs := append(slices.Clone(h.recs), forged(t, h.recs[57]))
	reroot := bytes.Replace(cp58, []byte("\n58\n"), []byte("\n59\n"), 1)
	for _, c := range []struct {
		name  string
		cp    []byte
		lines []string
		want  string
	}{
		{"no checkpoint: the head is unsigned", nil, ls, "unsigned: the export holds 58 events and no checkpoint signed by a trusted key covers them"},
		{"signed by another key", (&signedHistory{recs: h.recs}).sign(t, mallory, 58), ls, "not signed by a trusted key"},
		{"a forged event appended", cp58, withForged, "unsigned: the export holds 59 events, its checkpoint covers 58"},
		{"a forged event appended, the checkpoint edited", reroot, withForged, "signature by licensing-ledger+"},
		{"a forged event appended, signed by another key", (&signedHistory{recs: forgedRecs}).sign(t, mallory, 59), withForged, "not signed by a trusted key"},
		{"everything removed", nil, nil, "unsigned: the export holds no event"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ctl(t, nil, "", "verify", h.export(t, c.cp, c.lines), "--key", h.key)
			assert.Equal(t, exitBroken, r.code, r.stdout+r.stderr)
			assert.Contains(t, r.stderr, c.want)
			t.Log(strings.TrimSpace(r.stderr))
		})
	}
	r := ctl(t, nil, "", "verify", h.export(t, nil, ls))
	assert.Equal(t, exitOK, r.code, "without --key, the chain alone, as before")
	assert.Contains(t, r.stderr, "note: no --key")
	r = ctl(t, nil, "", "verify", h.export(t, nil, ls), "--checkpoint", h.keep(t, 58))
	assert.Equal(t, exitUsage, r.code)
}

func setAt(ls []string, i int, l string) []string {
	out := slices.Clone(ls)
	out[i] = l
	return out
}

func setAtRec(recs []events.Record, i int, r events.Record) []events.Record {
	out := slices.Clone(recs)
	out[i] = r
	return out
}

// TestAPreviousExportNamesTheChangedEvent: with the export kept at the
// last audit (--previous, which must verify), a change the chain cannot
// see is named exactly, and a cut is found.
func TestAPreviousExportNamesTheChangedEvent(t *testing.T) {
	h := newSignedHistory(t)
	cp58 := h.sign(t, h.signer, 58)
	previous := h.write(t, "previous.ndjson", []byte(marshal(t, audit.CheckpointLine{Checkpoint: string(cp58)})+"\n"+strings.Join(h.lines(t), "\n")+"\n"))
	id := func(i int) string { return h.recs[i].ID }
	for _, c := range []struct {
		name  string
		recs  []events.Record
		want  string
		lines func([]string) []string
	}{
		{"a byte of the last event", setAtRec(h.recs, 57, flipByte(t, h.recs[57])), "differs: event " + id(57) + " (sequence 58) is not the event the checkpoint of tree size 58", nil},
		{"an event altered, the chain recomputed", rechain(t, setAtRec(h.recs, 50, flipByte(t, h.recs[50])), 50), "differs: event " + id(50) + " (sequence 51) is not the event", nil},
		{"an early event altered, the chain recomputed", rechain(t, setAtRec(h.recs, 5, flipByte(t, h.recs[5])), 5), "differs: event " + id(5) + " (sequence 6) is not the event", nil},
		{"a forged event inserted, the chain recomputed", rechain(t, slices.Insert(slices.Clone(h.recs), 45, forged(t, h.recs[44])), 45), "differs: event 01FORGED0000000000000000000 (sequence 46) is not the event the checkpoint of tree size 58 (licensing-ledger/ledger/contoso, signed by licensing-ledger+", nil},
		{"the tail cut, the checkpoint line dropped", h.recs[:50], "truncated: the history holds 50 events", func(ls []string) []string { return ls[1:] }},
	} {
		t.Run(c.name, func(t *testing.T) {
			lines := append([]string{marshal(t, audit.CheckpointLine{Checkpoint: string(cp58)})}, linesOf(t, c.recs)...)
			if c.lines != nil {
				lines = c.lines(lines)
			}
			r := ctl(t, nil, "", "verify", h.export(t, nil, lines), "--key", h.key, "--previous", previous)
			assert.Equal(t, exitBroken, r.code, r.stdout+r.stderr)
			assert.Contains(t, r.stderr, c.want)
			t.Log(strings.TrimSpace(r.stderr))
		})
	}
	r := ctl(t, nil, "", "verify", previous, "--key", h.key, "--previous", previous)
	require.Equal(t, exitOK, r.code, r.stderr)
	bad := h.export(t, cp58, linesOf(t, setAtRec(h.recs, 57, flipByte(t, h.recs[57]))))
	r = ctl(t, nil, "", "verify", previous, "--key", h.key, "--previous", bad)
	assert.Equal(t, exitBroken, r.code)
	assert.Contains(t, r.stderr, "the previous export does not verify")
}
