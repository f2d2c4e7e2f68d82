package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"tuku/internal/app"
	"tuku/internal/httpapi"
	"tuku/internal/service"
	"tuku/internal/testenv"
)

// checkSecurityHeaders asserts the headers every response carries, and
// the Cache-Control its kind of response must have.
func checkSecurityHeaders(t testing.TB, what string, r *http.Response, cache string) {
	t.Helper()
	for k, want := range map[string]string{
		"X-Content-Type-Options":       "nosniff",
		"Referrer-Policy":              "no-referrer",
		"Content-Security-Policy":      httpapi.CSP,
		"X-Frame-Options":              "DENY",
		"Cross-Origin-Resource-Policy": "same-origin",
		"Cache-Control":                cache,
	} {
		if g := r.Header.Values(k); len(g) != 1 || g[0] != want {
			t.Errorf("%s (%d): %s = %q, want %q", what, r.StatusCode, k, g, want)
		}
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Errorf("%s (%d): no X-Request-Id", what, r.StatusCode)
	}
	wantHSTS := r.TLS != nil
	if got := r.Header.Get("Strict-Transport-Security"); (got != "") != wantHSTS {
		t.Errorf("%s (%d): Strict-Transport-Security %q over TLS=%v", what, r.StatusCode, got, wantHSTS)
	} else if wantHSTS && !strings.HasPrefix(got, "max-age=") {
		t.Errorf("%s: Strict-Transport-Security %q", what, got)
	}
	if strings.Contains(r.Header.Get("Content-Security-Policy"), "unsafe-inline") {
		t.Errorf("%s: CSP allows inline script", what)
	}
}

// wantCache is the Cache-Control a response to method+path with status
// must carry: content-addressed thumbnails are immutable, /healthz is
// public, everything else is private and never stored.
func wantCache(path string, status int) string {
	switch {
	case strings.HasSuffix(strings.SplitN(path, "?", 2)[0], "/thumbnail") && (status == 200 || status == 304):
		return "private, max-age=31536000, immutable"
	case path == "/healthz" && status == 200:
		return "no-cache"
	}
	return "private, no-store"
}

