package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"tuku/internal/app"
	"tuku/internal/authz"
	"tuku/internal/httpapi"
	"tuku/internal/imaging"
)

// TestOpenAPIMatchesRoutes holds the served OpenAPI document to the route
// table both ways, and checks that every documented route is really
// registered (answers something other than the mux's "no route").
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/api/v1/openapi.json", nil, map[string]string{"Authorization": ""})
	if r.StatusCode != 200 {
		t.Fatalf("openapi.json: %d", r.StatusCode)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Info    struct{ Version string }              `json:"info"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
		Comps   struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	r.json(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	if doc.Info.Version == "" {
		t.Error("info.version is empty")
	}
	for _, s := range []string{"Error", "Asset", "Customer", "Project", "AssetPage"} {
		if _, ok := doc.Comps.Schemas[s]; !ok {
			t.Errorf("schema %s missing", s)
		}
	}
	documented := map[httpapi.Route]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if method == "parameters" {
				continue
			}
			var o struct {
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(op, &o); err != nil || len(o.Responses) == 0 {
				t.Errorf("%s %s documents no responses", method, path)
			}
			documented[httpapi.Route{Method: strings.ToUpper(method), Path: path}] = true
		}
	}
	registered := map[httpapi.Route]bool{}
	for _, rt := range httpapi.Routes() {
		registered[rt] = true
		if !documented[rt] {
			t.Errorf("route %s %s is registered but not in openapi.json", rt.Method, rt.Path)
		}
	}
	for rt := range documented {
		if !registered[rt] {
			t.Errorf("openapi.json documents %s %s, which is not registered", rt.Method, rt.Path)
		}
		path := strings.ReplaceAll(rt.Path, "{id}", "0000000000000000000000000z")
		resp := e.do(rt.Method, path, strings.NewReader(""), nil)
		if resp.StatusCode == http.StatusMethodNotAllowed {
			t.Errorf("%s %s: 405", rt.Method, path)
		}
		if resp.StatusCode == http.StatusNotFound && resp.apiError(t).Message == "no such API route" {
			t.Errorf("%s %s: no route", rt.Method, path)
		}
	}
}

func TestUploadAndRead(t *testing.T) {
	e := newEnv(t)
	custID := e.createCustomer("Acme Trading", "ACME")
	data := makeJPEG(t, 64, 48, 1)

	u := e.mustUpload(http.StatusCreated,
		text("customer_id", "ACME"),
		text("tags", "door, blue"),
		text("tags", "front"),
		text("description", "door"),
		text("category", "site"),
		file("照片.jpg", data))
	if u.Status != "imported" {
		t.Fatalf("status %q", u.Status)
	}
	a := u.Asset
	id, _ := a["id"].(string)
	today := time.Now().UTC().Format("20060102")
	checks := map[string]any{
		"customer_id":       custID,
		"project_id":        nil,
		"original_filename": "照片.jpg",
		"mime":              "image/jpeg",
		"size":              float64(len(data)),
		"width":             float64(64),
		"height":            float64(48),
		"description":       "door",
		"category":          "site",
		"sensitivity":       "internal",
		"status":            "active",
		"taken_at":          nil,
		"gps":               nil,
		"camera_make":       nil,
		"version":           float64(1),
	}
	for k, want := range checks {
		if got, ok := a[k]; !ok || got != want {
			t.Errorf("asset.%s = %#v, want %#v", k, got, want)
		}
	}
	if name, _ := a["name"].(string); name != "ACME_"+today+"_door_01.jpg" {
		t.Errorf("name = %q, want ACME_%s_door_01.jpg", name, today)
	}
	if sha, _ := a["sha256"].(string); !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(sha) {
		t.Errorf("sha256 = %q", sha)
	}
	tags, _ := json.Marshal(a["tags"])
	if string(tags) != `[{"name":"door","source":"manual"},{"name":"blue","source":"manual"},{"name":"front","source":"manual"}]` {
		t.Errorf("tags = %s", tags)
	}

	// The same bytes again: the existing asset, 200.
	dup := e.mustUpload(http.StatusOK, text("customer_id", custID), file("again.jpg", data))
	if dup.Status != "duplicate" || dup.Asset["id"] != id {
		t.Errorf("duplicate upload: %s %v, want duplicate %s", dup.Status, dup.Asset["id"], id)
	}

	// Read it back.
	r := e.get("/api/v1/assets/" + id)
	if r.StatusCode != 200 {
		t.Fatalf("get asset: %d %s", r.StatusCode, r.body)
	}
	var got map[string]any
	r.json(t, &got)
	if got["id"] != id || got["name"] != a["name"] {
		t.Errorf("get asset = %v", got)
	}

	// The original: same bytes, safe headers.
	r = e.get("/api/v1/assets/" + id + "/original")
	if r.StatusCode != 200 || !bytes.Equal(r.body, data) {
		t.Fatalf("original: %d, %d bytes (want %d)", r.StatusCode, len(r.body), len(data))
	}
	for k, want := range map[string]string{
		"Content-Type":           "image/jpeg",
		"X-Content-Type-Options": "nosniff",
		"Etag":                   `"` + a["sha256"].(string) + `"`,
		"Cache-Control":          "private, no-store",
		"Content-Disposition":    `attachment; filename="download.jpg"; filename*=UTF-8''%E7%85%A7%E7%89%87.jpg`,
	} {
		if g := r.Header.Get(k); g != want {
			t.Errorf("original %s = %q, want %q", k, g, want)
		}
	}
	etag := r.Header.Get("Etag")
	r = e.do("GET", "/api/v1/assets/"+id+"/original", nil, map[string]string{"If-None-Match": etag})
	if r.StatusCode != http.StatusNotModified || len(r.body) != 0 {
		t.Errorf("If-None-Match: %d with %d bytes, want 304", r.StatusCode, len(r.body))
	}
	r = e.do("GET", "/api/v1/assets/"+id+"/original", nil, map[string]string{"Range": "bytes=2-11"})
	if r.StatusCode != http.StatusPartialContent || !bytes.Equal(r.body, data[2:12]) {
		t.Errorf("Range: %d, %x, want 206 %x", r.StatusCode, r.body, data[2:12])
	}

	// The thumbnail: a JPEG within the grid size, cacheable.
	for _, q := range []string{"", "?size=grid", "?size=preview&v=1"} {
		r = e.get("/api/v1/assets/" + id + "/thumbnail" + q)
		if r.StatusCode != 200 {
			t.Fatalf("thumbnail%s: %d %s", q, r.StatusCode, r.body)
		}
		if ct := r.Header.Get("Content-Type"); ct != "image/jpeg" {
			t.Errorf("thumbnail%s Content-Type %q", q, ct)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "private, max-age=31536000, immutable" {
			t.Errorf("thumbnail%s Cache-Control %q", q, cc)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Etag") == "" {
			t.Errorf("thumbnail%s headers %v", q, r.Header)
		}
		img, err := jpeg.Decode(bytes.NewReader(r.body))
		if err != nil {
			t.Fatalf("thumbnail%s does not decode: %v", q, err)
		}
		if b := img.Bounds(); b.Dx() > 400 || b.Dy() > 400 || b.Dx() < 1 {
			t.Errorf("thumbnail%s is %v", q, b)
		}
	}
	r = e.get("/api/v1/assets/" + id + "/thumbnail")
	r2 := e.do("GET", "/api/v1/assets/"+id+"/thumbnail", nil, map[string]string{"If-None-Match": r.Header.Get("Etag")})
	if r2.StatusCode != http.StatusNotModified {
		t.Errorf("thumbnail If-None-Match: %d, want 304", r2.StatusCode)
	}
	r = e.get("/api/v1/assets/" + id + "/thumbnail?size=huge")
	if r.StatusCode != 400 || r.apiError(t).Code != "invalid" {
		t.Errorf("thumbnail size=huge: %d %s", r.StatusCode, r.body)
	}
	if r.Header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("error Cache-Control %q", r.Header.Get("Cache-Control"))
	}
}

func TestConcurrentDuplicateUploads(t *testing.T) {
	e := newEnv(t)
	e.createCustomer("Acme", "ACME")
	data := makeJPEG(t, 64, 48, 99)
	const n = 16
	var wg sync.WaitGroup
	type result struct {
		code   int
		status string
		id     any
		body   string
	}
	results := make([]result, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, ct := multipartBody(text("customer_id", "ACME"), file(fmt.Sprintf("c%d.jpg", i), data))
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/assets", body)
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", "Bearer "+e.token)
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var u uploadResult
			json.Unmarshal(b, &u)
			results[i] = result{resp.StatusCode, u.Status, u.Asset["id"], string(b)}
		}()
	}
	wg.Wait()
	imported, dups := 0, 0
	ids := map[any]bool{}
	for _, r := range results {
		switch {
		case r.code == 201 && r.status == "imported":
			imported++
		case r.code == 200 && r.status == "duplicate":
			dups++
		default:
			t.Errorf("upload answered %d %s", r.code, r.body)
		}
		ids[r.id] = true
	}
	if imported != 1 || dups != n-1 || len(ids) != 1 {
		t.Errorf("imported %d, duplicates %d, ids %v; want 1, %d, one id", imported, dups, ids, n-1)
		t.Logf("server log:\n%s", grepLines(e.logs.String(), "level=ERROR"))
	}
	var page struct{ Assets []map[string]any }
	e.get("/api/v1/assets?customer=ACME").json(t, &page)
	if len(page.Assets) != 1 {
		t.Errorf("customer has %d assets, want 1", len(page.Assets))
	}
}

func TestListAssets(t *testing.T) {
	e := newEnv(t)
	e.createCustomer("Acme", "ACME")
	e.createCustomer("Other", "OTHER")
	want := map[string]bool{}
	for i := 0; i < 5; i++ {
		parts := []field{text("customer_id", "ACME")}
		if i < 3 {
			parts = append(parts, text("tags", "red"))
		}
		if i == 4 {
			parts = append(parts, text("description", "quokka sighting"))
		}
		parts = append(parts, file(fmt.Sprintf("img%d.jpg", i), makeJPEG(t, 64, 48, i+10)))
		u := e.mustUpload(http.StatusCreated, parts...)
		want[u.Asset["id"].(string)] = true
	}
	e.mustUpload(http.StatusCreated, text("customer_id", "OTHER"), text("tags", "red"), file("o.jpg", makeJPEG(t, 64, 48, 50)))

	type page struct {
		Assets     []map[string]any `json:"assets"`
		NextCursor string           `json:"next_cursor"`
	}
	count := func(q string) int {
		t.Helper()
		r := e.get("/api/v1/assets?" + q)
		if r.StatusCode != 200 {
			t.Fatalf("list %s: %d %s", q, r.StatusCode, r.body)
		}
		var p page
		r.json(t, &p)
		return len(p.Assets)
	}
	for q, n := range map[string]int{
		"":                         6,
		"customer=ACME":            5,
		"customer=OTHER":           1,
		"tag=red":                  4,
		"customer=ACME&tag=red":    3,
		"q=quokka":                 1,
		"q=nothing-like-this":      0,
		"category=other":           6,
		"status=active&limit=1000": 6,
	} {
		if got := count(q); got != n {
			t.Errorf("list ?%s: %d assets, want %d", q, got, n)
		}
	}

	// Pagination: limit=2 over 5 assets gives every one exactly once.
	seen := map[string]int{}
	cursor, pages := "", 0
	for {
		q := "customer=ACME&limit=2"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		var p page
		e.get("/api/v1/assets?"+q).json(t, &p)
		pages++
		if len(p.Assets) > 2 {
			t.Fatalf("page of %d", len(p.Assets))
		}
		for _, a := range p.Assets {
			seen[a["id"].(string)]++
		}
		if p.NextCursor == "" || pages > 10 {
			break
		}
		cursor = p.NextCursor
	}
	if len(seen) != 5 {
		t.Errorf("pagination saw %d assets, want 5", len(seen))
	}
	for id, n := range seen {
		if n != 1 || !want[id] {
			t.Errorf("asset %s seen %d times (known %v)", id, n, want[id])
		}
	}

	for _, q := range []string{"customer_id=ACME", "limit=abc", "limit=0", "category=nope", "from=yesterday", "cursor=%%%"} {
		r := e.get("/api/v1/assets?" + q)
		if r.StatusCode != 400 || r.apiError(t).Code != "invalid" {
			t.Errorf("list ?%s: %d %s, want 400 invalid", q, r.StatusCode, r.body)
		}
	}
	if r := e.get("/api/v1/assets?customer=NOPE"); r.StatusCode != 404 {
		t.Errorf("list unknown customer: %d", r.StatusCode)
	}
}

func TestCustomers(t *testing.T) {
	e := newEnv(t)
	id := e.createCustomer("张三五金", "")
	r := e.get("/api/v1/customers/" + id)
	var c map[string]any
	r.json(t, &c)
	if r.StatusCode != 200 || c["name"] != "张三五金" || c["code"] == "" || c["sensitivity"] != "internal" {
		t.Fatalf("get customer: %d %v", r.StatusCode, c)
	}
	code := c["code"].(string)
	r = e.get("/api/v1/customers/" + url.PathEscape(code))
	if r.StatusCode != 200 {
		t.Errorf("get customer by code %q: %d", code, r.StatusCode)
	}
	var list struct{ Customers []map[string]any }
	e.get("/api/v1/customers").json(t, &list)
	if len(list.Customers) != 1 || list.Customers[0]["id"] != id {
		t.Errorf("list customers: %v", list.Customers)
	}

	r = e.postJSON("/api/v1/customers/"+id+"/projects", map[string]string{"name": "新店装修", "notes": "2025"})
	if r.StatusCode != 201 {
		t.Fatalf("create project: %d %s", r.StatusCode, r.body)
	}
	var pr map[string]any
	r.json(t, &pr)
	if pr["customer_id"] != id || pr["name"] != "新店装修" {
		t.Errorf("project %v", pr)
	}
	var ps struct{ Projects []map[string]any }
	e.get("/api/v1/customers/"+id+"/projects").json(t, &ps)
	if len(ps.Projects) != 1 || ps.Projects[0]["id"] != pr["id"] {
		t.Errorf("list projects: %v", ps.Projects)
	}
	// An upload into that project by name.
	u := e.mustUpload(201, text("customer_id", id), text("project_id", "新店装修"), file("p.jpg", makeJPEG(t, 64, 48, 3)))
	if u.Asset["project_id"] != pr["id"] {
		t.Errorf("asset project_id %v, want %v", u.Asset["project_id"], pr["id"])
	}

	for _, tc := range []struct {
		name string
		body string
		ct   string
		want int
		code string
	}{
		{"duplicate code", `{"name":"X","code":"` + code + `"}`, "application/json", 409, "conflict"},
		{"no name", `{"code":"Y"}`, "application/json", 400, "invalid"},
		{"unknown field", `{"name":"X","colour":"red"}`, "application/json", 400, "invalid"},
		{"bad sensitivity", `{"name":"X","sensitivity":"secret"}`, "application/json", 400, "invalid"},
		{"syntax", `{"name":`, "application/json", 400, "invalid"},
		{"two values", `{"name":"X"}{"name":"Y"}`, "application/json", 400, "invalid"},
		{"form post", `name=X`, "application/x-www-form-urlencoded", 415, "unsupported"},
		{"too big", `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, "application/json", 413, "too_large"},
	} {
		r := e.do("POST", "/api/v1/customers", strings.NewReader(tc.body), map[string]string{"Content-Type": tc.ct})
		if r.StatusCode != tc.want || r.apiError(t).Code != tc.code {
			t.Errorf("%s: %d %.200s, want %d %s", tc.name, r.StatusCode, r.body, tc.want, tc.code)
		}
	}
	if r := e.get("/api/v1/customers/NOPE"); r.StatusCode != 404 || r.apiError(t).Code != "not_found" {
		t.Errorf("unknown customer: %d %s", r.StatusCode, r.body)
	}
	if r := e.get("/api/v1/customers/NOPE/projects"); r.StatusCode != 404 {
		t.Errorf("projects of unknown customer: %d", r.StatusCode)
	}
}

