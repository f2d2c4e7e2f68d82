package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"tuku/internal/authz"
	"tuku/internal/extract"
	"tuku/internal/httpapi"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

// testClock is the service's clock in these tests: it moves only when
// told, so timeouts, TOTP steps and throttling delays are exact.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// sessionEnv is a real Tuku whose service runs on a fake clock, served
// without request rate limits (so that the sign-in throttling under test
// is what answers) and without the token cache (so revocation is
// immediate).
type sessionEnv struct {
	*env
	svc   *service.Service
	clock *testClock
}

func newSessionEnv(t *testing.T, cfg service.Config) *sessionEnv {
	t.Helper()
	base := newEnv(t)
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	cfg.TempDir = t.TempDir()
	svc, err := service.New(cfg, service.Deps{
		Meta: base.app.Meta, Blobs: base.app.Blobs, Engine: base.app.Engine,
		Extract: extract.Extract, Now: clock.Now,
	})
	if err != nil {
		t.Fatalf("service.New: %v", err)
	}
	h := httpapi.New(svc, httpapi.Options{RateLimits: httpapi.NoRateLimits(), TokenCacheTTL: -1})
	return &sessionEnv{env: newEnvWith(t, base.app, h, base.logs), svc: svc, clock: clock}
}

// addUser creates an account with a known password.
func (e *sessionEnv) addUser(email string, role tuku.Role) (*tuku.User, string) {
	e.t.Helper()
	const pw = "correct horse battery"
	u, _, err := e.svc.CreateUser(context.Background(), &authz.System, service.NewUser{Email: email, Role: role, Password: pw})
	if err != nil {
		e.t.Fatalf("CreateUser: %v", err)
	}
	return u, pw
}

// browser is a same-origin browser: it keeps the session cookie the
// server sets and sends the headers a browser sends on same-origin fetches.
type browser struct {
	e      *env
	cookie string
}

func (e *env) browser() *browser { return &browser{e: e} }

func (b *browser) do(method, path string, v any, hdr map[string]string) *response {
	b.e.t.Helper()
	h := map[string]string{"Authorization": "", "Origin": b.e.srv.URL, "Sec-Fetch-Site": "same-origin"}
	if b.cookie != "" {
		h["Cookie"] = httpapi.SessionCookie + "=" + b.cookie
	}
	var body io.Reader
	if v != nil {
		j, _ := json.Marshal(v)
		body = bytes.NewReader(j)
		h["Content-Type"] = "application/json"
	}
	for k, x := range hdr {
		h[k] = x
	}
	r := b.e.do(method, path, body, h)
	for _, c := range r.Cookies() {
		if c.Name == httpapi.SessionCookie {
			if c.MaxAge < 0 || c.Value == "" {
				b.cookie = ""
			} else {
				b.cookie = c.Value
			}
		}
	}
	return r
}

func (b *browser) post(path string, v any) *response { return b.do("POST", path, v, nil) }
func (b *browser) get(path string) *response         { return b.do("GET", path, nil, nil) }

// sessionState is the body of the sign-in steps and /auth/me.
type sessionState struct {
	User             tuku.User `json:"user"`
	MFARequired      bool      `json:"mfa_required"`
	MFAEnrolRequired bool      `json:"mfa_enrol_required"`
	Via              string    `json:"via"`
}

func (b *browser) login(email, pw string) (*response, sessionState) {
	b.e.t.Helper()
	r := b.post("/api/v1/auth/login", map[string]string{"email": email, "password": pw})
	var st sessionState
	if r.StatusCode == 200 {
		r.json(b.e.t, &st)
	}
	return r, st
}

func (b *browser) mustLogin(email, pw string) sessionState {
	b.e.t.Helper()
	r, st := b.login(email, pw)
	if r.StatusCode != 200 || b.cookie == "" {
		b.e.t.Fatalf("login %s: %d %s (cookie %q)", email, r.StatusCode, r.body, b.cookie)
	}
	return st
}

// withCookie is a browser holding a given cookie value.
func (e *env) withCookie(v string) *browser { return &browser{e: e, cookie: v} }

