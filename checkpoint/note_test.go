package checkpoint

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

func newSigner(t testing.TB, name string) *Signer {
	t.Helper()
	skey, err := GenerateKey(name)
	require.NoError(t, err)
	s, err := NewSigner(skey)
	require.NoError(t, err)
	return s
}

func verifiers(t testing.TB, keys ...string) *Verifiers {
	t.Helper()
	v, err := NewVerifiers(keys...)
	require.NoError(t, err)
	return v
}

func TestASignedCheckpointIsATlogCheckpointSignedNote(t *testing.T) {
	s := newSigner(t, DefaultName)
	root := bytes.Repeat([]byte{7}, HashSize)
	signed, err := s.Sign(Origin(DefaultName, "contoso"), 58, root)
	require.NoError(t, err)
	text, sigs, ok := strings.Cut(string(signed), "\n\n")
	require.True(t, ok)
	assert.Equal(t, "licensing-ledger/ledger/contoso\n58\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=", text)
	assert.True(t, strings.HasPrefix(sigs, "— licensing-ledger "), sigs)

	// What a witness or monitor reads: the formats library, with the verifier key.
	lv, err := note.NewVerifier(s.VerifierKey())
	require.NoError(t, err)
	cp, _, _, err := log.ParseCheckpoint(signed, "licensing-ledger/ledger/contoso", lv)
	require.NoError(t, err)
	assert.Equal(t, uint64(58), cp.Size)
	assert.Equal(t, root, cp.Hash)

	got, err := verifiers(t, s.VerifierKey()).Open(signed)
	require.NoError(t, err)
	assert.Equal(t, "contoso", got.Tenant())
	assert.Equal(t, uint64(58), got.Size)
	assert.Equal(t, root, got.Root)
	assert.Equal(t, signed, got.Note)
}

func TestOnlyATrustedIntactSignatureOpens(t *testing.T) {
	s, other := newSigner(t, DefaultName), newSigner(t, DefaultName)
	signed, err := s.Sign(Origin(DefaultName, "contoso"), 3, bytes.Repeat([]byte{1}, HashSize))
	require.NoError(t, err)

	_, err = verifiers(t, other.VerifierKey()).Open(signed)
	assert.ErrorContains(t, err, "not signed by a trusted key")

	altered := bytes.Replace(signed, []byte("\n3\n"), []byte("\n4\n"), 1)
	_, err = verifiers(t, s.VerifierKey()).Open(altered)
	assert.ErrorContains(t, err, "invalid")

	unsigned := []byte("licensing-ledger/ledger/contoso\n3\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n")
	_, err = verifiers(t, s.VerifierKey()).Open(unsigned)
	assert.Error(t, err)

	// Rotation: the old and the new key are both trusted for a while.
	cp, err := verifiers(t, other.VerifierKey(), s.VerifierKey()).Open(signed)
	require.NoError(t, err)
	assert.Equal(t, []string{strings.Join(strings.SplitN(s.VerifierKey(), "+", 3)[:2], "+")}, cp.Keys)
}

func TestTheKeyFileIsCreatedOnceOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "checkpoint.key")
	s, created, err := LoadOrCreateKey(path, "ledger.example")
	require.NoError(t, err)
	assert.True(t, created)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	again, created, err := LoadOrCreateKey(path, "other")
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, s.VerifierKey(), again.VerifierKey())
	assert.True(t, strings.HasPrefix(s.VerifierKey(), "ledger.example+"))

	require.NoError(t, os.WriteFile(path, []byte("garbage"), 0o600))
	_, _, err = LoadOrCreateKey(path, "x")
	assert.Error(t, err)
}

func TestVerifierKeysFile(t *testing.T) {
	keys := ReadVerifierKeys([]byte("# the ledger's keys\n a+1+x \n\nb+2+y\n"))
	assert.Equal(t, []string{"a+1+x", "b+2+y"}, keys)
	_, err := NewVerifiers("not a key")
	assert.Error(t, err)
	_, err = NewVerifiers()
	assert.Error(t, err)
}

func TestParseOrigins(t *testing.T) {
	for origin, want := range map[string]string{
		"licensing-ledger/ledger/contoso": "contoso", "a.example/x/ledger/t-1": "t-1", "/ledger/x": "", "ledger/x": "", "n/ledger/": "",
	} {
		got, _ := TenantOf(origin)
		assert.Equal(t, want, got, origin)
	}
	_, err := Parse([]byte("no blank line"))
	assert.Error(t, err)
	_, err = Parse([]byte("x/ledger/t\n1\nAA==\n\n— x sig\n"))
	assert.ErrorContains(t, err, "root hash has 1 bytes")
}
