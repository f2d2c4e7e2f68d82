package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strings"
	"testing"

	"tuku/internal/app"
	"tuku/internal/httpapi"
	"tuku/internal/service"
	"tuku/internal/testenv"
)

func TestMain(m *testing.M) {
	app.MaybeServeImagingWorker()
	os.Exit(m.Run())
}

// env is a real Tuku (SQLite, local blobs, the vips engine) behind a test
// HTTP server, with an admin token.
type env struct {
	t     testing.TB
	app   *app.App
	srv   *httptest.Server
	token string
	logs  *testenv.SyncBuffer
}

type envOption func(*app.Config)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	logs := &testenv.SyncBuffer{}
	cfg := app.Config{
		Data:           t.TempDir(),
		Log:            slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ImagingWorkers: 2,
		// Tests send requests faster than any person; the rate-limit
		// tests turn the limits back on with an envOption.
		RateLimits: httpapi.NoRateLimits(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	a, err := app.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return newEnvWith(t, a, a.Handler(), logs)
}

// newEnvWith serves handler h over the app a.
func newEnvWith(t testing.TB, a *app.App, h http.Handler, logs *testenv.SyncBuffer) *env {
	t.Helper()
	ctx := context.Background()
	const email = "admin@example.com"
	if _, _, err := a.Service.EnsureAdmin(ctx, email); err != nil {
		t.Fatalf("EnsureAdmin: %v", err)
	}
	p, err := a.Service.PrincipalFor(ctx, email)
	if err != nil {
		t.Fatalf("PrincipalFor: %v", err)
	}
	_, secret, err := a.Service.CreateToken(ctx, p, service.NewToken{Email: email, Name: "test"})
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, app: a, srv: srv, token: secret, logs: logs}
}

// response is a finished HTTP exchange.
type response struct {
	*http.Response
	body []byte
}

func (r *response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s: body is not JSON (%v): %.300s", r.Request.URL, err, r.body)
	}
}

// apiError decodes an error body and checks its shape.
func (r *response) apiError(t testing.TB) httpapi.ErrorDetail {
	t.Helper()
	var e httpapi.ErrorBody
	r.json(t, &e)
	if e.Error.Code == "" || e.Error.Message == "" || e.Error.RequestID == "" {
		t.Fatalf("%s: incomplete error body: %s", r.Request.URL, r.body)
	}
	if got := r.Header.Get("X-Request-Id"); got != e.Error.RequestID {
		t.Errorf("request_id %q differs from X-Request-Id %q", e.Error.RequestID, got)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q", ct)
	}
	return e.Error
}

// do sends a request with the admin token (unless a header map sets
// Authorization, "" for none).
func (e *env) do(method, path string, body io.Reader, hdr map[string]string) *response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return &response{Response: resp, body: b}
}

func (e *env) get(path string) *response { return e.do("GET", path, nil, nil) }

func (e *env) postJSON(path string, v any) *response {
	b, _ := json.Marshal(v)
	return e.do("POST", path, bytes.NewReader(b), map[string]string{"Content-Type": "application/json"})
}

// field is one multipart part; file parts have a filename.
type field struct {
	name, value string
	file        bool
	filename    string
	data        []byte
}

func text(name, value string) field { return field{name: name, value: value} }

func file(filename string, data []byte) field {
	return field{name: "file", file: true, filename: filename, data: data}
}

// multipartBody encodes parts in the given order. File names are written
// raw (quotes and backslashes escaped) so hostile names arrive as sent.
func multipartBody(parts ...field) (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		if !p.file {
			mw.WriteField(p.name, p.value)
			continue
		}
		h := textproto.MIMEHeader{}
		esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(p.filename)
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename="%s"`, p.name, esc))
		h.Set("Content-Type", "application/octet-stream")
		w, _ := mw.CreatePart(h)
		w.Write(p.data)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func (e *env) upload(parts ...field) *response {
	e.t.Helper()
	body, ct := multipartBody(parts...)
	return e.do("POST", "/api/v1/assets", body, map[string]string{"Content-Type": ct})
}

// uploadResult is the body of a successful upload.
type uploadResult struct {
	Status   string         `json:"status"`
	Asset    map[string]any `json:"asset"`
	Warnings []string       `json:"warnings"`
}

func (e *env) mustUpload(wantStatus int, parts ...field) uploadResult {
	e.t.Helper()
	r := e.upload(parts...)
	if r.StatusCode != wantStatus {
		e.t.Fatalf("upload: status %d, want %d: %s", r.StatusCode, wantStatus, r.body)
	}
	var u uploadResult
	r.json(e.t, &u)
	return u
}

// createCustomer files a customer through the API and returns its ID.
func (e *env) createCustomer(name, code string) string {
	e.t.Helper()
	r := e.postJSON("/api/v1/customers", map[string]string{"name": name, "code": code})
	if r.StatusCode != http.StatusCreated {
		e.t.Fatalf("create customer: %d %s", r.StatusCode, r.body)
	}
	var c struct{ ID string }
	r.json(e.t, &c)
	return c.ID
}

// makeJPEG returns a w x h JPEG whose pixels depend on seed, so different
// seeds give different bytes.
func makeJPEG(t testing.TB, w, h, seed int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x*4 + seed*7), uint8(y*5 + seed*13), uint8(seed * 31), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// makeNoiseJPEG returns a JPEG that compresses badly, for size limits.
func makeNoiseJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	x := uint32(2463534242)
	for i := range img.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i] = byte(x)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
