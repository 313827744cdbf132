// Package auth authenticates bearer tokens against the principals file
// (--auth-file): who may call the API, in which tenant, with which roles.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/licensing-ledger/ledger/domain"
)

// File is the principals file. Each entry holds either the token itself or,
// better, its SHA-256 in hex, so the file can be read without granting access.
type File struct {
	Principals []Entry `json:"principals"`
}

// Entry is one principal of the file.
type Entry struct {
	ID          string   `json:"id"`                    // the actor recorded in events; a user's id for users
	Tenant      string   `json:"tenant,omitempty"`      // home tenant of a tenant principal
	Partner     string   `json:"partner,omitempty"`     // partner id of a partner's agent
	Roles       []string `json:"roles,omitempty"`       // tenant roles, or delegated roles for agents
	Token       string   `json:"token,omitempty"`       // the bearer token in clear
	TokenSHA256 string   `json:"tokenSha256,omitempty"` // or its SHA-256, hex
}

// Authenticator maps bearer tokens to principals.
type Authenticator struct {
	entries []entry
}

type entry struct {
	hash      [sha256.Size]byte
	principal domain.Principal
}

// Load reads and validates a principals file.
func Load(path string) (*Authenticator, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("auth file %s: %w", path, err)
	}
	a, err := New(f)
	if err != nil {
		return nil, fmt.Errorf("auth file %s: %w", path, err)
	}
	return a, nil
}

// New builds an Authenticator from a parsed file.
func New(f File) (*Authenticator, error) {
	a := &Authenticator{}
	owner := map[[sha256.Size]byte]string{}
	for i, e := range f.Principals {
		en, err := parseEntry(e)
		if err != nil {
			return nil, fmt.Errorf("principal %d (%q): %w", i+1, e.ID, err)
		}
		if other, dup := owner[en.hash]; dup {
			return nil, fmt.Errorf("principal %d (%q) has the same token as %q: a token names one principal", i+1, e.ID, other)
		}
		owner[en.hash] = e.ID
		a.entries = append(a.entries, en)
	}
	return a, nil
}

func parseEntry(e Entry) (entry, error) {
	if e.ID == "" {
		return entry{}, errors.New("id is required")
	}
	if (e.Tenant == "") == (e.Partner == "") {
		return entry{}, errors.New("set exactly one of tenant (a tenant's principal) and partner (a partner's agent)")
	}
	if e.Tenant != "" && !domain.ValidTenantID(e.Tenant) {
		return entry{}, fmt.Errorf("tenant %q is not a valid tenant id", e.Tenant)
	}
	p := domain.Principal{ID: e.ID, Tenant: e.Tenant, Partner: e.Partner}
	for _, r := range e.Roles {
		if !domain.ValidRole(domain.Role(r)) {
			return entry{}, fmt.Errorf("unknown role %q", r)
		}
		p.Roles = append(p.Roles, domain.Role(r))
	}
	h, err := tokenHash(e)
	return entry{hash: h, principal: p}, err
}

func tokenHash(e Entry) ([sha256.Size]byte, error) {
	var h [sha256.Size]byte
	switch {
	case e.Token != "" && e.TokenSHA256 != "":
		return h, errors.New("set token or tokenSha256, not both")
	case e.Token != "":
		if len(e.Token) < 16 {
			return h, errors.New("token is shorter than 16 characters")
		}
		return sha256.Sum256([]byte(e.Token)), nil
	case e.TokenSHA256 != "":
		b, err := hex.DecodeString(e.TokenSHA256)
		if err != nil || len(b) != sha256.Size {
			return h, errors.New("tokenSha256 is not 64 hex digits")
		}
		copy(h[:], b)
		return h, nil
	}
	return h, errors.New("token or tokenSha256 is required")
}

// Authenticate returns the principal the token belongs to. It compares the
// token's hash with every entry in constant time, so timing tells nothing
// about which tokens exist.
func (a *Authenticator) Authenticate(token string) (domain.Principal, bool) {
	h := sha256.Sum256([]byte(token))
	found := -1
	for i := range a.entries {
		if subtle.ConstantTimeCompare(h[:], a.entries[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 || token == "" {
		return domain.Principal{}, false
	}
	return a.entries[found].principal, true
}

// CreateDefault writes a principals file holding one Global Administrator of
// the tenant "default", with a new random token, and returns the token. It
// refuses to overwrite an existing file.
func CreateDefault(path string) (string, error) {
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	token := hex.EncodeToString(buf)
	f := File{Principals: []Entry{{ID: "admin", Tenant: "default", Roles: []string{string(domain.GlobalAdministrator)}, Token: token}}}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	_, err = fh.Write(append(data, '\n'))
	return token, err
}
