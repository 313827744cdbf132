package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/projections"
)

// The admin API the console reads (U2): the directory and the catalog as
// paged lists, who the caller is and what they may do, the organization's
// request process, and a stream of the tenant's changes.

// QueryChanges names the stream of a tenant's changes in the permission
// checks: any user of the tenant may follow it, since it says only that
// something changed and what kind of event it was.
const QueryChanges = domain.QueryCatalog

// publicPath reports whether a path is served without a bearer token: the
// health check, the console's pages and assets (which hold no data; the
// console calls the API with the token the user types), and the OpenAPI
// description.
func publicPath(path string) bool {
	return path == "/healthz" || path == "/" || strings.HasPrefix(path, "/console/") || path == "/v1/openapi.json"
}

// listAnswer is a page of a list: its items under the list's name, and the
// cursor of the next page, absent on the last.
type listAnswer map[string]any

// pageOf parses ?cursor=&limit= (1 to 200, 50 by default).
func pageOf(r *http.Request) (projections.Page, error) {
	q := r.URL.Query()
	p := projections.Page{After: q.Get("cursor"), Limit: 50}
	if len(p.After) > domain.MaxIDLength {
		return p, domain.Errorf(domain.CodeValidationFailed, "cursor is longer than %d characters", domain.MaxIDLength)
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > projections.MaxPageSize {
			return p, domain.Errorf(domain.CodeValidationFailed, "limit must be a number from 1 to %d, not %q", projections.MaxPageSize, l)
		}
		p.Limit = n
	}
	return p, nil
}

// searchOf parses ?search=, at most 128 characters.
func searchOf(r *http.Request) (string, error) {
	s := strings.TrimSpace(r.URL.Query().Get("search"))
	if len(s) > domain.MaxIDLength {
		return "", domain.Errorf(domain.CodeValidationFailed, "search is longer than %d characters", domain.MaxIDLength)
	}
	return s, nil
}

func paged(tenant, name string, items any, next string) listAnswer {
	a := listAnswer{"tenant": tenant, name: items}
	if next != "" {
		a["nextCursor"] = next
	}
	return a
}

// directoryQuery runs a query that needs the directory read model.
func (s *Server) directoryQuery(w http.ResponseWriter, r *http.Request, name, subject string, fn func(tenant string) (any, error)) {
	if s.directory == nil {
		writeError(w, domain.Errorf(domain.CodeUnavailable, "this server keeps no directory read model"))
		return
	}
	s.query(w, r, name, subject, fn)
}

// productName names a product from the catalog, "" when unknown.
func (s *Server) productName(id string) string {
	p, _ := s.svc.Catalog().Product(id)
	return p.Name
}

// me answers who the bearer token is: GET /v1/me.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		writeError(w, err)
		return
	}
	roles := make([]string, 0, len(p.Roles))
	for _, role := range p.Roles {
		roles = append(roles, string(role))
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"id": p.ID, "tenant": p.Tenant, "partner": p.Partner, "roles": roles})
}

// permissions answers which commands and queries the caller may send in the
// tenant, so that a page offers only those: GET /v1/tenants/{t}/permissions.
func (s *Server) permissions(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		writeError(w, err)
		return
	}
	tenant := r.PathValue("tenant")
	allowed := []string{}
	var refusal error
	for _, action := range domain.Actions() {
		switch err := s.svc.Authorize(r.Context(), tenant, p, action, ""); {
		case err == nil:
			allowed = append(allowed, action)
		case domain.ErrorCode(err) == domain.CodeForbidden:
			if refusal == nil {
				refusal = err
			}
		default:
			writeError(w, err)
			return
		}
	}
	if len(allowed) == 0 {
		writeError(w, refusal)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"tenant": tenant, "principal": p.ID, "actions": allowed})
}