func TestErrors(t *testing.T) {
	e := newEnv(t)
	e.createCustomer("Acme", "ACME")
	jpg := makeJPEG(t, 64, 48, 5)
	noAuth := map[string]string{"Authorization": ""}

	tests := []struct {
		name string
		do   func() *response
		want int
		code string
	}{
		{"no token", func() *response { return e.do("GET", "/api/v1/assets", nil, noAuth) }, 401, "unauthenticated"},
		{"bad token", func() *response {
			return e.do("GET", "/api/v1/assets", nil, map[string]string{"Authorization": "Bearer tuku_notarealtoken"})
		}, 401, "unauthenticated"},
		{"not a tuku token", func() *response {
			return e.do("GET", "/api/v1/customers", nil, map[string]string{"Authorization": "Bearer abc"})
		}, 401, "unauthenticated"},
		{"basic auth", func() *response {
			return e.do("GET", "/api/v1/customers", nil, map[string]string{"Authorization": "Basic YTpi"})
		}, 401, "unauthenticated"},
		{"upload without token", func() *response {
			body, ct := multipartBody(text("customer_id", "ACME"), file("a.jpg", jpg))
			return e.do("POST", "/api/v1/assets", body, map[string]string{"Content-Type": ct, "Authorization": ""})
		}, 401, "unauthenticated"},
		{"unknown asset", func() *response { return e.get("/api/v1/assets/0000000000000000000000000z") }, 404, "not_found"},
		{"malformed asset id", func() *response { return e.get("/api/v1/assets/..%2f..%2fetc") }, 404, "not_found"},
		{"unknown asset original", func() *response { return e.get("/api/v1/assets/0000000000000000000000000z/original") }, 404, "not_found"},
		{"unknown asset thumbnail", func() *response { return e.get("/api/v1/assets/0000000000000000000000000z/thumbnail") }, 404, "not_found"},
		{"text file upload", func() *response {
			return e.upload(text("customer_id", "ACME"), file("notes.jpg", []byte("just some text, not an image\n")))
		}, 415, "unsupported"},
		{"empty file", func() *response { return e.upload(text("customer_id", "ACME"), file("empty.jpg", nil)) }, 400, "invalid"},
		{"missing customer", func() *response { return e.upload(text("customer_id", "NOPE"), file("a.jpg", jpg)) }, 404, "not_found"},
		{"missing project", func() *response {
			return e.upload(text("customer_id", "ACME"), text("project_id", "nope"), file("a.jpg", jpg))
		}, 404, "not_found"},
		{"customer after file", func() *response { return e.upload(file("a.jpg", jpg), text("customer_id", "ACME")) }, 400, "invalid"},
		{"no file part", func() *response { return e.upload(text("customer_id", "ACME")) }, 400, "invalid"},
		{"unknown field", func() *response {
			return e.upload(text("customer_id", "ACME"), text("colour", "red"), file("a.jpg", jpg))
		}, 400, "invalid"},
		{"bad category", func() *response {
			return e.upload(text("customer_id", "ACME"), text("category", "cats"), file("a.jpg", jpg))
		}, 400, "invalid"},
		{"not multipart", func() *response {
			return e.do("POST", "/api/v1/assets", bytes.NewReader(jpg), map[string]string{"Content-Type": "image/jpeg"})
		}, 415, "unsupported"},
		{"broken multipart", func() *response {
			return e.do("POST", "/api/v1/assets", strings.NewReader("--xx\r\nfoo"), map[string]string{"Content-Type": "multipart/form-data; boundary=xx"})
		}, 400, "invalid"},
		{"unknown route", func() *response { return e.get("/api/v1/nope") }, 404, "not_found"},
		{"unknown deep route", func() *response { return e.get("/api/v1/assets/x/y/z") }, 404, "not_found"},
		{"wrong method", func() *response { return e.do("DELETE", "/api/v1/assets", nil, nil) }, 405, "invalid"},
		{"wrong method on item", func() *response { return e.do("PUT", "/api/v1/customers/ACME", nil, nil) }, 405, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.do()
			if r.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", r.StatusCode, tt.want, r.body)
			}
			if got := r.apiError(t); got.Code != tt.code {
				t.Errorf("code %q, want %q (%s)", got.Code, tt.code, got.Message)
			}
			for k, want := range map[string]string{
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"Content-Security-Policy": httpapi.CSP,
				"Cache-Control":           "private, no-store",
			} {
				if g := r.Header.Get(k); g != want {
					t.Errorf("%s = %q, want %q", k, g, want)
				}
			}
			if r.StatusCode == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer (%q)", r.Header.Get("WWW-Authenticate"))
			}
			if r.StatusCode == 405 && r.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}

	// Nothing was stored by the rejected uploads.
	var page struct{ Assets []map[string]any }
	e.get("/api/v1/assets").json(t, &page)
	if len(page.Assets) != 0 {
		t.Errorf("%d assets stored by rejected uploads", len(page.Assets))
	}

	// A field after the file is reported, not silently dropped.
	u := e.mustUpload(201, text("customer_id", "ACME"), file("a.jpg", jpg), text("tags", "late"))
	if len(u.Warnings) != 1 || !strings.Contains(u.Warnings[0], "tags") {
		t.Errorf("warnings %q", u.Warnings)
	}

	// The request ID is in the log line of its request.
	r := e.get("/api/v1/assets/0000000000000000000000000z")
	id := r.Header.Get("X-Request-Id")
	if id == "" || !strings.Contains(e.logs.String(), "request_id="+id+" ") {
		t.Errorf("request id %q not logged", id)
	}
	// A client-sent request ID is not echoed.
	r = e.do("GET", "/healthz", nil, map[string]string{"X-Request-Id": "client-chosen"})
	if g := r.Header.Get("X-Request-Id"); g == "client-chosen" || g == "" {
		t.Errorf("X-Request-Id = %q", g)
	}
}