// wantStatus fails unless r has the status (and, for errors, the code).
func wantStatus(t *testing.T, what string, r *response, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.StatusCode, status, r.body)
	}
	if status >= 400 {
		r.apiError(t)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	e := newSessionEnv(t, service.Config{})
	u, pw := e.addUser("ann@example.com", tuku.RoleMember)
	b := e.browser()
	r, st := b.login(u.Email, pw)
	wantStatus(t, "login", r, 200)
	if st.User.ID != u.ID || st.MFARequired || st.MFAEnrolRequired {
		t.Errorf("login state %+v", st)
	}
	raw := r.Header.Values("Set-Cookie")
	if len(raw) != 1 {
		t.Fatalf("Set-Cookie %q, want one", raw)
	}
	c := r.Cookies()[0]
	if c.Name != "tuku_session" || len(c.Value) != 43 || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
		c.Path != "/" || c.Secure || !c.Expires.IsZero() || c.MaxAge != 0 {
		t.Errorf("cookie %q: want tuku_session, 43 chars, HttpOnly, SameSite=Lax, Path=/, not Secure over plain HTTP, no expiry", raw[0])
	}
	if strings.Contains(strings.ToLower(raw[0]), "expires") || strings.Contains(strings.ToLower(raw[0]), "max-age") {
		t.Errorf("cookie %q has an expiry: it should end with the browser", raw[0])
	}
	// The cookie signs in.
	me := b.get("/api/v1/auth/me")
	wantStatus(t, "me", me, 200)
	var ms sessionState
	me.json(t, &ms)
	if ms.User.Email != u.Email || ms.Via != "session" {
		t.Errorf("me = %+v", ms)
	}

	// Over TLS the cookie is Secure.
	tls := httptest.NewTLSServer(e.srv.Config.Handler)
	t.Cleanup(tls.Close)
	body := strings.NewReader(`{"email":"ann@example.com","password":"` + pw + `"}`)
	req, _ := http.NewRequest("POST", tls.URL+"/api/v1/auth/login", body)
	req.Header.Set("Content-Type", "application/json")
	resp, err := tls.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(resp.Cookies()) != 1 || !resp.Cookies()[0].Secure {
		t.Errorf("over TLS: %d, cookies %q: want one Secure cookie", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
	if hsts := resp.Header.Get("Strict-Transport-Security"); hsts == "" {
		t.Log("no HSTS over TLS (the hardening middleware sets it)")
	}
}

func TestSessionFixation(t *testing.T) {
	e := newSessionEnv(t, service.Config{})
	u, pw := e.addUser("ann@example.com", tuku.RoleMember)

	// An attacker plants a well-formed value before the victim signs in.
	const planted = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	b := e.withCookie(planted)
	b.mustLogin(u.Email, pw)
	if b.cookie == planted {
		t.Fatal("the session kept the value set before sign-in")
	}
	wantStatus(t, "planted value after sign-in", e.withCookie(planted).get("/api/v1/auth/me"), 401)
	wantStatus(t, "new cookie", b.get("/api/v1/auth/me"), 200)

	// Signing in again, even from a browser with a valid session, makes a
	// new session and ends the old one.
	before := b.cookie
	b.mustLogin(u.Email, pw)
	if b.cookie == before {
		t.Fatal("a second sign-in reused the session")
	}
	wantStatus(t, "previous session after a new sign-in", e.withCookie(before).get("/api/v1/auth/me"), 401)
	wantStatus(t, "current session", b.get("/api/v1/auth/me"), 200)
}

func TestSessionsKilled(t *testing.T) {
	e := newSessionEnv(t, service.Config{})
	admin := e.browser()
	_, adminPW := e.addUser("boss@example.com", tuku.RoleAdmin)
	admin.mustLogin("boss@example.com", adminPW)

	t.Run("logout", func(t *testing.T) {
		u, pw := e.addUser("logout@example.com", tuku.RoleMember)
		b := e.browser()
		b.mustLogin(u.Email, pw)
		old := b.cookie
		r := b.post("/api/v1/auth/logout", nil)
		wantStatus(t, "logout", r, 204)
		if b.cookie != "" {
			t.Error("logout did not delete the cookie")
		}
		wantStatus(t, "old cookie after logout", e.withCookie(old).get("/api/v1/auth/me"), 401)
		wantStatus(t, "logout again", e.withCookie(old).post("/api/v1/auth/logout", nil), 401)
	})

	t.Run("disable", func(t *testing.T) {
		u, pw := e.addUser("gone@example.com", tuku.RoleMember)
		b := e.browser()
		b.mustLogin(u.Email, pw)
		old := b.cookie
		_, tok, err := e.svc.CreateToken(context.Background(), &authz.System, service.NewToken{Email: u.Email, Name: "t"})
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "token before", e.do("GET", "/api/v1/auth/me", nil, map[string]string{"Authorization": "Bearer " + tok}), 200)

		r := admin.post("/api/v1/users/"+u.ID+"/disable", nil)
		wantStatus(t, "disable", r, 200)
		var du tuku.User
		r.json(t, &du)
		if !du.Disabled {
			t.Error("answer does not say disabled")
		}
		wantStatus(t, "cookie after disable", e.withCookie(old).get("/api/v1/auth/me"), 401)
		wantStatus(t, "token after disable", e.do("GET", "/api/v1/auth/me", nil, map[string]string{"Authorization": "Bearer " + tok}), 401)
		r, _ = e.browser().login(u.Email, pw)
		wantStatus(t, "sign-in when disabled", r, 401)
		// Nobody disables themselves.
		wantStatus(t, "disable self", admin.post("/api/v1/users/"+admin.me(t).ID+"/disable", nil), 400)
	})

	t.Run("password change", func(t *testing.T) {
		u, pw := e.addUser("pw@example.com", tuku.RoleMember)
		b1, b2 := e.browser(), e.browser()
		b1.mustLogin(u.Email, pw)
		b2.mustLogin(u.Email, pw)
		old1 := b1.cookie

		const next = "a brand new passphrase"
		r := b1.post("/api/v1/auth/password", map[string]string{"current": "wrong password!", "new": next})
		wantStatus(t, "wrong current password", r, 403)
		wantStatus(t, "still signed in", b2.get("/api/v1/auth/me"), 200)

		r = b1.post("/api/v1/auth/password", map[string]string{"current": pw, "new": next})
		wantStatus(t, "change", r, 204)
		if b1.cookie == "" || b1.cookie == old1 {
			t.Fatal("the changing browser did not get a new session")
		}
		wantStatus(t, "the changer's new session", b1.get("/api/v1/auth/me"), 200)
		wantStatus(t, "the changer's old cookie", e.withCookie(old1).get("/api/v1/auth/me"), 401)
		wantStatus(t, "another session of the user", b2.get("/api/v1/auth/me"), 401)
		r, _ = e.browser().login(u.Email, pw)
		wantStatus(t, "old password", r, 401)
		e.browser().mustLogin(u.Email, next)
	})

	t.Run("admin sets password", func(t *testing.T) {
		u, pw := e.addUser("set@example.com", tuku.RoleMember)
		b := e.browser()
		b.mustLogin(u.Email, pw)
		set, err := e.svc.SetPassword(context.Background(), &authz.System, u.Email, "")
		if err != nil || len(set) < 10 {
			t.Fatalf("SetPassword: %q %v", set, err)
		}
		wantStatus(t, "session after SetPassword", b.get("/api/v1/auth/me"), 401)
		e.browser().mustLogin(u.Email, set)
	})
}

// me returns the signed-in user.
func (b *browser) me(t *testing.T) tuku.User {
	t.Helper()
	r := b.get("/api/v1/auth/me")
	wantStatus(t, "me", r, 200)
	var st sessionState
	r.json(t, &st)
	return st.User
}

func TestSessionTimeouts(t *testing.T) {
	e := newSessionEnv(t, service.Config{SessionIdle: 30 * time.Minute, SessionMax: 12 * time.Hour})
	u, pw := e.addUser("ann@example.com", tuku.RoleMember)

	t.Run("idle", func(t *testing.T) {
		b := e.browser()
		b.mustLogin(u.Email, pw)
		// Activity keeps it alive past the idle timeout in total.
		for range 3 {
			e.clock.Advance(20 * time.Minute)
			wantStatus(t, "active session", b.get("/api/v1/auth/me"), 200)
		}
		e.clock.Advance(30*time.Minute + time.Second)
		wantStatus(t, "idle session", b.get("/api/v1/auth/me"), 401)
		// Dead for good, not just this once.
		e.clock.Advance(-31 * time.Minute)
		wantStatus(t, "expired session, clock back", b.get("/api/v1/auth/me"), 401)
		e.clock.Advance(31 * time.Minute)
	})

	t.Run("absolute", func(t *testing.T) {
		b := e.browser()
		b.mustLogin(u.Email, pw)
		start := e.clock.Now()
		for e.clock.Now().Sub(start) < 12*time.Hour-20*time.Minute {
			e.clock.Advance(20 * time.Minute)
			wantStatus(t, "active session", b.get("/api/v1/auth/me"), 200)
		}
		e.clock.Advance(12*time.Hour - e.clock.Now().Sub(start) + time.Second)
		wantStatus(t, "session past the absolute timeout", b.get("/api/v1/auth/me"), 401)
	})
}

// code is the TOTP code for secret at the fake clock's time.
func (e *sessionEnv) code(secret string) string {
	e.t.Helper()
	c, err := totp.GenerateCode(secret, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// enrol sets up TOTP for the browser's user and returns the secret and
// the recovery codes.
func (e *sessionEnv) enrol(b *browser) (string, []string) {
	e.t.Helper()
	r := b.post("/api/v1/auth/mfa/enrol", nil)
	if r.StatusCode != 200 {
		e.t.Fatalf("enrol: %d %s", r.StatusCode, r.body)
	}
	var en struct {
		Secret string `json:"secret"`
		URL    string `json:"url"`
		QRPNG  []byte `json:"qr_png"`
	}
	r.json(e.t, &en)
	if en.Secret == "" || !strings.HasPrefix(en.URL, "otpauth://totp/") || !strings.Contains(en.URL, "secret="+en.Secret) {
		e.t.Fatalf("enrolment %+v", en)
	}
	if !bytes.HasPrefix(en.QRPNG, []byte("\x89PNG")) {
		e.t.Errorf("qr_png is not a PNG (%d bytes)", len(en.QRPNG))
	}
	r = b.post("/api/v1/auth/mfa/confirm", map[string]string{"code": e.code(en.Secret)})
	if r.StatusCode != 200 {
		e.t.Fatalf("confirm: %d %s", r.StatusCode, r.body)
	}
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	r.json(e.t, &out)
	if len(out.RecoveryCodes) != 10 {
		e.t.Fatalf("%d recovery codes, want 10", len(out.RecoveryCodes))
	}
	return en.Secret, out.RecoveryCodes
}

func TestMFA(t *testing.T) {
	e := newSessionEnv(t, service.Config{})
	u, pw := e.addUser("ann@example.com", tuku.RoleMember)
	b := e.browser()
	b.mustLogin(u.Email, pw)
	secret, recovery := e.enrol(b)
	wantStatus(t, "enrol again", b.post("/api/v1/auth/mfa/enrol", nil), 409)
	wantStatus(t, "logout", b.post("/api/v1/auth/logout", nil), 204)

	// The password alone gives a session that can do nothing but the
	// second step.
	e.clock.Advance(30 * time.Second) // the confirm code's step is used up
	st := b.mustLogin(u.Email, pw)
	if !st.MFARequired {
		t.Fatalf("login state %+v, want mfa_required", st)
	}
	pending := b.cookie
	wantStatus(t, "pending session on an API route", b.get("/api/v1/customers"), 401)
	var ms sessionState
	r := b.get("/api/v1/auth/me")
	wantStatus(t, "me while pending", r, 200)
	r.json(t, &ms)
	if !ms.MFARequired {
		t.Errorf("me while pending: %+v", ms)
	}
	wantStatus(t, "enrol while pending", b.post("/api/v1/auth/mfa/enrol", nil), 401)
	wantStatus(t, "wrong code", b.post("/api/v1/auth/mfa", map[string]string{"code": "000000"}), 401)

	code := e.code(secret)
	r = b.post("/api/v1/auth/mfa", map[string]string{"code": code})
	wantStatus(t, "right code", r, 200)
	if b.cookie == pending || b.cookie == "" {
		t.Fatal("completing MFA kept the pending session's value")
	}
	wantStatus(t, "complete session", b.get("/api/v1/customers"), 200)
	wantStatus(t, "the pending value after MFA", e.withCookie(pending).get("/api/v1/auth/me"), 401)

	t.Run("replay", func(t *testing.T) {
		b2 := e.browser()
		b2.mustLogin(u.Email, pw)
		wantStatus(t, "the same code again", b2.post("/api/v1/auth/mfa", map[string]string{"code": code}), 401)
		wantStatus(t, "still pending", b2.get("/api/v1/customers"), 401)
		e.clock.Advance(30 * time.Second)
		wantStatus(t, "the next step's code", b2.post("/api/v1/auth/mfa", map[string]string{"code": e.code(secret)}), 200)
	})

	t.Run("recovery code works once", func(t *testing.T) {
		b3 := e.browser()
		b3.mustLogin(u.Email, pw)
		wantStatus(t, "recovery code", b3.post("/api/v1/auth/mfa", map[string]string{"code": strings.ToUpper(recovery[0])}), 200)
		wantStatus(t, "signed in", b3.get("/api/v1/customers"), 200)
		b4 := e.browser()
		b4.mustLogin(u.Email, pw)
		wantStatus(t, "recovery code again", b4.post("/api/v1/auth/mfa", map[string]string{"code": recovery[0]}), 401)
		wantStatus(t, "another recovery code", b4.post("/api/v1/auth/mfa", map[string]string{"code": recovery[1]}), 200)
	})

	t.Run("audited", func(t *testing.T) {
		page, err := e.svc.ListAudit(context.Background(), &authz.System, service.AuditQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, ev := range page.Events {
			if ev.TargetID == u.ID || ev.ActorID == u.ID {
				seen[ev.Action+" "+ev.Outcome] = true
				if strings.HasPrefix(ev.Action, "auth.") && (ev.IP != "127.0.0.1" || ev.RequestID == "") {
					t.Errorf("%s: ip %q request id %q", ev.Action, ev.IP, ev.RequestID)
				}
			}
		}
		for _, want := range []string{"auth.login ok", "auth.logout ok", "auth.mfa.enrol ok", "auth.mfa.confirm ok",
			"auth.mfa.verify ok", "auth.mfa.verify failed"} {
			if !seen[want] {
				t.Errorf("no audit row %q (have %v)", want, seen)
			}
		}
	})

	t.Run("admin reset", func(t *testing.T) {
		if err := e.svc.ResetMFA(context.Background(), &authz.System, u.Email); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "session after reset", b.get("/api/v1/auth/me"), 401)
		st := b.mustLogin(u.Email, pw)
		if st.MFARequired || st.MFAEnrolRequired {
			t.Errorf("after reset: %+v", st)
		}
		wantStatus(t, "password only", b.get("/api/v1/customers"), 200)
	})
}

func TestMFARequiredByRole(t *testing.T) {
	e := newSessionEnv(t, service.Config{RequireMFA: []string{"admin"}})
	_, apw := e.addUser("boss@example.com", tuku.RoleAdmin)
	m, mpw := e.addUser("ann@example.com", tuku.RoleMember)

	// Members are not covered.
	if st := e.browser().mustLogin(m.Email, mpw); st.MFARequired || st.MFAEnrolRequired {
		t.Errorf("member: %+v", st)
	}
	b := e.browser()
	st := b.mustLogin("boss@example.com", apw)
	if !st.MFAEnrolRequired || st.MFARequired {
		t.Fatalf("admin without MFA: %+v, want mfa_enrol_required", st)
	}
	pending := b.cookie
	wantStatus(t, "API before enrolling", b.get("/api/v1/users"), 401)
	e.enrol(b)
	if b.cookie == pending {
		t.Fatal("enrolling did not start a new session")
	}
	wantStatus(t, "API after enrolling", b.get("/api/v1/users"), 200)
	wantStatus(t, "the enrol-only value", e.withCookie(pending).get("/api/v1/users"), 401)
}

func TestLoginThrottling(t *testing.T) {
	e := newSessionEnv(t, service.Config{})
	u, pw := e.addUser("ann@example.com", tuku.RoleMember)

	t.Run("account", func(t *testing.T) {
		for i := range 5 {
			r, _ := e.browser().login(u.Email, "not the password")
			wantStatus(t, "failure "+strconv.Itoa(i+1), r, 401)
		}
		// Now even the right password waits.
		r, _ := e.browser().login(u.Email, pw)
		wantStatus(t, "sixth attempt", r, 429)
		if ra := r.Header.Get("Retry-After"); ra != "1" {
			t.Errorf("Retry-After %q, want 1", ra)
		}
		e.clock.Advance(time.Second)
		r, _ = e.browser().login(u.Email, "not the password")
		wantStatus(t, "after 1 s", r, 401)
		r, _ = e.browser().login(u.Email, pw)
		wantStatus(t, "right away again", r, 429)
		if ra := r.Header.Get("Retry-After"); ra != "2" {
			t.Errorf("Retry-After %q, want 2 (doubling)", ra)
		}
		e.clock.Advance(2 * time.Second)
		e.browser().mustLogin(u.Email, pw)
		// A success starts the account's count over.
		r, _ = e.browser().login(u.Email, "not the password")
		wantStatus(t, "a failure after success", r, 401)
		e.browser().mustLogin(u.Email, pw)
	})

	e.clock.Advance(time.Hour) // forget the address's failures
	t.Run("address", func(t *testing.T) {
		for i := range 20 {
			r, _ := e.browser().login("nobody"+strconv.Itoa(i)+"@example.com", "whatever it is")
			wantStatus(t, "failure "+strconv.Itoa(i+1), r, 401)
		}
		r, _ := e.browser().login(u.Email, pw)
		wantStatus(t, "another account from the same address", r, 429)
		if r.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		e.clock.Advance(time.Second)
		e.browser().mustLogin(u.Email, pw)
	})
}

func TestLoginUnknownEmailLooksLikeWrongPassword(t *testing.T) {
	e := newSessionEnv(t, service.Config{})
	u, _ := e.addUser("ann@example.com", tuku.RoleMember)
	var bodies [2][]byte
	var hdrs [2]http.Header
	var best [2]time.Duration
	for round := range 3 {
		for i, email := range []string{"nobody@example.com", u.Email} {
			start := time.Now()
			r, _ := e.browser().login(email, "wrong password 123")
			d := time.Since(start)
			if round == 0 || d < best[i] {
				best[i] = d
			}
			wantStatus(t, email, r, 401)
			id := r.Header.Get("X-Request-Id")
			bodies[i] = bytes.ReplaceAll(r.body, []byte(id), []byte("ID"))
			hdrs[i] = r.Header.Clone()
			for _, k := range []string{"X-Request-Id", "Date"} {
				hdrs[i].Del(k)
			}
		}
		if !bytes.Equal(bodies[0], bodies[1]) {
			t.Fatalf("bodies differ:\n%s\n%s", bodies[0], bodies[1])
		}
		a, _ := json.Marshal(hdrs[0])
		b, _ := json.Marshal(hdrs[1])
		if !bytes.Equal(a, b) {
			t.Fatalf("headers differ:\n%s\n%s", a, b)
		}
	}
	if !strings.Contains(string(bodies[0]), "email or password is wrong") {
		t.Errorf("body %s", bodies[0])
	}
	// Both run argon2, so an unknown email is not answered much faster.
	// Skipping the hash would make it about a hundred times faster; the
	// loose bound leaves room for a busy machine's noise.
	if best[0] < best[1]/4 {
		t.Errorf("timing: unknown email %v, wrong password %v", best[0], best[1])
	}
	t.Logf("fastest of 3: unknown email %v, wrong password %v", best[0], best[1])

	// The log, unlike the answer, tells the two apart.
	page, err := e.svc.ListAudit(context.Background(), &authz.System, service.AuditQuery{Action: "auth.login", Outcome: "failed"})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	for _, ev := range page.Events {
		reasons[ev.ActorEmail+" "+ev.Detail]++
	}
	if reasons[`nobody@example.com {"reason":"unknown email"}`] != 3 || reasons[u.Email+` {"reason":"wrong password"}`] != 3 {
		t.Errorf("failed sign-ins in the audit log: %v", reasons)
	}
}

func TestTokensFromTheAPI(t *testing.T) {
	e := newSessionEnv(t, service.Config{})
	admin := func(method, path string, v any) *response {
		var body io.Reader
		if v != nil {
			j, _ := json.Marshal(v)
			body = bytes.NewReader(j)
		}
		return e.do(method, path, body, map[string]string{"Content-Type": "application/json"})
	}
	e.createCustomer("Acme", "ACME")
	r := admin("POST", "/api/v1/tokens", map[string]any{"name": "reader", "read_only": true})
	wantStatus(t, "mint read-only", r, 201)
	var minted struct {
		Token  tuku.Token `json:"token"`
		Secret string     `json:"secret"`
	}
	r.json(t, &minted)
	if minted.Token.Scope != "read" || !strings.HasPrefix(minted.Secret, "tuku_") {
		t.Fatalf("minted %+v", minted)
	}
	ro := map[string]string{"Authorization": "Bearer " + minted.Secret}

	wantStatus(t, "read-only reads", e.do("GET", "/api/v1/customers", nil, ro), 200)
	body, ct := multipartBody(text("customer_id", "ACME"), file("a.jpg", makeJPEG(t, 64, 48, 1)))
	wantStatus(t, "read-only uploads", e.do("POST", "/api/v1/assets", body, map[string]string{"Authorization": ro["Authorization"], "Content-Type": ct}), 403)
	j := strings.NewReader(`{"name":"wider"}`)
	wantStatus(t, "read-only mints", e.do("POST", "/api/v1/tokens", j, map[string]string{"Authorization": ro["Authorization"], "Content-Type": "application/json"}), 403)
	wantStatus(t, "read-only revokes", e.do("DELETE", "/api/v1/tokens/"+minted.Token.ID, nil, ro), 403)

	// Revocation works at once (no token cache in this env).
	wantStatus(t, "revoke", admin("DELETE", "/api/v1/tokens/"+minted.Token.ID, nil), 204)
	wantStatus(t, "revoked token", e.do("GET", "/api/v1/customers", nil, ro), 401)
	wantStatus(t, "revoke unknown", admin("DELETE", "/api/v1/tokens/0000000000000000000000000z", nil), 404)

	// A member cannot revoke the admin's token: it looks missing.
	m, mpw := e.addUser("ann@example.com", tuku.RoleMember)
	mb := e.browser()
	mb.mustLogin(m.Email, mpw)
	ts, err := e.svc.ListTokens(context.Background(), &authz.System, "admin@example.com")
	if err != nil || len(ts) == 0 {
		t.Fatalf("ListTokens: %v %v", ts, err)
	}
	wantStatus(t, "member revokes the admin's token", mb.do("DELETE", "/api/v1/tokens/"+ts[0].ID, nil, nil), 404)
	// Members mint their own tokens, not others'.
	wantStatus(t, "member mints own", mb.post("/api/v1/tokens", map[string]any{"name": "mine"}), 201)
	wantStatus(t, "member mints for admin", mb.post("/api/v1/tokens", map[string]any{"name": "x", "email": "admin@example.com"}), 403)
	wantStatus(t, "member lists users", mb.get("/api/v1/users"), 403)
}

func TestUsersFromTheAPI(t *testing.T) {
	e := newSessionEnv(t, service.Config{})
	r := e.postJSON("/api/v1/users", map[string]string{"email": "New.Person@Example.com", "role": "member"})
	wantStatus(t, "create", r, 201)
	var out struct {
		User     tuku.User `json:"user"`
		Password string    `json:"password"`
	}
	r.json(t, &out)
	if out.User.Email != "new.person@example.com" || out.User.Role != tuku.RoleMember || len(out.Password) < 10 {
		t.Fatalf("created %+v", out)
	}
	if strings.Contains(string(r.body), "argon2") {
		t.Fatal("the answer carries the password hash")
	}
	e.browser().mustLogin("new.person@example.com", out.Password)
	wantStatus(t, "duplicate", e.postJSON("/api/v1/users", map[string]string{"email": "new.person@example.com"}), 409)
	wantStatus(t, "short password", e.postJSON("/api/v1/users", map[string]string{"email": "x@example.com", "password": "short"}), 400)

	r = e.get("/api/v1/users")
	wantStatus(t, "list", r, 200)
	var list struct {
		Users []tuku.User `json:"users"`
	}
	r.json(t, &list)
	if len(list.Users) != 2 {
		t.Errorf("%d users, want 2 (admin and the new one)", len(list.Users))
	}
	wantStatus(t, "reset-mfa", e.do("POST", "/api/v1/users/"+out.User.ID+"/reset-mfa", nil, nil), 204)
	wantStatus(t, "disable unknown", e.do("POST", "/api/v1/users/0000000000000000000000000z/disable", nil, nil), 404)
}

func TestCSRF(t *testing.T) {
	e := newSessionEnv(t, service.Config{})
	u, pw := e.addUser("boss@example.com", tuku.RoleAdmin)
	b := e.browser()
	b.mustLogin(u.Email, pw)

	foreign := map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
	r := b.do("POST", "/api/v1/customers", map[string]string{"name": "Forged", "code": "EVIL"}, foreign)
	wantStatus(t, "cross-site POST with the cookie", r, 403)
	if e := r.apiError(t); e.Code != "permission" {
		t.Errorf("code %q", e.Code)
	}
	// Without Sec-Fetch-Site, a foreign Origin alone is refused too.
	r = b.do("POST", "/api/v1/customers", map[string]string{"name": "Forged", "code": "EVIL"},
		map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": ""})
	wantStatus(t, "foreign Origin", r, 403)
	if r := e.get("/api/v1/customers/EVIL"); r.StatusCode != 404 {
		t.Fatalf("the forged customer exists: %d", r.StatusCode)
	}
	// Logging someone out or in from another site is refused too.
	wantStatus(t, "cross-site logout", b.do("POST", "/api/v1/auth/logout", nil, foreign), 403)
	wantStatus(t, "still signed in", b.get("/api/v1/auth/me"), 200)
	lr := e.browser().do("POST", "/api/v1/auth/login", map[string]string{"email": u.Email, "password": pw}, foreign)
	wantStatus(t, "cross-site login", lr, 403)
	// With the cookie, another site cannot make the browser read either:
	// some reads (downloads) are audited in the user's name.
	wantStatus(t, "cross-site GET", b.do("GET", "/api/v1/customers", nil, foreign), 403)
	wantStatus(t, "same-site GET", b.do("GET", "/api/v1/customers", nil, map[string]string{"Sec-Fetch-Site": "same-site"}), 403)
	// A link opened from a chat app or typed in (Sec-Fetch-Site: none) works.
	wantStatus(t, "GET from outside the web", b.do("GET", "/api/v1/customers", nil, map[string]string{"Sec-Fetch-Site": "none"}), 200)

	// Same origin passes.
	wantStatus(t, "same-origin POST", b.post("/api/v1/customers", map[string]string{"name": "Real", "code": "REAL"}), 201)
	// A bearer token is not a browser's ambient credential: not subject.
	j := strings.NewReader(`{"name":"Scripted","code":"API"}`)
	r = e.do("POST", "/api/v1/customers", j, map[string]string{"Content-Type": "application/json",
		"Origin": "https://tool.example", "Sec-Fetch-Site": "cross-site"})
	wantStatus(t, "token from elsewhere", r, 201)
}
