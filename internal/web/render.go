package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/tuku"
)

// Templates.
//
// templates/layout.html defines "layout" (the page frame: header with the
// search box, language switch and user menu, the navigation, flash
// messages) which calls the blocks "title" and "content". Files whose
// name starts with "_" are partials, parsed into every page. Every other
// file is one page, named by its file name without ".html"; it is parsed
// into its own copy of the layout and partials, so that every page may
// define "content" (and "title", "scripts") without colliding.
//
// Per-request values (the language and its catalog) are methods of
// pageData rather than template functions, so the parsed set is shared by
// all requests: {{$.T "key"}}, {{$.Date .CreatedAt}}, {{$.Size .Size}}.

// pageData is what every page template gets as its dot.
type pageData struct {
	// Title is the page's title, already translated (the layout appends
	// "· Tuku"). Empty: just "Tuku".
	Title string
	// User and P are the signed-in user and principal; nil on the sign-in
	// pages.
	User *tuku.User
	P    *authz.Principal
	// Nav marks the navigation entry of this page ("home", "customers",
	// "upload", "search", "admin", "account").
	Nav string
	// Query is the header search box's value.
	Query string
	// Flash are messages shown above the content (success and errors of
	// the previous form).
	Flash []Flash
	// Data is the page's own data.
	Data any

	// Filled in by render.
	Lang    string
	Path    string // the request's path and query, for links back here
	Version string
	cat     catalog
	static  map[string]string
}

// Flash is a message shown at the top of a page. Kind: "ok", "error" or
// "info".
type Flash struct {
	Kind string
	Text string
}

// T translates key into the page's language; args fill the message's %
// verbs (fmt). A missing key shows the key itself (tests catch them).
func (d *pageData) T(key string, args ...any) string { return d.cat.T(key, args...) }

// Date, DateTime, Num and Size format values per the page's language.
// Date and DateTime take a time.Time or a *time.Time (nil: "").
func (d *pageData) Date(t any) string     { return formatDate(d.Lang, toTime(t)) }
func (d *pageData) DateTime(t any) string { return formatDateTime(d.Lang, toTime(t)) }

// ErrText is the sentence to show for a service error: the catalog's
// words for its message when the page's language has them ("err." and
// the English message), else the service's own sentence.
func (d *pageData) ErrText(err error) string {
	msg := errs.Message(err)
	if t, ok := d.cat["err."+msg]; ok {
		return t
	}
	return msg
}

// Taken writes an asset's capture time (taken_at) for people: with its
// offset from UTC when the file states one, else saying the zone is not known.
func (d *pageData) Taken(v string) string {
	when, zone := formatTaken(d.Lang, v)
	if zone == "" {
		return d.T("asset.taken.nozone", when)
	}
	return when + " " + zone
}
func (d *pageData) Num(n any) string  { return formatNum(d.Lang, toInt64(n)) }
func (d *pageData) Size(n any) string { return formatSize(d.Lang, toInt64(n)) }

// Static returns the versioned URL of a file under static/ (path relative
// to static/, e.g. "js/app.js"): its content hash in the query makes the
// URL cacheable for good.
func (d *pageData) Static(name string) string {
	if v, ok := d.static[name]; ok {
		return "/static/" + name + "?v=" + v
	}
	return "/static/" + name
}

// IsAdmin reports whether the user is an administrator (to show admin
// links; the service enforces the rules regardless).
func (d *pageData) IsAdmin() bool { return d.P != nil && d.P.Role == tuku.RoleAdmin }

// Can reports whether the principal may do action (an authz.Action name,
// e.g. "customer.manage") on a customer and optionally a project, for
// hiding what the user cannot do. The service checks again.
func (d *pageData) Can(action, customerID, projectID string) bool {
	if d.P == nil {
		return false
	}
	return authz.Check(d.P, authz.Action(action), authz.Resource{CustomerID: customerID, ProjectID: projectID}) == nil
}

// Other is the language the switch offers.
func (d *pageData) Other() string {
	if d.Lang == langZH {
		return langEN
	}
	return langZH
}