// listParams reads a list's ?cursor= and ?limit=, and its ?search= where
// the list is searched; it answers a malformed one, and ok is false then.
func listParams(w http.ResponseWriter, r *http.Request, searched bool) (pg projections.Page, search string, ok bool) {
	pg, err := pageOf(r)
	if err == nil && searched {
		search, err = searchOf(r)
	}
	if err != nil {
		writeError(w, err)
		return pg, "", false
	}
	return pg, search, true
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	pg, search, ok := listParams(w, r, true)
	if !ok {
		return
	}
	s.directoryQuery(w, r, domain.QueryUsers, "", func(tenant string) (any, error) {
		users, next := s.directory.Users(tenant, search, pg)
		return paged(tenant, "users", users, next), nil
	})
}

// getUser answers one user of the directory; a user may read their own.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	s.directoryQuery(w, r, domain.QueryUserLicenses, user, func(tenant string) (any, error) {
		u, ok := s.directory.UserEntry(tenant, user)
		if !ok {
			return nil, domain.Errorf(domain.CodeNotFound, "user %q is not in tenant %q", user, tenant)
		}
		return u, nil
	})
}

// groupAnswer is a group with how many of its members are in error.
type groupAnswer struct {
	projections.GroupView
	MembersInError int `json:"membersInError"`
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) {
	pg, search, ok := listParams(w, r, true)
	if !ok {
		return
	}
	s.directoryQuery(w, r, domain.QueryGroups, "", func(tenant string) (any, error) {
		groups, next := s.directory.Groups(tenant, search, pg, s.productName)
		errs := s.licenses.GroupErrorCounts(tenant)
		out := make([]groupAnswer, 0, len(groups))
		for _, g := range groups {
			out = append(out, groupAnswer{GroupView: g, MembersInError: errs[g.GroupID]})
		}
		return paged(tenant, "groups", out, next), nil
	})
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) {
	group := r.PathValue("group")
	s.directoryQuery(w, r, domain.QueryGroups, "", func(tenant string) (any, error) {
		g, ok := s.directory.Group(tenant, group, s.productName)
		if !ok {
			return nil, domain.Errorf(domain.CodeNotFound, "group %q is not in tenant %q", group, tenant)
		}
		return groupAnswer{GroupView: g, MembersInError: s.licenses.GroupErrorCounts(tenant)[group]}, nil
	})
}

func (s *Server) groupMembers(w http.ResponseWriter, r *http.Request) {
	group := r.PathValue("group")
	pg, _, ok := listParams(w, r, false)
	if !ok {
		return
	}
	s.directoryQuery(w, r, domain.QueryGroups, "", func(tenant string) (any, error) {
		members, next, ok := s.directory.Members(tenant, group, pg)
		if !ok {
			return nil, domain.Errorf(domain.CodeNotFound, "group %q is not in tenant %q", group, tenant)
		}
		a := paged(tenant, "members", members, next)
		a["groupId"] = group
		return a, nil
	})
}

// memberErrorAnswer is a member in error with the names a reader sees.
type memberErrorAnswer struct {
	projections.MemberError
	DisplayName string `json:"displayName"`
	ProductName string `json:"productName"`
}

func (s *Server) groupErrors(w http.ResponseWriter, r *http.Request) {
	group := r.PathValue("group")
	pg, _, ok := listParams(w, r, false)
	if !ok {
		return
	}
	s.directoryQuery(w, r, domain.QueryGroups, "", func(tenant string) (any, error) {
		if _, ok := s.directory.Group(tenant, group, s.productName); !ok {
			return nil, domain.Errorf(domain.CodeNotFound, "group %q is not in tenant %q", group, tenant)
		}
		errs, next := s.licenses.GroupErrors(tenant, group, pg)
		out := make([]memberErrorAnswer, 0, len(errs))
		for _, e := range errs {
			out = append(out, memberErrorAnswer{MemberError: e, DisplayName: s.directory.DisplayName(tenant, e.UserID), ProductName: s.productName(e.ProductID)})
		}
		a := paged(tenant, "errors", out, next)
		a["groupId"] = group
		return a, nil
	})
}

// holderAnswer is a product's holder with their display name.
type holderAnswer struct {
	projections.ProductHolder
	DisplayName string `json:"displayName"`
}