// TestSecurityHeadersEveryRoute sends a request to every route of the
// route table (so a route added later is covered without touching this
// test), plus the mux's own 404 and 405, a HEAD, a 304 and a 413, over
// plain HTTP and over TLS, and checks the headers of each answer.
func TestSecurityHeadersEveryRoute(t *testing.T) {
	e := newEnv(t)
	cust := e.createCustomer("Acme", "ACME")
	u := e.mustUpload(201, text("customer_id", "ACME"), file("a.jpg", makeJPEG(t, 64, 48, 1)))
	asset := u.Asset["id"].(string)
	tlsSrv := httptest.NewTLSServer(e.app.Handler())
	t.Cleanup(tlsSrv.Close)

	fill := func(path string) string {
		switch {
		case strings.HasPrefix(path, "/api/v1/assets/{id}"):
			path = strings.Replace(path, "{id}", asset, 1)
		case strings.HasPrefix(path, "/api/v1/customers/{id}"):
			path = strings.Replace(path, "{id}", cust, 1)
		}
		for strings.Contains(path, "{") {
			i, j := strings.IndexByte(path, '{'), strings.IndexByte(path, '}')
			if j < i {
				break
			}
			path = path[:i] + "0000000000000000000000000z" + path[j+1:]
		}
		return strings.TrimSuffix(path, "...")
	}
	type req struct{ method, path string }
	var reqs []req
	// Reads first, so a state-changing route (a delete, a sign-out) cannot
	// turn the reads into errors before they are checked.
	for _, rt := range httpapi.Routes() {
		if rt.Method == "GET" {
			reqs = append(reqs, req{rt.Method, fill(rt.Path)})
		}
	}
	for _, rt := range httpapi.Routes() {
		if rt.Method != "GET" {
			reqs = append(reqs, req{rt.Method, fill(rt.Path)})
		}
	}
	reqs = append(reqs,
		req{"GET", "/api/v1/nope"},
		req{"DELETE", "/healthz"},
		req{"HEAD", "/api/v1/assets/" + asset + "/original"},
		req{"GET", "/api/v1/assets/" + asset + "/thumbnail?size=preview"},
	)
	if len(reqs) < 18 {
		t.Fatalf("only %d requests", len(reqs))
	}
	for _, srv := range []*httptest.Server{e.srv, tlsSrv} {
		for _, rq := range reqs {
			var body io.Reader
			if rq.method != "GET" && rq.method != "HEAD" {
				body = strings.NewReader("{}")
			}
			hr, _ := http.NewRequest(rq.method, srv.URL+rq.path, body)
			hr.Header.Set("Authorization", "Bearer "+e.token)
			hr.Header.Set("Content-Type", "application/json")
			// Same-origin, so CSRF protection (if a route has it) judges
			// the request on its merits; its 403 carries headers too.
			hr.Header.Set("Origin", srv.URL)
			resp, err := srv.Client().Do(hr)
			if err != nil {
				t.Fatalf("%s %s: %v", rq.method, rq.path, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			what := rq.method + " " + rq.path
			if resp.StatusCode >= 500 {
				t.Errorf("%s: %d", what, resp.StatusCode)
			}
			checkSecurityHeaders(t, what, resp, wantCache(rq.path, resp.StatusCode))
		}
	}

	// A 304 keeps the thumbnail's cache policy; a 413 is private.
	thumb := e.get("/api/v1/assets/" + asset + "/thumbnail")
	r := e.do("GET", "/api/v1/assets/"+asset+"/thumbnail", nil, map[string]string{"If-None-Match": thumb.Header.Get("Etag")})
	if r.StatusCode != 304 {
		t.Fatalf("conditional thumbnail: %d", r.StatusCode)
	}
	checkSecurityHeaders(t, "304 thumbnail", r.Response, "private, max-age=31536000, immutable")
	r = e.do("POST", "/api/v1/customers", bytes.NewReader(make([]byte, 2<<20)), map[string]string{"Content-Type": "application/json"})
	if r.StatusCode != 413 {
		t.Errorf("2 MB JSON body: %d", r.StatusCode)
	}
	checkSecurityHeaders(t, "413", r.Response, "private, no-store")
}

// TestBodyLimits: JSON routes take at most 1 MB whether or not the client
// declares the length, and an upload declared over MaxUploadBytes is
// refused before its body is read.
func TestBodyLimits(t *testing.T) {
	e := newEnv(t)
	big := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
	// Declared length: refused up front.
	r := e.do("POST", "/api/v1/customers", strings.NewReader(big), map[string]string{"Content-Type": "application/json"})
	if r.StatusCode != 413 || r.apiError(t).Code != "too_large" {
		t.Errorf("declared 1 MB+ JSON: %d %s", r.StatusCode, r.body)
	}
	// Chunked, no length: refused while reading.
	r = e.do("POST", "/api/v1/customers", io.MultiReader(strings.NewReader(big)), map[string]string{"Content-Type": "application/json"})
	if r.StatusCode != 413 || r.apiError(t).Code != "too_large" {
		t.Errorf("chunked 1 MB+ JSON: %d %s", r.StatusCode, r.body)
	}
	// Under the cap works.
	r = e.postJSON("/api/v1/customers", map[string]string{"name": "Small", "code": "SMALL"})
	if r.StatusCode != 201 {
		t.Errorf("small JSON: %d %s", r.StatusCode, r.body)
	}

	base := e
	h := httpapi.New(base.app.Service, httpapi.Options{MaxUploadBytes: 64 << 10, RateLimits: httpapi.NoRateLimits()})
	e2 := newEnvWith(t, base.app, h, base.logs)
	req, _ := http.NewRequest("POST", e2.srv.URL+"/api/v1/assets", strings.NewReader("x"))
	req.ContentLength = 1 << 30 // a lie: the server must not wait for a gigabyte
	req.Header.Set("Authorization", "Bearer "+e2.token)
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	resp, err := e2.srv.Client().Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Errorf("upload declared at 1 GB: %d", resp.StatusCode)
		}
	}
	// err != nil is also fine: the server answered 413 and closed the
	// connection while the client still claimed to be sending.
}

