package jetstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"

	"github.com/nats-io/nkeys"
	"golang.org/x/crypto/bcrypt"
)

// ConsumerUser is one downstream service's identity on the embedded NATS
// server, an entry of the file ledgerd's --nats-users names. Each service
// connects as itself, so that what it owns on the server is its own: the
// durable consumers of LEDGER named in Durables may be created, read,
// acknowledged, changed and deleted by this user alone. Everything else a
// user may do is what an anonymous client may do (see readerPermissions).
type ConsumerUser struct {
	// User is the user name: with Password, the name the client connects
	// with; with Nkey, the name errors and logs use.
	User string `json:"user"`
	// Password is a bcrypt hash of the user's password (for example from
	// `nats server passwd`); the server never holds the password itself.
	Password string `json:"password,omitempty"`
	// Nkey is the user's public nkey (U...), instead of a password.
	Nkey string `json:"nkey,omitempty"`
	// Durables are the consumer names on LEDGER reserved for this user.
	// Names are whole: NATS permissions match subject tokens, and a
	// consumer name is one token, so a prefix could not be enforced.
	Durables []string `json:"durables,omitempty"`
	// ReadLog lets the user read the commit log LEDGER_LOG by stream info
	// and message gets, for operators' and auditors' tools. It never grants
	// consumers on the log, where ledgerd's own consumers are.
	ReadLog bool `json:"readLog,omitempty"`
}

// validName matches the user names and durable names a consumers file may
// use: one subject token, safe in a consumer name and in a log line.
var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// consumersFile is the JSON document of a --nats-users file.
type consumersFile struct {
	Users []ConsumerUser `json:"users"`
}

// LoadConsumerUsers reads a consumers file and checks every entry. An
// error names the file and the entry at fault: a file that grants the
// wrong access silently is worse than a service that does not start.
func LoadConsumerUsers(path string) ([]ConsumerUser, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("consumers file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f consumersFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("consumers file %s: %w", path, err)
	}
	if err := checkConsumerUsers(f.Users); err != nil {
		return nil, fmt.Errorf("consumers file %s: %w", path, err)
	}
	return f.Users, nil
}

// checkConsumerUsers checks each entry and that no two share a user name,
// an nkey or a durable name.
func checkConsumerUsers(users []ConsumerUser) error {
	seen := map[string]string{} // user names, nkeys and durables, to who holds them
	for i, u := range users {
		if err := checkConsumerUser(u); err != nil {
			return fmt.Errorf("users[%d] (%q): %w", i, u.User, err)
		}
		claims := []string{"user " + u.User}
		if u.Nkey != "" {
			claims = append(claims, "nkey "+u.Nkey)
		}
		for _, d := range u.Durables {
			claims = append(claims, "durable "+d)
		}
		for _, c := range claims {
			if owner, ok := seen[c]; ok {
				return fmt.Errorf("users[%d] (%q): %s is already %s's", i, u.User, c, owner)
			}
			seen[c] = u.User
		}
	}
	return nil
}

// checkConsumerUser checks one entry on its own.
func checkConsumerUser(u ConsumerUser) error {
	switch {
	case !validName.MatchString(u.User):
		return errors.New("user: want 1 to 64 letters, digits, '-' or '_'")
	case u.User == LedgerUser || u.User == SubscriberUser:
		return fmt.Errorf("user: %q is reserved for ledgerd", u.User)
	case (u.Password == "") == (u.Nkey == ""):
		return errors.New("want exactly one of password (a bcrypt hash) and nkey")
	case u.Password != "":
		if _, err := bcrypt.Cost([]byte(u.Password)); err != nil {
			return fmt.Errorf("password: want a bcrypt hash ($2a$..., e.g. from `nats server passwd`), not the password: %w", err)
		}
	case !nkeys.IsValidPublicUserKey(u.Nkey):
		return errors.New("nkey: want a user's public nkey (U...)")
	}
	for _, d := range u.Durables {
		if !validName.MatchString(d) {
			return fmt.Errorf("durables: %q: want 1 to 64 letters, digits, '-' or '_'", d)
		}
	}
	return nil
}
