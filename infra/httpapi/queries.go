package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/licensing-ledger/ledger/domain"
)

// query authorizes a query and runs fn against read models that have caught
// up with this process's last write of the tenant (read your writes).
func (s *Server) query(w http.ResponseWriter, r *http.Request, name, subjectUser string, fn func(tenant string) (any, error)) {
	p, err := s.principal(r)
	if err != nil {
		writeError(w, err)
		return
	}
	tenant := r.PathValue("tenant")
	if err := s.svc.Authorize(r.Context(), tenant, p, name, subjectUser); err != nil {
		writeError(w, err)
		return
	}
	// Read your writes: wait, up to readWait, for the read models to reach
	// this process's last write of the tenant. They usually have already,
	// and then the query needs no deadline nor cancellation.
	seq := s.svc.Sequence(tenant)
	ctx := context.Background()
	if s.projector.Applied(tenant) < seq {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(r.Context(), s.readWait)
		defer cancel()
	}
	var body any
	var qerr error
	if err := s.projector.Read(ctx, tenant, seq, func() { body, qerr = fn(tenant) }); err != nil {
		qerr = domain.Errorf(domain.CodeUnavailable, "the read models are behind the ledger; retry shortly")
	}
	if err := qerr; err != nil {
		writeError(w, err)
		return
	}
	s.writeJSON(w, http.StatusOK, body)
}

func (s *Server) listLicenses(w http.ResponseWriter, r *http.Request) {
	s.query(w, r, domain.QueryLicenses, "", func(tenant string) (any, error) {
		return productsAnswer{Tenant: tenant, Products: s.licenses.Products(tenant)}, nil
	})
}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	s.query(w, r, domain.QueryLicenses, "", func(tenant string) (any, error) {
		return map[string]any{"tenant": tenant, "subscriptions": s.licenses.Subscriptions(tenant)}, nil
	})
}

func (s *Server) listRequests(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	if status != "" && status != "pending" && status != "completed" {
		writeError(w, domain.Errorf(domain.CodeValidationFailed, "status must be pending or completed, not %q", status))
		return
	}
	s.query(w, r, domain.QueryRequests, "", func(tenant string) (any, error) {
		reqs := s.requests.List(tenant, status)
		for i := range reqs {
			reqs[i] = s.named(tenant, reqs[i])
		}
		return requestsAnswer{Tenant: tenant, Requests: reqs}, nil
	})
}

func (s *Server) userLicenses(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	s.query(w, r, domain.QueryUserLicenses, user, func(tenant string) (any, error) {
		v, ok := s.licenses.User(tenant, user)
		if !ok {
			return nil, domain.Errorf(domain.CodeNotFound, "user %q is not in tenant %q", user, tenant)
		}
		return v, nil
	})
}

// licenseSelection answers the Licenses page for a selection of users (A7):
// per product, whether all, some or none of them hold it, and which do. The
// users come as ?users=alice,bob: 1 to 20 distinct users of the tenant, as a
// bulk action takes, so the view is what that action would act on.
func (s *Server) licenseSelection(w http.ResponseWriter, r *http.Request) {
	users, badInput := selectedUsers(r.URL.Query()["users"])
	s.query(w, r, domain.QueryLicenses, "", func(tenant string) (any, error) {
		if badInput != nil {
			return nil, badInput
		}
		if missing := s.licenses.UnknownUsers(tenant, users); len(missing) > 0 {
			return nil, domain.Errorf(domain.CodeNotFound, "%s not in tenant %q", usersAre(missing), tenant)
		}
		sorted := slices.Sorted(slices.Values(users))
		return map[string]any{"tenant": tenant, "users": sorted, "products": s.licenses.Selection(tenant, sorted)}, nil
	})
}

// selectedUsers parses the users of a selection: comma-separated ids, in
// one users parameter or several. It refuses an empty selection, empty or
// overlong ids, duplicates, and more users than a bulk action takes.
func selectedUsers(values []string) ([]string, error) {
	var users []string
	seen := map[string]bool{}
	for _, v := range values {
		for _, id := range strings.Split(v, ",") {
			id = strings.TrimSpace(id)
			switch {
			case id == "":
				return nil, domain.Errorf(domain.CodeValidationFailed, "users holds an empty user id: list ids separated by commas, as in users=alice,bob")
			case len(id) > domain.MaxIDLength:
				return nil, domain.Errorf(domain.CodeValidationFailed, "a user id in users is longer than %d characters", domain.MaxIDLength)
			case seen[id]:
				return nil, domain.Errorf(domain.CodeValidationFailed, "user id %q is listed twice in users", id)
			}
			seen[id] = true
			users = append(users, id)
		}
	}
	if len(users) == 0 {
		return nil, domain.Errorf(domain.CodeValidationFailed, "users is required: list 1 to %d user ids separated by commas, as in users=alice,bob", domain.MaxBulkUsers)
	}
	if len(users) > domain.MaxBulkUsers {
		return nil, domain.Errorf(domain.CodeValidationFailed, "users names %d users; at most %d at a time", len(users), domain.MaxBulkUsers)
	}
	return users, nil
}

// usersAre names missing users in a refusal: `user "zoe" is` or `users
// ["zoe" "yan"] are`.
func usersAre(ids []string) string {
	if len(ids) == 1 {
		return fmt.Sprintf("user %q is", ids[0])
	}
	return fmt.Sprintf("users %q are", ids)
}
