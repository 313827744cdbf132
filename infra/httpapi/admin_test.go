package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/audit/audittest"
)

// adminAPI is the real API over an empty tenant, driven over HTTP.
type adminAPI struct {
	t   *testing.T
	url string
	c   *http.Client
}

func newAdminAPI(t *testing.T) *adminAPI {
	store := audittest.NewMemStore()
	iss, _ := audittest.StartIssuer(t, store)
	srv := audittest.ServeSigned(t, audittest.NewService(store), store, store, iss)
	return &adminAPI{t: t, url: srv.URL, c: srv.Client()}
}

// do sends a request and decodes the JSON answer into a map.
func (a *adminAPI) do(method, token, path, body string) (int, map[string]any) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, strings.NewReader(body))
	require.NoError(a.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.c.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	var out map[string]any
	if len(data) > 0 {
		require.NoError(a.t, json.Unmarshal(data, &out), "%s", data)
	}
	return resp.StatusCode, out
}

func (a *adminAPI) cmd(token, name, body string) map[string]any {
	a.t.Helper()
	status, out := a.do(http.MethodPost, token, "/v1/tenants/contoso/commands/"+name, body)
	require.Equal(a.t, http.StatusOK, status, "%s %s: %v", name, body, out)
	return out
}

func (a *adminAPI) get(token, path string) map[string]any {
	a.t.Helper()
	status, out := a.do(http.MethodGet, token, path, "")
	require.Equal(a.t, http.StatusOK, status, "GET %s: %v", path, out)
	return out
}

// ids returns the values of field in a list of objects.
func ids(list any, field string) []string {
	out := []string{}
	for _, x := range list.([]any) {
		out = append(out, x.(map[string]any)[field].(string))
	}
	return out
}

func TestUsersListPagesAndSearches(t *testing.T) {
	a := newAdminAPI(t)
	for i := range 12 {
		a.cmd(adminToken, "RegisterUser", fmt.Sprintf(`{"userId":"u%02d","displayName":"User %d","email":"u%d@contoso.com","usageLocation":"FR"}`, i, i, i))
	}
	a.cmd(adminToken, "RegisterUser", `{"userId":"alice","displayName":"Alice Martin","email":"alice@contoso.com","usageLocation":"US"}`)

	var seen []string
	path := "/v1/tenants/contoso/users?limit=5"
	for range 4 {
		page := a.get(adminToken, path)
		seen = append(seen, ids(page["users"], "userId")...)
		next, ok := page["nextCursor"].(string)
		if !ok {
			break
		}
		path = "/v1/tenants/contoso/users?limit=5&cursor=" + next
	}
	assert.Len(t, seen, 13)
	assert.Equal(t, "alice", seen[0])

	found := a.get(adminToken, "/v1/tenants/contoso/users?search=MARTIN")
	assert.Equal(t, []string{"alice"}, ids(found["users"], "userId"))
	assert.Equal(t, "alice@contoso.com", found["users"].([]any)[0].(map[string]any)["email"])
	assert.Equal(t, []string{"u03"}, ids(a.get(adminToken, "/v1/tenants/contoso/users?search=u3@")["users"], "userId"))
	assert.Equal(t, "Alice Martin", a.get(aliceToken, "/v1/tenants/contoso/users/alice")["displayName"], "a user reads their own entry")

	for _, bad := range []string{"limit=0", "limit=201", "limit=x"} {
		status, p := a.do(http.MethodGet, adminToken, "/v1/tenants/contoso/users?"+bad, "")
		assert.Equal(t, http.StatusBadRequest, status, bad)
		assert.Equal(t, "ValidationFailed", p["code"])
	}
	status, p := a.do(http.MethodGet, aliceToken, "/v1/tenants/contoso/users", "")
	assert.Equal(t, http.StatusForbidden, status)
	assert.Contains(t, p["detail"], "LicenseAdministrator")
}

