package httpapi

import (
	"fmt"
	"strings"
	"testing"

	"github.com/licensing-ledger/ledger/domain"
)

func TestSelectedUsersParsesOneToTwentyDistinctIDs(t *testing.T) {
	twenty := make([]string, 20)
	for i := range twenty {
		twenty[i] = fmt.Sprintf("user%02d", i+1)
	}
	for _, tc := range []struct {
		values []string
		want   []string
		err    string // a fragment of the refusal, "" when accepted
	}{
		{values: []string{"alice,bob"}, want: []string{"alice", "bob"}},
		{values: []string{"alice", "bob, carol"}, want: []string{"alice", "bob", "carol"}},
		{values: []string{strings.Join(twenty, ",")}, want: twenty},
		{values: nil, err: "users is required"},
		{values: []string{""}, err: "empty user id"},
		{values: []string{"alice,,bob"}, err: "empty user id"},
		{values: []string{"alice,bob,alice"}, err: `"alice" is listed twice`},
		{values: []string{"alice", "alice"}, err: "listed twice"},
		{values: []string{strings.Join(twenty, ",") + ",user21"}, err: "21 users; at most 20"},
		{values: []string{strings.Repeat("a", domain.MaxIDLength+1)}, err: "longer than 128"},
	} {
		got, err := selectedUsers(tc.values)
		if tc.err == "" {
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("selectedUsers(%q) = %q, %v; want %q", tc.values, got, err, tc.want)
			}
			continue
		}
		if domain.ErrorCode(err) != domain.CodeValidationFailed || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("selectedUsers(%q) error %v; want ValidationFailed mentioning %q", tc.values, err, tc.err)
		}
	}
}

func TestUsersAreNamesEveryMissingUser(t *testing.T) {
	if got := usersAre([]string{"zoe"}); got != `user "zoe" is` {
		t.Errorf("one missing user: %s", got)
	}
	if got := usersAre([]string{"zoe", "yan"}); got != `users ["zoe" "yan"] are` {
		t.Errorf("two missing users: %s", got)
	}
}
