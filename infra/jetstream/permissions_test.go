package jetstream

import (
	"slices"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExternalBlocksMatchTheEmbeddedServer: the services' permission blocks
// the documentation gives for an external server (the file the e2e test
// runs and docs/RELIABILITY.md quotes) are exactly what the embedded server
// gives a consumer user with the same reserved names, and ledgerd's block
// subscribes to its own inbox prefix only.
func TestExternalBlocksMatchTheEmbeddedServer(t *testing.T) {
	opts, err := server.ProcessConfigFile("../../e2e/testdata/nats-permissions.conf")
	require.NoError(t, err)
	users := map[string]*server.Permissions{}
	for _, u := range opts.Users {
		users[u.Username] = u.Permissions
	}
	for user, others := range map[string][]string{"billing": {"mail", "mail-digest"}, "mail": {"billing"}} {
		require.Contains(t, users, user)
		assertSamePermissions(t, readerPermissions(others, false), users[user], user)
	}
	require.Contains(t, users, LedgerUser)
	assert.Equal(t, []string{LedgerInboxPrefix + ".>"}, users[LedgerUser].Subscribe.Allow)
}

// assertSamePermissions compares two sets of permissions, in any order.
func assertSamePermissions(t *testing.T, want, got *server.Permissions, user string) {
	t.Helper()
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	assert.Equal(t, sorted(want.Publish.Allow), sorted(got.Publish.Allow), "%s: publish allow", user)
	assert.Equal(t, sorted(want.Publish.Deny), sorted(got.Publish.Deny), "%s: publish deny", user)
	assert.Equal(t, sorted(want.Subscribe.Allow), sorted(got.Subscribe.Allow), "%s: subscribe allow", user)
	assert.Empty(t, got.Subscribe.Deny, "%s: subscribe deny", user)
}
