package httpapi

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/httpapi/listquery"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

func (s *server) listAssets(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	aq, err := listquery.Parse(r.URL.RawQuery)
	if err != nil {
		return err
	}
	page, err := s.svc.ListAssets(r.Context(), p, aq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

// maxQueryValue caps each query value of the listing routes.
const maxQueryValue = listquery.MaxValue

func (s *server) getAsset(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	a, err := s.svc.GetAsset(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// getOriginal sends the uploaded bytes as a download. The stored type is
// decided from content at ingest, nosniff is set on every response and the
// body is an attachment under a CSP of default-src 'none', so a polyglot
// file is never rendered as a page.
func (s *server) getOriginal(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	_, c, err := s.svc.OpenOriginal(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	defer c.Body.Close()
	h := w.Header()
	h.Set("Content-Disposition", ContentDisposition("attachment", c.Filename))
	serveContent(w, r, c)
	return nil
}

// Thumbnail cache policy: the response for a given asset and size only
// changes when the rendering engine does, and clients may add a v= query
// parameter (ignored here) to key their cache on the asset's version, so
// galleries may keep thumbnails for long. Not those of confidential and
// restricted assets (ID cards, contracts): they must not stay on a shared
// computer's disk after sign-out or after access is withdrawn.
var hdrImmutable = []string{"private, max-age=31536000, immutable"}

func thumbnailCaching(s tuku.Sensitivity) []string {
	if s == tuku.Confidential || s == tuku.Restricted {
		return hdrNoStore
	}
	return hdrImmutable
}

// getThumbnail serves a named rendition. It is the hottest route (a grid
// page asks for dozens at once): no query map, no JSON, sendfile for
// local blobs, and 304 on If-None-Match.
func (s *server) getThumbnail(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	size := "grid"
	if raw := r.URL.RawQuery; raw != "" {
		v, err := queryValue(raw, "size")
		if err != nil {
			return errs.E(errs.Invalid, "asset.thumbnail", "malformed query string", err)
		}
		if v != "" {
			size = v
		}
	}
	a, c, err := s.svc.OpenRendition(r.Context(), p, r.PathValue("id"), size)
	if err != nil {
		return err
	}
	defer c.Body.Close()
	w.Header()["Cache-Control"] = thumbnailCaching(a.Sensitivity)
	serveContent(w, r, c)
	return nil
}

// queryValue returns the first value of key in a raw query without
// building the whole map.
func queryValue(raw, key string) (string, error) {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k != key {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			return url.QueryUnescape(v)
		}
		return v, nil
	}
	return "", nil
}

// serveContent writes stored content with its type, length and strong
// ETag. A seekable body goes through http.ServeContent, which answers
// Range, If-None-Match and HEAD; anything else is streamed whole.
func serveContent(w http.ResponseWriter, r *http.Request, c *service.Content) {
	h := w.Header()
	ct := c.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	if c.ETag != "" {
		h.Set("Etag", c.ETag)
	}
	if rs, ok := c.Body.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", c.ModTime, rs)
		return
	}
	if c.ETag != "" && etagMatch(r.Header.Get("If-None-Match"), c.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if c.Size > 0 {
		h.Set("Content-Length", strconv.FormatInt(c.Size, 10))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.Copy(w, c.Body) // a failure here is the client going away
	}
}

// etagMatch implements If-None-Match's weak comparison over a list.
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	if strings.TrimSpace(header) == "*" {
		return true
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == want {
			return true
		}
	}
	return false
}
