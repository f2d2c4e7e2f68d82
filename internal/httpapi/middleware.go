package httpapi

import (
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"tuku/internal/errs"
)

// Header values set on every response. Slices are shared between
// responses: net/http only reads them, and Header.Set replaces rather than
// mutates, so sharing saves an allocation per header per request.
//
// The API answers JSON, images and plain text, never a page, so its CSP
// allows nothing at all: a response that a browser is somehow talked into
// rendering (a polyglot original, an error echoing input) can run no
// script, load nothing, be framed by no one, and submit no form. The
// HTML UI sets its own, equally script-inline-free policy.
var (
	hdrNosniff  = []string{"nosniff"}
	hdrReferrer = []string{"no-referrer"}
	hdrCSP      = []string{CSP}
	hdrNoStore  = []string{"private, no-store"}
	hdrNoCache  = []string{"no-cache"}
	hdrFrame    = []string{"DENY"}
	hdrCORP     = []string{"same-origin"}
	// Two years with subdomains, sent only over TLS: a browser ignores it
	// on plain HTTP, and sending it there would pin nothing.
	hdrHSTS = []string{"max-age=63072000; includeSubDomains"}
)

// CSP is the Content-Security-Policy of every API response.
const CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// setSecurityHeaders puts the headers every response carries. Handlers
// may loosen only Cache-Control (thumbnails, /healthz); writeError puts
// no-store back on errors.
func setSecurityHeaders(h http.Header, r *http.Request) {
	h["X-Content-Type-Options"] = hdrNosniff
	h["Referrer-Policy"] = hdrReferrer
	h["Content-Security-Policy"] = hdrCSP
	h["X-Frame-Options"] = hdrFrame
	h["Cross-Origin-Resource-Policy"] = hdrCORP
	h["Cache-Control"] = hdrNoStore
	if r.TLS != nil {
		h["Strict-Transport-Security"] = hdrHSTS
	}
}

// ServeHTTP is the outer layer of every request: request ID, security
// headers, panic recovery, routing, JSON for the mux's own 404 and 405,
// metrics and the log line.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := s.ids.next()
	h := w.Header()
	h["X-Request-Id"] = []string{id}
	setSecurityHeaders(h, r)

	rw := &respWriter{w: w, r: r, id: id, routing: true}
	s.metrics.inflight.Inc()
	defer func() {
		s.metrics.inflight.Dec()
		v := recover()
		abort := v == http.ErrAbortHandler
		if v != nil && !abort {
			s.log.Error("panic", "request_id", id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			perr := errs.E(errs.Internal, "panic", "", fmt.Errorf("panic: %v", v))
			rw.routing = false
			if rw.started() {
				// A response under way cannot become an error any more:
				// abort the connection so the client sees a failure rather
				// than a truncated body that looks complete.
				rw.err = perr
				abort = true
			} else {
				s.writeError(rw, r, perr)
			}
		}
		s.finish(rw, r, start)
		if abort {
			panic(http.ErrAbortHandler)
		}
	}()

	s.mux.ServeHTTP(rw, r)
	rw.routing = false
	if code := rw.muxStatus; code != 0 {
		rw.muxStatus = 0
		if code == http.StatusMethodNotAllowed {
			s.writeError(rw, r, &methodError{errs.Ef(errs.Invalid, "route", "method %s is not allowed here (allowed: %s)", r.Method, h.Get("Allow"))})
			return
		}
		s.writeError(rw, r, errs.E(errs.NotFound, "route", noRouteMessage, nil))
	}
}

// noRouteMessage is the message of a 404 for a path no route matches; a
// resource that is missing says what is missing instead.
const noRouteMessage = "no such API route"

// finish records metrics and writes the request's log line.
func (s *server) finish(rw *respWriter, r *http.Request, start time.Time) {
	dur := time.Since(start)
	status := rw.status
	if status == 0 {
		status = http.StatusOK // nothing written: net/http sends 200
	}
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	s.metrics.observe(route, status, dur)

	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case rw.quiet && status < 400:
		level = slog.LevelDebug
	}
	ctx := r.Context()
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", rw.id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Int64("bytes", rw.bytes),
		slog.Duration("dur", dur),
	}
	if rw.user != "" {
		attrs = append(attrs, slog.String("user", rw.user))
	}
	if rw.err != nil {
		// The full chain, causes included: this is the only place the
		// internal cause of a 500 is kept.
		attrs = append(attrs, slog.String("err", rw.err.Error()))
	}
	s.log.LogAttrs(ctx, level, "request", attrs...)
}

// respWriter records what a handler wrote, and swallows the plain-text
// 404/405 bodies of http.ServeMux so ServeHTTP can answer in JSON.
type respWriter struct {
	w     http.ResponseWriter
	r     *http.Request
	id    string
	user  string // authenticated user, for the log line
	err   error  // the error answered, for the log line
	quiet bool

	status    int
	bytes     int64
	routing   bool // inside mux.ServeHTTP
	muxStatus int  // the mux's own 404/405, body dropped
}

func (rw *respWriter) Header() http.Header { return rw.w.Header() }

func (rw *respWriter) WriteHeader(code int) {
	if rw.status != 0 || rw.muxStatus != 0 {
		return
	}
	// r.Pattern is empty only when the mux matched no route, so this never
	// catches a 404 written by a route's own handler.
	if rw.routing && rw.r.Pattern == "" && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
		rw.muxStatus = code
		return
	}
	if code >= 100 && code < 200 {
		rw.w.WriteHeader(code) // informational; the real status follows
		return
	}
	rw.status = code
	rw.w.WriteHeader(code)
}

func (rw *respWriter) Write(b []byte) (int, error) {
	if rw.muxStatus != 0 {
		return len(b), nil
	}
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	n, err := rw.w.Write(b)
	rw.bytes += int64(n)
	return n, err
}

// ReadFrom keeps net/http's sendfile path for files (io.Copy and
// http.ServeContent look for io.ReaderFrom).
func (rw *respWriter) ReadFrom(src io.Reader) (int64, error) {
	if rw.muxStatus != 0 {
		return io.Copy(io.Discard, src)
	}
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	var n int64
	var err error
	if rf, ok := rw.w.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{rw.w}, src)
	}
	rw.bytes += n
	return n, err
}

func (rw *respWriter) Flush() {
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	if f, ok := rw.w.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (rw *respWriter) Unwrap() http.ResponseWriter { return rw.w }

// started reports whether the status line has gone out.
func (rw *respWriter) started() bool { return rw.status != 0 }

// writerOnly hides ReadFrom so io.Copy does not recurse into it.
type writerOnly struct{ io.Writer }

// idSource makes request IDs: a random per-server prefix and a counter.
// Unique within a process, unlikely to repeat across restarts, and cheap
// enough for the thumbnail path (one small allocation).
type idSource struct {
	prefix [10]byte
	n      atomic.Uint64
}

func newIDSource() *idSource {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never on Linux
	}
	s := &idSource{}
	for i, c := range b {
		s.prefix[i] = alphabet[c&31]
	}
	return s
}

func (s *idSource) next() string {
	var buf [32]byte
	b := append(buf[:0], s.prefix[:]...)
	b = append(b, '-')
	b = strconv.AppendUint(b, s.n.Add(1), 36)
	return string(b)
}
