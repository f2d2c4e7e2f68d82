package web

import (
	"net/http"
	"net/url"
	"strings"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/httpapi"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

// Owned by the WEB-GALLERY engineer: customers, galleries, search, upload,
// asset detail.
//
// A gallery is one page of ListAssets as a dense grid of square tiles
// (fixed boxes, so nothing moves while thumbnails load), with the filters
// as a GET form whose values are the listing's query, and the next page
// fetched as an HTML fragment by gallery.js as the user scrolls. The same
// template serves a customer, a project and search results.

func (s *server) routesGallery() {
	m := s.mux
	m.HandleFunc("GET /customers", s.customersPage)
	m.HandleFunc("POST /customers", s.customerCreate)
	m.HandleFunc("GET /customers/{id}", s.customerPage)
	m.HandleFunc("POST /customers/{id}", s.customerUpdate)
	m.HandleFunc("POST /customers/{id}/projects", s.projectCreate)
	m.HandleFunc("GET /customers/{id}/projects/{pid}", s.projectPage)
	m.HandleFunc("GET /search", s.searchPage)
	m.HandleFunc("GET /gallery/more", s.galleryMore)
	m.HandleFunc("POST /download.zip", s.downloadZip)
	m.HandleFunc("GET /upload", s.uploadPage)
	m.HandleFunc("GET /assets/{id}", s.assetPage)
	m.HandleFunc("POST /assets/{id}", s.assetUpdate)
}

// galleryPageSize is how many tiles one page (and one scroll step) holds:
// a few screens of a dense grid, small enough to render in milliseconds.
const galleryPageSize = 120

// galleryFilter are a gallery's filters as they appear in its URL.
type galleryFilter struct {
	Q, Customer, Project, Tag, Category, Status, Sensitivity, From, To string
	// Sort is "" (newest upload first) or "taken" (newest capture first).
	Sort string
	// Review is "1" for only what the user may review (the home page's
	// "waiting for you").
	Review string
}

// filterKeys are the query names of galleryFilter, in URL order.
var filterKeys = []string{"q", "customer", "project", "tag", "category", "status", "sensitivity", "from", "to", "sort", "review"}

func readFilter(q url.Values) galleryFilter {
	g := func(k string) string {
		v := strings.TrimSpace(q.Get(k))
		if len(v) > 200 {
			v = v[:200]
		}
		return v
	}
	return galleryFilter{Q: g("q"), Customer: g("customer"), Project: g("project"), Tag: g("tag"), Category: g("category"),
		Status: g("status"), Sensitivity: g("sensitivity"), From: g("from"), To: g("to"), Sort: g("sort"), Review: g("review")}
}

// values is the filter as a query (empty values left out).
func (f galleryFilter) values() url.Values {
	v := url.Values{}
	for i, x := range []string{f.Q, f.Customer, f.Project, f.Tag, f.Category, f.Status, f.Sensitivity, f.From, f.To, f.Sort, f.Review} {
		if x != "" {
			v.Set(filterKeys[i], x)
		}
	}
	return v
}

// Active reports whether any filter beyond the gallery's own scope is set.
func (f galleryFilter) Active() bool {
	return f.Q != "" || f.Tag != "" || f.Category != "" || f.Status != "" || f.Sensitivity != "" || f.From != "" || f.To != "" || f.Review != ""
}

func (f galleryFilter) query(cursor string) service.AssetQuery {
	return service.AssetQuery{Q: f.Q, Customer: f.Customer, Project: f.Project, Tag: f.Tag, Category: f.Category,
		Status: f.Status, Sensitivity: f.Sensitivity, From: f.From, To: f.To, Cursor: cursor, Limit: galleryPageSize, Sort: f.Sort,
		Reviewable: f.Review == "1"}
}

// galleryData is what gallery.html shows.
type galleryData struct {
	Kind     string // "customer", "project" or "search"
	Customer *tuku.Customer
	Project  *tuku.Project
	// Projects of the customer (filters, bulk move) and customers (the
	// search page's customer filter).
	Projects  []tuku.Project
	Customers []tuku.Customer
	Filter    galleryFilter
	Assets    []tuku.Asset
	// More is the URL of the next page's fragment ("" at the end);
	// MorePage the same page as a whole page, for browsers without
	// script.
	More, MorePage string
	// Problem is a filter the service refused (a bad date), in its words.
	Problem string
	// CanEdit shows the bulk edit actions (the service checks each asset).
	CanEdit bool
	// CanUpload links to the upload page for this customer/project.
	CanUpload bool
	// Names maps customer IDs to names, for tiles in search results.
	Names map[string]string
	// Searched is true on the search page once a query or filter is given.
	Searched bool
}

// Lists of the enumerations, for the filter and bulk selects.
func (galleryData) Categories() []tuku.Category { return tuku.Categories }
func (galleryData) Sensitivities() []string {
	return []string{"public", "internal", "confidential", "restricted"}
}
func (galleryData) Statuses() []string {
	return []string{"active", "pending", "approved", "rejected", "trashed"}
}

// fillGallery lists the first page of f into gd. A filter the service
// refuses as invalid becomes gd.Problem (the page still renders, with the
// filters to fix it); any other error is returned.
func (s *server) fillGallery(r *http.Request, p *authz.Principal, gd *galleryData) error {
	page, err := s.svc.ListAssets(r.Context(), p, gd.Filter.query(r.URL.Query().Get("cursor")))
	if errs.KindOf(err) == errs.Invalid {
		gd.Problem = errs.Message(err)
		gd.Assets = []tuku.Asset{}
		return nil
	}
	if err != nil {
		return err
	}
	gd.Assets = page.Assets
	gd.More = moreURL(gd.Filter, page.NextCursor)
	if page.NextCursor != "" {
		v := r.URL.Query()
		v.Set("cursor", page.NextCursor)
		gd.MorePage = r.URL.Path + "?" + v.Encode()
	}
	return nil
}

func moreURL(f galleryFilter, cursor string) string {
	if cursor == "" {
		return ""
	}
	v := f.values()
	v.Set("cursor", cursor)
	return "/gallery/more?" + v.Encode()
}

// galleryMore answers the next page of a gallery as a fragment of tiles
// followed by the marker of the page after it.
func (s *server) galleryMore(w http.ResponseWriter, r *http.Request) {
	p, u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := readFilter(q)
	cursor := q.Get("cursor")
	page, err := s.svc.ListAssets(r.Context(), p, f.query(cursor))
	if err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		http.Error(w, errs.Message(err), httpapi.Status(err))
		return
	}
	gd := galleryData{Filter: f, Assets: page.Assets, More: moreURL(f, page.NextCursor), Names: s.customerNames(r, p, f)}
	s.renderPart(w, r, "gallery", "g-more-fragment", &pageData{User: u, P: p, Data: gd})
}

