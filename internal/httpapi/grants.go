package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

// grantIn is the body of POST /api/v1/grants.
type grantIn struct {
	UserEmail    string `json:"user_email"`
	CustomerID   string `json:"customer_id"` // ID or code
	ProjectID    string `json:"project_id"`  // ID or name; "" = the whole customer
	Level        string `json:"level"`
	Confidential bool   `json:"confidential"`
}

func (s *server) createGrant(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	var in grantIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	level, ok := tuku.ParseLevel(strings.TrimSpace(in.Level))
	if !ok {
		return errs.E(errs.Invalid, "grant.add", "level must be viewer, contributor, editor or manager", nil)
	}
	g, err := s.svc.GrantAccess(r.Context(), p, in.UserEmail, in.CustomerID, in.ProjectID, level, in.Confidential)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/grants/"+g.ID)
	return writeJSON(w, http.StatusCreated, g)
}

// grantQueryParams are the query parameters GET /api/v1/grants takes.
var grantQueryParams = map[string]bool{"user": true, "customer": true}

func (s *server) listGrants(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return errs.E(errs.Invalid, "grant.list", "invalid query string", nil)
	}
	for k, v := range q {
		if !grantQueryParams[k] || len(v) != 1 || len(v[0]) > maxQueryValue {
			return errs.Ef(errs.Invalid, "grant.list", "unknown or repeated query parameter %q (user, customer)", k[:min(len(k), 64)])
		}
	}
	gs, err := s.svc.ListGrants(r.Context(), p, service.GrantQuery{User: q.Get("user"), Customer: q.Get("customer")})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Grants []service.GrantInfo `json:"grants"`
	}{gs})
}

func (s *server) deleteGrant(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	if err := s.svc.RevokeGrant(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