func TestUploadLimits(t *testing.T) {
	big := makeNoiseJPEG(t, 256, 256) // ~100+ KB
	if len(big) < 96<<10 {
		t.Fatalf("noise JPEG only %d bytes", len(big))
	}
	t.Run("service limit", func(t *testing.T) {
		e := newEnv(t, func(c *app.Config) {
			c.Limits = imaging.DefaultLimits()
			c.Limits.MaxBytes = 64 << 10
		})
		e.createCustomer("Acme", "ACME")
		r := e.upload(text("customer_id", "ACME"), file("big.jpg", big))
		if r.StatusCode != 413 || r.apiError(t).Code != "too_large" {
			t.Errorf("over the file limit: %d %s", r.StatusCode, r.body)
		}
		// Under it still works.
		e.mustUpload(201, text("customer_id", "ACME"), file("small.jpg", makeJPEG(t, 64, 48, 1)))
	})
	t.Run("request body limit", func(t *testing.T) {
		base := newEnv(t)
		h := httpapi.New(base.app.Service, httpapi.Options{MaxUploadBytes: 32 << 10})
		e := newEnvWith(t, base.app, h, base.logs)
		e.createCustomer("Acme", "ACME")
		r := e.upload(text("customer_id", "ACME"), file("big.jpg", big))
		if r.StatusCode != 413 || r.apiError(t).Code != "too_large" {
			t.Errorf("over MaxUploadBytes: %d %s", r.StatusCode, r.body)
		}
		m := e.get("/metrics")
		if !strings.Contains(string(m.body), `tuku_uploads_total{code="too_large",outcome="rejected"} 1`) {
			t.Errorf("metrics lack the rejected upload:\n%s", grepLines(string(m.body), "tuku_uploads"))
		}
	})
}

