package auth_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/infra/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	clearToken  = "clear-token-0123456789"
	hashedToken = "hashed-token-0123456789"
)

// sha256Hex is how a principals file holds a token's hash.
func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// principals is a file with a token in clear and one stored as its hash.
func principals() auth.File {
	return auth.File{Principals: []auth.Entry{
		{ID: "admin", Tenant: "contoso", Roles: []string{"GlobalAdministrator"}, Token: clearToken},
		{ID: "agent", Partner: "fabrikam", Roles: []string{"AdminAgent", "SalesAgent"}, TokenSHA256: sha256Hex(hashedToken)},
	}}
}

func TestAuthenticateClearAndHashedTokens(t *testing.T) {
	a, err := auth.New(principals())
	require.NoError(t, err)

	p, ok := a.Authenticate(clearToken)
	require.True(t, ok)
	assert.Equal(t, domain.Principal{ID: "admin", Tenant: "contoso", Roles: []domain.Role{domain.GlobalAdministrator}}, p)

	p, ok = a.Authenticate(hashedToken)
	require.True(t, ok, "a token whose file entry holds its SHA-256")
	assert.Equal(t, domain.Principal{ID: "agent", Partner: "fabrikam", Roles: []domain.Role{domain.AdminAgent, domain.SalesAgent}}, p)
}

func TestAuthenticateRefusesWrongTokens(t *testing.T) {
	a, err := auth.New(principals())
	require.NoError(t, err)
	for name, token := range map[string]string{
		"Unknown":         "unknown-token-0123456789",
		"Empty":           "",
		"Prefix":          clearToken[:len(clearToken)-1],
		"Longer":          clearToken + "0",
		"OtherCase":       strings.ToUpper(clearToken),
		"Padded":          " " + clearToken,
		"TheStoredHash":   sha256Hex(hashedToken),
		"HashOfTheHash":   sha256Hex(sha256Hex(hashedToken)),
		"ClearTokensHash": sha256Hex(clearToken),
	} {
		t.Run(name, func(t *testing.T) {
			p, ok := a.Authenticate(token)
			assert.False(t, ok)
			assert.Zero(t, p, "a refusal returns no principal")
		})
	}
}

// TestEmptyTokenNeverAuthenticates: even a file entry holding the hash of
// the empty string does not let a request without a token in.
func TestEmptyTokenNeverAuthenticates(t *testing.T) {
	a, err := auth.New(auth.File{Principals: []auth.Entry{{ID: "x", Tenant: "contoso", TokenSHA256: sha256Hex("")}}})
	require.NoError(t, err)
	_, ok := a.Authenticate("")
	assert.False(t, ok)
}

func TestMalformedEntriesAreRefused(t *testing.T) {
	ok := auth.Entry{ID: "admin", Tenant: "contoso", Token: clearToken}
	for name, c := range map[string]struct {
		edit func(*auth.Entry)
		want string
	}{
		"NoID":               {func(e *auth.Entry) { e.ID = "" }, "id is required"},
		"NoTenantNorPartner": {func(e *auth.Entry) { e.Tenant = "" }, "exactly one of tenant"},
		"TenantAndPartner":   {func(e *auth.Entry) { e.Partner = "fabrikam" }, "exactly one of tenant"},
		"BadTenantID":        {func(e *auth.Entry) { e.Tenant = "a.b" }, "not a valid tenant id"},
		"UnknownRole":        {func(e *auth.Entry) { e.Roles = []string{"Overlord"} }, `unknown role "Overlord"`},
		"ShortToken":         {func(e *auth.Entry) { e.Token = "short" }, "shorter than 16"},
		"TokenAndHash":       {func(e *auth.Entry) { e.TokenSHA256 = sha256Hex(clearToken) }, "not both"},
		"NoToken":            {func(e *auth.Entry) { e.Token = "" }, "token or tokenSha256 is required"},
		"HashNotHex":         {func(e *auth.Entry) { e.Token, e.TokenSHA256 = "", strings.Repeat("z", 64) }, "64 hex digits"},
		"HashTooShort":       {func(e *auth.Entry) { e.Token, e.TokenSHA256 = "", sha256Hex(clearToken)[:62] }, "64 hex digits"},
	} {
		t.Run(name, func(t *testing.T) {
			e := ok
			c.edit(&e)
			f := principals()
			f.Principals = append(f.Principals, e)
			a, err := auth.New(f)
			require.Error(t, err)
			assert.Nil(t, a)
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), "principal 3", "the error says which entry")
		})
	}
}

// TestATokenNamesOnePrincipal: a token two entries share would let its
// holder in as either; the file is refused instead.
func TestATokenNamesOnePrincipal(t *testing.T) {
	f := principals()
	f.Principals = append(f.Principals, auth.Entry{ID: "user", Tenant: "contoso", TokenSHA256: sha256Hex(clearToken)})
	_, err := auth.New(f)
	assert.Error(t, err)
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Run("AFile", func(t *testing.T) {
		path := writeFile(t, dir, "good.json", principals())
		a, err := auth.Load(path)
		require.NoError(t, err)
		_, ok := a.Authenticate(hashedToken)
		assert.True(t, ok)
	})
	t.Run("NotJSON", func(t *testing.T) {
		path := filepath.Join(dir, "bad.json")
		require.NoError(t, os.WriteFile(path, []byte("principals: everyone"), 0o600))
		_, err := auth.Load(path)
		require.Error(t, err)
		assert.Contains(t, err.Error(), path)
	})
	t.Run("AMalformedEntry", func(t *testing.T) {
		f := principals()
		f.Principals[1].Roles = []string{"Overlord"}
		path := writeFile(t, dir, "role.json", f)
		_, err := auth.Load(path)
		require.Error(t, err)
		assert.Contains(t, err.Error(), path)
		assert.Contains(t, err.Error(), `principal 2 ("agent")`)
	})
	t.Run("Missing", func(t *testing.T) {
		_, err := auth.Load(filepath.Join(dir, "none.json"))
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
}

func TestCreateDefault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "principals.json")
	token, err := auth.CreateDefault(path)
	require.NoError(t, err)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "only its owner reads the file")
	a, err := auth.Load(path)
	require.NoError(t, err)
	p, ok := a.Authenticate(token)
	require.True(t, ok)
	assert.Equal(t, domain.Principal{ID: "admin", Tenant: "default", Roles: []domain.Role{domain.GlobalAdministrator}}, p)

	_, err = auth.CreateDefault(path)
	assert.ErrorIs(t, err, os.ErrExist, "an existing file is never overwritten")
	again, err := auth.Load(path)
	require.NoError(t, err)
	_, ok = again.Authenticate(token)
	assert.True(t, ok)
}

// writeFile writes a principals file into dir and returns its path.
func writeFile(t *testing.T, dir, name string, f auth.File) string {
	t.Helper()
	data, err := json.Marshal(f)
	require.NoError(t, err)
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}
