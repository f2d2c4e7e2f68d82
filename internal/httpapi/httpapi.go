package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/service"
)

// Options configure the API. Zero values take defaults.
type Options struct {
	Log     *slog.Logger // default: discard
	Version string       // shown in the OpenAPI document and /readyz
	// Registry receives the API's metrics and is served at /metrics. nil
	// makes a new one with the Go runtime and process collectors.
	Registry *prometheus.Registry
	// MaxUploadBytes caps a whole upload request body; default the
	// service's file limit plus 1 MB of multipart overhead.
	MaxUploadBytes int64
	// Authenticators are tried in order after the bearer token, for
	// requests that carry none (the UI's session cookie).
	Authenticators []Authenticator
	// TokenCacheTTL is how long a checked API token is trusted without
	// asking the store again (default 10 s; negative: always ask). It is
	// also how long a revoked token may keep working.
	TokenCacheTTL time.Duration
	// RateLimits are the per-principal and per-IP request limits (see
	// ratelimit.go); the zero value takes the defaults, NoRateLimits()
	// turns them off.
	RateLimits RateLimits
}

// defaultTokenCacheTTL: long enough to cover a page of thumbnails, short
// enough that revocation is prompt.
const defaultTokenCacheTTL = 10 * time.Second

// multipartOverhead is what an upload body may carry beyond the file
// itself: boundaries, part headers and the text fields.
const multipartOverhead = 1 << 20

// maxJSONBody caps JSON request bodies (customers, projects).
const maxJSONBody = 1 << 20

// server holds what every handler needs. It is immutable after New, so
// handlers run concurrently without locks.
type server struct {
	svc       *service.Service
	log       *slog.Logger
	version   string
	maxUpload int64
	auth      []Authenticator
	metrics   *metrics
	openapi   []byte
	ids       *idSource
	mux       *http.ServeMux
	limits    *rateLimiter
	csrf      *http.CrossOriginProtection
}

// handlerFunc is a route's handler. p is the authenticated principal (nil
// on routes without auth). A returned error is written by writeError unless
// the response has already started, in which case it is only logged.
type handlerFunc func(s *server, w http.ResponseWriter, r *http.Request, p *authz.Principal) error

// route is one entry of the route table.
type route struct {
	method string
	path   string // http.ServeMux syntax; also the OpenAPI path
	auth   bool   // needs an authenticated principal
	// quiet logs successful responses at debug level: the thumbnail route
	// serves a page's worth of images per view and must stay cheap.
	quiet bool
	// upload: the body may be as large as MaxUploadBytes (every other
	// route's is capped at maxJSONBody) and counts as an upload for the
	// rate limits.
	upload bool
	// rate overrides the rate-limit class the method implies.
	rate rateClass
	h    handlerFunc
}

// pattern is the ServeMux pattern and the metrics label.
func (rt route) pattern() string { return rt.method + " " + rt.path }

// routeTable is the single list of routes: New registers exactly these and
// the OpenAPI document is tested against them.
func routeTable() []route {
	return []route{
		{method: "GET", path: "/healthz", h: (*server).healthz},
		{method: "GET", path: "/readyz", h: (*server).readyz},
		{method: "GET", path: "/metrics", h: (*server).serveMetrics},
		{method: "GET", path: "/api/v1/openapi.json", h: (*server).serveOpenAPI},

		{method: "POST", path: "/api/v1/customers", auth: true, h: (*server).createCustomer},
		{method: "GET", path: "/api/v1/customers", auth: true, h: (*server).listCustomers},
		{method: "GET", path: "/api/v1/customers/{id}", auth: true, h: (*server).getCustomer},
		{method: "POST", path: "/api/v1/customers/{id}/projects", auth: true, h: (*server).createProject},
		{method: "GET", path: "/api/v1/customers/{id}/projects", auth: true, h: (*server).listProjects},

		{method: "POST", path: "/api/v1/assets", auth: true, upload: true, h: (*server).uploadAsset},
		{method: "GET", path: "/api/v1/assets", auth: true, h: (*server).listAssets},
		{method: "GET", path: "/api/v1/assets/{id}", auth: true, h: (*server).getAsset},
		{method: "GET", path: "/api/v1/assets/{id}/original", auth: true, h: (*server).getOriginal},
		{method: "GET", path: "/api/v1/assets/{id}/thumbnail", auth: true, quiet: true, rate: rateThumbnail, h: (*server).getThumbnail},
		{method: "PATCH", path: "/api/v1/assets/{id}", auth: true, h: (*server).patchAsset},
		{method: "GET", path: "/api/v1/assets/{id}/download", auth: true, h: (*server).downloadAsset},
		{method: "POST", path: "/api/v1/assets/bulk", auth: true, h: (*server).bulkAssets},
		{method: "POST", path: "/api/v1/assets/zip", auth: true, h: (*server).zipAssets},

		{method: "GET", path: "/api/v1/grants", auth: true, h: (*server).listGrants},
		{method: "POST", path: "/api/v1/grants", auth: true, h: (*server).createGrant},
		{method: "DELETE", path: "/api/v1/grants/{id}", auth: true, h: (*server).deleteGrant},

		{method: "GET", path: "/api/v1/audit", auth: true, h: (*server).listAudit},
		{method: "GET", path: "/api/v1/audit.csv", auth: true, h: (*server).exportAudit},

		// Sign-in and sessions (session.go). The routes without auth take
		// the session cookie themselves, since they also serve sessions
		// still waiting for their second factor.
		{method: "POST", path: "/api/v1/auth/login", h: (*server).login},
		{method: "POST", path: "/api/v1/auth/mfa", h: (*server).verifyMFA},
		{method: "POST", path: "/api/v1/auth/logout", h: (*server).logout},
		{method: "GET", path: "/api/v1/auth/me", h: (*server).me},
		{method: "POST", path: "/api/v1/auth/password", auth: true, h: (*server).changePassword},
		{method: "POST", path: "/api/v1/auth/mfa/enrol", h: (*server).enrolMFA},
		{method: "POST", path: "/api/v1/auth/mfa/confirm", h: (*server).confirmMFA},
		{method: "POST", path: "/api/v1/users", auth: true, h: (*server).createUser},
		{method: "GET", path: "/api/v1/users", auth: true, h: (*server).listUsers},
		{method: "POST", path: "/api/v1/users/{id}/disable", auth: true, h: (*server).disableUser},
		{method: "POST", path: "/api/v1/users/{id}/reset-mfa", auth: true, h: (*server).resetMFA},
		{method: "POST", path: "/api/v1/tokens", auth: true, h: (*server).createToken},
		{method: "DELETE", path: "/api/v1/tokens/{id}", auth: true, h: (*server).revokeToken},
	}
}

