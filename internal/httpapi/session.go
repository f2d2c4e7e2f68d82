package httpapi

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"time"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

// Browser sessions: the cookie, its authenticator, the sign-in routes and
// CSRF protection.
//
// The cookie holds a random secret (see service.Login); it is HttpOnly
// (no script reads it), SameSite=Lax (other sites' subrequests and forms
// do not carry it), Path=/, Secure when the request came over TLS, and has
// no Expires: the browser drops it when it closes and the server enforces
// the idle and absolute timeouts. State-changing requests that do not
// authenticate with an API token (cookie sessions and sign-in itself) must
// also pass http.CrossOriginProtection: a browser request from another
// origin (Sec-Fetch-Site: cross-site, or an Origin that is not this host)
// gets 403.

// SessionCookie is the name of the session cookie.
const SessionCookie = "tuku_session"

// maxUserAgent caps the user agent kept on sessions and audit rows.
const maxUserAgent = 256

// sessionAuth is the cookie Authenticator. A session waiting for its
// second factor authenticates nothing here: only the auth routes below
// deal with it.
type sessionAuth struct{ svc *service.Service }

func (a sessionAuth) Authenticate(r *http.Request) (*authz.Principal, error) {
	secret := sessionSecret(r)
	if secret == "" {
		return nil, nil
	}
	return a.svc.AuthenticateSession(r.Context(), secret, clientOf(nil, r))
}

// sessionSecret is the request's session cookie value, "" without one.
func sessionSecret(r *http.Request) string {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// setSessionCookie gives the browser a session; an empty secret deletes
// the cookie.
func setSessionCookie(w http.ResponseWriter, r *http.Request, secret string) {
	c := &http.Cookie{
		Name:     SessionCookie,
		Value:    secret,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   r.TLS != nil,
	}
	if secret == "" {
		c.MaxAge = -1 // Max-Age=0: delete now
	}
	http.SetCookie(w, c)
}

// peerIP is the request's peer address. X-Forwarded-For is not trusted:
// the client chooses it.
func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().String()
	}
	return host
}

// clientOf describes where r comes from. w, when not nil, supplies the
// request ID (ServeHTTP puts it in the response header first).
func clientOf(w http.ResponseWriter, r *http.Request) service.Client {
	ua := r.UserAgent()
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	c := service.Client{IP: peerIP(r), UserAgent: ua}
	if w != nil {
		c.RequestID = w.Header().Get("X-Request-Id")
	}
	return c
}

// stampClient records where an authenticated request comes from on its
// principal, for the audit log.
func stampClient(p *authz.Principal, w http.ResponseWriter, r *http.Request) {
	c := clientOf(w, r)
	p.IP, p.UserAgent, p.RequestID = c.IP, c.UserAgent, c.RequestID
}

// checkOrigin applies CSRF protection to r unless it authenticated with
// an API token (p.Via "token"): a token is never sent by a browser on its
// own, so another site cannot make one ride along.
func (s *server) checkOrigin(r *http.Request, p *authz.Principal) error {
	if p != nil && p.Via == "token" {
		return nil
	}
	if err := s.csrf.Check(r); err != nil {
		return errs.E(errs.Permission, "csrf", "cross-origin request refused", err)
	}
	// CrossOriginProtection lets safe methods through, but with a cookie
	// some GETs act in the user's name (a download is audited as theirs):
	// another site must not be able to make the browser do them.
	if p != nil && p.Via == "session" {
		switch r.Header.Get("Sec-Fetch-Site") {
		case "cross-site", "same-site":
			return errs.E(errs.Permission, "csrf", "cross-origin request refused", nil)
		}
	}
	return nil
}

// retryAfter sets Retry-After when err is a throttled sign-in.
func retryAfter(w http.ResponseWriter, err error) error {
	var te *service.ThrottledError
	if errors.As(err, &te) {
		setRetryAfter(w, te.Wait)
	}
	return err
}

// sessionOut is the answer of the sign-in steps and of GET /auth/me.
type sessionOut struct {
	User             *tuku.User `json:"user"`
	MFARequired      bool       `json:"mfa_required"`
	MFAEnrolRequired bool       `json:"mfa_enrol_required"`
	// Via: "session" or "token"; for tokens, their restrictions.
	Via        string     `json:"via"`
	ReadOnly   bool       `json:"read_only,omitempty"`
	CustomerID string     `json:"customer_id,omitempty"`
	Expires    *time.Time `json:"expires,omitempty"` // sessions: the absolute timeout
}

func stateOut(st *service.SessionState) sessionOut {
	exp := st.Expires
	return sessionOut{User: st.User, MFARequired: st.MFARequired, MFAEnrolRequired: st.MFAEnrolRequired,
		Via: "session", Expires: &exp}
}

// loginIn is the body of POST /api/v1/auth/login.
type loginIn struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *server) login(w http.ResponseWriter, r *http.Request, _ *authz.Principal) error {
	var in loginIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	ctx, c := r.Context(), clientOf(w, r)
	// Whatever session this browser held ends here, so no value from
	// before the sign-in (planted or not) is good afterwards.
	if old := sessionSecret(r); old != "" {
		_ = s.svc.Logout(ctx, old, c)
		setSessionCookie(w, r, "")
	}
	secret, st, err := s.svc.Login(ctx, in.Email, in.Password, c)
	if err != nil {
		return retryAfter(w, err)
	}
	setSessionCookie(w, r, secret)
	if rw, ok := w.(*respWriter); ok {
		rw.user = st.User.ID
	}
	return writeJSON(w, http.StatusOK, stateOut(st))
}

