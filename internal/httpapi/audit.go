package httpapi

import (
	"net/http"
	"net/url"
	"strconv"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/service"
)

// auditQuery reads the audit filters from the query string.
func auditQuery(r *http.Request) (service.AuditQuery, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return service.AuditQuery{}, errs.E(errs.Invalid, "audit.list", "malformed query string", err)
	}
	q := service.AuditQuery{
		Actor: v.Get("actor"), Action: v.Get("action"), Target: v.Get("target"),
		Customer: v.Get("customer"), Outcome: v.Get("outcome"),
		From: v.Get("from"), To: v.Get("to"), Cursor: v.Get("cursor"),
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return q, errs.E(errs.Invalid, "audit.list", "limit must be between 1 and 1000", nil)
		}
		q.Limit = n
	}
	return q, nil
}

// listAudit serves one page of the audit log, newest first (admins only;
// the service enforces it).
func (s *server) listAudit(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	q, err := auditQuery(r)
	if err != nil {
		return err
	}
	page, err := s.svc.ListAudit(r.Context(), p, q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

// exportAudit streams every matching row as CSV, as a download. The
// service checks permission (and records the export) before the first
// byte; a failure after that can only end the stream early.
func (s *server) exportAudit(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	q, err := auditQuery(r)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", ContentDisposition("attachment", "tuku-audit.csv"))
	return s.svc.ExportAuditCSV(r.Context(), p, q, w)
}