func TestGroupsMembersAndMembersInError(t *testing.T) {
	a := newAdminAPI(t)
	for _, u := range []string{"alice", "bob", "carol"} {
		a.cmd(adminToken, "RegisterUser", fmt.Sprintf(`{"userId":%q,"displayName":"%s D.","usageLocation":"US"}`, u, strings.ToUpper(u[:1])+u[1:]))
	}
	a.cmd(adminToken, "PurchaseSubscription", `{"subscriptionId":"s1","productId":"POWER_BI_PRO","seats":1}`)
	a.cmd(adminToken, "CreateGroup", `{"groupId":"sales","name":"Sales"}`)
	a.cmd(adminToken, "CreateGroup", `{"groupId":"hr","name":"Human resources"}`)
	a.cmd(adminToken, "AddGroupMembers", `{"groupId":"sales","userIds":["alice","bob","carol"]}`)
	a.cmd(adminToken, "AssignGroupLicense", `{"groupId":"sales","productId":"POWER_BI_PRO"}`)

	groups := a.get(licAdmToken, "/v1/tenants/contoso/groups")
	assert.Equal(t, []string{"hr", "sales"}, ids(groups["groups"], "groupId"))
	sales := groups["groups"].([]any)[1].(map[string]any)
	assert.EqualValues(t, 3, sales["memberCount"])
	assert.EqualValues(t, 2, sales["membersInError"])
	assert.Equal(t, "Power BI Pro", sales["products"].([]any)[0].(map[string]any)["name"])
	assert.Equal(t, []string{"hr"}, ids(a.get(adminToken, "/v1/tenants/contoso/groups?search=resources")["groups"], "groupId"))

	members := a.get(adminToken, "/v1/tenants/contoso/groups/sales/members?limit=2")
	assert.Equal(t, []string{"alice", "bob"}, ids(members["members"], "userId"))
	assert.Equal(t, []string{"Alice D.", "Bob D."}, ids(members["members"], "displayName"))
	assert.Equal(t, "bob", members["nextCursor"])
	assert.Equal(t, []string{"carol"}, ids(a.get(adminToken, "/v1/tenants/contoso/groups/sales/members?limit=2&cursor=bob")["members"], "userId"))

	errs := a.get(adminToken, "/v1/tenants/contoso/groups/sales/errors")
	assert.Equal(t, []string{"bob", "carol"}, ids(errs["errors"], "userId"))
	assert.Equal(t, []string{"CountViolation", "CountViolation"}, ids(errs["errors"], "code"))
	assert.Equal(t, []string{"Bob D.", "Carol D."}, ids(errs["errors"], "displayName"))
	assert.Equal(t, []string{"Power BI Pro", "Power BI Pro"}, ids(errs["errors"], "productName"))

	// Seats bought, the group reprocessed: no one is in error.
	a.cmd(adminToken, "ChangeSeats", `{"subscriptionId":"s1","seats":3}`)
	a.cmd(adminToken, "ReprocessGroupLicenses", `{"groupId":"sales"}`)
	assert.Empty(t, a.get(adminToken, "/v1/tenants/contoso/groups/sales/errors")["errors"])

	status, p := a.do(http.MethodGet, adminToken, "/v1/tenants/contoso/groups/nope/members", "")
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, "NotFound", p["code"])
}

func TestCatalogListsProductsWithPlansExclusionsAndDependencies(t *testing.T) {
	a := newAdminAPI(t)
	a.cmd(adminToken, "RegisterUser", `{"userId":"alice","usageLocation":"US"}`)
	all := a.get(aliceToken, "/v1/tenants/contoso/catalog?limit=200") // any user reads it, to request licenses
	products := all["products"].([]any)
	require.NotEmpty(t, products)
	byID := map[string]map[string]any{}
	for _, p := range products {
		byID[p.(map[string]any)["id"].(string)] = p.(map[string]any)
	}
	spb := byID["SPB"]
	require.NotNil(t, spb)
	assert.Equal(t, "Microsoft 365 Business Premium", spb["name"])
	assert.Equal(t, "Microsoft", spb["publisher"])
	assert.NotEmpty(t, spb["plans"])
	exclusive := false
	for _, p := range products {
		for _, plan := range p.(map[string]any)["plans"].([]any) {
			if len(plan.(map[string]any)["exclusiveWith"].([]any)) > 0 {
				exclusive = true
			}
		}
	}
	assert.True(t, exclusive, "some plan names the plans it excludes")

	first := a.get(adminToken, "/v1/tenants/contoso/catalog?limit=2")
	assert.Len(t, first["products"], 2)
	second := a.get(adminToken, "/v1/tenants/contoso/catalog?limit=2&cursor="+first["nextCursor"].(string))
	assert.NotEqual(t, ids(first["products"], "id"), ids(second["products"], "id"))
	assert.Equal(t, []string{"VISIOCLIENT"}, ids(a.get(adminToken, "/v1/tenants/contoso/catalog?search=visio")["products"], "id"))
}