// productUsers answers a page of the users holding a product.
func (s *Server) productUsers(w http.ResponseWriter, r *http.Request) {
	product := r.PathValue("product")
	pg, _, ok := listParams(w, r, false)
	if !ok {
		return
	}
	s.directoryQuery(w, r, domain.QueryLicenses, "", func(tenant string) (any, error) {
		if _, ok := s.svc.Catalog().Product(product); !ok {
			return nil, domain.Errorf(domain.CodeNotFound, "product %q is not in the catalog", product)
		}
		holders, next := s.licenses.ProductUsers(tenant, product, pg)
		out := make([]holderAnswer, 0, len(holders))
		for _, h := range holders {
			out = append(out, holderAnswer{ProductHolder: h, DisplayName: s.directory.DisplayName(tenant, h.UserID)})
		}
		a := paged(tenant, "users", out, next)
		a["productId"], a["name"] = product, s.productName(product)
		return a, nil
	})
}

// catalogProduct is one product of the catalog with its plans named, and
// per plan the plans it excludes and requires.
type catalogProduct struct {
	catalog.Product
	Plans []catalogPlan `json:"plans"`
}

type catalogPlan struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	ExclusiveWith []string `json:"exclusiveWith"`
	Requires      []string `json:"requires"`
}

func (s *Server) listCatalog(w http.ResponseWriter, r *http.Request) {
	pg, search, ok := listParams(w, r, true)
	if !ok {
		return
	}
	cat := s.svc.Catalog()
	s.query(w, r, domain.QueryCatalog, "", func(tenant string) (any, error) {
		var ids []string
		byID := map[string]catalog.Product{}
		for _, p := range cat.Products() {
			if search == "" || containsFold(search, p.ID, p.Name, p.Publisher) {
				ids = append(ids, p.ID)
				byID[p.ID] = p
			}
		}
		ids, next := pageIDs(ids, pg)
		out := make([]catalogProduct, 0, len(ids))
		for _, id := range ids {
			p := byID[id]
			cp := catalogProduct{Product: p, Plans: make([]catalogPlan, 0, len(p.ServicePlans))}
			for _, plan := range p.ServicePlans {
				sp, _ := cat.Plan(plan)
				cp.Plans = append(cp.Plans, catalogPlan{ID: plan, Name: sp.Name, ExclusiveWith: nonNil(cat.ExclusiveWith(plan)), Requires: nonNil(cat.Requires(plan))})
			}
			out = append(out, cp)
		}
		return paged(tenant, "products", out, next), nil
	})
}

// pageIDs cuts sorted ids to a page, as the read models do.
func pageIDs(ids []string, p projections.Page) ([]string, string) {
	start, _ := slices.BinarySearch(ids, p.After)
	if p.After != "" && start < len(ids) && ids[start] == p.After {
		start++
	}
	ids = ids[start:]
	if len(ids) <= p.Limit {
		return ids, ""
	}
	return ids[:p.Limit], ids[p.Limit-1]
}

func containsFold(search string, fields ...string) bool {
	search = strings.ToLower(search)
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), search) {
			return true
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// partnerAnswer is a partner's relationship, and whether it still holds.
type partnerAnswer struct {
	projections.PartnerView
	Active bool `json:"active"`
}

// listPartners answers the partners' relationships with the tenant (T3).
func (s *Server) listPartners(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	s.directoryQuery(w, r, domain.QueryPartners, "", func(tenant string) (any, error) {
		out := []partnerAnswer{}
		for _, p := range s.directory.Partners(tenant) {
			out = append(out, partnerAnswer{PartnerView: p, Active: p.ExpiresAt.IsZero() || now.Before(p.ExpiresAt)})
		}
		return map[string]any{"tenant": tenant, "partners": out}, nil
	})
}

// requestProcess answers the organization's own request process (Q4).
func (s *Server) requestProcess(w http.ResponseWriter, r *http.Request) {
	s.query(w, r, domain.QueryProcess, "", func(tenant string) (any, error) {
		p := s.requests.Process(tenant)
		return map[string]any{"tenant": tenant, "enabled": p.Enabled, "message": p.Message, "link": p.Link}, nil
	})
}

// myRequests answers the requests the caller made or is named in, as a
// plain user sees them: GET /v1/tenants/{t}/my/requests.
func (s *Server) myRequests(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		writeError(w, err)
		return
	}
	s.query(w, r, domain.QueryUserLicenses, p.ID, func(tenant string) (any, error) {
		mine := []projections.RequestView{}
		for _, req := range s.requests.List(tenant, "") {
			if req.RequesterID == p.ID || slices.Contains(req.UserIDs, p.ID) {
				mine = append(mine, s.named(tenant, req))
			}
		}
		return requestsAnswer{Tenant: tenant, Requests: mine}, nil
	})
}

