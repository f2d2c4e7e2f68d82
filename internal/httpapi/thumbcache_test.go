package httpapi_test

import (
	"net/http"
	"testing"
)

// Thumbnails of confidential and restricted assets are never kept by the
// browser; the others may be, for a year (their URLs change with the
// rendering engine).
func TestThumbnailCachingBySensitivity(t *testing.T) {
	e := newEnv(t)
	cust := e.createCustomer("缓存", "CACHE")
	for i, c := range []struct{ sensitivity, want string }{
		{"public", "private, max-age=31536000, immutable"},
		{"internal", "private, max-age=31536000, immutable"},
		{"confidential", "private, no-store"},
		{"restricted", "private, no-store"},
	} {
		u := e.mustUpload(http.StatusCreated, text("customer_id", cust), text("sensitivity", c.sensitivity),
			file("x.jpg", makeJPEG(t, 40, 30, 100+i)))
		r := e.get("/api/v1/assets/" + u.Asset["id"].(string) + "/thumbnail")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s thumbnail: %d %s", c.sensitivity, r.StatusCode, r.body)
		}
		if got := r.Header.Get("Cache-Control"); got != c.want {
			t.Errorf("%s thumbnail Cache-Control %q, want %q", c.sensitivity, got, c.want)
		}
	}
}
