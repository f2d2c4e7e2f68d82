package web

import (
	"encoding/json"
	"net/http"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/tuku"
)

// The upload page: the form is plain HTML (customer, project, tags,
// description, category, files); upload.js sends each file on its own to
// POST /api/v1/assets with the session cookie, showing its progress and
// its result (imported, duplicate with a link, rejected with the API's
// sentence), several at a time.

// uploadData is upload.html's data.
type uploadData struct {
	Customers []tuku.Customer
	Customer  string // preselected customer ID
	Projects  []tuku.Project
	Project   string // preselected project ID
	MaxBytes  int64
	// ErrorMessages is a JSON object of the page language's words for the
	// API's error codes (upload.js shows them for a rejected file).
	ErrorMessages string
}

// uploadErrorCodes are the error codes an upload can answer with.
var uploadErrorCodes = []errs.Kind{errs.Unsupported, errs.BadImage, errs.TooLarge, errs.Invalid, errs.Permission,
	errs.NotFound, errs.Unauth, errs.RateLimit, errs.Unavailable}

func (uploadData) Categories() []tuku.Category { return tuku.Categories }

// Formats lists what Tuku accepts, for the hint under the drop zone.
func (uploadData) Formats() string { return "JPEG, PNG, WebP, GIF, HEIC, AVIF, TIFF" }

func (s *server) uploadPage(w http.ResponseWriter, r *http.Request) {
	p, u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	d := &pageData{User: u, P: p, Nav: "upload"}
	ctx := r.Context()
	all, err := s.svc.ListCustomers(ctx, p)
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	lim, err := s.svc.UploadLimits(ctx)
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	s.fill(r, d) // the language, for the messages below
	msgs := make(map[string]string, len(uploadErrorCodes))
	for _, c := range uploadErrorCodes {
		msgs[string(c)] = d.T("upload.err." + string(c))
	}
	em, _ := json.Marshal(msgs) // a map of strings always marshals
	ud := uploadData{MaxBytes: lim.MaxBytes, ErrorMessages: string(em)}
	// Offer the customers the user may upload to somewhere (the customer
	// itself or one of its projects); the service decides per file.
	for _, c := range all {
		if mayUploadTo(p, c.ID) {
			ud.Customers = append(ud.Customers, c)
		}
	}
	want := r.URL.Query().Get("customer")
	for _, c := range ud.Customers {
		if c.ID == want || c.Code == want {
			ud.Customer = c.ID
		}
	}
	if ud.Customer == "" && len(ud.Customers) == 1 {
		ud.Customer = ud.Customers[0].ID
	}
	if ud.Customer != "" {
		prs, err := s.svc.ListProjects(ctx, p, ud.Customer)
		if err != nil {
			s.fail(w, r, d, err)
			return
		}
		ud.Projects = prs
		for _, pr := range prs {
			if pr.ID == r.URL.Query().Get("project") {
				ud.Project = pr.ID
			}
		}
	}
	d.Data = ud
	s.fill(r, d)
	d.Title = d.T("upload.title")
	s.render(w, r, "upload", d)
}

// mayUploadTo reports whether p may upload to customer id or to one of
// its projects.
func mayUploadTo(p *authz.Principal, id string) bool {
	if authz.Check(p, authz.UploadAsset, authz.Resource{CustomerID: id}) == nil {
		return true
	}
	for _, g := range p.Grants {
		if g.CustomerID == id && authz.Check(p, authz.UploadAsset, authz.Resource{CustomerID: id, ProjectID: g.ProjectID}) == nil {
			return true
		}
	}
	return false
}
