package web

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/httpapi"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

// The middleware of every page: request ID, security headers, panic
// recovery, CSRF protection, and the helpers pages use to authenticate
// and to report errors.

// CSP is the Content-Security-Policy of every page: no inline script or
// style, nothing from another origin (intranets: no CDN, font or map
// service), images also from data: and blob: URLs (the MFA QR code, local
// previews of files about to be uploaded).
const CSP = "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; " +
	"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// staticMaxAge is how long a versioned static file may be cached.
const staticMaxAge = "public, max-age=31536000, immutable"

// handler wraps the mux in the middleware chain.
func (s *server) handler() http.Handler {
	// State-changing requests from other origins are refused (pages use
	// plain forms, so no token is needed); GET, HEAD and OPTIONS pass.
	s.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, nil, errs.E(errs.Permission, "csrf", "cross-origin request refused", nil))
	}))
	inner := s.csrf.Handler(s.mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		setPageHeaders(w.Header(), r, id)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("web: panic", "request_id", id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if rec.status == 0 {
					s.fail(rec, r, nil, errs.E(errs.Internal, "panic", "", fmt.Errorf("panic: %v", v)))
				} else {
					panic(http.ErrAbortHandler)
				}
			}
			s.log.Debug("web", "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"ms", time.Since(start).Milliseconds(), "request_id", id)
		}()
		inner.ServeHTTP(rec, r)
	})
}

// setPageHeaders puts the headers of every page response. Static files
// loosen Cache-Control (serveStatic); everything else is per user and
// must not be kept by any cache.
func setPageHeaders(h http.Header, r *http.Request, id string) {
	h.Set("X-Request-Id", id)
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "private, no-store")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}

// newRequestID returns 16 hex characters.
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusRecorder remembers the status, so a panic after the header went
// out aborts rather than writing an error page into the middle of a page.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushing
// large downloads).
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ---- authentication of pages ----

// client describes where r comes from, for sessions and the audit log.
func client(w http.ResponseWriter, r *http.Request) service.Client {
	// The peer address as the API records it (X-Forwarded-For is the
	// client's to choose, so it is not trusted).
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	if a, err := netip.ParseAddr(ip); err == nil {
		ip = a.Unmap().String()
	}
	ua := r.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return service.Client{IP: ip, UserAgent: ua, RequestID: w.Header().Get("X-Request-Id")}
}

// sessionSecret is the value of the session cookie ("" without one).
func sessionSecret(r *http.Request) string {
	c, err := r.Cookie(httpapi.SessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// setSession gives the browser a session cookie (the same cookie as the
// API's, so pages' scripts may call /api/v1); "" deletes it.
func setSession(w http.ResponseWriter, r *http.Request, secret string) {
	c := &http.Cookie{Name: httpapi.SessionCookie, Value: secret, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil}
	if secret == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// currentUser returns the signed-in principal and user of r, or nil, nil
// when r has no complete session. Errors other than "not signed in" (the
// database is down) are returned.
func (s *server) currentUser(w http.ResponseWriter, r *http.Request) (*authz.Principal, *tuku.User, error) {
	secret := sessionSecret(r)
	if secret == "" {
		return nil, nil, nil
	}
	ctx := r.Context()
	p, err := s.svc.AuthenticateSession(ctx, secret, client(w, r))
	if errs.KindOf(err) == errs.Unauth {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	u, err := s.svc.User(ctx, p, p.UserID)
	if err != nil {
		return nil, nil, err
	}
	return p, u, nil
}

// requireUser authenticates a page request by its session. Without a
// complete session it answers itself — a redirect to the sign-in page (or
// to the second-factor step of a session waiting for it) that comes back
// here afterwards — and returns ok=false; the handler then just returns.
func (s *server) requireUser(w http.ResponseWriter, r *http.Request) (*authz.Principal, *tuku.User, bool) {
	p, u, err := s.currentUser(w, r)
	if err != nil {
		s.fail(w, r, nil, err)
		return nil, nil, false
	}
	if p != nil && p.MustChangePassword && r.URL.Path != "/account/password" {
		// A one-time password: the session may only replace it.
		target := "/account/password"
		if next := r.URL.RequestURI(); r.Method == http.MethodGet && next != "/" {
			target += "?next=" + url.QueryEscape(next)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return nil, nil, false
	}
	if p != nil {
		return p, u, true
	}
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// A form posted after the session expired: come back to the page
		// the form was on, if it is ours, not to the POST target.
		next = "/"
	}
	target := "/login"
	if secret := sessionSecret(r); secret != "" {
		if st, err := s.svc.Session(r.Context(), secret, client(w, r)); err == nil {
			switch {
			case st.MFARequired:
				target = "/login/mfa"
			case st.MFAEnrolRequired:
				target = "/account/mfa"
			}
		}
	}
	if next != "/" && next != "" {
		target += "?next=" + url.QueryEscape(next)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil, nil, false
}

// safeNext returns next when it is a path on this site, "/" otherwise:
// ?next= must not send people to another site after signing in.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

// ---- errors ----

// fail shows err as a page written for people: the status of its kind,
// its public message (never the internal cause), and a way on. An
// unauthenticated error sends the browser to sign in. d (may be nil)
// carries the user for the header.
func (s *server) fail(w http.ResponseWriter, r *http.Request, d *pageData, err error) {
	if errs.KindOf(err) == errs.Unauth {
		target := "/login"
		if r.Method == http.MethodGet {
			target += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	status := httpapi.Status(err)
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	if status >= 500 && !errors.Is(err, errs.Unavailable) {
		s.log.Error("web", "path", r.URL.Path, "request_id", w.Header().Get("X-Request-Id"), "err", err)
	}
	if d == nil {
		d = &pageData{}
		if p, u, e := s.currentUser(w, r); e == nil {
			d.P, d.User = p, u
		}
	}
	s.fill(r, d)
	msg := d.ErrText(err)
	switch errs.KindOf(err) {
	case errs.Internal:
		msg = d.T("error.internal")
	case errs.NotFound:
		// Not found and not allowed look the same (existence is not
		// everyone's business); the service already words them alike.
		msg = d.T("error.notfound")
	case errs.Unavailable:
		msg = d.T("error.unavailable")
	case errs.Permission:
		msg = d.T("error.permission")
	}
	d.Title = d.T("error.title")
	d.Data = errorData{Status: status, Message: msg, RequestID: w.Header().Get("X-Request-Id")}
	w.Header().Set("Cache-Control", "private, no-store")
	s.renderStatus(w, r, status, "error", "layout", d)
}

// errorData is the error page's data.
type errorData struct {
	Status    int
	Message   string
	RequestID string
}

// notFound is the page for paths no route matches.
func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, nil, errs.E(errs.NotFound, "route", "", nil))
}
