package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/licensing-ledger/ledger/infra/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Who a principal of the access matrix is. Agents are the partner
// fabrikam's, delegated every partner role in contoso, or the partner
// litware's, with no delegation there.
const (
	rGA         = "GlobalAdministrator"
	rLA         = "LicenseAdministrator"
	rUA         = "UserAdministrator"
	rGR         = "GlobalReader"
	rUser       = "User"  // an ordinary member of the tenant
	rGuest      = "Guest" // a guest of the tenant's directory
	rAdminAgent = "AdminAgent"
	rHelpdesk   = "HelpdeskAgent"
	rSales      = "SalesAgent"
	rUserMgmt   = "UserManagementAdmin"
)

// The groups of the T3 table.
var (
	t3Admins        = []string{rGA, rLA, rUA}
	t3Agents        = []string{rAdminAgent, rHelpdesk, rSales, rUserMgmt}
	t3LicenseAdmins = append(slices.Clone(t3Admins), t3Agents...)
	t3Readers       = append(slices.Clone(t3LicenseAdmins), rGR)
	t3TenantUsers   = []string{rGA, rLA, rUA, rGR, rUser, rGuest}
)

// t3 is T3 of PRODUCT.md stated as a table: who may send each command and
// query in a tenant. It is written from the product's words, not from
// domain/permissions.go, so that the test can find where the two differ.
//   - "Managing licenses and requests needs at least License Administrator
//     or User Administrator (or a delegated partner role that grants it)":
//     Global, License and User Administrators, and the partner roles that
//     manage a customer's licenses. The Partner Center pages in seeds/ give
//     that to all four (Admin, Helpdesk, Sales agents, User management
//     admin), so by T3 they manage requests too.
//   - "Assigning a license to a guest needs Global Administrator": see
//     guestAssignment.
//   - "An ordinary user may only request licenses and read their own."
//
// Where T3 is silent, the table says what a license administrator would
// expect (PRODUCT.md's rule for silences): the directory is the User
// Administrator's, with the partner roles that act as administrators or
// manage users; purchases are billing, for the Global Administrator and the
// partner roles that sell; only the tenant's Global Administrator grants a
// partner access; expiry is the ledger's own. GlobalReader, a role PRODUCT.md
// does not name, reads what administrators read and changes nothing; the
// audit routes (L3, L4) follow docs/AUDIT.md "Who may audit".
var t3 = map[string][]string{
	"RegisterUser":            {rGA, rUA, rAdminAgent, rUserMgmt},
	"UpdateUser":              {rGA, rUA, rAdminAgent, rUserMgmt},
	"RemoveUser":              {rGA, rUA, rAdminAgent, rUserMgmt},
	"CreateGroup":             {rGA, rUA, rAdminAgent, rUserMgmt},
	"AddGroupMembers":         {rGA, rUA, rAdminAgent, rUserMgmt},
	"RemoveGroupMembers":      {rGA, rUA, rAdminAgent, rUserMgmt},
	"GrantPartnerDelegation":  {rGA},
	"RevokePartnerDelegation": {rGA},
	"PurchaseSubscription":    {rGA, rAdminAgent, rSales},
	"ChangeSeats":             {rGA, rAdminAgent, rSales},
	"ChangeSubscriptionState": {rGA, rAdminAgent, rSales},
	"TakeOverSubscription":    {rGA, rAdminAgent, rSales},
	"AssignLicense":           t3LicenseAdmins,
	"RevokeAssignment":        t3LicenseAdmins,
	"ChangeAssignmentPlans":   t3LicenseAdmins,
	"UnassignAll":             t3LicenseAdmins,
	"AssignGroupLicense":      t3LicenseAdmins,
	"RevokeGroupLicense":      t3LicenseAdmins,
	"ReprocessGroupLicenses":  t3LicenseAdmins,
	"RequestLicense":          t3TenantUsers,
	"ApproveRequest":          t3LicenseAdmins,
	"DenyRequest":             t3LicenseAdmins,
	"ShareRequest":            t3LicenseAdmins,
	"ConfigureRequestProcess": t3LicenseAdmins,
	"SetSelfServicePolicy":    t3LicenseAdmins,
	"ExpireRequests":          nil,
	"GET licenses":            t3Readers,
	"GET subscriptions":       t3Readers,
	"GET licenses/selection":  t3Readers,
	"GET requests":            t3Readers,
	"GET own licenses":        append(slices.Clone(t3Readers), rUser, rGuest),
	"GET other's licenses":    t3Readers,
	"GET own history":         {rGA, rLA, rUA, rGR, rAdminAgent, rUser, rGuest},
	"GET other's history":     {rGA, rLA, rUA, rGR, rAdminAgent},
	"GET state":               {rGA, rLA, rUA, rGR, rAdminAgent},
	"GET reports":             {rGA, rLA, rUA, rGR, rAdminAgent},
	"GET events":              {rGA, rGR},
	"GET checkpoint":          {rGA, rGR},
	"GET inclusion proof":     {rGA, rGR},
	"GET consistency proof":   {rGA, rGR},
	// The admin API (U2): the directory as administrators read it; the
	// catalog, the request process and one's own requests for every user.
	"GET users":           t3Readers,
	"GET groups":          t3Readers,
	"GET group members":   t3Readers,
	"GET group errors":    t3Readers,
	"GET product users":   t3Readers,
	"GET catalog":         append(slices.Clone(t3Readers), rUser, rGuest),
	"GET request-process": append(slices.Clone(t3Readers), rUser, rGuest),
	"GET my requests":     append(slices.Clone(t3Readers), rUser, rGuest),
	// Which partners may act in the tenant is for its own administrators.
	"GET partners": {rGA, rLA, rUA, rGR},
}