// Route is a registered method and path, for tests and documentation.
type Route struct {
	Method string
	Path   string
}

// Routes lists every registered route.
func Routes() []Route {
	t := routeTable()
	out := make([]Route, len(t))
	for i, rt := range t {
		out[i] = Route{Method: rt.method, Path: rt.path}
	}
	return out
}

// New builds the API handler.
func New(svc *service.Service, opts Options) http.Handler {
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if opts.TokenCacheTTL == 0 {
		opts.TokenCacheTTL = defaultTokenCacheTTL
	}
	if opts.MaxUploadBytes <= 0 {
		opts.MaxUploadBytes = svc.Limits().MaxBytes + multipartOverhead
	}
	s := &server{
		svc:       svc,
		log:       opts.Log,
		version:   opts.Version,
		maxUpload: opts.MaxUploadBytes,
		auth:      append([]Authenticator{newBearer(svc, opts.TokenCacheTTL), sessionAuth{svc}}, opts.Authenticators...),
		metrics:   newMetrics(reg),
		openapi:   openAPIDocument(opts.Version),
		ids:       newIDSource(),
		mux:       http.NewServeMux(),
		limits:    newRateLimiter(opts.RateLimits),
		csrf:      http.NewCrossOriginProtection(),
	}
	s.metrics.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{s.log}})
	for _, rt := range routeTable() {
		s.mux.Handle(rt.pattern(), s.adapt(rt))
	}
	return s
}

// adapt turns a route into an http.Handler: authenticate when the route
// needs it, run the handler, write its error.
func (s *server) adapt(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw, _ := w.(*respWriter)
		if rw != nil {
			rw.quiet = rt.quiet
		}
		// Body cap and the per-IP limits (ratelimit.go).
		if err := s.admit(w, r, rt); err != nil {
			s.writeError(w, r, err)
			return
		}
		var p *authz.Principal
		if rt.auth {
			var err error
			if p, err = s.authenticate(r); err != nil {
				s.refused(r, err)
				s.writeError(w, r, err)
				return
			}
			if rw != nil {
				rw.user = p.UserID
			}
			stampClient(p, w, r)
			if err := s.admitPrincipal(w, rt, p); err != nil {
				s.writeError(w, r, err)
				return
			}
			// A session opened with a one-time password may only replace it.
			if p.MustChangePassword && rt.path != "/api/v1/auth/password" {
				s.writeError(w, r, errs.E(errs.Permission, "auth",
					"change the one-time password first (POST /api/v1/auth/password)", nil))
				return
			}
		}
		// CSRF: cookie sessions and sign-in (session.go).
		if err := s.checkOrigin(r, p); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := rt.h(s, w, r, p); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request, _ *authz.Principal) error {
	// Nothing private here, but a cached "ok" would hide an outage.
	w.Header()["Cache-Control"] = hdrNoCache
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := io.WriteString(w, "ok\n")
	return err
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request, _ *authz.Principal) error {
	if err := s.svc.Ready(r.Context()); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "version": s.version})
}

func (s *server) serveMetrics(w http.ResponseWriter, r *http.Request, _ *authz.Principal) error {
	// promhttp negotiates the exposition format and sets its own headers.
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}

func (s *server) serveOpenAPI(w http.ResponseWriter, r *http.Request, _ *authz.Principal) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(s.openapi)
	return err
}

// slogPrinter lets promhttp log through slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Error("metrics", "err", v) }
