package web

import (
	"net/http"
	"net/url"
	"strings"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

// The asset page: a large preview (zoom on click), previous/next from the
// gallery the user came from (asset.js keeps that list in sessionStorage:
// keyboard arrows and swipes), the metadata, the edit form (description,
// tags, category, sensitivity, project), downloads (original or
// converted) and, for those allowed, the asset's audit history.

// assetData is asset.html's data.
type assetData struct {
	Asset    *tuku.Asset
	Customer *tuku.Customer
	Project  *tuku.Project
	Projects []tuku.Project
	TagText  string // the tags as typed in the form: comma separated
	CanEdit  bool
	CanDown  bool
	History  []tuku.AuditEvent
	// ShowHistory: the user may read the audit log (admins today).
	ShowHistory bool
	Sizes       []string
	// DispW and DispH are the preview's box: the upright size scaled to
	// fit the preview rendition, so the page does not shift as it loads.
	DispW, DispH int
}

// displayBox returns the upright size of a, scaled to fit max.
func displayBox(a *tuku.Asset, box int) (int, int) {
	w, h := a.Width, a.Height
	if a.Orientation != nil && *a.Orientation >= 5 && *a.Orientation <= 8 {
		w, h = h, w
	}
	if w <= 0 || h <= 0 {
		return box, box
	}
	if w > box || h > box {
		if w >= h {
			h, w = max(1, h*box/w), box
		} else {
			w, h = max(1, w*box/h), box
		}
	}
	return w, h
}

func (assetData) Categories() []tuku.Category { return tuku.Categories }
func (assetData) Sensitivities() []string     { return galleryData{}.Sensitivities() }
func (assetData) Formats() []string           { return []string{"jpeg", "webp", "png"} }

func (s *server) assetPage(w http.ResponseWriter, r *http.Request) {
	p, u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	s.showAsset(w, r, &pageData{User: u, P: p}, nil)
}

func (s *server) showAsset(w http.ResponseWriter, r *http.Request, d *pageData, formErr error) {
	ctx := r.Context()
	a, err := s.svc.GetAsset(ctx, d.P, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	c, prs, err := s.customerWithProjects(ctx, d.P, a.CustomerID)
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	s.fill(r, d)
	ad := assetData{Asset: a, Customer: c, Projects: prs, Sizes: service.ConvertSizes()}
	ad.DispW, ad.DispH = displayBox(a, 1280)
	for i := range prs {
		if prs[i].ID == a.ProjectID {
			ad.Project = &prs[i]
		}
	}
	names := make([]string, len(a.Tags))
	for i, t := range a.Tags {
		names[i] = t.Name
	}
	ad.TagText = strings.Join(names, ", ")
	res := authz.Resource{CustomerID: a.CustomerID, ProjectID: a.ProjectID, Sensitivity: a.Sensitivity}
	ad.CanEdit = authz.Check(d.P, authz.EditAsset, res) == nil
	ad.CanDown = authz.Check(d.P, authz.DownloadOriginal, res) == nil
	if d.P.Role == tuku.RoleAdmin && d.P.OnlyCustomerID == "" {
		ad.ShowHistory = true
		if page, err := s.svc.ListAudit(ctx, d.P, service.AuditQuery{Target: a.ID, Limit: 50}); err == nil {
			ad.History = page.Events
		}
	}
	status := http.StatusOK
	if formErr != nil {
		d.Flash = append(d.Flash, Flash{Kind: "error", Text: errs.Message(formErr)})
		status = httpapi400(formErr)
	} else if r.URL.Query().Get("ok") == "saved" {
		d.Flash = append(d.Flash, Flash{Kind: "ok", Text: d.T("asset.saved")})
	}
	d.Data = ad
	d.Title = a.Name
	s.renderStatus(w, r, status, "asset", "layout", d)
}

// assetUpdate saves the edit form. Every field of the form is sent, so
// the change names them all; the service records only what changed.
func (s *server) assetUpdate(w http.ResponseWriter, r *http.Request) {
	p, u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	desc := r.PostFormValue("description")
	tags := splitTags(r.PostFormValue("tags"))
	ch := service.AssetChange{Description: &desc, Tags: &tags}
	if v, ok := r.PostForm["category"]; ok {
		ch.Category = &v[0]
	}
	if v, ok := r.PostForm["sensitivity"]; ok && v[0] != "" {
		ch.Sensitivity = &v[0]
	}
	if v, ok := r.PostForm["project"]; ok {
		ch.Project = &v[0]
	}
	id := r.PathValue("id")
	_, err := s.svc.UpdateAsset(r.Context(), p, id, ch)
	d := &pageData{User: u, P: p}
	if err == nil {
		http.Redirect(w, r, "/assets/"+url.PathEscape(id)+"?ok=saved", http.StatusSeeOther)
		return
	}
	if k := errs.KindOf(err); k == errs.Invalid || k == errs.Conflict {
		s.showAsset(w, r, d, err)
		return
	}
	s.fail(w, r, d, err)
}

// splitTags reads a typed tag list: commas (ASCII or Chinese), semicolons
// or new lines separate tags; spaces inside a tag are kept.
func splitTags(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == '，' || r == ';' || r == '；' || r == '、' || r == '\n' || r == '\r'
	})
	out := make([]string, 0, len(f))
	for _, t := range f {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}