// codeIn is the body of the MFA steps.
type codeIn struct {
	Code string `json:"code"`
}

// verifyMFA completes a session waiting for its second factor.
func (s *server) verifyMFA(w http.ResponseWriter, r *http.Request, _ *authz.Principal) error {
	var in codeIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	secret, err := needSession(r)
	if err != nil {
		return err
	}
	newSecret, st, err := s.svc.VerifyMFA(r.Context(), secret, in.Code, clientOf(w, r))
	if err != nil {
		return retryAfter(w, err)
	}
	setSessionCookie(w, r, newSecret)
	return writeJSON(w, http.StatusOK, stateOut(st))
}

func needSession(r *http.Request) (string, error) {
	secret := sessionSecret(r)
	if secret == "" {
		return "", errs.E(errs.Unauth, "auth", "not signed in", nil)
	}
	return secret, nil
}

func (s *server) logout(w http.ResponseWriter, r *http.Request, _ *authz.Principal) error {
	secret, err := needSession(r)
	if err != nil {
		return err
	}
	err = s.svc.Logout(r.Context(), secret, clientOf(w, r))
	// The cookie goes in any case: a dead session's cookie is of no use.
	setSessionCookie(w, r, "")
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// me describes the caller: a token, a session, or a session still waiting
// for its second factor.
func (s *server) me(w http.ResponseWriter, r *http.Request, _ *authz.Principal) error {
	p, err := s.authenticate(r)
	if err != nil {
		// Perhaps a session at the second-factor step.
		secret := sessionSecret(r)
		if secret == "" || r.Header.Get("Authorization") != "" || errs.KindOf(err) != errs.Unauth {
			return err
		}
		st, serr := s.svc.Session(r.Context(), secret, clientOf(w, r))
		if serr != nil {
			return serr
		}
		return writeJSON(w, http.StatusOK, stateOut(st))
	}
	u, err := s.svc.User(r.Context(), p, p.UserID)
	if err != nil {
		return err
	}
	out := sessionOut{User: u, Via: p.Via, ReadOnly: p.ReadOnly, CustomerID: p.OnlyCustomerID}
	return writeJSON(w, http.StatusOK, out)
}

// passwordIn is the body of POST /api/v1/auth/password.
type passwordIn struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

func (s *server) changePassword(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	var in passwordIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	secret := ""
	if p.Via == "session" {
		secret = sessionSecret(r)
	}
	newSecret, err := s.svc.ChangePassword(r.Context(), p, in.Current, in.New, secret)
	if err != nil {
		return retryAfter(w, err)
	}
	if newSecret != "" {
		setSessionCookie(w, r, newSecret)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) enrolMFA(w http.ResponseWriter, r *http.Request, _ *authz.Principal) error {
	secret, err := needSession(r)
	if err != nil {
		return err
	}
	en, err := s.svc.EnrolMFA(r.Context(), secret, clientOf(w, r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, en)
}

func (s *server) confirmMFA(w http.ResponseWriter, r *http.Request, _ *authz.Principal) error {
	var in codeIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	secret, err := needSession(r)
	if err != nil {
		return err
	}
	codes, newSecret, err := s.svc.ConfirmMFA(r.Context(), secret, in.Code, clientOf(w, r))
	if err != nil {
		return retryAfter(w, err)
	}
	if newSecret != "" {
		setSessionCookie(w, r, newSecret)
	}
	return writeJSON(w, http.StatusOK, struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}{codes})
}

// ---- users and tokens (administration) ----

// userIn is the body of POST /api/v1/users.
type userIn struct {
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	Password    string `json:"password"` // "" = generate one, returned once
}

func (s *server) createUser(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	var in userIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	u, pw, err := s.svc.CreateUser(r.Context(), p, service.NewUser{
		Email: in.Email, DisplayName: in.DisplayName, Role: tuku.Role(in.Role), Password: in.Password})
	if err != nil {
		return err
	}
	out := struct {
		User     *tuku.User `json:"user"`
		Password string     `json:"password,omitempty"`
	}{User: u}
	if in.Password == "" {
		out.Password = pw
	}
	w.Header().Set("Location", "/api/v1/users/"+u.ID)
	return writeJSON(w, http.StatusCreated, out)
}

func (s *server) listUsers(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	us, err := s.svc.ListUsers(r.Context(), p)
	if err != nil {
		return err
	}
	if us == nil {
		us = []tuku.User{}
	}
	return writeJSON(w, http.StatusOK, struct {
		Users []tuku.User `json:"users"`
	}{us})
}

func (s *server) disableUser(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	u, err := s.svc.DisableUser(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

func (s *server) resetMFA(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	if err := s.svc.ResetMFA(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// tokenIn is the body of POST /api/v1/tokens. Email names another user
// (administrators only); "" mints a token for the caller.
type tokenIn struct {
	Name       string `json:"name"`
	ReadOnly   bool   `json:"read_only"`
	CustomerID string `json:"customer_id"`
	Email      string `json:"email"`
}

func (s *server) createToken(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	var in tokenIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Email == "" {
		in.Email = p.Email
	}
	t, secret, err := s.svc.CreateToken(r.Context(), p, service.NewToken{
		Email: in.Email, Name: in.Name, ReadOnly: in.ReadOnly, CustomerID: in.CustomerID})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, struct {
		Token  *tuku.Token `json:"token"`
		Secret string      `json:"secret"` // shown once
	}{t, secret})
}

func (s *server) revokeToken(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	if err := s.svc.RevokeToken(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