// guestAssignment is the one action whose answer depends on its subject: a
// license for a guest, which only a Global Administrator assigns (T3).
var guestAssignment = []string{rGA}

// accessor is one principal of the matrix.
type accessor struct {
	label string // who, and through what
	role  string // its entry in t3; "" for those refused everything
	id    string // its principal id, for the routes about oneself
	token string
}

// accessors returns every principal the matrix runs as, the Global
// Administrator last (the guest assignment succeeds for it alone).
func accessors() []accessor {
	as := []accessor{
		{label: rLA, role: rLA, id: "la@contoso", token: tokenFor("la@contoso")},
		{label: rUA, role: rUA, id: "ua@contoso", token: tokenFor("ua@contoso")},
		{label: rGR, role: rGR, id: "reader@contoso", token: tokenFor("reader@contoso")},
		{label: rUser, role: rUser, id: "alice", token: aliceToken},
		{label: rGuest, role: rGuest, id: "gwen", token: tokenFor("gwen")},
		{label: "admin of another tenant", id: "admin@northwind", token: otherAdminTk},
		{label: "no token", id: "anonymous"},
		{label: "unknown token", id: "anonymous", token: "an-unknown-token-0123456789"},
	}
	for _, r := range t3Agents {
		as = append(as,
			accessor{label: r + " with delegation", role: r, id: agentID(r, "fabrikam"), token: tokenFor(agentID(r, "fabrikam"))},
			accessor{label: r + " without delegation", id: agentID(r, "litware"), token: tokenFor(agentID(r, "litware"))})
	}
	return append(as, accessor{label: rGA, role: rGA, id: "admin@contoso", token: adminToken})
}

// agentID names the partner's agent holding the role.
func agentID(role, partner string) string { return strings.ToLower(role) + "@" + partner }

// accessPrincipals are the principals the harness's auth file lacks.
func accessPrincipals() []auth.Entry {
	es := []auth.Entry{
		{ID: "la@contoso", Tenant: tenant, Roles: []string{rLA}, Token: tokenFor("la@contoso")},
		{ID: "ua@contoso", Tenant: tenant, Roles: []string{rUA}, Token: tokenFor("ua@contoso")},
		{ID: "reader@contoso", Tenant: tenant, Roles: []string{rGR}, TokenSHA256: sha256Hex(tokenFor("reader@contoso"))},
		member("gwen", tenant),
	}
	for _, r := range t3Agents {
		for _, partner := range []string{"fabrikam", "litware"} {
			es = append(es, auth.Entry{ID: agentID(r, partner), Partner: partner, Roles: []string{r}, Token: tokenFor(agentID(r, partner))})
		}
	}
	return es
}

// access is one request of the matrix: a command with a minimal body that
// fails after authorization (so that nothing is recorded), or a query.
type access struct {
	action string
	method string
	path   func(a accessor) string // after /v1/tenants/contoso
	body   string
}

// accessCommand is a command of the matrix.
func accessCommand(name, body string) access {
	return access{action: name, method: http.MethodPost, path: func(accessor) string { return "/commands/" + name }, body: body}
}

// accessQuery is a query of the matrix.
func accessQuery(action, path string) access {
	return access{action: action, method: http.MethodGet, path: func(accessor) string { return path }}
}

// accessQueryAbout is a query whose path names the principal sending it.
func accessQueryAbout(action string, path func(a accessor) string) access {
	return access{action: action, method: http.MethodGet, path: path}
}