func TestRequestsCarryNamesShareOnceAndTheProcessReads(t *testing.T) {
	a := newAdminAPI(t)
	a.cmd(adminToken, "RegisterUser", `{"userId":"alice","displayName":"Alice Martin","email":"alice@contoso.com","usageLocation":"US"}`)
	a.cmd(adminToken, "RegisterUser", `{"userId":"bob","displayName":"Bob Durand","email":"bob@contoso.com","usageLocation":"US"}`)
	a.cmd(adminToken, "RegisterUser", `{"userId":"cfo","displayName":"Chief Financial Officer","email":"cfo@contoso.com","usageLocation":"US"}`)
	a.cmd(aliceToken, "RequestLicense", `{"requestId":"r1","productId":"VISIOCLIENT","userIds":["bob"],"message":"floor plans"}`)
	a.cmd(adminToken, "ShareRequest", `{"requestId":"r1","recipients":["cfo@contoso.com"]}`)
	a.cmd(adminToken, "ShareRequest", `{"requestId":"r1","recipients":["cfo@contoso.com","bob@contoso.com"]}`)

	list := a.get(adminToken, "/v1/tenants/contoso/requests?status=pending")["requests"].([]any)
	require.Len(t, list, 1)
	r := list[0].(map[string]any)
	assert.Equal(t, "Visio Plan 2", r["productName"])
	assert.Equal(t, []any{"cfo", "bob"}, r["sharedWith"], "shared twice with the CFO: listed once")
	names := map[string]string{}
	for _, p := range r["people"].([]any) {
		names[p.(map[string]any)["userId"].(string)] = p.(map[string]any)["displayName"].(string)
	}
	assert.Equal(t, map[string]string{"alice": "Alice Martin", "bob": "Bob Durand", "cfo": "Chief Financial Officer"}, names)

	mine := a.get(aliceToken, "/v1/tenants/contoso/my/requests")["requests"].([]any)
	require.Len(t, mine, 1)
	assert.Equal(t, "Visio Plan 2", mine[0].(map[string]any)["productName"])

	assert.Equal(t, false, a.get(aliceToken, "/v1/tenants/contoso/request-process")["enabled"])
	a.cmd(adminToken, "ConfigureRequestProcess", `{"enabled":true,"message":"Use the IT portal","link":"https://it.contoso.com/licenses"}`)
	process := a.get(adminToken, "/v1/tenants/contoso/request-process")
	assert.Equal(t, map[string]any{"tenant": "contoso", "enabled": true, "message": "Use the IT portal", "link": "https://it.contoso.com/licenses"}, process)
}

func TestSelectionListsTheUsersSorted(t *testing.T) {
	a := newAdminAPI(t)
	for _, u := range []string{"carol", "alice", "bob"} {
		a.cmd(adminToken, "RegisterUser", fmt.Sprintf(`{"userId":%q,"usageLocation":"US"}`, u))
	}
	sel := a.get(adminToken, "/v1/tenants/contoso/licenses/selection?users=carol,alice,bob")
	assert.Equal(t, []any{"alice", "bob", "carol"}, sel["users"])
}

func TestMeAndPermissionsSayWhatThePrincipalMayDo(t *testing.T) {
	a := newAdminAPI(t)
	a.cmd(adminToken, "RegisterUser", `{"userId":"alice","usageLocation":"US"}`)
	me := a.get(licAdmToken, "/v1/me")
	assert.Equal(t, map[string]any{"id": "licadm@contoso", "tenant": "contoso", "partner": "", "roles": []any{"LicenseAdministrator"}}, me)

	actions := func(token string) []any {
		return a.get(token, "/v1/tenants/contoso/permissions")["actions"].([]any)
	}
	lic := actions(licAdmToken)
	assert.Contains(t, lic, "AssignLicense")
	assert.Contains(t, lic, "ApproveRequest")
	assert.NotContains(t, lic, "PurchaseSubscription")
	assert.NotContains(t, lic, "ExpireRequests")
	user := actions(aliceToken)
	assert.Contains(t, user, "RequestLicense")
	assert.NotContains(t, user, "AssignLicense")
	assert.NotContains(t, user, "ListLicenses")
	reader := actions(readerToken)
	assert.Contains(t, reader, "ListReports")
	assert.NotContains(t, reader, "AssignLicense")

	status, p := a.do(http.MethodGet, partnerToken, "/v1/tenants/contoso/permissions", "")
	assert.Equal(t, http.StatusForbidden, status, "a partner without delegation may do nothing: %v", p)
	status, _ = a.do(http.MethodGet, "", "/v1/me", "")
	assert.Equal(t, http.StatusUnauthorized, status)
}

