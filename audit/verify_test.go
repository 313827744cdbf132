package audit_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensing-ledger/ledger/audit"
	"github.com/licensing-ledger/ledger/audit/audittest"
	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/events"
	v1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

func verify(t *testing.T, data []byte) (audit.Summary, error) {
	t.Helper()
	return audit.Verify(audit.NewDecoder(bytes.NewReader(data)), audit.VerifyOptions{})
}

func TestVerifyAcceptsAnIntactExport(t *testing.T) {
	p := playStory(t)
	sum, err := verify(t, export(t, p.records))
	require.NoError(t, err)
	last := p.records[len(p.records)-1]
	assert.Equal(t, tenant, sum.Tenant)
	assert.Equal(t, len(p.records), sum.Events)
	assert.Equal(t, last.Sequence, sum.Sequence)
	assert.Equal(t, hex.EncodeToString(events.Hash(last.Data)), sum.Head)
	assert.Equal(t, audittest.StoryStart, sum.First)
	kept, err := audit.Verify(audit.NewDecoder(bytes.NewReader(export(t, p.records))), audit.VerifyOptions{Head: sum.Head})
	require.NoError(t, err)
	assert.Equal(t, last.Sequence, kept.KeptHeadAt)
}

func TestVerifyAcceptsAnEmptyExport(t *testing.T) {
	sum, err := verify(t, nil)
	require.NoError(t, err)
	assert.Zero(t, sum.Events)
}

// TestVerifyNamesTheEventThatDoesNotFit tampers with an export in every way
// an export can be tampered with and checks that Verify names the event to
// blame, where it is, and how it does not fit.
func TestVerifyNamesTheEventThatDoesNotFit(t *testing.T) {
	p := playStory(t)
	ls := lines(export(t, p.records))
	id := func(i int) string { return p.records[i].ID } // by 0-based index
	const k = 20                                        // a 0-based index in the middle

	cases := []struct {
		name   string
		tamper func([]string) []string
		kind   audit.Kind
		line   int
		id     string
		reason string
	}{
		{"AlteredPayloadByte", func(ls []string) []string { return setLine(ls, k, alterData(t, ls[k])) }, audit.KindAltered, k + 1, id(k), "stored bytes changed"},
		{"AlteredFirstEvent", func(ls []string) []string { return setLine(ls, 0, alterData(t, ls[0])) }, audit.KindAltered, 1, id(0), "stored bytes changed"},
		{"Removed", func(ls []string) []string { return slices.Delete(slices.Clone(ls), k, k+1) }, audit.KindMissing, k + 1, id(k + 1), fmt.Sprintf("sequence %d is missing", k+1)},
		{"RemovedFirst", func(ls []string) []string { return ls[1:] }, audit.KindMissing, 1, id(1), "sequence 1 is missing"},
		{"Reordered", func(ls []string) []string { return swap(ls, k, k+1) }, audit.KindReordered, k + 1, id(k + 1), "reordered"},
		{"InsertedCopy", func(ls []string) []string { return slices.Insert(slices.Clone(ls), k+1, ls[k]) }, audit.KindInserted, k + 2, id(k), "copy of the event on line"},
		{"InsertedForgery", func(ls []string) []string {
			return slices.Insert(slices.Clone(ls), k, forge(t, p.records[k-1], true))
		}, audit.KindInserted, k + 1, "01FORGED0000000000000000000", "was inserted"},
		{"InsertedForgeryBadHash", func(ls []string) []string {
			return slices.Insert(slices.Clone(ls), k, forge(t, p.records[k-1], false))
		}, audit.KindInserted, k + 1, "01FORGED0000000000000000000", "inserted before the event"},
		{"LineTypeChanged", func(ls []string) []string { return setLine(ls, k, editLine(t, ls[k], "type", "SeatsChanged")) }, audit.KindMismatch, k + 1, id(k), "type"},
		{"LineTimeChanged", func(ls []string) []string {
			return setLine(ls, k, editLine(t, ls[k], "time", "2020-01-01T00:00:00Z"))
		}, audit.KindMismatch, k + 1, id(k), "time"},
		{"LineIDChanged", func(ls []string) []string { return setLine(ls, k, editLine(t, ls[k], "id", id(k+1))) }, audit.KindMismatch, k + 1, id(k + 1), "stored event is " + id(k)},
		{"OtherTenant", func(ls []string) []string { return setLine(ls, k, editLine(t, ls[k], "tenant", "northwind")) }, audit.KindMismatch, k + 1, id(k), `tenant "contoso"`},
		{"NotJSON", func(ls []string) []string { return setLine(ls, k, "{not json") }, audit.KindMalformed, k + 1, "", "not an export line"},
		{"NotAnEvent", func(ls []string) []string { return setLine(ls, k, editLine(t, ls[k], "data", "bm90IGFuIGV2ZW50")) }, audit.KindMalformed, k + 1, id(k), "do not decode"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := verify(t, joinLines(c.tamper(ls)))
			var b *audit.Break
			require.ErrorAs(t, err, &b)
			assert.Equal(t, c.kind, b.Kind, b.Error())
			assert.Equal(t, c.line, b.Line, b.Error())
			assert.Equal(t, c.id, b.ID, b.Error())
			assert.Contains(t, b.Reason, c.reason)
			t.Log(b.Error())
		})
	}
}