// accesses is every command and query of the API.
func accessList() []access {
	return []access{
		accessCommand("RegisterUser", `{}`),
		accessCommand("UpdateUser", `{"userId":"nobody"}`),
		accessCommand("RemoveUser", `{"userId":"nobody"}`),
		accessCommand("CreateGroup", `{}`),
		accessCommand("AddGroupMembers", `{"groupId":"nope","userIds":["bob"]}`),
		accessCommand("RemoveGroupMembers", `{"groupId":"nope","userIds":["bob"]}`),
		accessCommand("GrantPartnerDelegation", `{}`),
		accessCommand("RevokePartnerDelegation", `{"partnerId":"nobody"}`),
		accessCommand("PurchaseSubscription", `{}`),
		accessCommand("ChangeSeats", `{"subscriptionId":"nope","seats":3}`),
		accessCommand("ChangeSubscriptionState", `{"subscriptionId":"nope","state":"SUBSCRIPTION_STATE_GRACE"}`),
		accessCommand("TakeOverSubscription", `{"subscriptionId":"nope"}`),
		accessCommand("AssignLicense", `{"productId":"SPB","userIds":["nobody"]}`),
		accessCommand("RevokeAssignment", `{"productId":"SPB","userIds":["nobody"]}`),
		accessCommand("ChangeAssignmentPlans", `{"productId":"SPB","userId":"nobody"}`),
		accessCommand("UnassignAll", `{"userIds":["nobody"]}`),
		accessCommand("AssignGroupLicense", `{"groupId":"nope","productId":"SPB"}`),
		accessCommand("RevokeGroupLicense", `{"groupId":"nope","productId":"SPB"}`),
		accessCommand("ReprocessGroupLicenses", `{"groupId":"nope"}`),
		accessCommand("RequestLicense", `{}`),
		accessCommand("ApproveRequest", `{"requestId":"nope"}`),
		accessCommand("DenyRequest", `{"requestId":"nope"}`),
		accessCommand("ShareRequest", `{"requestId":"nope","recipients":["bob@contoso.com"]}`),
		accessCommand("ConfigureRequestProcess", `{"enabled":true,"message":"x","link":"javascript:alert(1)"}`),
		accessCommand("SetSelfServicePolicy", `{"productId":"NOPE","allowed":true}`),
		accessCommand("ExpireRequests", `{}`),
		accessQuery("GET licenses", "/licenses"),
		accessQuery("GET subscriptions", "/subscriptions"),
		accessQuery("GET licenses/selection", "/licenses/selection?users=bob"),
		accessQuery("GET requests", "/requests"),
		accessQueryAbout("GET own licenses", func(a accessor) string { return "/users/" + a.id + "/licenses" }),
		accessQuery("GET other's licenses", "/users/bob/licenses"),
		accessQueryAbout("GET own history", func(a accessor) string { return "/history?user=" + a.id }),
		accessQuery("GET other's history", "/history?user=bob"),
		accessQuery("GET users", "/users?search=bob"),
		accessQuery("GET groups", "/groups"),
		accessQuery("GET group members", "/groups/nope/members"),
		accessQuery("GET group errors", "/groups/nope/errors"),
		accessQuery("GET product users", "/licenses/SPB/users"),
		accessQuery("GET catalog", "/catalog?limit=2"),
		accessQuery("GET request-process", "/request-process"),
		accessQuery("GET my requests", "/my/requests"),
		accessQuery("GET partners", "/partners"),
		accessQuery("GET state", "/state"),
		accessQuery("GET reports", "/reports/seats"),
		accessQuery("GET events", "/events"),
		accessQuery("GET checkpoint", "/checkpoint"),
		accessQuery("GET inclusion proof", "/proofs/inclusion?event=nope"),
		accessQuery("GET consistency proof", "/proofs/consistency?from=1"),
	}
}

// TestT3_AccessMatrix runs every command and query as every kind of
// principal and checks each answer against t3: allowed is anything but
// 401 and 403 (a 400, 404 or 409 after authorization counts); refused is
// 403 Forbidden naming a role that would do; without a valid token, 401.
// Nothing it sends is recorded.
func TestT3_AccessMatrix(t *testing.T) {
	require.ElementsMatch(t, accessKeys(t3), accessActions(), "t3 states every command and query the matrix sends")
	l := startLedgerd(t, "--auth-file", principalsFile(t, accessPrincipals()...))
	for _, u := range []string{`{"userId":"alice","usageLocation":"US"}`, `{"userId":"bob","usageLocation":"US","email":"bob@contoso.com"}`, `{"userId":"gwen","usageLocation":"US","guest":true}`} {
		l.mustCommand(t, adminToken, tenant, "RegisterUser", u)
	}
	l.mustCommand(t, adminToken, tenant, "PurchaseSubscription", `{"subscriptionId":"s1","productId":"SPB","seats":5}`)
	l.mustCommand(t, adminToken, tenant, "GrantPartnerDelegation", `{"partnerId":"fabrikam","roles":["AdminAgent","HelpdeskAgent","SalesAgent","UserManagementAdmin"]}`)
	before := streamDigest(t, l.NATS)

	var m accessMatrix
	for _, ac := range accessList() {
		for _, a := range accessors() {
			m.check(t, ac.action, a, accessSend(t, l, ac, a), t3[ac.action])
		}
	}
	assert.Equal(t, before, streamDigest(t, l.NATS), "nothing the matrix sent was recorded")
	for _, a := range accessors() {
		r := l.command(t, a.token, tenant, "AssignLicense", `{"productId":"SPB","userIds":["gwen"]}`)
		m.check(t, "AssignLicense to a guest", a, r, guestAssignment)
	}
	m.report(t)
	t.Run("AnonymousMalformedQueries", func(t *testing.T) { anonymousMalformed(t, l) })
}

