package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// Owned by the WEB-CORE engineer: templates and catalogs loading, the
// middleware chain, sign-in, account and home pages.

// init loads everything embedded once: the templates, the catalogs and
// the content hashes of the static files. A broken template or catalog
// fails here, at start-up, not on the first request.
func (s *server) init() error {
	var err error
	if s.cats, err = loadCatalogs(files); err != nil {
		return fmt.Errorf("web: %w", err)
	}
	if s.tmpl, err = parseTemplates(files); err != nil {
		return fmt.Errorf("web: templates: %w", err)
	}
	if s.static, err = hashStatic(files); err != nil {
		return fmt.Errorf("web: static: %w", err)
	}
	s.csrf = http.NewCrossOriginProtection()
	return nil
}

// hashStatic returns, for every file under static/, the first 12 hex
// characters of its SHA-256: the version in its URL.
func hashStatic(fsys fs.FS) (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	return out, err
}

func (s *server) routesCore() {
	m := s.mux
	m.HandleFunc("GET /static/", s.serveStatic)
	m.HandleFunc("/", s.notFound)
	m.HandleFunc("GET /{$}", s.home)
	m.HandleFunc("POST /lang", s.setLang)

	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.loginPost)
	m.HandleFunc("GET /login/mfa", s.mfaPage)
	m.HandleFunc("POST /login/mfa", s.mfaPost)
	m.HandleFunc("POST /logout", s.logoutPost)

	m.HandleFunc("GET /account", s.accountPage)
	m.HandleFunc("GET /account/mfa", s.mfaEnrolPage)
	m.HandleFunc("POST /account/mfa", s.mfaEnrolPost)
	m.HandleFunc("POST /account/mfa/start", s.mfaEnrolStart)
	m.HandleFunc("GET /account/password", s.passwordPage)
	m.HandleFunc("POST /account/password", s.passwordPost)
}

// serveStatic serves the embedded static files. A request carrying the
// file's current hash (?v=, as pageData.Static writes it) may be cached
// for good; any other is revalidated, so a stale URL never pins old code.
func (s *server) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/static/")
	v, ok := s.static[name]
	if !ok {
		s.notFound(w, r)
		return
	}
	h := w.Header()
	if r.URL.Query().Get("v") == v {
		h.Set("Cache-Control", staticMaxAge)
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", `"`+v+`"`)
	http.ServeFileFS(w, r, files, "static/"+name)
}

// setLang switches the language: remembered in a cookie (for signed-out
// pages) and, when signed in, on the user's account.
func (s *server) setLang(w http.ResponseWriter, r *http.Request) {
	lang := normLang(r.FormValue("lang"))
	next := safeNext(r.FormValue("next"))
	if lang == "" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	p, _, err := s.currentUser(w, r)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if p != nil {
		if err := s.svc.SetLocale(r.Context(), p, lang); err != nil {
			s.fail(w, r, nil, err)
			return
		}
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