// TestRateLimits: per-principal buckets by class, shared by a user's
// tokens; thumbnails not limited by default; per-IP buckets for anonymous
// requests and for refused credentials, which then block the address; 429
// with Retry-After, security headers and a JSON error.
func TestRateLimits(t *testing.T) {
	slow := func(burst int) httpapi.Rate { return httpapi.Rate{Per: 0.001, Burst: burst} } // one token per 1000 s
	e := newEnv(t, func(c *app.Config) {
		c.RateLimits = httpapi.RateLimits{Read: slow(3), Write: slow(5), Upload: slow(2), Anonymous: slow(4), SignIn: slow(3)}
	})
	ctx := context.Background()
	p, err := e.app.Service.PrincipalFor(ctx, "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	_, second, err := e.app.Service.CreateToken(ctx, p, service.NewToken{Email: "admin@example.com", Name: "second"})
	if err != nil {
		t.Fatal(err)
	}
	check429 := func(what string, r *response, wantRetry int) {
		t.Helper()
		if r.StatusCode != 429 {
			t.Fatalf("%s: status %d, want 429: %s", what, r.StatusCode, r.body)
		}
		if got := r.apiError(t); got.Code != "rate_limited" {
			t.Errorf("%s: code %q", what, got.Code)
		}
		if ra := r.Header.Get("Retry-After"); ra != strconv.Itoa(wantRetry) {
			t.Errorf("%s: Retry-After %q, want %d", what, ra, wantRetry)
		}
		checkSecurityHeaders(t, what, r.Response, "private, no-store")
	}

	// Writes: the customer create is one (burst 5 leaves 4).
	e.createCustomer("Acme", "ACME")
	// Uploads: burst 2.
	id := e.mustUpload(201, text("customer_id", "ACME"), file("a.jpg", makeJPEG(t, 64, 48, 1))).Asset["id"].(string)
	e.mustUpload(201, text("customer_id", "ACME"), file("b.jpg", makeJPEG(t, 64, 48, 2)))
	check429("third upload", e.upload(text("customer_id", "ACME"), file("c.jpg", makeJPEG(t, 64, 48, 3))), 1000)

	// Reads: burst 3, then 429 for this token and for the user's other one.
	for i := range 3 {
		if r := e.get("/api/v1/assets/" + id); r.StatusCode != 200 {
			t.Fatalf("read %d: %d", i+1, r.StatusCode)
		}
	}
	check429("fourth read", e.get("/api/v1/assets"), 1000)
	check429("read with the same user's second token", e.do("GET", "/api/v1/customers", nil, map[string]string{"Authorization": "Bearer " + second}), 1000)
	// Another class of the same user still has its own allowance.
	if r := e.postJSON("/api/v1/customers", map[string]string{"name": "Beta", "code": "BETA"}); r.StatusCode != 201 {
		t.Errorf("write after reads ran out: %d %s", r.StatusCode, r.body)
	}
	// Thumbnails are not limited by default (a grid page, the benchmark).
	for i := range 50 {
		if r := e.get("/api/v1/assets/" + id + "/thumbnail"); r.StatusCode != 200 {
			t.Fatalf("thumbnail %d with reads used up: %d %s", i+1, r.StatusCode, r.body)
		}
	}

	// Anonymous requests, per IP: burst 4.
	noAuth := map[string]string{"Authorization": ""}
	for i := range 4 {
		if r := e.do("GET", "/healthz", nil, noAuth); r.StatusCode != 200 {
			t.Fatalf("healthz %d: %d", i+1, r.StatusCode)
		}
	}
	check429("fifth anonymous request", e.do("GET", "/api/v1/openapi.json", nil, noAuth), 1000)

	// Refused credentials, per IP: burst 3, then the address is refused
	// before any credential is checked, good or bad.
	for i := range 3 {
		r := e.do("GET", "/api/v1/assets", nil, map[string]string{"Authorization": "Bearer tuku_guess" + strconv.Itoa(i)})
		if r.StatusCode != 401 {
			t.Fatalf("bad token %d: %d", i+1, r.StatusCode)
		}
	}
	check429("fourth bad token", e.do("GET", "/api/v1/assets", nil, map[string]string{"Authorization": "Bearer tuku_guess9"}), 1000)
	check429("good token from the blocked address", e.do("GET", "/api/v1/assets/"+id+"/thumbnail", nil, map[string]string{"Authorization": "Bearer " + second}), 1000)
	if !strings.Contains(e.logs.String(), "status=429") {
		t.Error("429s are not logged")
	}
}

// TestErrorsDoNotLeak forces database failures under a running server:
// the 5xx body holds a generic message and the request id only (no SQL, no
// path, no stack), and the log line of that request id keeps the cause.
func TestErrorsDoNotLeak(t *testing.T) {
	e := newEnv(t)
	e.createCustomer("Acme", "ACME")
	e.mustUpload(201, text("customer_id", "ACME"), file("a.jpg", makeJPEG(t, 64, 48, 1)))

	// A schema the code does not expect: the table is gone (renamed with
	// raw SQL on the same file), so the store's query fails with SQLite's
	// own message.
	dbPath := filepath.Join(e.app.Cfg.Data, "tuku.db")
	raw, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`ALTER TABLE assets RENAME TO assets_gone`); err != nil {
		t.Fatalf("rename: %v", err)
	}
	raw.Close()

	leaks := []string{"sql", "SQL", "SELECT", "select ", "no such table", "assets_gone", "sqlite", "database is closed",
		e.app.Cfg.Data, "/tmp", ".go:", "goroutine", "panic", "modernc"}
	check := func(what string, r *response, wantStatus int, wantMsg, wantCause string) {
		t.Helper()
		if r.StatusCode != wantStatus && (wantStatus != 0 || r.StatusCode < 500) {
			t.Fatalf("%s: status %d, want %d: %s", what, r.StatusCode, wantStatus, r.body)
		}
		got := r.apiError(t)
		if wantMsg == "" && (got.Message == "internal error" || got.Message == "the database is unavailable") {
			wantMsg = got.Message // either generic message will do
		}
		if got.Message != wantMsg {
			t.Errorf("%s: message %q, want %q", what, got.Message, wantMsg)
		}
		var generic map[string]map[string]string
		json.Unmarshal(r.body, &generic)
		if len(generic) != 1 || len(generic["error"]) != 3 {
			t.Errorf("%s: body has more than code, message and request_id: %s", what, r.body)
		}
		for _, l := range leaks {
			if strings.Contains(string(r.body), l) {
				t.Errorf("%s: body leaks %q: %s", what, l, r.body)
			}
		}
		// The request's log line has the id and the real cause.
		var line string
		for _, l := range strings.Split(e.logs.String(), "\n") {
			if strings.Contains(l, "request_id="+got.RequestID+" ") {
				line = l
			}
		}
		if line == "" {
			t.Fatalf("%s: request id %s not in the log", what, got.RequestID)
		}
		if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, wantCause) {
			t.Errorf("%s: log line lacks the level or the cause %q: %s", what, wantCause, line)
		}
	}
	check("missing table", e.get("/api/v1/assets"), 500, "internal error", "no such table")

	// The store closed under the server: 503, still generic.
	e.app.Meta.Close()
	check("closed store", e.get("/api/v1/customers"), 0, "", "closed")
}