// TestAKeptHeadCatchesChangesAtTheEnd shows what the chain alone cannot
// catch, a change to the last event or a cut at the end, and that a head
// kept from an earlier verification does; a history that grew since still
// holds the kept head.
func TestAKeptHeadCatchesChangesAtTheEnd(t *testing.T) {
	p := playStory(t)
	ls := lines(export(t, p.records))
	early := p.records[39]
	kept := hex.EncodeToString(events.Hash(early.Data)) // the head when the history ended at 40
	withKept := func(ls []string) (audit.Summary, error) {
		return audit.Verify(audit.NewDecoder(bytes.NewReader(joinLines(ls))), audit.VerifyOptions{Head: kept})
	}
	t.Run("Grown", func(t *testing.T) {
		sum, err := withKept(ls)
		require.NoError(t, err)
		assert.Equal(t, early.Sequence, sum.KeptHeadAt)
	})
	for name, tampered := range map[string][]string{
		"KeptAltered": setLine(ls, 39, alterData(t, ls[39])),
		"Cut":         ls[:39],
	} {
		t.Run(name, func(t *testing.T) {
			_, err := verify(t, joinLines(tampered[:39]))
			require.NoError(t, err, "the chain alone does not see it")
			_, err = withKept(tampered)
			var b *audit.Break
			require.ErrorAs(t, err, &b)
			if name == "KeptAltered" {
				assert.Equal(t, audit.KindAltered, b.Kind, "the next event still catches it")
				return
			}
			assert.Equal(t, audit.KindTruncated, b.Kind)
			assert.Contains(t, b.Reason, "no event of this history has the kept head "+kept)
		})
	}
	t.Run("LastAltered", func(t *testing.T) {
		last := hex.EncodeToString(events.Hash(p.records[len(p.records)-1].Data))
		_, err := audit.Verify(audit.NewDecoder(bytes.NewReader(joinLines(setLine(ls, len(ls)-1, alterData(t, ls[len(ls)-1]))))), audit.VerifyOptions{Head: last})
		var b *audit.Break
		require.ErrorAs(t, err, &b)
		assert.Equal(t, audit.KindTruncated, b.Kind)
	})
	_, err := audit.Verify(audit.NewDecoder(bytes.NewReader(nil)), audit.VerifyOptions{Head: "abc"})
	assert.ErrorContains(t, err, "not a SHA-256 in hex")
}

func TestEventsOfANewerReleaseStillVerifyAndReplay(t *testing.T) {
	p := playStory(t)
	last := p.records[len(p.records)-1]
	e := &v1.Event{Id: "01NEWER0000000000000000000", Tenant: tenant, Sequence: last.Sequence + 1,
		Time: timestamppb.New(time.Now()), Actor: "admin@contoso", Command: "SomethingNew", PrevHash: events.Hash(last.Data)}
	data, err := events.Encode(e)
	require.NoError(t, err)
	data = protowire.AppendTag(data, 999, protowire.BytesType) // a payload this release does not know
	data = protowire.AppendBytes(data, []byte("from the future"))
	newer := events.Record{ID: e.Id, Tenant: tenant, Type: "SomethingNew", Sequence: e.Sequence, Data: data}
	recs := append(slices.Clone(p.records), newer)

	sum, err := verify(t, export(t, recs))
	require.NoError(t, err)
	assert.Equal(t, len(recs), sum.Events)
	before, err := audit.StateAsOf(p.source(), catalog.Default(), tenant, time.Now())
	require.NoError(t, err)
	after, err := audit.StateAsOf(audit.RecordsSource(recs), catalog.Default(), tenant, time.Now())
	require.NoError(t, err)
	assert.Equal(t, before.Products, after.Products, "an unknown payload changes no view")
	assert.Equal(t, e.Sequence, after.Sequence)
}

func setLine(ls []string, i int, l string) []string {
	out := slices.Clone(ls)
	out[i] = l
	return out
}

func swap(ls []string, i, j int) []string {
	out := slices.Clone(ls)
	out[i], out[j] = out[j], out[i]
	return out
}

// alterData changes one byte of the event's payload, keeping it decodable.
func alterData(t *testing.T, line string) string {
	t.Helper()
	var l audit.Line
	require.NoError(t, json.Unmarshal([]byte(line), &l))
	e, err := events.Decode(l.Data)
	require.NoError(t, err)
	target := []byte(e.GetActor())
	i := bytes.Index(l.Data, target)
	require.GreaterOrEqual(t, i, 0)
	l.Data = slices.Clone(l.Data)
	l.Data[i] ^= 0x01 // 'a' <-> '`', 's' <-> 'r', ...: still valid text
	_, err = events.Decode(l.Data)
	require.NoError(t, err, "the altered event still decodes")
	return marshalLine(t, l)
}

func editLine(t *testing.T, line, field, value string) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &m))
	m[field] = value
	data, err := json.Marshal(m)
	require.NoError(t, err)
	return string(data)
}

// forge makes an event taking the place right after prev; chained, its
// prev_hash is prev's hash, as a forger who read the export would set it.
func forge(t *testing.T, prev events.Record, chained bool) string {
	t.Helper()
	p, err := v1.NewEvent(&v1.LicenseAssigned{UserId: "mallory", ProductId: "SPB"})
	require.NoError(t, err)
	p.Id, p.Tenant, p.Sequence, p.Time, p.Actor = "01FORGED0000000000000000000", tenant, prev.Sequence+1, timestamppb.New(time.Now()), "admin@contoso"
	if chained {
		p.PrevHash = events.Hash(prev.Data)
	} else {
		p.PrevHash = events.Hash([]byte("anything"))
	}
	rec, err := events.NewRecord(p)
	require.NoError(t, err)
	return marshalLine(t, audit.LineOf(rec))
}

func marshalLine(t *testing.T, l audit.Line) string {
	t.Helper()
	data, err := json.Marshal(l)
	require.NoError(t, err)
	return string(data)
}
