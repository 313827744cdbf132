package httpapi

import (
	"context"
	"net/http"

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
	ctx, cancel := context.WithTimeout(r.Context(), s.readWait)
	defer cancel()
	var body any
	var qerr error
	if err := s.projector.Read(ctx, tenant, s.svc.Sequence(tenant), func() { body, qerr = fn(tenant) }); err != nil {
		qerr = domain.Errorf(domain.CodeUnavailable, "the read models are behind the ledger; retry shortly")
	}
	if err := qerr; err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) listLicenses(w http.ResponseWriter, r *http.Request) {
	s.query(w, r, domain.QueryLicenses, "", func(tenant string) (any, error) {
		return map[string]any{"tenant": tenant, "products": s.licenses.Products(tenant)}, nil
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
		return map[string]any{"tenant": tenant, "requests": s.requests.List(tenant, status)}, nil
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
