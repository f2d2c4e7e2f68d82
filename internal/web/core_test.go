package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"tuku/internal/app"
	"tuku/internal/authz"
	"tuku/internal/httpapi"
	"tuku/internal/service"
	"tuku/internal/tuku"
	"tuku/internal/web"
)

// HTTP-level tests of the core pages (no browser): headers, redirects,
// sign-in, CSRF, static caching, languages.

// newServer runs a real Tuku on loopback and returns its URL and service.
func newServer(t *testing.T) (string, *service.Service) {
	t.Helper()
	a, err := app.Open(context.Background(), app.Config{
		Data: t.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RateLimits: httpapi.NoRateLimits(), ImagingWorkers: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() { srv.Close(); a.Close() })
	return srv.URL, a.Service
}

// client does not follow redirects and keeps cookies.
func client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

func TestPagesCore(t *testing.T) {
	base, svc := newServer(t)
	const email, pw = "bo@example.com", "a long enough password"
	if _, _, err := svc.CreateUser(context.Background(), &authz.System, service.NewUser{Email: email, Role: tuku.RoleMember, Password: pw}); err != nil {
		t.Fatal(err)
	}
	c := client(t)

	t.Run("signed out pages redirect to sign in with next", func(t *testing.T) {
		for path, want := range map[string]string{
			"/":                 "/login",
			"/account":          "/login?next=%2Faccount",
			"/account?x=1&y":    "/login?next=%2Faccount%3Fx%3D1%26y",
			"/account/password": "/login?next=%2Faccount%2Fpassword",
		} {
			res, _ := get(t, c, base+path)
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
				t.Errorf("GET %s: %d → %q, want 303 → %q", path, res.StatusCode, res.Header.Get("Location"), want)
			}
		}
	})

	t.Run("security headers", func(t *testing.T) {
		res, body := get(t, c, base+"/login", "Accept-Language", "en")
		if res.StatusCode != 200 {
			t.Fatalf("GET /login: %d", res.StatusCode)
		}
		want := map[string]string{
			"Content-Security-Policy": web.CSP,
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"X-Frame-Options":         "DENY",
			"Cache-Control":           "private, no-store",
			"Content-Language":        "en",
		}
		for k, v := range want {
			if got := res.Header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		if !strings.Contains(web.CSP, "script-src 'self'") || strings.Contains(web.CSP, "unsafe-inline") {
			t.Errorf("CSP %q", web.CSP)
		}
		if res.Header.Get("X-Request-Id") == "" {
			t.Error("no request id")
		}
		// No inline script or style in the page: the CSP would block them.
		if regexp.MustCompile(`<script>|<script [^>]*>[^<]|style="|<style|onclick=|onload=`).MatchString(body) {
			t.Errorf("inline script or style in the page")
		}
		if !strings.Contains(body, "Sign in to Tuku") {
			t.Errorf("English sign-in page lacks its heading")
		}
	})

	t.Run("static files versioned and cacheable", func(t *testing.T) {
		_, body := get(t, c, base+"/login")
		m := regexp.MustCompile(`href="(/static/css/app\.css\?v=([0-9a-f]{12}))"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatal("no versioned stylesheet link")
		}
		res, css := get(t, c, base+m[1])
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") || !strings.Contains(css, ".thumbs") {
			t.Errorf("versioned css: %d %q", res.StatusCode, res.Header.Get("Cache-Control"))
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
			t.Errorf("css Content-Type %q", ct)
		}
		res, _ = get(t, c, base+"/static/css/app.css?v=old")
		if res.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("stale version cached: %q", res.Header.Get("Cache-Control"))
		}
		res, _ = get(t, c, base+"/static/nope.js")
		if res.StatusCode != 404 {
			t.Errorf("missing static file: %d", res.StatusCode)
		}
		res, _ = get(t, c, base+"/static/../web.go")
		if res.StatusCode == 200 {
			t.Errorf("path escape answered 200")
		}
	})

	t.Run("language from browser and switch", func(t *testing.T) {
		_, body := get(t, c, base+"/login", "Accept-Language", "zh-CN,zh;q=0.9")
		if !strings.Contains(body, "登录图库") || !strings.Contains(body, `lang="zh-CN"`) {
			t.Error("Chinese browser did not get the Chinese page")
		}
		c2 := client(t)
		res, _ := post(t, c2, base+"/lang", url.Values{"lang": {"en"}, "next": {"/login"}}, "Origin", base)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
			t.Fatalf("POST /lang: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		_, body = get(t, c2, base+"/login", "Accept-Language", "zh-CN")
		if !strings.Contains(body, "Sign in to Tuku") {
			t.Error("the language cookie did not win over Accept-Language")
		}
		res, _ = post(t, c2, base+"/lang", url.Values{"lang": {"en"}, "next": {"//evil.example/"}}, "Origin", base)
		if res.Header.Get("Location") != "/" {
			t.Errorf("open redirect: %q", res.Header.Get("Location"))
		}
	})

	t.Run("cross-origin posts refused", func(t *testing.T) {
		res, _ := post(t, client(t), base+"/login", url.Values{"email": {email}, "password": {pw}},
			"Sec-Fetch-Site", "cross-site")
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site sign-in: %d, want 403", res.StatusCode)
		}
		res, _ = post(t, client(t), base+"/login", url.Values{"email": {email}, "password": {pw}},
			"Origin", "http://evil.example")
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("foreign Origin sign-in: %d, want 403", res.StatusCode)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		res, body := post(t, client(t), base+"/login", url.Values{"email": {email}, "password": {"wrong password!"}},
			"Accept-Language", "en")
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "The email or password is wrong.") {
			t.Errorf("wrong password: %d", res.StatusCode)
		}
		if strings.Contains(body, "wrong password!") {
			t.Error("the password was echoed back")
		}
	})

	t.Run("sign in, pages, sign out", func(t *testing.T) {
		c := client(t)
		res, _ := post(t, c, base+"/login", url.Values{"email": {email}, "password": {pw}, "next": {"/account"}}, "Origin", base)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
			t.Fatalf("sign in: %d → %q", res.StatusCode, res.Header.Get("Location"))
		}
		if sc := res.Header.Get("Set-Cookie"); !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
			t.Errorf("session cookie %q", sc)
		}
		res, body := get(t, c, base+"/account", "Accept-Language", "en")
		if res.StatusCode != 200 || !strings.Contains(body, email) || !strings.Contains(body, "Two-step verification off") {
			t.Errorf("account page: %d", res.StatusCode)
		}
		res, body = get(t, c, base+"/", "Accept-Language", "en")
		if res.StatusCode != 200 || !strings.Contains(body, "Hello, bo<") || !strings.Contains(body, `id="stat-assets">0<`) {
			t.Errorf("home: %d\n%s", res.StatusCode, body)
		}
		if !strings.Contains(body, "You have not been given access to any customer yet") {
			t.Error("member without grants does not get the empty state")
		}
		// The same cookie works for the JSON API.
		res, body = get(t, c, base+"/api/v1/auth/me")
		if res.StatusCode != 200 || !strings.Contains(body, email) {
			t.Errorf("API with the page session: %d %s", res.StatusCode, body)
		}
		// Saved language.
		res, _ = post(t, c, base+"/lang", url.Values{"lang": {"zh-CN"}, "next": {"/"}}, "Origin", base)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("lang: %d", res.StatusCode)
		}
		u, err := svc.User(context.Background(), &authz.System, email)
		if err != nil || u.Locale != "zh-CN" {
			t.Errorf("locale not saved: %v %v", u, err)
		}
		// Unknown pages are a page for people, not a bare 404.
		res, body = get(t, c, base+"/no/such/page")
		if res.StatusCode != 404 || !strings.Contains(body, "页面不存在") {
			t.Errorf("404 page: %d", res.StatusCode)
		}
		res, _ = post(t, c, base+"/logout", nil, "Origin", base)
		if res.StatusCode != http.StatusSeeOther {
			t.Errorf("logout: %d", res.StatusCode)
		}
		res, _ = get(t, c, base+"/account")
		if res.StatusCode != http.StatusSeeOther {
			t.Errorf("after sign-out /account: %d, want a redirect", res.StatusCode)
		}
	})

	t.Run("password change", func(t *testing.T) {
		c := client(t)
		post(t, c, base+"/login", url.Values{"email": {email}, "password": {pw}}, "Origin", base)
		res, body := post(t, c, base+"/account/password", url.Values{"current": {pw}, "new": {"short"}, "confirm": {"short"}},
			"Origin", base, "Accept-Language", "en")
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "密码至少需要 10 个字符") {
			// the account's saved language (zh-CN, from the test above) wins
			t.Errorf("short password: %d", res.StatusCode)
		}
		res, _ = post(t, c, base+"/account/password", url.Values{"current": {"nope nope nope"}, "new": {"another long one"}, "confirm": {"another long one"}}, "Origin", base)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("wrong current password: %d", res.StatusCode)
		}
		res, body = post(t, c, base+"/account/password", url.Values{"current": {pw}, "new": {"another long one"}, "confirm": {"another long one"}}, "Origin", base)
		if res.StatusCode != 200 || !strings.Contains(body, "密码已修改") {
			t.Errorf("change: %d", res.StatusCode)
		}
		// Still signed in under the new session cookie.
		res, _ = get(t, c, base+"/account")
		if res.StatusCode != 200 {
			t.Errorf("after the change: %d", res.StatusCode)
		}
	})
}

// The home page shows what the user may see and nothing else: recent
// uploads, customers, counts and storage.
func TestHomeShowsOnlyVisible(t *testing.T) {
	base, svc := newServer(t)
	ctx := context.Background()
	for _, u := range []service.NewUser{
		{Email: "admin@example.com", Role: tuku.RoleAdmin, Password: "admin password 1"},
		{Email: "viewer@example.com", Role: tuku.RoleMember, Password: "viewer password 1"},
	} {
		if _, _, err := svc.CreateUser(ctx, &authz.System, u); err != nil {
			t.Fatal(err)
		}
	}
	a, err := svc.CreateCustomer(ctx, &authz.System, service.NewCustomer{Name: "甲公司", Code: "JIA"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.CreateCustomer(ctx, &authz.System, service.NewCustomer{Name: "乙公司", Code: "YI"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GrantAccess(ctx, &authz.System, "viewer@example.com", a.ID, "", tuku.LevelViewer, false); err != nil {
		t.Fatal(err)
	}
	var sizes = map[string]int64{}
	for i, c := range []*tuku.Customer{a, b} {
		data := tinyJPEG(t, 40*i+10)
		res, err := svc.Ingest(ctx, &authz.System, service.IngestRequest{Customer: c.ID, Filename: "p.jpg", Body: bytes.NewReader(data), Source: "upload"})
		if err != nil {
			t.Fatalf("ingest: %v", err)
		}
		sizes[c.Code] = int64(len(data))
		_ = res
	}
	page, err := svc.ListAssets(ctx, &authz.System, service.AssetQuery{})
	if err != nil || len(page.Assets) != 2 {
		t.Fatalf("assets: %v %v", page, err)
	}

	signIn := func(email, pw string) *http.Client {
		c := client(t)
		res, _ := post(t, c, base+"/login", url.Values{"email": {email}, "password": {pw}}, "Origin", base)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in %s: %d", email, res.StatusCode)
		}
		return c
	}
	_, body := get(t, signIn("admin@example.com", "admin password 1"), base+"/", "Accept-Language", "en")
	for _, want := range []string{`id="stat-assets">2<`, "甲公司", "乙公司", `id="stat-bytes">` + fmtKB(sizes["JIA"]+sizes["YI"]) + "<"} {
		if !strings.Contains(body, want) {
			t.Errorf("admin home lacks %q", want)
		}
	}
	for _, as := range page.Assets {
		want := "/api/v1/assets/" + as.ID + "/thumbnail?size=grid&amp;v=" + as.SHA256
		if !strings.Contains(body, want) {
			t.Errorf("admin home lacks the tile %s", want)
		}
	}

	// "Waiting for you" lists what the user may review: nothing for a viewer,
	// who sees A's asset in the same search without review=1.
	viewer := signIn("viewer@example.com", "viewer password 1")
	for _, tc := range []struct {
		path string
		want int
	}{{"/search?status=active", 1}, {"/search?status=active&review=1", 0}} {
		_, body := get(t, viewer, base+tc.path, "Accept-Language", "en")
		if n := strings.Count(body, `class="g-tile"`); n != tc.want {
			t.Errorf("viewer %s: %d tiles, want %d", tc.path, n, tc.want)
		}
	}
	_, body = get(t, signIn("admin@example.com", "admin password 1"), base+"/search?status=active&review=1", "Accept-Language", "en")
	if n := strings.Count(body, `class="g-tile"`); n != 2 {
		t.Errorf("admin review=1: %d tiles, want 2", n)
	}

	_, body = get(t, viewer, base+"/", "Accept-Language", "en")
	if !strings.Contains(body, `id="stat-assets">1<`) || !strings.Contains(body, "甲公司") {
		t.Errorf("viewer home does not show customer A's one asset")
	}
	if strings.Contains(body, "乙公司") {
		t.Errorf("viewer home shows customer B")
	}
	for _, as := range page.Assets {
		if as.CustomerID == b.ID && strings.Contains(body, as.ID) {
			t.Errorf("viewer home shows B's asset %s", as.ID)
		}
	}
}

// fmtKB formats like the page: n bytes in KB with one decimal.
func fmtKB(n int64) string {
	return strconv.FormatFloat(float64(n)/1024, 'f', 1, 64) + " KB"
}

// TestOneTimePassword: the first administrator's printed password opens a
// session that may only replace it — every page leads to the password
// form and the API refuses the session — and after the change everything
// works and the flag is gone.
func TestOneTimePassword(t *testing.T) {
	base, svc := newServer(t)
	ctx := context.Background()
	u, pw, err := svc.EnsureAdmin(ctx, "first@example.com")
	if err != nil || u == nil || !u.MustChangePassword {
		t.Fatalf("EnsureAdmin: %+v, %v; want a user with a one-time password", u, err)
	}
	c := client(t)
	res, _ := post(t, c, base+"/login", url.Values{"email": {"first@example.com"}, "password": {pw}}, "Origin", base)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", res.StatusCode)
	}
	for _, path := range []string{"/", "/customers", "/admin/users"} {
		res, _ := get(t, c, base+path, "Accept-Language", "en")
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/account/password") {
			t.Errorf("GET %s with a one-time password: %d → %q, want the password form", path, res.StatusCode, loc)
		}
	}
	res, body := get(t, c, base+"/api/v1/customers")
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "one-time password") {
		t.Errorf("API with a one-time password: %d %s", res.StatusCode, body)
	}
	res, body = get(t, c, base+"/account/password?next=%2Fcustomers", "Accept-Language", "en")
	if res.StatusCode != 200 || !strings.Contains(body, `id="password-onetime"`) {
		t.Fatalf("password form: %d, one-time notice shown: %v", res.StatusCode, strings.Contains(body, `id="password-onetime"`))
	}
	const mine = "my own long password"
	res, body = post(t, c, base+"/account/password", url.Values{"current": {pw}, "new": {mine}, "confirm": {mine}, "next": {"/customers"}},
		"Origin", base, "Accept-Language", "en")
	if res.StatusCode != 200 || !strings.Contains(body, `href="/customers" id="password-continue"`) {
		t.Fatalf("change: %d, continue link to /customers: %v", res.StatusCode, strings.Contains(body, `href="/customers" id="password-continue"`))
	}
	for _, path := range []string{"/", "/customers", "/api/v1/customers"} {
		if res, _ := get(t, c, base+path, "Accept-Language", "en"); res.StatusCode != 200 {
			t.Errorf("GET %s after the change: %d", path, res.StatusCode)
		}
	}
	after, err := svc.User(ctx, &authz.System, "first@example.com")
	if err != nil || after.MustChangePassword {
		t.Errorf("after the change: %+v, %v; want the flag cleared", after, err)
	}
	// An administrator's generated reset is one-time again; a chosen one is not.
	if _, err := svc.SetPassword(ctx, &authz.System, "first@example.com", ""); err != nil {
		t.Fatal(err)
	}
	if u, _ := svc.User(ctx, &authz.System, "first@example.com"); !u.MustChangePassword {
		t.Errorf("a generated reset is not one-time")
	}
	if _, err := svc.SetPassword(ctx, &authz.System, "first@example.com", "chosen by the admin"); err != nil {
		t.Fatal(err)
	}
	if u, _ := svc.User(ctx, &authz.System, "first@example.com"); u.MustChangePassword {
		t.Errorf("a password the admin chose is one-time")
	}
}