// TestUploadNamesCleaned: a hostile upload name is stored cleaned (as
// service.CleanFilename makes it) and the download's Content-Disposition
// carries that name exactly, Chinese included, through an RFC 5987
// filename* that mime.ParseMediaType decodes back.
func TestUploadNamesCleaned(t *testing.T) {
	e := newEnv(t)
	e.createCustomer("Acme", "ACME")
	tests := []struct {
		name, in, want string
	}{
		{"chinese", "张三_身份证.jpg", "张三_身份证.jpg"},
		{"unix path", "../../../etc/passwd", "passwd"},
		{"windows path", `..\..\windows\win.ini`, "win.ini"},
		{"encoded path", "..%2F..%2Ftmp%2Fevil.jpg", "evil.jpg"},
		{"control characters", "a\x01b\x1bc.jpg", "abc.jpg"},
		{"bidi override", "invoice\u202egpj.exe", "invoicegpj.exe"},
		{"zero width and BOM", "\ufeffph\u200boto.jpg", "photo.jpg"},
		{"reserved name", "CON.jpg", "_CON.jpg"},
		{"leading dots", "...hidden.jpg", "hidden.jpg"},
		{"nfd to nfc", "cafe\u0301.jpg", "caf\u00e9.jpg"},
		{"long chinese", strings.Repeat("照片", 100) + ".jpg", ""},
		{"quotes", `a"b.jpg`, "a_b.jpg"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Sent as RFC 5987 filename*, which Go's multipart reader
			// decodes: a raw control character in a part header is
			// refused by the parser before the name is even seen.
			r := uploadNamed(e, "ACME", tt.in, makeJPEG(t, 32, 24, 100+i))
			if r.StatusCode != 201 {
				t.Fatalf("upload: %d %s", r.StatusCode, r.body)
			}
			var u uploadResult
			r.json(t, &u)
			got, _ := u.Asset["original_filename"].(string)
			if clean := service.CleanFilename(tt.in); got != clean {
				t.Errorf("stored %q, CleanFilename gives %q", got, clean)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("stored %q, want %q", got, tt.want)
			}
			if len(got) > 255 || strings.ContainsAny(got, "/\\\x00\r\n\u202e") {
				t.Errorf("stored name %q is not clean", got)
			}
			r = e.get("/api/v1/assets/" + u.Asset["id"].(string) + "/original")
			if r.StatusCode != 200 {
				t.Fatalf("original: %d", r.StatusCode)
			}
			cd := r.Header.Get("Content-Disposition")
			disp, params, err := mime.ParseMediaType(cd)
			if err != nil || disp != "attachment" {
				t.Fatalf("Content-Disposition %q: %q, %v", cd, disp, err)
			}
			if params["filename"] != got {
				t.Errorf("download name %q, stored %q (header %q)", params["filename"], got, cd)
			}
			checkSecurityHeaders(t, "original", r.Response, "private, no-store")
		})
	}
}

