package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tuku/internal/errs"
	"tuku/internal/httpapi"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"invalid", errs.E(errs.Invalid, "op", "bad", nil), 400},
		{"unauth", errs.E(errs.Unauth, "op", "who", nil), 401},
		{"permission", errs.E(errs.Permission, "op", "no", nil), 403},
		{"not found", errs.E(errs.NotFound, "op", "gone", nil), 404},
		{"conflict", errs.E(errs.Conflict, "op", "dup", nil), 409},
		{"too large", errs.E(errs.TooLarge, "op", "big", nil), 413},
		{"unsupported", errs.E(errs.Unsupported, "op", "svg", nil), 415},
		{"bad image", errs.E(errs.BadImage, "op", "truncated", nil), 422},
		{"rate limit", errs.E(errs.RateLimit, "op", "slow down", nil), 429},
		{"unavailable", errs.E(errs.Unavailable, "op", "db down", nil), 503},
		{"internal", errs.E(errs.Internal, "op", "oops", nil), 500},
		{"plain error", errors.New("boom"), 500},
		{"wrapped kind", fmt.Errorf("outer: %w", errs.E(errs.NotFound, "op", "x", nil)), 404},
		{"bare kind", errs.Conflict, 409},
		{"max bytes", &http.MaxBytesError{Limit: 10}, 413},
		{"max bytes inside invalid", errs.E(errs.Invalid, "ingest", "interrupted", &http.MaxBytesError{Limit: 10}), 413},
		{"deadline", context.DeadlineExceeded, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := httpapi.Status(tt.err); got != tt.want {
				t.Errorf("Status(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestContentDisposition(t *testing.T) {
	tests := []struct {
		name         string
		in           string
		wantFilename string // the ASCII filename parameter
		wantStar     string // decoded filename*, "" when absent
	}{
		{"ascii", "ACME_20250101_door_01.jpg", "ACME_20250101_door_01.jpg", ""},
		{"chinese", "张三_照片.jpg", "download.jpg", "张三_照片.jpg"},
		{"mixed", "门 door 2.jpg", "_ door 2.jpg", "门 door 2.jpg"},
		{"quotes and backslashes", `a"b\c.jpg`, "a_b_c.jpg", `a"b\c.jpg`},
		{"header injection", "x.jpg\r\nSet-Cookie: a=b", "x.jpg_Set-Cookie_ a=b", "x.jpg\r\nSet-Cookie: a=b"},
		{"path", "../../etc/passwd", "_.._etc_passwd", "../../etc/passwd"},
		{"semicolon", "a;filename=evil.html", "a_filename=evil.html", "a;filename=evil.html"},
		{"empty", "", "download", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := httpapi.ContentDisposition("attachment", tt.in)
			if strings.ContainsAny(v, "\r\n") {
				t.Fatalf("header value has a line break: %q", v)
			}
			for i := 0; i < len(v); i++ {
				if v[i] < 0x20 || v[i] >= 0x7f {
					t.Fatalf("header value has a non-ASCII byte: %q", v)
				}
			}
			disp, params, err := mime.ParseMediaType(v)
			if err != nil {
				t.Fatalf("ParseMediaType(%q): %v", v, err)
			}
			if disp != "attachment" {
				t.Errorf("disposition %q", disp)
			}
			// mime.ParseMediaType decodes filename* into "filename", so
			// read the raw fallback from the header itself.
			raw := v[strings.Index(v, `filename="`)+len(`filename="`):]
			raw = raw[:strings.IndexByte(raw, '"')]
			if raw != tt.wantFilename {
				t.Errorf("filename = %q, want %q (header %q)", raw, tt.wantFilename, v)
			}
			star := ""
			if i := strings.Index(v, "filename*=UTF-8''"); i >= 0 {
				enc := v[i+len("filename*=UTF-8''"):]
				star, err = url.PathUnescape(enc)
				if err != nil {
					t.Fatalf("filename* %q: %v", enc, err)
				}
				if params["filename"] != star {
					t.Errorf("mime decodes filename* to %q, want %q", params["filename"], star)
				}
			}
			if star != tt.wantStar {
				t.Errorf("filename* = %q, want %q", star, tt.wantStar)
			}
		})
	}
}

func TestRoutesAreUnique(t *testing.T) {
	seen := map[httpapi.Route]bool{}
	for _, r := range httpapi.Routes() {
		if seen[r] {
			t.Errorf("route %v twice", r)
		}
		seen[r] = true
		if r.Method != strings.ToUpper(r.Method) || !strings.HasPrefix(r.Path, "/") {
			t.Errorf("malformed route %v", r)
		}
	}
	if len(seen) < 14 {
		t.Errorf("only %d routes", len(seen))
	}
}
