package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"tuku/internal/app"
	"tuku/internal/authz"
	"tuku/internal/httpapi"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

// HTTP-level tests of the gallery pages (no browser): customers, galleries
// and their next-page fragments, search, the asset page and its edit form,
// the zip download, and what a viewer of one customer sees of another.

// tinyJPEG is a small JPEG whose bytes depend on seed.
func tinyJPEG(t testing.TB, seed int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 96; x++ {
			img.Set(x, y, color.RGBA{uint8(x*2 + seed), uint8(y*3 + seed*7), uint8(seed * 31), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ingest files n images under customer c and returns their IDs.
func ingest(t testing.TB, svc *service.Service, c *tuku.Customer, n, seed int, desc string, tags ...string) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		res, err := svc.Ingest(context.Background(), &authz.System, service.IngestRequest{Customer: c.ID, Filename: fmt.Sprintf("img%d.jpg", i),
			Body: bytes.NewReader(tinyJPEG(t, seed+i)), Description: desc, Tags: tags, Source: "upload"})
		if err != nil {
			t.Fatalf("ingest: %v", err)
		}
		ids = append(ids, res.Asset.ID)
	}
	return ids
}

func tiles(body string) int { return strings.Count(body, `class="g-tile"`) }

// newLoggedServer is newServer whose error log is shown when t fails.
func newLoggedServer(t *testing.T) (string, *service.Service) {
	t.Helper()
	var logs bytes.Buffer
	var mu sync.Mutex
	a, err := app.Open(context.Background(), app.Config{
		Data: t.TempDir(), Log: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		RateLimits: httpapi.NoRateLimits(), ImagingWorkers: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		a.Close()
		if t.Failed() {
			mu.Lock()
			t.Logf("server log:\n%s", logs.String())
			mu.Unlock()
		}
	})
	return srv.URL, a.Service
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestGalleryPages(t *testing.T) {
	base, svc := newLoggedServer(t)
	ctx := context.Background()
	sys := &authz.System
	const pw = "a long enough password"
	for _, u := range []struct {
		email string
		role  tuku.Role
	}{{"boss@example.com", tuku.RoleAdmin}, {"viewer@example.com", tuku.RoleMember}} {
		if _, _, err := svc.CreateUser(ctx, sys, service.NewUser{Email: u.email, Role: u.role, Password: pw}); err != nil {
			t.Fatal(err)
		}
	}
	ca, err := svc.CreateCustomer(ctx, sys, service.NewCustomer{Name: "华东建材", Code: "HD"})
	if err != nil {
		t.Fatal(err)
	}
	cb, err := svc.CreateCustomer(ctx, sys, service.NewCustomer{Name: "Beta Secret Co", Code: "BSC"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GrantAccess(ctx, sys, "viewer@example.com", ca.ID, "", tuku.LevelViewer, false); err != nil {
		t.Fatal(err)
	}
	ida := ingest(t, svc, ca, 3, 1, "客厅吊灯样品", "灯具")
	idb := ingest(t, svc, cb, 1, 50, "客厅吊灯机密")

	admin := client(t)
	signIn(t, admin, base, "boss@example.com", pw)
	viewer := client(t)
	signIn(t, viewer, base, "viewer@example.com", pw)

	page := func(t *testing.T, c *http.Client, path string, want int) string {
		t.Helper()
		res, body := get(t, c, base+path, "Accept-Language", "en")
		if res.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d: %.300s", path, res.StatusCode, want, body)
		}
		if noInline.MatchString(body) {
			t.Errorf("GET %s: inline script or style", path)
		}
		return body
	}

	t.Run("customers list, search and create", func(t *testing.T) {
		body := page(t, admin, "/customers", 200)
		if !strings.Contains(body, "华东建材") || !strings.Contains(body, "Beta Secret Co") {
			t.Errorf("list lacks a customer")
		}
		body = page(t, admin, "/customers?q="+url.QueryEscape("华东"), 200)
		if !strings.Contains(body, "华东建材") || strings.Contains(body, "Beta Secret Co") {
			t.Errorf("search by a Chinese word: wrong customers")
		}
		body = page(t, admin, "/customers?q=nobody", 200)
		if !strings.Contains(body, `id="customers-empty"`) {
			t.Errorf("no empty state for a search without match")
		}
		res, _ := post(t, admin, base+"/customers", url.Values{"name": {"上海设计院"}, "sensitivity": {"internal"}}, "Origin", base)
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/customers/") {
			t.Fatalf("create: %d %q", res.StatusCode, loc)
		}
		body = page(t, admin, loc, 200)
		if !strings.Contains(body, "上海设计院") || !strings.Contains(body, `id="gallery-empty"`) {
			t.Errorf("new customer's page lacks its name or the empty gallery")
		}
		res, body = post(t, admin, base+"/customers", url.Values{"name": {"  "}}, "Origin", base)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "a customer needs a name") {
			t.Errorf("empty name: %d", res.StatusCode)
		}
		// Cross-site form posts are refused.
		res, _ = post(t, admin, base+"/customers", url.Values{"name": {"Evil"}}, "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site")
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("cross-origin create: %d", res.StatusCode)
		}
		// Edit, and a project.
		res, _ = post(t, admin, base+"/customers/"+ca.ID, url.Values{"name": {"华东建材集团"}, "contact": {"王经理"}, "sensitivity": {"internal"}}, "Origin", base)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("edit: %d", res.StatusCode)
		}
		res, _ = post(t, admin, base+"/customers/"+ca.ID+"/projects", url.Values{"name": {"展厅"}}, "Origin", base)
		if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "/projects/") {
			t.Fatalf("project: %d", res.StatusCode)
		}
		body = page(t, admin, "/customers/"+ca.ID, 200)
		if !strings.Contains(body, "华东建材集团") || !strings.Contains(body, "王经理") || !strings.Contains(body, "展厅") {
			t.Errorf("customer page lacks the edit or the project")
		}
		if n := tiles(body); n != 3 {
			t.Errorf("customer gallery: %d tiles, want 3", n)
		}
		if !strings.Contains(body, "/thumbnail?size=grid&amp;v=") {
			t.Errorf("thumbnails are not content-addressed URLs")
		}
	})

	t.Run("Chinese", func(t *testing.T) {
		res, body := get(t, admin, base+"/customers/"+ca.ID, "Accept-Language", "zh-CN,zh;q=0.9")
		if res.StatusCode != 200 || !strings.Contains(body, "全部图片") && !strings.Contains(body, "还没有项目") || !strings.Contains(body, "关键词") {
			t.Errorf("customer page in Chinese: %d", res.StatusCode)
		}
	})

	t.Run("search", func(t *testing.T) {
		body := page(t, admin, "/search?q="+url.QueryEscape("吊灯"), 200)
		if n := tiles(body); n != 4 {
			t.Errorf("admin search: %d tiles, want 4", n)
		}
		body = page(t, admin, "/search?q="+url.QueryEscape("吊灯")+"&customer="+cb.ID, 200)
		if n := tiles(body); n != 1 {
			t.Errorf("search in one customer: %d tiles, want 1", n)
		}
		body = page(t, admin, "/search?tag="+url.QueryEscape("灯具"), 200)
		if n := tiles(body); n != 3 {
			t.Errorf("tag filter: %d tiles, want 3", n)
		}
		body = page(t, admin, "/search?q="+url.QueryEscape("吊灯")+"&sort=taken", 200)
		if n := tiles(body); n != 4 || !strings.Contains(body, `<option value="taken" selected>`) {
			t.Errorf("capture-time order: %d tiles", n)
		}
		body = page(t, admin, "/search?q="+url.QueryEscape("吊灯")+"&sort=random", 200)
		if !strings.Contains(body, "unknown sort") {
			t.Error("an unknown order is not explained")
		}
		body = page(t, admin, "/search?q=nothinglikethis", 200)
		if !strings.Contains(body, `id="gallery-empty"`) {
			t.Error("no empty state")
		}
		body = page(t, admin, "/search?from=yesterday", 200)
		if !strings.Contains(body, `id="gallery-problem"`) || !strings.Contains(body, "is not YYYY-MM-DD") {
			t.Error("a bad date is not explained")
		}
		body = page(t, admin, "/search", 200)
		if !strings.Contains(body, `id="search-start"`) {
			t.Error("the search page without a query does not invite one")
		}
	})

	t.Run("asset page and edit", func(t *testing.T) {
		a, err := svc.GetAsset(ctx, sys, ida[0])
		if err != nil {
			t.Fatal(err)
		}
		body := page(t, admin, "/assets/"+a.ID, 200)
		for _, want := range []string{a.SHA256, "客厅吊灯样品", `id="a-edit"`, `id="dl-convert"`, `id="a-history"`, "96 × 64"} {
			if !strings.Contains(body, want) {
				t.Errorf("asset page lacks %q", want)
			}
		}
		res, _ := post(t, admin, base+"/assets/"+a.ID, url.Values{"description": {"新的描述"}, "tags": {"一，二, 灯具"},
			"category": {"product"}, "sensitivity": {"internal"}, "project": {""}}, "Origin", base)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("edit: %d", res.StatusCode)
		}
		a, _ = svc.GetAsset(ctx, sys, a.ID)
		if a.Description != "新的描述" || len(a.Tags) != 3 || !a.HasTag("一") || !a.HasTag("二") || a.Category != "product" {
			t.Errorf("after edit: %q %v %s", a.Description, a.Tags, a.Category)
		}
		res, body = post(t, admin, base+"/assets/"+a.ID, url.Values{"description": {"x"}, "category": {"cats"}}, "Origin", base)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "unknown category") {
			t.Errorf("bad category: %d", res.StatusCode)
		}
	})

	t.Run("zip of the selection", func(t *testing.T) {
		res, body := post(t, admin, base+"/download.zip", url.Values{"id": ida}, "Origin", base)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/zip" {
			t.Fatalf("zip: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		zr, err := zip.NewReader(strings.NewReader(body), int64(len(body)))
		if err != nil || len(zr.File) != 3 {
			t.Fatalf("zip: %v, %d entries", err, len(zr.File))
		}
	})

	t.Run("a viewer of A sees nothing of B", func(t *testing.T) {
		body := page(t, viewer, "/customers", 200)
		if strings.Contains(body, "Beta Secret Co") || !strings.Contains(body, "华东建材") {
			t.Error("customer list leaks B or lacks A")
		}
		page(t, viewer, "/customers/"+cb.ID, 404)
		page(t, viewer, "/assets/"+idb[0], 404)
		body = page(t, viewer, "/search?q="+url.QueryEscape("吊灯"), 200)
		if n := tiles(body); n != 3 || strings.Contains(body, idb[0]) {
			t.Errorf("viewer search: %d tiles", n)
		}
		// Filtering on a hidden customer answers like a missing one.
		body = page(t, viewer, "/search?customer="+cb.ID, 404)
		if tiles(body) != 0 || strings.Contains(body, "Beta Secret Co") {
			t.Error("search filtered on B shows something of B")
		}
		body = page(t, viewer, "/assets/"+ida[1], 200)
		if strings.Contains(body, `id="a-edit"`) || strings.Contains(body, `id="a-history"`) {
			t.Error("a viewer gets the edit form or the audit history")
		}
		body = page(t, viewer, "/upload", 200)
		if !strings.Contains(body, `id="upload-nocustomer"`) {
			t.Error("a viewer is offered uploads")
		}
		res, _ := post(t, viewer, base+"/download.zip", url.Values{"id": {ida[0], idb[0]}}, "Origin", base)
		if res.StatusCode != 404 {
			t.Errorf("zip naming a B asset: %d", res.StatusCode)
		}
		res, _ = post(t, viewer, base+"/assets/"+ida[1], url.Values{"description": {"x"}}, "Origin", base)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("viewer edit: %d", res.StatusCode)
		}
		_, frag := get(t, viewer, base+"/gallery/more?customer="+cb.ID+"&cursor=x")
		if strings.Contains(frag, "g-tile") {
			t.Error("fragment of B for a viewer of A")
		}
	})

	t.Run("upload page", func(t *testing.T) {
		body := page(t, admin, "/upload?customer="+ca.ID, 200)
		if !strings.Contains(body, `<option value="`+ca.ID+`" selected>`) || !strings.Contains(body, "展厅") {
			t.Error("upload page does not preselect the customer and its projects")
		}
	})

	t.Run("paging", func(t *testing.T) {
		cc, err := svc.CreateCustomer(ctx, sys, service.NewCustomer{Name: "Many", Code: "MANY"})
		if err != nil {
			t.Fatal(err)
		}
		ingest(t, svc, cc, 125, 100, "")
		body := page(t, admin, "/customers/"+cc.ID, 200)
		if n := tiles(body); n != 120 {
			t.Fatalf("first page: %d tiles", n)
		}
		i := strings.Index(body, `data-next="`)
		if i < 0 {
			t.Fatal("no next page marker")
		}
		next := body[i+len(`data-next="`):]
		next = strings.ReplaceAll(next[:strings.IndexByte(next, '"')], "&amp;", "&")
		res, frag := get(t, admin, base+next)
		if res.StatusCode != 200 || tiles(frag) != 5 || strings.Contains(frag, "data-next") || strings.Contains(frag, "<html") {
			t.Errorf("next page: %d, %d tiles: %.200s", res.StatusCode, tiles(frag), frag)
		}
	})
}
