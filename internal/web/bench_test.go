package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"tuku/internal/app"
	"tuku/internal/authz"
	"tuku/internal/httpapi"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

// BenchmarkGalleryPage10k measures the server time of a customer's
// gallery page (the first 120 tiles of 10,000 assets, filters, projects)
// and of the next page's fragment, signed in, over loopback. The 10,000
// assets are ingested through the service first (about a minute on two
// cores; not timed). Run by make bench:
//
//	go test ./internal/web -run '^$' -bench GalleryPage10k -benchtime 200x
func BenchmarkGalleryPage10k(b *testing.B) {
	const n = 10_000
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{Data: b.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RateLimits: httpapi.NoRateLimits(), ImagingWorkers: 2})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	b.Cleanup(func() { srv.Close(); a.Close() })
	svc := a.Service
	sys := &authz.System
	const pw = "a long enough password"
	if _, _, err := svc.CreateUser(ctx, sys, service.NewUser{Email: "bench@example.com", Role: tuku.RoleAdmin, Password: pw}); err != nil {
		b.Fatal(err)
	}
	c, err := svc.CreateCustomer(ctx, sys, service.NewCustomer{Name: "万张图片客户", Code: "TENK"})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				_, err := svc.Ingest(ctx, sys, service.IngestRequest{Customer: c.ID, Filename: fmt.Sprintf("p%05d.jpg", i),
					Body: bytes.NewReader(numberedJPEG(b, i)), Description: "样品", Source: "upload"})
				if err != nil {
					errc <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		b.Fatalf("ingest: %v", err)
	}
	b.Logf("ingested %d assets in %s", n, time.Since(start).Round(time.Second))

	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", srv.URL+"/login", strings.NewReader(url.Values{"email": {"bench@example.com"}, "password": {pw}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", srv.URL)
	res, err := cl.Do(req)
	if err != nil || res.StatusCode != http.StatusSeeOther {
		b.Fatalf("sign in: %v %v", res, err)
	}
	res.Body.Close()

	fetch := func(path string) []byte {
		res, err := cl.Get(srv.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("%s: %d", path, res.StatusCode)
		}
		return body
	}
	page := "/customers/" + c.ID
	first := fetch(page)
	if got := bytes.Count(first, []byte(`class="g-tile"`)); got != 120 {
		b.Fatalf("first page has %d tiles", got)
	}
	i := bytes.Index(first, []byte(`data-next="`))
	next := string(first[i+len(`data-next="`):])
	next = strings.ReplaceAll(next[:strings.IndexByte(next, '"')], "&amp;", "&")

	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			fetch(page)
		}
	})
	b.Run("next", func(b *testing.B) {
		for b.Loop() {
			fetch(next)
		}
	})
	b.Run("search", func(b *testing.B) {
		for b.Loop() {
			fetch("/search?q=" + url.QueryEscape("样品"))
		}
	})
}

// numberedJPEG is a 32×32 JPEG whose pixels spell i, so each is unique.
func numberedJPEG(tb testing.TB, i int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			img.Set(x, y, color.RGBA{uint8(i), uint8(i >> 8), uint8(x*8 + y), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
