package jetstream

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// writeConsumersFile writes body as a consumers file and returns its path.
func writeConsumersFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nats-users.json")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

func TestLoadConsumerUsers(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	require.NoError(t, err)
	kp, err := nkeys.CreateUser()
	require.NoError(t, err)
	pub, err := kp.PublicKey()
	require.NoError(t, err)
	seed, err := kp.Seed()
	require.NoError(t, err)
	good := `{"users": [
		{"user": "billing", "password": "` + string(hash) + `", "durables": ["billing", "billing-replay"]},
		{"user": "mail", "nkey": "` + pub + `", "durables": ["mail"]},
		{"user": "auditor", "password": "` + string(hash) + `", "readLog": true}]}`

	users, err := LoadConsumerUsers(writeConsumersFile(t, good))
	require.NoError(t, err)
	require.Len(t, users, 3)
	assert.Equal(t, []string{"billing", "billing-replay"}, users[0].Durables)
	assert.Equal(t, pub, users[1].Nkey)
	assert.True(t, users[2].ReadLog)

	entry := func(fields string) string {
		return `{"users": [{"user": "billing", "password": "` + string(hash) + `"}, {` + fields + `}]}`
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"NotJSON", `{"users": [`, "unexpected EOF"},
		{"UnknownField", `{"users": [{"user": "a", "passwd": "x"}]}`, `unknown field "passwd"`},
		{"NoUser", entry(`"password": "` + string(hash) + `"`), `users[1] (""): user: want`},
		{"UserWithADot", entry(`"user": "a.b", "password": "` + string(hash) + `"`), `users[1] ("a.b"): user: want`},
		{"LedgersName", entry(`"user": "ledger", "password": "` + string(hash) + `"`), `users[1] ("ledger"): user: "ledger" is reserved`},
		{"AnonymousName", entry(`"user": "subscriber", "password": "` + string(hash) + `"`), `users[1] ("subscriber"): user: "subscriber" is reserved`},
		{"NoCredential", entry(`"user": "mail"`), `users[1] ("mail"): want exactly one of password`},
		{"BothCredentials", entry(`"user": "mail", "password": "` + string(hash) + `", "nkey": "` + pub + `"`), `users[1] ("mail"): want exactly one of password`},
		{"PlainPassword", entry(`"user": "mail", "password": "hunter2-hunter2"`), `users[1] ("mail"): password: want a bcrypt hash`},
		{"SeedForNkey", entry(`"user": "mail", "nkey": "` + string(seed) + `"`), `users[1] ("mail"): nkey: want a user's public nkey`},
		{"BadDurable", entry(`"user": "mail", "nkey": "` + pub + `", "durables": ["mail.>"]`), `users[1] ("mail"): durables: "mail.>"`},
		{"SameUser", entry(`"user": "billing", "nkey": "` + pub + `"`), `users[1] ("billing"): user billing is already billing's`},
		{"SameDurable", `{"users": [{"user": "a", "nkey": "` + pub + `", "durables": ["x"]}, {"user": "b", "password": "` + string(hash) + `", "durables": ["x"]}]}`, `users[1] ("b"): durable x is already a's`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConsumersFile(t, tc.body)
			_, err := LoadConsumerUsers(path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), path, "the error names the file")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err = LoadConsumerUsers(filepath.Join(t.TempDir(), "missing.json"))
	assert.True(t, err != nil && strings.Contains(err.Error(), "missing.json"))
}
