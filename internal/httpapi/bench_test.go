package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkThumbnail serves a cached grid thumbnail through the whole API
// (token check, asset and rendition lookup, sendfile) next to a plain
// http.FileServer serving the same bytes, so the two can be compared in
// one run (DESIGN.md §4: ≥ 0.8× the file server).
func BenchmarkThumbnail(b *testing.B) {
	e := newEnv(b)
	e.createCustomer("Acme", "ACME")
	u := e.mustUpload(http.StatusCreated, text("customer_id", "ACME"), file("a.jpg", makeJPEG(b, 640, 480, 1)))
	id := u.Asset["id"].(string)
	thumb := e.get("/api/v1/assets/" + id + "/thumbnail")
	if thumb.StatusCode != 200 {
		b.Fatalf("thumbnail: %d", thumb.StatusCode)
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.jpg"), thumb.body, 0o644); err != nil {
		b.Fatal(err)
	}
	fs := httptest.NewServer(http.FileServer(http.Dir(dir)))
	b.Cleanup(fs.Close)

	run := func(b *testing.B, url string, auth bool) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		b.Cleanup(client.CloseIdleConnections)
		b.SetBytes(int64(len(thumb.body)))
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			req, _ := http.NewRequest("GET", url, nil)
			if auth {
				req.Header.Set("Authorization", "Bearer "+e.token)
			}
			for pb.Next() {
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	b.Run("api", func(b *testing.B) { run(b, e.srv.URL+"/api/v1/assets/"+id+"/thumbnail", true) })
	b.Run("fileserver", func(b *testing.B) { run(b, fs.URL+"/t.jpg", false) })
}
