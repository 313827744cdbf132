package projections_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// TestA6_AUsersLicenseErrorsLastWhileTheGroupMeansThemToHoldIt: a member
// recorded in error shows the error until the license comes (a reprocess),
// the group's product goes, or the member leaves the group.
func TestA6_AUsersLicenseErrorsLastWhileTheGroupMeansThemToHoldIt(t *testing.T) {
	given := []proto.Message{
		&ledgerv1.UserRegistered{UserId: "bob", UsageLocation: "US"},
		&ledgerv1.GroupCreated{GroupId: "sales", Name: "Sales"},
		&ledgerv1.GroupMemberAdded{GroupId: "sales", UserId: "bob"},
		&ledgerv1.GroupLicenseAssigned{GroupId: "sales", ProductId: "SPB"},
		&ledgerv1.GroupLicenseMemberFailed{GroupId: "sales", ProductId: "SPB", UserId: "bob", Code: "CountViolation", Detail: "1 short"},
	}
	errorsOf := func(then ...proto.Message) int {
		u, ok := licensesAfter(t, "contoso", append(given[:len(given):len(given)], then...)...).User("contoso", "bob")
		require.True(t, ok)
		return len(u.Errors)
	}
	assert.Equal(t, 1, errorsOf(), "in error")
	assert.Equal(t, 1, errorsOf(&ledgerv1.GroupLicenseMemberFailed{GroupId: "sales", ProductId: "SPB", UserId: "bob", Code: "CountViolation", Detail: "still 1 short"}), "in error again: one error, today's")
	assert.Equal(t, 0, errorsOf(&ledgerv1.LicenseAssigned{UserId: "bob", ProductId: "SPB", GroupId: "sales"}), "reprocessed")
	assert.Equal(t, 0, errorsOf(&ledgerv1.GroupLicenseRemoved{GroupId: "sales", ProductId: "SPB"}), "the group's product removed")
	assert.Equal(t, 0, errorsOf(&ledgerv1.GroupMemberRemoved{GroupId: "sales", UserId: "bob"}), "left the group")
}
