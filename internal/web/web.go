// Package web is Tuku's HTML interface for staff: server-rendered
// html/template pages with a little hand-written JavaScript, all embedded in
// the binary (no CDN, web font or bundler: intranets). It calls the service
// layer, exactly as the REST API does, and authenticates with the same
// session cookie as the API, so the pages' scripts may call /api/v1 too.
//
// Layout of the package: web.go (the handler, routes, page rendering),
// i18n.go (message catalogs and language choice), middleware.go (headers,
// request ids, errors), one file per area (account.go, home.go,
// customers.go, gallery.go, upload.go, asset.go, admin.go), templates/ and
// static/, locales/<lang>/<area>.json.
package web

import (
	"embed"
	"html/template"
	"log/slog"
	"net/http"

	"tuku/internal/service"
)

// templates/_*.html is named on its own: embedding a directory leaves out
// files whose names start with "_" (the partials).
//
//go:embed templates templates/_*.html static locales
var files embed.FS

// Options configure the interface.
type Options struct {
	Log     *slog.Logger
	Version string
}

// server holds what every page handler needs.
type server struct {
	svc     *service.Service
	log     *slog.Logger
	version string
	mux     *http.ServeMux

	// Filled by init (core.go).
	tmpl   map[string]*template.Template // page name → its template set
	cats   map[string]catalog            // language → messages
	static map[string]string             // static file → content hash
	csrf   *http.CrossOriginProtection
}

// New returns the HTML interface. It serves every path the API does not.
func New(svc *service.Service, opts Options) (http.Handler, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	s := &server{svc: svc, log: opts.Log, version: opts.Version, mux: http.NewServeMux()}
	if err := s.init(); err != nil {
		return nil, err
	}
	// Each area registers its own routes (its own file).
	s.routesCore()
	s.routesGallery()
	s.routesAdmin()
	return s.handler(), nil
}
