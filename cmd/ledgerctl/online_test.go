package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/audit/audittest"
	"github.com/licensing-ledger/ledger/events"
	v1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// editedStore is the tenant's store as someone who can write it left it:
// its reads return edit's records. The ledger's issuer followed the
// events as they were written.
type editedStore struct {
	*audittest.MemStore
	edit func(*testing.T, []events.Record) []events.Record
	t    *testing.T
}

func (s *editedStore) Read(ctx context.Context, tenant string, after events.Cursor, fn func(events.Record) error) error {
	for _, r := range s.edit(s.t, s.MemStore.Records(tenant)) {
		if r.Sequence <= after.Sequence && after.Sequence > 0 {
			continue
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// keepCheckpoint runs 'ledgerctl key' and 'ledgerctl checkpoint' as an
// auditor does at an audit, and returns the key and checkpoint files.
func keepCheckpoint(t *testing.T, api *audittest.API) (key, kept string) {
	t.Helper()
	dir := t.TempDir()
	key, kept = filepath.Join(dir, "ledger.pub"), filepath.Join(dir, "contoso.checkpoint")
	r := ctl(t, api, "", "key", "--out", key)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = ctl(t, api, audittest.ReaderToken, "checkpoint", "--key", key, "--out", kept)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "checkpoint of tenant contoso: tree size 58")
	return key, kept
}

func TestKeyCheckpointProveAndVerifyOnline(t *testing.T) {
	api := audittest.StartAPI(t, nil)
	key, kept := keepCheckpoint(t, api)
	note, err := os.ReadFile(kept)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(note), "licensing-ledger/ledger/contoso\n58\n"), string(note))

	r := ctl(t, api, audittest.ReaderToken, "verify", "--key", key, "--checkpoint", kept)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "OK: tenant contoso, 58 events")
	assert.Contains(t, r.stdout, "extends the kept checkpoint of tree size 58")

	// The next audit: more events, a new checkpoint that extends the kept one.
	s := api.Scenario
	s.Run(t, s.Admin(), &v1.RegisterUser{UserId: "zoe", DisplayName: "zoe", Email: "zoe@contoso.com", UsageLocation: "US"})
	r = ctl(t, api, audittest.ReaderToken, "checkpoint", "--key", key, "--checkpoint", kept, "--out", filepath.Join(t.TempDir(), "next"))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "tree size 59")
	assert.Contains(t, r.stderr, "extends the kept checkpoint")

	// Any one event, proven in the kept checkpoint, from the server or a file.
	recs := s.Store.Records("contoso")
	for _, i := range []int{0, 29, 57} {
		r = ctl(t, api, audittest.ReaderToken, "prove", recs[i].ID, "--checkpoint", kept, "--key", key)
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, "OK: event "+recs[i].ID)
	}
	file := filepath.Join(t.TempDir(), "export.ndjson")
	require.Equal(t, exitOK, ctl(t, api, audittest.ReaderToken, "export", "--out", file).code)
	r = ctl(t, nil, "", "prove", recs[10].ID, "--checkpoint", kept, "--key", key, "--file", file)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "(sequence 11) is in the tree")
	r = ctl(t, api, audittest.ReaderToken, "prove", recs[58].ID, "--checkpoint", kept, "--key", key)
	assert.Equal(t, exitFailed, r.code, "an event after the kept checkpoint is not in it")
	assert.Contains(t, r.stderr, "is not among the first 58 events")

	r = ctl(t, nil, "", "key", "--signing-key", filepath.Join(t.TempDir(), "missing"))
	assert.Equal(t, exitFailed, r.code)
}

// TestVerifyOnlineCatchesAnEditedStore: the store is edited after the
// auditor kept a checkpoint; the server's export and proofs come from the
// edited store, and verify names what changed.
func TestVerifyOnlineCatchesAnEditedStore(t *testing.T) {
	flipLast := func(t *testing.T, recs []events.Record) []events.Record {
		return setAtRec(recs, len(recs)-1, flipByte(t, recs[len(recs)-1]))
	}
	for _, c := range []struct {
		name string
		edit func(*testing.T, []events.Record) []events.Record
		want string
	}{
		{"a byte of the first event", func(t *testing.T, r []events.Record) []events.Record { return setAtRec(r, 0, flipByte(t, r[0])) }, "(sequence 1): altered: its stored bytes changed"},
		{"a byte of the last event", flipLast, "differs: the events do not hash to the root of the checkpoint of tree size 58"},
		{"an event deleted", func(_ *testing.T, r []events.Record) []events.Record { return slices.Delete(slices.Clone(r), 9, 10) }, "(sequence 11): missing"},
		{"two swapped", func(_ *testing.T, r []events.Record) []events.Record {
			out := slices.Clone(r)
			out[20], out[21] = out[21], out[20]
			return out
		}, "reordered"},
		{"one duplicated", func(_ *testing.T, r []events.Record) []events.Record {
			return slices.Insert(slices.Clone(r), 21, r[20])
		}, "inserted: it is a copy"},
		{"the tail cut", func(_ *testing.T, r []events.Record) []events.Record { return r[:30] }, "truncated: the history holds 30 events"},
		{"everything removed", func(*testing.T, []events.Record) []events.Record { return nil }, "truncated: the history holds 0 events"},
		{"an event altered, the chain recomputed", func(t *testing.T, r []events.Record) []events.Record {
			return rechain(t, setAtRec(r, 40, flipByte(t, r[40])), 40)
		}, "differs:"},
		{"a forged event inserted, the chain recomputed", func(t *testing.T, r []events.Record) []events.Record {
			return rechain(t, slices.Insert(slices.Clone(r), 30, forged(t, r[29])), 30)
		}, "differs:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var store *editedStore
			api := audittest.StartAPI(t, func(s *audittest.MemStore) events.Store {
				store = &editedStore{MemStore: s, edit: func(_ *testing.T, r []events.Record) []events.Record { return r }, t: t}
				return store
			})
			key, kept := keepCheckpoint(t, api)
			store.edit = c.edit
			r := ctl(t, api, audittest.ReaderToken, "verify", "--key", key, "--checkpoint", kept)
			assert.Equal(t, exitBroken, r.code, r.stdout+r.stderr)
			assert.Contains(t, r.stderr, c.want)
			t.Log(strings.TrimSpace(r.stderr))
			if c.name == "a byte of the last event" {
				r = ctl(t, api, audittest.ReaderToken, "prove", api.Scenario.Store.Records("contoso")[57].ID, "--checkpoint", kept, "--key", key)
				assert.Equal(t, exitBroken, r.code, "the edited event's proof fails: %s", r.stderr)
				assert.Contains(t, r.stderr, "is not in the tree of checkpoint")
			}
		})
	}
}