// uploadNamed uploads data under name, given as filename*=UTF-8”… so
// that any byte can be in it.
func uploadNamed(e *env, customer, name string, data []byte) *response {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("customer_id", customer)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename*=UTF-8''`+url.PathEscape(name))
	h.Set("Content-Type", "application/octet-stream")
	w, _ := mw.CreatePart(h)
	w.Write(data)
	mw.Close()
	return e.do("POST", "/api/v1/assets", &buf, map[string]string{"Content-Type": mw.FormDataContentType()})
}

// TestMetadataEscapedInJSON: strings from the client or from the file are
// escaped in every JSON answer, so < > & never appear raw and a response
// sniffed as HTML would still be inert.
func TestMetadataEscapedInJSON(t *testing.T) {
	e := newEnv(t)
	e.createCustomer("Acme <b>&</b>", "ACME")
	payload := `<script>alert("x")</script>&amp;`
	u := e.mustUpload(201, text("customer_id", "ACME"), text("description", payload), text("tags", "<img src=x onerror=alert(1)>"),
		file("<svg onload=alert(1)>.jpg", makeJPEG(t, 32, 24, 7)))
	id := u.Asset["id"].(string)
	for _, path := range []string{"/api/v1/assets/" + id, "/api/v1/assets", "/api/v1/customers"} {
		r := e.get(path)
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d", path, r.StatusCode)
		}
		if bytes.ContainsAny(r.body, "<>&") {
			t.Errorf("%s: raw < > or & in JSON: %.400s", path, r.body)
		}
		if !bytes.Contains(r.body, []byte(`\u003c`)) {
			t.Errorf("%s: no escaped \\u003c in %.300s", path, r.body)
		}
	}
	var a map[string]any
	e.get("/api/v1/assets/"+id).json(t, &a)
	if a["description"] != payload {
		t.Errorf("description %q: escaping must not change the value", a["description"])
	}

	// The corpus file with markup in every EXIF text field and a 60 KB
	// UserComment.
	data, err := os.ReadFile(filepath.Join(testenv.Corpus(t), "bad", "exif-xss-60k-usercomment.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	u = e.mustUpload(201, text("customer_id", "ACME"), file("exif-xss.jpg", data))
	r := e.get("/api/v1/assets/" + u.Asset["id"].(string))
	if bytes.ContainsAny(r.body, "<>&") {
		t.Errorf("raw < > or & in the asset JSON: %.600s", r.body)
	}
	if !bytes.Contains(r.body, []byte(`\u003cb\u003eEvil\u003c/b\u003e Corp`)) {
		t.Errorf("escaped camera make missing: %.600s", r.body)
	}
	r.json(t, &a)
	if a["camera_make"] != "<b>Evil</b> Corp" || a["camera_model"] != "javascript:alert(3)" {
		t.Errorf("make %q model %q: kept as literal text", a["camera_make"], a["camera_model"])
	}
	if len(r.body) > 32<<10 {
		t.Errorf("asset JSON is %d bytes: the 60 KB comment was not capped", len(r.body))
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if len(v) > 8<<10 {
				t.Errorf("a %d-byte string in the asset JSON", len(v))
			}
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(a)
}
