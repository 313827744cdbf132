package audit_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/audit"
)

func history(t *testing.T, p *played, kind, id string) []audit.Entry {
	t.Helper()
	h, err := audit.History(p.source(), tenant, audit.Subject{Kind: kind, ID: id}, audit.Period{})
	require.NoError(t, err)
	return h
}

func entryTypes(h []audit.Entry) []string {
	out := make([]string, len(h))
	for i, e := range h {
		out[i] = e.Type
	}
	return out
}

func TestHistoryOfAUser(t *testing.T) {
	p := playStory(t)
	h := history(t, p, "user", "bob")
	assert.Equal(t, []string{
		"UserRegistered", "SubscriptionPurchased", // he bought Visio himself
		"LicenseAssigned", "LicenseRemoved", "LicenseRequested", "LicenseRequested", // named in alice's request, then his own
		"RequestDecided", "LicenseAssigned", "RequestOutcomeNotified", // approved in alice's request
		"RequestDecided", "RequestOutcomeNotified", // his own denied
		"SubscriptionTakenOver",
	}, entryTypes(h))
	for i := 1; i < len(h); i++ {
		assert.Greater(t, h[i].Sequence, h[i-1].Sequence, "in order")
	}
	assigned := h[7]
	assert.Equal(t, "admin@contoso", assigned.Actor)
	assert.Equal(t, "ApproveRequest", assigned.Command)
	assert.Equal(t, "request req-pbi", assigned.Cause, "the license came from approving the request")
	assert.NotEmpty(t, assigned.CorrelationID)
	assert.JSONEq(t, `{"userId":"bob","productId":"POWER_BI_PRO"}`, string(assigned.Data))
}

func TestHistoryOfAGroupMemberShowsTheGroupAsCause(t *testing.T) {
	p := playStory(t)
	h := history(t, p, "user", "carol")
	var causes []string
	for _, e := range h {
		if e.Type == "LicenseAssigned" || e.Type == "LicenseRemoved" {
			causes = append(causes, e.Command+": "+e.Cause)
		}
	}
	assert.Equal(t, []string{"AssignGroupLicense: group sales", "RevokeGroupLicense: group sales"}, causes)
}

func TestHistoryOfARequestHoldsWhatItsApprovalDid(t *testing.T) {
	p := playStory(t)
	h := history(t, p, "request", "req-pbi")
	assert.Equal(t, []string{"LicenseRequested", "RequestDecided", "LicenseAssigned", "LicenseAssigned",
		"RequestOutcomeNotified", "RequestOutcomeNotified", "RequestOutcomeNotified"}, entryTypes(h))
	assert.Equal(t, "alice", h[0].Actor)

	expired := history(t, p, "request", "req-visio")
	assert.Equal(t, []string{"LicenseRequested", "RequestShared", "RequestExpired", "RequestOutcomeNotified"}, entryTypes(expired))
	assert.Equal(t, "system", expired[2].Actor)
}

func TestHistoryOfAProductAndASubscription(t *testing.T) {
	p := playStory(t)
	sub := history(t, p, "subscription", "sub-spb-2")
	assert.Equal(t, []string{"SubscriptionPurchased", "SubscriptionStateChanged"}, entryTypes(sub))
	pbi := history(t, p, "product", "POWER_BI_PRO")
	assert.Equal(t, []string{"SubscriptionPurchased", "LicenseRequested", "RequestDecided", "LicenseAssigned", "LicenseAssigned",
		"RequestOutcomeNotified", "RequestOutcomeNotified", "RequestOutcomeNotified"}, entryTypes(pbi))
	assert.Empty(t, history(t, p, "product", "MCOEV"))
}

func TestHistoryWithinAPeriod(t *testing.T) {
	p := playStory(t)
	from, to := p.mark("assigned"), p.mark("changed")
	h, err := audit.History(p.source(), tenant, audit.Subject{Kind: "user", ID: "alice"}, audit.Period{From: from, To: to})
	require.NoError(t, err)
	assert.Equal(t, []string{"AssignmentPlansChanged"}, entryTypes(h))
	for _, e := range h {
		assert.True(t, e.Time.After(from) && !e.Time.After(to))
	}
}

func TestCheckSubject(t *testing.T) {
	require.NoError(t, audit.CheckSubject(audit.Subject{Kind: "group", ID: "sales"}))
	assert.ErrorContains(t, audit.CheckSubject(audit.Subject{Kind: "tenant", ID: "x"}), "not a \"tenant\"")
	assert.ErrorContains(t, audit.CheckSubject(audit.Subject{Kind: "user"}), "name the user")
}