// anonymousMalformed: a caller without a token learns nothing, not even
// that its query is malformed: every route answers 401 first.
func anonymousMalformed(t *testing.T, l *ledgerd) {
	for _, path := range []string{"/requests?status=bogus", "/history", "/state?asOf=yesterday", "/reports/nope", "/reports/seats?format=xml"} {
		r := accessSend(t, l, accessQuery(path, path), accessor{label: "no token"})
		assert.Equal(t, http.StatusUnauthorized, r.Status, "GET %s without a token: %s", path, r.Raw)
	}
}

// accessSend sends one request of the matrix. Its answer's body is decoded
// only when it is JSON: the export answers NDJSON.
func accessSend(t *testing.T, l *ledgerd, ac access, a accessor) response {
	t.Helper()
	req, err := http.NewRequest(ac.method, l.HTTP+"/v1/tenants/"+tenant+ac.path(a), strings.NewReader(ac.body))
	require.NoError(t, err)
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if ct := resp.Header.Get("Content-Type"); strings.Contains(ct, "json") && !strings.Contains(ct, "ndjson") {
		require.NoError(t, json.Unmarshal(raw, &r.Body), "%s %s: %s", ac.method, ac.path(a), raw)
	}
	return r
}

// accessMatrix collects the cells that differ from t3.
type accessMatrix struct {
	differences []string
	cells       int
}

// check compares one answer with what t3 says of it.
func (m *accessMatrix) check(t *testing.T, action string, a accessor, r response, allowed []string) {
	t.Helper()
	m.cells++
	cell := fmt.Sprintf("%-26s as %-36s", action, a.label)
	got := fmt.Sprintf("%d %s", r.Status, r.Code())
	detail, _ := r.Body["detail"].(string)
	switch {
	case r.Status >= 500:
		t.Errorf("%s: %s: %s", cell, got, r.Raw)
	case a.token == "" || a.label == "unknown token":
		assert.Equal(t, "401 Unauthorized", got, "%s: %s", cell, r.Raw)
	case slices.Contains(allowed, a.role) == (r.Status == http.StatusForbidden || r.Status == http.StatusUnauthorized):
		want := map[bool]string{true: "allowed", false: "refused"}[slices.Contains(allowed, a.role)]
		m.differences = append(m.differences, fmt.Sprintf("%s: T3 says %s, got %s (%s)", cell, want, got, detail))
	case r.Status == http.StatusForbidden:
		assert.Equal(t, "Forbidden", r.Code(), cell)
		assert.True(t, namesARole(detail, allowed, a), "%s: the refusal names a role that would do: %q", cell, detail)
	}
}

// namesARole reports whether a refusal's detail names one of the roles
// that may act, or says why no role would do for this principal.
func namesARole(detail string, allowed []string, a accessor) bool {
	for _, r := range allowed {
		if r != rUser && r != rGuest && strings.Contains(detail, r) {
			return true
		}
	}
	switch {
	case len(allowed) == 0:
		return strings.Contains(detail, "only by the ledger")
	case a.role == "" && !strings.Contains(a.label, "without delegation"):
		return strings.Contains(detail, "cannot act in tenant") // another tenant's principal
	}
	return slices.Equal(allowed, t3TenantUsers) && strings.Contains(detail, "users of tenant")
}

// report fails the test with every difference from t3.
func (m *accessMatrix) report(t *testing.T) {
	t.Logf("%d cells checked", m.cells)
	if len(m.differences) > 0 {
		t.Errorf("%d cells differ from T3:\n%s", len(m.differences), strings.Join(m.differences, "\n"))
	}
}

// accessActions returns the actions of accessList, in order.
func accessActions() []string {
	var names []string
	for _, a := range accessList() {
		names = append(names, a.action)
	}
	return names
}

// accessKeys returns the keys of a table.
func accessKeys(m map[string][]string) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}