// funcs are the template functions: pure helpers only, no request state.
func funcs() template.FuncMap {
	return template.FuncMap{
		"add": func(a, b int) int { return a + b },
		"join": func(sep string, xs []string) string {
			return strings.Join(xs, sep)
		},
		// dict builds a map for passing several values to a partial:
		// {{template "x" dict "Page" $ "Item" .}}.
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: odd number of arguments")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
		// thumb is the content-addressed thumbnail URL of an asset (the
		// API serves it with an immutable cache header).
		"thumb": func(v any, size string) (string, error) {
			var a *tuku.Asset
			switch x := v.(type) {
			case *tuku.Asset:
				a = x
			case tuku.Asset:
				a = &x
			}
			if a == nil {
				return "", fmt.Errorf("thumb: not an asset: %T", v)
			}
			if size == "" {
				size = "grid"
			}
			return "/api/v1/assets/" + url.PathEscape(a.ID) + "/thumbnail?size=" + url.QueryEscape(size) + "&v=" + a.SHA256, nil
		},
		"query": url.QueryEscape,
		// initial is the first letter, upper-cased, for avatars.
		"initial": func(s string) string {
			for _, r := range s {
				return strings.ToUpper(string(r))
			}
			return "?"
		},
		// ratio is width/height as a CSS aspect-ratio value, for boxes
		// that keep their size while the image loads.
		"ratio": func(w, h int) string {
			if w <= 0 || h <= 0 {
				return "1 / 1"
			}
			return fmt.Sprintf("%d / %d", w, h)
		},
	}
}

// parseTemplates builds one template set per page.
func parseTemplates(fsys fs.FS) (map[string]*template.Template, error) {
	base := template.New("layout").Funcs(funcs())
	if _, err := base.ParseFS(fsys, "templates/layout.html"); err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	entries, err := fs.ReadDir(fsys, "templates")
	if err != nil {
		return nil, err
	}
	var pages []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".html") || name == "layout.html" {
			continue
		}
		if strings.HasPrefix(name, "_") {
			if _, err := base.ParseFS(fsys, "templates/"+name); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			continue
		}
		pages = append(pages, name)
	}
	set := make(map[string]*template.Template, len(pages))
	for _, name := range pages {
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := t.ParseFS(fsys, path.Join("templates", name)); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		set[strings.TrimSuffix(name, ".html")] = t
	}
	return set, nil
}

// fill completes d with the request's language, path and static map.
func (s *server) fill(r *http.Request, d *pageData) {
	d.Lang = s.lang(r, d.User)
	d.cat = s.cats[d.Lang]
	d.Path = s.backPath(r)
	d.Version = s.version
	d.static = s.static
}

// backPath is where links back to "this page" (the language switch)
// lead: the request's URL for a GET, and for a page rendered in answer to
// a form, that URL only when it can be fetched with GET (else home).
func (s *server) backPath(r *http.Request) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return r.URL.RequestURI()
	}
	g := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: r.URL.Path}, Host: r.Host, Header: http.Header{}}
	if _, pattern := s.mux.Handler(g); pattern != "" && pattern != "/" {
		return r.URL.Path
	}
	return "/"
}

// render writes page name (a file templates/<name>.html) inside the
// layout with status 200. The page is rendered into a buffer first, so a
// template error becomes a clean 500 and not half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, name string, d *pageData) {
	s.renderStatus(w, r, http.StatusOK, name, "layout", d)
}

// renderPart writes one named template of page name without the layout:
// for fragments fetched by scripts (the next page of a gallery).
func (s *server) renderPart(w http.ResponseWriter, r *http.Request, name, part string, d *pageData) {
	s.renderStatus(w, r, http.StatusOK, name, part, d)
}

func (s *server) renderStatus(w http.ResponseWriter, r *http.Request, status int, name, part string, d *pageData) {
	if d == nil {
		d = &pageData{}
	}
	s.fill(r, d)
	t, ok := s.tmpl[name]
	if !ok {
		s.log.Error("web: no such page", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, part, d); err != nil {
		s.log.Error("web: render", "page", name, "part", part, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", d.Lang)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// toInt64 accepts the integer types templates hand over.
func toInt64(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case int32:
		return int64(n)
	case uint64:
		return int64(n)
	case uint32:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}

// toTime accepts time.Time and *time.Time; anything else is the zero time.
func toTime(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t
	case *time.Time:
		if t != nil {
			return *t
		}
	}
	return time.Time{}
}
