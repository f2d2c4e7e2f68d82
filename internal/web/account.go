package web

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"tuku/internal/errs"
	"tuku/internal/service"
)

// Sign-in (password, then the second factor), sign-out, MFA enrolment,
// password change and the account page. They use the API's cookie and
// the same service calls as the API's /auth routes.

// loginData is the data of the sign-in pages.
type loginData struct {
	Email string
	Next  string
	Error string
}

// withNext appends ?next= to target when next is not the home page.
func withNext(target, next string) string {
	if next == "" || next == "/" {
		return target
	}
	return target + "?next=" + url.QueryEscape(next)
}

func (s *server) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if p, _, err := s.currentUser(w, r); err == nil && p != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	d := &pageData{Nav: "login", Data: loginData{Next: next}}
	s.fill(r, d)
	d.Title = d.T("login.title")
	s.render(w, r, "login", d)
}

func (s *server) loginPost(w http.ResponseWriter, r *http.Request) {
	ctx, c := r.Context(), client(w, r)
	email, password := strings.TrimSpace(r.PostFormValue("email")), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	// Whatever session this browser held ends here (a planted value
	// must never be promoted by signing in).
	if old := sessionSecret(r); old != "" {
		_ = s.svc.Logout(ctx, old, c)
		setSession(w, r, "")
	}
	secret, st, err := s.svc.Login(ctx, email, password, c)
	if err != nil {
		d := &pageData{Nav: "login"}
		s.fill(r, d)
		d.Title = d.T("login.title")
		d.Data = loginData{Email: email, Next: next, Error: s.authError(d, err)}
		s.renderStatus(w, r, httpStatusOf(err), "login", "layout", d)
		return
	}
	setSession(w, r, secret)
	switch {
	case st.MFARequired:
		http.Redirect(w, r, withNext("/login/mfa", next), http.StatusSeeOther)
	case st.MFAEnrolRequired:
		http.Redirect(w, r, withNext("/account/mfa", next), http.StatusSeeOther)
	default:
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// authError words a failed sign-in step for people.
func (s *server) authError(d *pageData, err error) string {
	var te *service.ThrottledError
	switch {
	case errors.As(err, &te):
		return d.T("login.throttled", int(te.Wait.Seconds()+0.999))
	case errs.KindOf(err) == errs.Unauth && strings.Contains(errs.Message(err), "code"):
		return d.T("mfa.wrong")
	case errs.KindOf(err) == errs.Invalid && strings.Contains(errs.Message(err), "code"):
		return d.T("mfa.wrong")
	case errs.KindOf(err) == errs.Unauth:
		return d.T("login.wrong")
	case errs.KindOf(err) == errs.Invalid:
		return d.ErrText(err)
	}
	return d.T("error.unavailable")
}

// httpStatusOf is the status a form re-shown after err answers with.
func httpStatusOf(err error) int {
	switch errs.KindOf(err) {
	case errs.Unauth:
		return http.StatusUnauthorized
	case errs.RateLimit:
		return http.StatusTooManyRequests
	case errs.Invalid:
		return http.StatusUnprocessableEntity
	case errs.Conflict:
		return http.StatusConflict
	case errs.Permission:
		return http.StatusForbidden
	case errs.NotFound:
		return http.StatusNotFound
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.Unsupported:
		return http.StatusUnsupportedMediaType
	case errs.BadImage:
		return http.StatusUnprocessableEntity
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// pendingSession returns the state of the browser's session when it is at
// the second-factor step; otherwise it redirects (home when complete, the
// sign-in page when there is none) and returns nil.
func (s *server) pendingSession(w http.ResponseWriter, r *http.Request) *service.SessionState {
	next := safeNext(r.FormValue("next"))
	secret := sessionSecret(r)
	if secret == "" {
		http.Redirect(w, r, withNext("/login", next), http.StatusSeeOther)
		return nil
	}
	st, err := s.svc.Session(r.Context(), secret, client(w, r))
	if err != nil {
		if errs.KindOf(err) == errs.Unauth {
			http.Redirect(w, r, withNext("/login", next), http.StatusSeeOther)
		} else {
			s.fail(w, r, nil, err)
		}
		return nil
	}
	if !st.MFARequired {
		target := next
		if st.MFAEnrolRequired {
			target = withNext("/account/mfa", next)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return nil
	}
	return st
}

func (s *server) mfaPage(w http.ResponseWriter, r *http.Request) {
	if s.pendingSession(w, r) == nil {
		return
	}
	d := &pageData{Nav: "login"}
	s.fill(r, d)
	d.Title = d.T("mfa.title")
	d.Data = loginData{Next: safeNext(r.URL.Query().Get("next"))}
	s.render(w, r, "mfa", d)
}

func (s *server) mfaPost(w http.ResponseWriter, r *http.Request) {
	if s.pendingSession(w, r) == nil {
		return
	}
	next := safeNext(r.PostFormValue("next"))
	code := strings.TrimSpace(r.PostFormValue("code"))
	newSecret, _, err := s.svc.VerifyMFA(r.Context(), sessionSecret(r), code, client(w, r))
	if err != nil {
		d := &pageData{Nav: "login"}
		s.fill(r, d)
		d.Title = d.T("mfa.title")
		d.Data = loginData{Next: next, Error: s.authError(d, err)}
		s.renderStatus(w, r, httpStatusOf(err), "mfa", "layout", d)
		return
	}
	setSession(w, r, newSecret)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *server) logoutPost(w http.ResponseWriter, r *http.Request) {
	if secret := sessionSecret(r); secret != "" {
		// A dead session is signed out already; the cookie goes anyway.
		if err := s.svc.Logout(r.Context(), secret, client(w, r)); err != nil && errs.KindOf(err) != errs.Unauth {
			s.log.Error("web: logout", "err", err)
		}
	}
	setSession(w, r, "")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// ---- account ----

// accountData is the account page's data.
type accountData struct {
	MFAEnabled bool
	CodesLeft  int
}

func (s *server) accountPage(w http.ResponseWriter, r *http.Request) {
	p, u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	d := &pageData{User: u, P: p, Nav: "account"}
	enabled, left, err := s.svc.MFAStatus(r.Context(), p, u.ID)
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	s.fill(r, d)
	d.Title = d.T("account.title")
	d.Data = accountData{MFAEnabled: enabled, CodesLeft: left}
	s.render(w, r, "account", d)
}

// enrolData is the MFA enrolment page's data.
type enrolData struct {
	Already bool         // MFA is in force: nothing to enrol
	QR      template.URL // data: URL of the QR code PNG
	Secret  string       // for typing into an app by hand
	Codes   []string     // recovery codes, after confirmation
	Next    string
	Error   string
	Pending bool // the session may do nothing else until enrolled
	// NotStarted: no enrolment is pending; the page offers to start one.
	NotStarted bool
}

// enrolSession returns the page data for the browser's session, which
// may be complete or waiting to enrol; nil after answering itself.
func (s *server) enrolSession(w http.ResponseWriter, r *http.Request) *pageData {
	next := safeNext(r.FormValue("next"))
	secret := sessionSecret(r)
	if secret == "" {
		http.Redirect(w, r, withNext("/login", "/account/mfa"), http.StatusSeeOther)
		return nil
	}
	st, err := s.svc.Session(r.Context(), secret, client(w, r))
	if err != nil {
		if errs.KindOf(err) == errs.Unauth {
			http.Redirect(w, r, withNext("/login", "/account/mfa"), http.StatusSeeOther)
		} else {
			s.fail(w, r, nil, err)
		}
		return nil
	}
	if st.MFARequired {
		http.Redirect(w, r, withNext("/login/mfa", next), http.StatusSeeOther)
		return nil
	}
	d := &pageData{Nav: "account"}
	if !st.MFAEnrolRequired {
		p, u, err := s.currentUser(w, r)
		if err != nil {
			s.fail(w, r, nil, err)
			return nil
		}
		d.P, d.User = p, u
	}
	s.fill(r, d)
	d.Title = d.T("enrol.title")
	d.Data = enrolData{Next: next, Pending: st.MFAEnrolRequired}
	return d
}

// mfaEnrolPage shows the enrolment in progress (its QR code and key), or
// a button that starts one: a GET changes nothing, so reloading the page
// or a browser's prefetch cannot replace a secret already scanned.
func (s *server) mfaEnrolPage(w http.ResponseWriter, r *http.Request) {
	d := s.enrolSession(w, r)
	if d == nil {
		return
	}
	if !s.showEnrolment(w, r, d) {
		return
	}
	s.render(w, r, "mfa-enrol", d)
}

// showEnrolment puts the pending enrolment (or "already on", or nothing
// pending) into d; false after answering with an error itself.
func (s *server) showEnrolment(w http.ResponseWriter, r *http.Request, d *pageData) bool {
	ed := d.Data.(enrolData)
	en, err := s.svc.PendingMFA(r.Context(), sessionSecret(r), client(w, r))
	switch {
	case errs.KindOf(err) == errs.Conflict:
		ed.Already = true
	case errs.KindOf(err) == errs.NotFound:
		ed.NotStarted = true
	case err != nil:
		s.fail(w, r, d, err)
		return false
	default:
		ed.Secret = en.Secret
		// A data: URL keeps the secret out of any cacheable URL; the CSP
		// allows data: images for this.
		ed.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(en.QRPNG))
	}
	d.Data = ed
	return true
}

// mfaEnrolStart makes a new secret (replacing one not yet confirmed) and
// shows it through the page's GET.
func (s *server) mfaEnrolStart(w http.ResponseWriter, r *http.Request) {
	d := s.enrolSession(w, r)
	if d == nil {
		return
	}
	ed := d.Data.(enrolData)
	if _, err := s.svc.EnrolMFA(r.Context(), sessionSecret(r), client(w, r)); err != nil {
		if errs.KindOf(err) == errs.Conflict {
			ed.Already = true
			d.Data = ed
			s.render(w, r, "mfa-enrol", d)
			return
		}
		s.fail(w, r, d, err)
		return
	}
	http.Redirect(w, r, withNext("/account/mfa", ed.Next), http.StatusSeeOther)
}

func (s *server) mfaEnrolPost(w http.ResponseWriter, r *http.Request) {
	d := s.enrolSession(w, r)
	if d == nil {
		return
	}
	ed := d.Data.(enrolData)
	codes, newSecret, err := s.svc.ConfirmMFA(r.Context(), sessionSecret(r), strings.TrimSpace(r.PostFormValue("code")), client(w, r))
	if err != nil {
		// Show the same enrolment again, as the server has it.
		ed.Error = s.authError(d, err)
		d.Data = ed
		if !s.showEnrolment(w, r, d) {
			return
		}
		s.renderStatus(w, r, httpStatusOf(err), "mfa-enrol", "layout", d)
		return
	}
	if newSecret != "" {
		setSession(w, r, newSecret)
	}
	ed.Codes = codes
	ed.Pending = false
	d.Data = ed
	s.render(w, r, "mfa-enrol", d)
}

// ---- password ----

// passwordData is the password page's data.
type passwordData struct {
	Error string
	Done  bool
	// OneTime: signed in with a one-time password, which must be replaced
	// before anything else; Next is where to go afterwards.
	OneTime bool
	Next    string
}

func (s *server) passwordPage(w http.ResponseWriter, r *http.Request) {
	p, u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	d := &pageData{User: u, P: p, Nav: "account", Data: passwordData{OneTime: p.MustChangePassword, Next: safeNext(r.FormValue("next"))}}
	s.fill(r, d)
	d.Title = d.T("password.title")
	s.render(w, r, "password", d)
}

func (s *server) passwordPost(w http.ResponseWriter, r *http.Request) {
	p, u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	d := &pageData{User: u, P: p, Nav: "account"}
	s.fill(r, d)
	d.Title = d.T("password.title")
	current, next, again := r.PostFormValue("current"), r.PostFormValue("new"), r.PostFormValue("confirm")
	base := passwordData{OneTime: p.MustChangePassword, Next: safeNext(r.PostFormValue("next"))}
	if next != again {
		base.Error = d.T("password.mismatch")
		d.Data = base
		s.renderStatus(w, r, http.StatusUnprocessableEntity, "password", "layout", d)
		return
	}
	newSecret, err := s.svc.ChangePassword(r.Context(), p, current, next, sessionSecret(r))
	if err != nil {
		msg := d.ErrText(err)
		switch errs.KindOf(err) {
		case errs.Permission, errs.Unauth:
			msg = d.T("password.wrong")
		case errs.Invalid:
			if strings.Contains(errs.Message(err), "at least") {
				msg = d.T("password.short")
			}
		default:
			msg = s.authError(d, err)
		}
		base.Error = msg
		d.Data = base
		s.renderStatus(w, r, httpStatusOf(err), "password", "layout", d)
		return
	}
	if newSecret != "" {
		setSession(w, r, newSecret)
	}
	d.Data = passwordData{Done: true, Next: base.Next}
	d.Flash = []Flash{{Kind: "ok", Text: d.T("password.done")}}
	s.render(w, r, "password", d)
}
