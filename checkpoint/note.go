package checkpoint

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// MaxNoteBytes bounds a signed checkpoint a decoder accepts.
const MaxNoteBytes = 16 << 10

// DefaultName names the ledger in checkpoint origins and keys when no
// --checkpoint-origin is given.
const DefaultName = "licensing-ledger"

// Origin returns the origin line of a tenant's checkpoints: the ledger's
// name, then /ledger/, then the tenant, as in licensing-ledger/ledger/contoso.
// Every tenant is a log of its own, so a checkpoint of one tenant can never
// pass for another's.
func Origin(name, tenant string) string { return name + "/ledger/" + tenant }

// TenantOf returns the tenant an origin names, and whether it is one.
func TenantOf(origin string) (string, bool) {
	i := strings.LastIndex(origin, "/ledger/")
	if i <= 0 || i+len("/ledger/") == len(origin) {
		return "", false
	}
	return origin[i+len("/ledger/"):], true
}

// Checkpoint is a signed checkpoint of one tenant's tree: its origin, size
// and root, and the signed note as issued.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
	Note   []byte   // the C2SP signed note, as issued: what an auditor keeps
	Keys   []string // the names and hashes (name+hash) of the trusted keys that signed it
}

// Tenant returns the tenant the checkpoint's origin names.
func (c *Checkpoint) Tenant() string { t, _ := TenantOf(c.Origin); return t }

// String names the checkpoint for messages.
func (c *Checkpoint) String() string {
	return fmt.Sprintf("checkpoint %s size %d root %s", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root))
}

// Signer signs a ledger's checkpoints with its Ed25519 key.
type Signer struct {
	s    note.Signer
	vkey string
	name string
}

// NewSigner returns the signer of a note private key (PRIVATE+KEY+name+hash+key).
func NewSigner(skey string) (*Signer, error) {
	skey = strings.TrimSpace(skey)
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("checkpoint key: %w", err)
	}
	vkey, err := verifierKeyOf(skey, s.Name())
	if err != nil {
		return nil, err
	}
	return &Signer{s: s, vkey: vkey, name: s.Name()}, nil
}

// verifierKeyOf derives the public verifier key of a note private key.
func verifierKeyOf(skey, name string) (string, error) {
	parts := strings.SplitN(skey, "+", 5) // PRIVATE, KEY, name, hash, key (base64 may hold +)
	raw, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if err != nil || len(raw) != 1+ed25519.SeedSize {
		return "", errors.New("checkpoint key: not an Ed25519 note key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(name, pub)
}

// VerifierKey returns the public key that verifies the signer's
// checkpoints, as name+hash+key: what auditors and witnesses trust.
func (s *Signer) VerifierKey() string { return s.vkey }

// Name returns the key's name.
func (s *Signer) Name() string { return s.name }

// Sign returns the signed note of a checkpoint.
func (s *Signer) Sign(origin string, size uint64, root []byte) ([]byte, error) {
	text := log.Checkpoint{Origin: origin, Size: size, Hash: root}.Marshal()
	return note.Sign(&note.Note{Text: string(text)}, s.s)
}

// GenerateKey returns a new note private key named name.
func GenerateKey(name string) (string, error) {
	skey, _, err := note.GenerateKey(rand.Reader, name)
	return skey, err
}

// LoadOrCreateKey reads the signer key in path; if the file does not exist
// it creates it, mode 0600, with a new key named name. created says which.
func LoadOrCreateKey(path, name string) (s *Signer, created bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		skey, gerr := GenerateKey(name)
		if gerr != nil {
			return nil, false, gerr
		}
		if err := writeKey(path, skey); err != nil {
			return nil, false, err
		}
		b, created = []byte(skey), true
	} else if err != nil {
		return nil, false, err
	}
	s, err = NewSigner(string(b))
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	return s, created, nil
}

// writeKey writes a new key file that only its owner reads, never
// replacing an existing one.
func writeKey(path, skey string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(skey + "\n")
	return errors.Join(err, f.Close())
}

// Verifiers holds the verifier keys an auditor trusts: several at once
// while a key is rotated.
type Verifiers struct {
	list note.Verifiers
	keys []string
}

// NewVerifiers parses verifier keys (name+hash+key).
func NewVerifiers(vkeys ...string) (*Verifiers, error) {
	if len(vkeys) == 0 {
		return nil, errors.New("no verifier key given")
	}
	var vs []note.Verifier
	for _, k := range vkeys {
		v, err := note.NewVerifier(strings.TrimSpace(k))
		if err != nil {
			return nil, fmt.Errorf("verifier key %q: %w", k, err)
		}
		vs = append(vs, v)
	}
	return &Verifiers{list: note.VerifierList(vs...), keys: vkeys}, nil
}

// ReadVerifierKeys returns the verifier keys of a file, one a line; blank
// lines and lines starting with # are skipped.
func ReadVerifierKeys(b []byte) []string {
	var keys []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			keys = append(keys, l)
		}
	}
	return keys
}

// Open checks that a signed checkpoint is signed by a trusted key and
// parses it. A note with no trusted signature is refused.
func (v *Verifiers) Open(signed []byte) (*Checkpoint, error) {
	if len(signed) > MaxNoteBytes {
		return nil, fmt.Errorf("a checkpoint is at most %d bytes", MaxNoteBytes)
	}
	n, err := note.Open(signed, v.list)
	if err != nil {
		return nil, describeOpenError(err)
	}
	cp, err := parseText(n.Text)
	if err != nil {
		return nil, err
	}
	cp.Note = signed
	for _, s := range n.Sigs {
		cp.Keys = append(cp.Keys, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
	}
	return cp, nil
}

// describeOpenError says why a note did not open, for an auditor.
func describeOpenError(err error) error {
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &unverified):
		return errors.New("the checkpoint is not signed by a trusted key (none of its signatures is from a key given with --key)")
	case errors.As(err, &invalid):
		return fmt.Errorf("the checkpoint's signature by %s+%08x is invalid: it was altered or forged", invalid.Name, invalid.Hash)
	}
	return fmt.Errorf("not a signed checkpoint: %w", err)
}

// Parse reads a signed checkpoint without checking its signatures: for
// display only, never to trust.
func Parse(signed []byte) (*Checkpoint, error) {
	if len(signed) > MaxNoteBytes {
		return nil, fmt.Errorf("a checkpoint is at most %d bytes", MaxNoteBytes)
	}
	text, _, ok := bytes.Cut(signed, []byte("\n\n"))
	if !ok {
		return nil, errors.New("not a signed note: no blank line before the signatures")
	}
	cp, err := parseText(string(text) + "\n")
	if err == nil {
		cp.Note = signed
	}
	return cp, err
}

// parseText parses the checkpoint body of a note.
func parseText(text string) (*Checkpoint, error) {
	var c log.Checkpoint
	if _, err := c.Unmarshal([]byte(text)); err != nil {
		return nil, err
	}
	if len(c.Hash) != HashSize {
		return nil, fmt.Errorf("invalid checkpoint - the root hash has %d bytes, not %d", len(c.Hash), HashSize)
	}
	if _, ok := TenantOf(c.Origin); !ok {
		return nil, fmt.Errorf("invalid checkpoint - origin %q names no tenant (want NAME/ledger/TENANT)", c.Origin)
	}
	return &Checkpoint{Origin: c.Origin, Size: c.Size, Root: c.Hash}, nil
}