func TestChangesStreamTheTenantsEvents(t *testing.T) {
	a := newAdminAPI(t)
	a.cmd(adminToken, "RegisterUser", `{"userId":"alice","usageLocation":"US"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url+"/v1/tenants/contoso/changes", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+aliceToken)
	resp, err := a.c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	lines := bufio.NewScanner(resp.Body)
	require.True(t, lines.Scan()) // the stream is open: the listener is registered
	a.cmd(adminToken, "CreateGroup", `{"groupId":"sales","name":"Sales"}`)
	// The read models here follow the store's subscription, so the first
	// event may reach them, and the stream, after the stream opened.
	var data string
	for data != `{"sequence":2,"type":"GroupCreated"}` && lines.Scan() {
		if d, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
			require.Contains(t, []string{`{"sequence":1,"type":"UserRegistered"}`, `{"sequence":2,"type":"GroupCreated"}`}, d)
			data = d
		}
	}
	assert.JSONEq(t, `{"sequence":2,"type":"GroupCreated"}`, data)

	status, _ := a.do(http.MethodGet, "", "/v1/tenants/contoso/changes", "")
	assert.Equal(t, http.StatusUnauthorized, status)
}

func TestProductUsersListsWhoHoldsItAndHow(t *testing.T) {
	a := newAdminAPI(t)
	for _, u := range []string{"alice", "bob", "carol"} {
		a.cmd(adminToken, "RegisterUser", fmt.Sprintf(`{"userId":%q,"displayName":"%s","usageLocation":"US"}`, u, strings.ToUpper(u)))
	}
	a.cmd(adminToken, "PurchaseSubscription", `{"subscriptionId":"s1","productId":"SPB","seats":5}`)
	a.cmd(adminToken, "PurchaseSubscription", `{"subscriptionId":"s2","productId":"SPB","seats":8}`)
	a.cmd(adminToken, "AssignLicense", `{"productId":"SPB","userIds":["carol","alice"],"disabledPlans":["SWAY"]}`)
	a.cmd(adminToken, "CreateGroup", `{"groupId":"sales","name":"Sales"}`)
	a.cmd(adminToken, "AddGroupMembers", `{"groupId":"sales","userIds":["bob"]}`)
	a.cmd(adminToken, "AssignGroupLicense", `{"groupId":"sales","productId":"SPB"}`)
	got := a.get(licAdmToken, "/v1/tenants/contoso/licenses/SPB/users")
	assert.Equal(t, "Microsoft 365 Business Premium", got["name"])
	users := got["users"].([]any)
	assert.Equal(t, []string{"alice", "bob", "carol"}, ids(users, "userId"))
	assert.Equal(t, []string{"ALICE", "BOB", "CAROL"}, ids(users, "displayName"))
	assert.Equal(t, []any{"SWAY"}, users[0].(map[string]any)["disabledPlans"])
	assert.Equal(t, []any{"sales"}, users[1].(map[string]any)["groups"])
	assert.Equal(t, false, users[1].(map[string]any)["direct"])
	lic := a.get(adminToken, "/v1/tenants/contoso/licenses")["products"].([]any)[0].(map[string]any)
	assert.EqualValues(t, 13, lic["total"])
	assert.EqualValues(t, 3, lic["assigned"])
	status, _ := a.do(http.MethodGet, adminToken, "/v1/tenants/contoso/licenses/NOPE/users", "")
	assert.Equal(t, http.StatusNotFound, status)
}

func TestPartnersListsRelationshipsWithTheirEnd(t *testing.T) {
	a := newAdminAPI(t)
	a.cmd(adminToken, "GrantPartnerDelegation", `{"partnerId":"fabrikam","roles":["LicenseAdministrator","AdminAgent"],"durationDays":30}`)
	a.cmd(adminToken, "GrantPartnerDelegation", `{"partnerId":"litware","roles":["HelpdeskAgent"]}`)
	a.cmd(adminToken, "GrantPartnerDelegation", `{"partnerId":"adatum","roles":["GlobalReader"],"durationDays":1}`)
	a.cmd(adminToken, "RevokePartnerDelegation", `{"partnerId":"adatum"}`)
	partners := a.get(readerToken, "/v1/tenants/contoso/partners")["partners"].([]any)
	assert.Equal(t, []string{"fabrikam", "litware"}, ids(partners, "partnerId"))
	fab, lit := partners[0].(map[string]any), partners[1].(map[string]any)
	assert.Equal(t, []any{"LicenseAdministrator", "AdminAgent"}, fab["roles"])
	assert.Equal(t, true, fab["active"])
	granted, err := time.Parse(time.RFC3339, fab["grantedAt"].(string))
	require.NoError(t, err)
	ends, err := time.Parse(time.RFC3339, fab["expiresAt"].(string))
	require.NoError(t, err)
	assert.Equal(t, 30*24*time.Hour, ends.Sub(granted).Round(time.Hour))
	assert.NotContains(t, lit, "expiresAt", "a legacy relationship has no end")
	status, _ := a.do(http.MethodGet, partnerToken, "/v1/tenants/contoso/partners", "")
	assert.Equal(t, http.StatusForbidden, status, "a partner's agent does not list the tenant's partners")
}