// customerNames maps customer IDs to names when a gallery spans customers
// (search), so tiles can say whose image it is.
func (s *server) customerNames(r *http.Request, p *authz.Principal, f galleryFilter) map[string]string {
	if f.Customer != "" {
		return nil
	}
	cs, err := s.svc.ListCustomers(r.Context(), p)
	if err != nil {
		return nil
	}
	m := make(map[string]string, len(cs))
	for _, c := range cs {
		m[c.ID] = c.Name
	}
	return m
}

// searchPage is the header's search box: results across every customer
// the user may see, with the gallery's filters.
func (s *server) searchPage(w http.ResponseWriter, r *http.Request) {
	p, u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	f := readFilter(r.URL.Query())
	d := &pageData{User: u, P: p, Nav: "search", Query: f.Q}
	cs, err := s.svc.ListCustomers(r.Context(), p)
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	gd := galleryData{Kind: "search", Filter: f, Customers: cs, Searched: f.Active() || f.Customer != "" || f.Project != ""}
	if f.Customer != "" {
		c, prs, err := s.customerWithProjects(r.Context(), p, f.Customer)
		if err != nil {
			s.fail(w, r, d, err) // a customer hidden from p is "not found"
			return
		}
		gd.Customer, gd.Projects = c, prs
		gd.CanEdit = d.Can(string(authz.EditAsset), c.ID, "")
	} else {
		gd.CanEdit = editsAnywhere(p)
	}
	if gd.Searched {
		if err := s.fillGallery(r, p, &gd); err != nil {
			s.fail(w, r, d, err)
			return
		}
	}
	gd.Names = make(map[string]string, len(cs))
	for _, c := range cs {
		gd.Names[c.ID] = c.Name
	}
	d.Data = gd
	s.fill(r, d)
	d.Title = d.T("search.title")
	if f.Q != "" {
		d.Title = d.T("search.titleq", f.Q)
	}
	s.render(w, r, "gallery", d)
}

// editsAnywhere reports whether p may edit assets of at least one
// customer (to offer bulk editing on search results).
func editsAnywhere(p *authz.Principal) bool {
	if p.Role == tuku.RoleAdmin {
		return !p.ReadOnly
	}
	for _, g := range p.Grants {
		if authz.Check(p, authz.EditAsset, authz.Resource{CustomerID: g.CustomerID, ProjectID: g.ProjectID}) == nil {
			return true
		}
	}
	return false
}

// downloadZip streams the originals of the selected assets (form field
// "id", repeated) as one archive named by the customer and the day.
func (s *server) downloadZip(w http.ResponseWriter, r *http.Request) {
	p, u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, &pageData{User: u, P: p}, errs.E(errs.Invalid, "zip", "the form could not be read", err))
		return
	}
	z, err := s.svc.PrepareZip(r.Context(), p, r.PostForm["id"])
	if err != nil {
		s.fail(w, r, &pageData{User: u, P: p}, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", httpapi.ContentDisposition("attachment", z.Name))
	w.WriteHeader(http.StatusOK)
	if err := z.WriteTo(r.Context(), w); err != nil {
		// The header is gone: the archive is cut short, which unzip
		// reports. Log why.
		s.log.Warn("web: zip", "err", err)
	}
}
