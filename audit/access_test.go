package audit_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/licensing-ledger/ledger/domain"
)

// auditQueries are the queries of the audit trail.
var auditQueries = []string{domain.QueryHistory, domain.QueryState, domain.QueryExport, domain.QueryReports}

func TestGlobalReaderReadsEverythingAndChangesNothing(t *testing.T) {
	st := domain.NewState(tenant)
	reader := domain.Principal{ID: "auditor", Tenant: tenant, Roles: []domain.Role{domain.GlobalReader}}
	assert.True(t, domain.ValidRole(domain.GlobalReader), "principals files accept the role")
	member := domain.Principal{ID: "auditor", Tenant: tenant}
	for _, cmd := range domain.Commands() {
		err := domain.Authorize(reader, st, cmd, "")
		assert.Equal(t, domain.Authorize(member, st, cmd, "") == nil, err == nil,
			"the role adds no command to what any member may send (%s: %v)", cmd, err)
	}
	for _, q := range append([]string{domain.QueryLicenses, domain.QueryRequests, domain.QueryUsers, domain.QueryUserLicenses}, auditQueries...) {
		assert.NoError(t, domain.Authorize(reader, st, q, "alice"), q)
	}
}

func TestWhoMayAudit(t *testing.T) {
	st := domain.NewState(tenant)
	as := func(roles ...domain.Role) domain.Principal {
		return domain.Principal{ID: "someone", Tenant: tenant, Roles: roles}
	}
	for _, c := range []struct {
		who     domain.Principal
		allowed []string
	}{
		{as(domain.GlobalAdministrator), auditQueries},
		{as(domain.LicenseAdministrator), []string{domain.QueryHistory, domain.QueryState, domain.QueryReports}},
		{as(domain.UserAdministrator), []string{domain.QueryHistory, domain.QueryState, domain.QueryReports}},
		{as(), nil},
	} {
		for _, q := range auditQueries {
			err := domain.Authorize(c.who, st, q, "alice")
			assert.Equal(t, contains(c.allowed, q), err == nil, "%v %s: %v", c.who.Roles, q, err)
			if err != nil {
				assert.Contains(t, err.Error(), "GlobalReader", "a refusal names the roles that would do")
			}
		}
	}
	alice := domain.Principal{ID: "alice", Tenant: tenant}
	assert.NoError(t, domain.Authorize(alice, st, domain.QueryHistory, "alice"), "a user reads her own history")
	assert.Error(t, domain.Authorize(alice, st, domain.QueryHistory, "bob"))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