func TestOperations(t *testing.T) {
	e := newEnv(t)
	noAuth := map[string]string{"Authorization": ""}
	r := e.do("GET", "/healthz", nil, noAuth)
	if r.StatusCode != 200 || strings.TrimSpace(string(r.body)) != "ok" {
		t.Errorf("healthz: %d %q", r.StatusCode, r.body)
	}
	r = e.do("GET", "/readyz", nil, noAuth)
	var ready map[string]string
	r.json(t, &ready)
	if r.StatusCode != 200 || ready["status"] != "ready" {
		t.Errorf("readyz: %d %s", r.StatusCode, r.body)
	}
	e.createCustomer("Acme", "ACME")
	e.mustUpload(201, text("customer_id", "ACME"), file("a.jpg", makeJPEG(t, 64, 48, 1)))
	e.get("/api/v1/nope")
	r = e.do("GET", "/metrics", nil, noAuth)
	if r.StatusCode != 200 {
		t.Fatalf("metrics: %d", r.StatusCode)
	}
	m := string(r.body)
	for _, want := range []string{
		`tuku_http_requests_total{code="201",route="POST /api/v1/assets"} 1`,
		`tuku_http_requests_total{code="201",route="POST /api/v1/customers"} 1`,
		`tuku_http_requests_total{code="404",route="unmatched"} 1`,
		`tuku_uploads_total{code="",outcome="imported"} 1`,
		`tuku_http_request_duration_seconds_bucket{route="GET /readyz",le="+Inf"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// readyz fails once the database is closed.
	e.app.Meta.Close()
	r = e.do("GET", "/readyz", nil, noAuth)
	if r.StatusCode != 503 || r.apiError(t).Code != "unavailable" {
		t.Errorf("readyz with a closed database: %d %s", r.StatusCode, r.body)
	}
}

func TestPanicRecovery(t *testing.T) {
	base := newEnv(t)
	h := httpapi.New(base.app.Service, httpapi.Options{
		Log: base.app.Log,
		Authenticators: []httpapi.Authenticator{httpapi.AuthenticatorFunc(func(r *http.Request) (*authz.Principal, error) {
			if r.Header.Get("X-Boom") != "" {
				panic("kaboom")
			}
			return nil, nil
		})},
	})
	e := newEnvWith(t, base.app, h, base.logs)
	r := e.do("GET", "/api/v1/customers", nil, map[string]string{"Authorization": "", "X-Boom": "1"})
	if r.StatusCode != 500 {
		t.Fatalf("panic: %d %s", r.StatusCode, r.body)
	}
	if got := r.apiError(t); got.Code != "internal" || got.Message != "internal error" {
		t.Errorf("panic error %+v", got)
	}
	if !strings.Contains(base.logs.String(), "kaboom") {
		t.Error("panic not logged")
	}
	if r := e.do("GET", "/healthz", nil, nil); r.StatusCode != 200 {
		t.Errorf("after a panic healthz is %d", r.StatusCode)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