// named fills the names a reader sees beside a request's ids.
func (s *Server) named(tenant string, r projections.RequestView) projections.RequestView {
	if s.directory == nil {
		r.ProductName = s.productName(r.ProductID)
		return r
	}
	return s.directory.Named(tenant, r, s.productName(r.ProductID))
}

// changes streams the tenant's changes as server-sent events, one
// `change` event per ledger event once the read models hold it, so that a
// page reloads what it shows (U1): GET /v1/tenants/{t}/changes. Browsers
// read it with fetch, which sends the bearer token (EventSource cannot).
func (s *Server) changes(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		writeError(w, err)
		return
	}
	tenant := r.PathValue("tenant")
	if err := s.svc.Authorize(r.Context(), tenant, p, QueryChanges, ""); err != nil {
		writeError(w, err)
		return
	}
	if s.feed == nil {
		writeError(w, domain.Errorf(domain.CodeUnavailable, "this server streams no changes"))
		return
	}
	ch, stop := s.feed.Listen(tenant)
	defer stop()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(chunk string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := w.Write([]byte(chunk)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(": listening\n\n") {
		return
	}
	heartbeat := time.NewTicker(20 * time.Second)
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done: // nil when not set: never ready
			return
		case <-heartbeat.C:
			if !write(": still here\n\n") {
				return
			}
		case c := <-ch:
			msg := "event: change\nid: " + strconv.FormatUint(c.Sequence, 10) + "\ndata: {\"sequence\":" + strconv.FormatUint(c.Sequence, 10) + ",\"type\":\"" + c.Type + "\"}\n\n"
			if !write(msg) {
				return
			}
		}
	}
}

// adminRoutes adds the admin API's routes and, if given, the console.
func (s *Server) adminRoutes(mux *http.ServeMux, console http.Handler) {
	mux.HandleFunc("GET /v1/me", s.me)
	mux.HandleFunc("GET /v1/openapi.json", serveOpenAPI)
	mux.HandleFunc("GET /v1/tenants/{tenant}/permissions", s.permissions)
	mux.HandleFunc("GET /v1/tenants/{tenant}/users", s.listUsers)
	mux.HandleFunc("GET /v1/tenants/{tenant}/users/{user}", s.getUser)
	mux.HandleFunc("GET /v1/tenants/{tenant}/groups", s.listGroups)
	mux.HandleFunc("GET /v1/tenants/{tenant}/groups/{group}", s.getGroup)
	mux.HandleFunc("GET /v1/tenants/{tenant}/groups/{group}/members", s.groupMembers)
	mux.HandleFunc("GET /v1/tenants/{tenant}/groups/{group}/errors", s.groupErrors)
	mux.HandleFunc("GET /v1/tenants/{tenant}/catalog", s.listCatalog)
	mux.HandleFunc("GET /v1/tenants/{tenant}/licenses/{product}/users", s.productUsers)
	mux.HandleFunc("GET /v1/tenants/{tenant}/request-process", s.requestProcess)
	mux.HandleFunc("GET /v1/tenants/{tenant}/my/requests", s.myRequests)
	mux.HandleFunc("GET /v1/tenants/{tenant}/changes", s.changes)
	mux.HandleFunc("GET /v1/tenants/{tenant}/partners", s.listPartners)
	if console != nil {
		mux.Handle("GET /{$}", console)
		mux.Handle("GET /console/", console)
	}
}
