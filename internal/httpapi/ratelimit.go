package httpapi

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/service"
)

// Rate is a token bucket: on average Per requests a second, at most Burst
// at once. The zero Rate means "the default for its class"; a negative Per
// turns the limit of that class off.
type Rate struct {
	Per   float64 // tokens added per second
	Burst int     // bucket size; 0 takes the class default
}

// RateLimits are the API's request rate limits. Authenticated requests are
// counted per principal (the user, whichever token or session it uses),
// the others per client IP address (an IPv6 /64 counts as one address).
// Behind a reverse proxy every client has the proxy's address (the
// X-Forwarded-For header is not trusted), so limit anonymous traffic at
// the proxy and raise Anonymous and SignIn here, or turn the limits off
// (tuku serve --rate-limit off). Service-level sign-in throttling (per
// account and per address, with growing delays) is separate and stays.
type RateLimits struct {
	Read   Rate // authenticated GET and HEAD (default 20/s, burst 100)
	Write  Rate // authenticated changes other than uploads (default 10/s, burst 50)
	Upload Rate // POST /api/v1/assets (default 4/s, burst 40)
	// Thumbnail is the thumbnail route of an authenticated principal. A
	// grid page asks for dozens at once and each is a cached, already
	// authorised file read, so by default it is not limited at all (which
	// also keeps the serving benchmark, 16 connections on one token, from
	// measuring the limiter). Set a positive Per to limit it.
	Thumbnail Rate
	Anonymous Rate // GET and HEAD without credentials, per IP (default 20/s, burst 100)
	// SignIn is, per IP, every request without credentials that changes
	// something (signing in) and every request whose credentials were
	// refused (default 1/s, burst 20: an office behind one NAT address
	// signing in at nine). An IP that has used it up gets 429
	// before its credentials are even checked, so tokens and passwords
	// cannot be guessed at speed.
	SignIn Rate
	// MaxKeys bounds the buckets kept per class (default 50,000, about
	// 8 MB at most); beyond it the idlest are dropped.
	MaxKeys int
	// Now is the clock (default time.Now); tests pass a fake one.
	Now func() time.Time
}

// NoRateLimits turns every limit off, for tests and benchmarks that load
// the API harder than any person would.
func NoRateLimits() RateLimits {
	off := Rate{Per: -1}
	return RateLimits{Read: off, Write: off, Upload: off, Thumbnail: off, Anonymous: off, SignIn: off}
}

// rateClass names a bucket family; each has its own limit and key space.
type rateClass uint8

const (
	rateAuto rateClass = iota // a route's zero value: from method and auth
	rateRead
	rateWrite
	rateUpload
	rateThumbnail
	rateAnonymous
	rateSignIn
	numRateClasses
)

var rateClassNames = [numRateClasses]string{"", "read", "write", "upload", "thumbnail", "anonymous", "sign-in"}

// defaultRates are the limits of each class when RateLimits leaves it zero.
var defaultRates = [numRateClasses]Rate{
	rateRead:      {Per: 20, Burst: 100},
	rateWrite:     {Per: 10, Burst: 50},
	rateUpload:    {Per: 4, Burst: 40},
	rateThumbnail: {Per: -1},
	rateAnonymous: {Per: 20, Burst: 100},
	rateSignIn:    {Per: 1, Burst: 20},
}

const defaultRateMaxKeys = 50_000

// rateLimiter holds one bucket table per class. It is safe for concurrent
// use; a class whose limit is off costs nothing.
type rateLimiter struct {
	now     func() time.Time
	classes [numRateClasses]*rateTable // nil: no limit
}

func newRateLimiter(l RateLimits) *rateLimiter {
	rl := &rateLimiter{now: l.Now}
	if rl.now == nil {
		rl.now = time.Now
	}
	maxKeys := l.MaxKeys
	if maxKeys <= 0 {
		maxKeys = defaultRateMaxKeys
	}
	given := [numRateClasses]Rate{{}, l.Read, l.Write, l.Upload, l.Thumbnail, l.Anonymous, l.SignIn}
	for c, r := range given {
		if rateClass(c) == rateAuto {
			continue
		}
		d := defaultRates[c]
		if r.Per == 0 {
			r.Per = d.Per
		}
		if r.Per < 0 {
			continue
		}
		if r.Burst <= 0 {
			r.Burst = d.Burst
		}
		if r.Burst <= 0 {
			// A limit turned on for a class that has none by default.
			r.Burst = max(1, int(math.Ceil(r.Per)))
		}
		rl.classes[c] = &rateTable{rate: r.Per, burst: float64(r.Burst), maxKeys: maxKeys, buckets: map[string]*rateBucket{}}
	}
	return rl
}

// allow takes one token from key's bucket of class c. When there is none
// it returns a RateLimit error and how long until there is.
func (rl *rateLimiter) allow(c rateClass, key string) (time.Duration, error) {
	t := rl.classes[c]
	if t == nil {
		return 0, nil
	}
	wait := t.take(key, rl.now(), true)
	if wait <= 0 {
		return 0, nil
	}
	return wait, rateLimitError(c, wait)
}

// check is allow without taking: it answers whether a token is there now.
func (rl *rateLimiter) check(c rateClass, key string) (time.Duration, error) {
	t := rl.classes[c]
	if t == nil {
		return 0, nil
	}
	wait := t.take(key, rl.now(), false)
	if wait <= 0 {
		return 0, nil
	}
	return wait, rateLimitError(c, wait)
}

func rateLimitError(c rateClass, wait time.Duration) error {
	return errs.Ef(errs.RateLimit, "ratelimit", "too many %s requests: retry in %d s", rateClassNames[c], retryAfterSeconds(wait))
}

// retryAfterSeconds rounds a wait up to whole seconds, at least 1, as the
// Retry-After header needs.
func retryAfterSeconds(d time.Duration) int64 {
	s := int64(math.Ceil(d.Seconds()))
	return max(s, 1)
}

// setRetryAfter adds the Retry-After header for a refused request.
func setRetryAfter(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.FormatInt(retryAfterSeconds(wait), 10))
}

// rateTable is the buckets of one class.
type rateTable struct {
	rate    float64 // tokens per second
	burst   float64
	maxKeys int

	mu        sync.Mutex
	buckets   map[string]*rateBucket
	lastSweep time.Time
}

// rateBucket is a token bucket as of its last update.
type rateBucket struct {
	tokens float64
	at     time.Time
}

// rateSweepEvery is how often full buckets are dropped on the way.
const rateSweepEvery = time.Minute

// take refills key's bucket to now and, when take is set and a token is
// there, takes it. It returns 0 when a token was there, else the time
// until one will be.
func (t *rateTable) take(key string, now time.Time, take bool) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.lastSweep) >= rateSweepEvery {
		t.sweep(now, false)
	}
	b := t.buckets[key]
	if b == nil {
		if !take {
			return 0 // a new bucket is full
		}
		if len(t.buckets) >= t.maxKeys {
			t.sweep(now, true)
		}
		b = &rateBucket{tokens: t.burst, at: now}
		t.buckets[key] = b
	}
	tokens := t.level(b, now)
	if tokens < 1 {
		return time.Duration((1 - tokens) / t.rate * float64(time.Second))
	}
	if take {
		b.tokens, b.at = tokens-1, now
	}
	return 0
}

// level is b's token count at now. A clock that went backwards refills
// nothing rather than draining.
func (t *rateTable) level(b *rateBucket, now time.Time) float64 {
	el := now.Sub(b.at).Seconds()
	if el < 0 {
		el = 0
	}
	return math.Min(t.burst, b.tokens+el*t.rate)
}

// sweep drops buckets that have refilled: a full bucket is the same as no
// bucket, so this forgets nothing. When the table is still at its bound
// (many addresses at once, all busy) and force is set, it also drops the
// longest-idle half, which can only let their owners through sooner.
func (t *rateTable) sweep(now time.Time, force bool) {
	t.lastSweep = now
	for k, b := range t.buckets {
		if t.level(b, now) >= t.burst {
			delete(t.buckets, k)
		}
	}
	if !force || len(t.buckets) < t.maxKeys {
		return
	}
	// The median idle time, without sorting: drop everything idle longer
	// than the mean last update, then, if that was not enough, arbitrary
	// ones (map order) until half are gone.
	var sum float64
	for _, b := range t.buckets {
		sum += float64(now.Sub(b.at))
	}
	mean := time.Duration(sum / float64(len(t.buckets)))
	for k, b := range t.buckets {
		if now.Sub(b.at) > mean {
			delete(t.buckets, k)
		}
	}
	for k := range t.buckets {
		if len(t.buckets) <= t.maxKeys/2 {
			break
		}
		delete(t.buckets, k)
	}
}

// size is the number of buckets held, for tests.
func (t *rateTable) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buckets)
}

// clientAddr is the rate-limit key of a request's peer: its IP address
// from RemoteAddr (never a forwarding header, which the client chooses),
// with IPv6 addresses cut to their /64, the block one subscriber gets.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// routeRateClass is the class of an authenticated request to rt.
func routeRateClass(rt route) rateClass {
	switch {
	case rt.rate != rateAuto:
		return rt.rate
	case rt.method == http.MethodGet || rt.method == http.MethodHead:
		return rateRead
	case rt.upload:
		return rateUpload
	}
	return rateWrite
}

// anonRateClass is the class of a request to a route without auth.
func anonRateClass(r *http.Request) rateClass {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return rateAnonymous
	}
	return rateSignIn
}

// admit runs before authentication: it caps the request body (uploads at
// MaxUploadBytes, everything else at maxJSONBody, whether or not the
// handler means to read one) and applies the per-IP limits: the anonymous
// or sign-in class for routes without auth, and for routes with auth a
// look at the IP's sign-in bucket, so an address that keeps presenting
// bad credentials is refused before they are checked.
func (s *server) admit(w http.ResponseWriter, r *http.Request, rt route) error {
	limit := int64(maxJSONBody)
	if rt.upload {
		limit = s.maxUpload
	}
	if r.ContentLength > limit {
		// Declared too large: refuse before reading a byte.
		if rt.upload {
			s.metrics.uploads.WithLabelValues(service.Rejected, string(errs.TooLarge)).Inc()
		}
		return &http.MaxBytesError{Limit: limit}
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	}
	var wait time.Duration
	var err error
	if rt.auth {
		wait, err = s.limits.check(rateSignIn, clientAddr(r))
	} else {
		wait, err = s.limits.allow(anonRateClass(r), clientAddr(r))
	}
	if err != nil {
		setRetryAfter(w, wait)
	}
	return err
}

// refused charges a request whose credentials were refused (or absent) to
// its IP's sign-in bucket. An outage (errs.Unavailable) is not the
// client's doing and costs nothing.
func (s *server) refused(r *http.Request, err error) {
	if errs.KindOf(err) == errs.Unauth {
		s.limits.allow(rateSignIn, clientAddr(r))
	}
}

// admitPrincipal applies the per-principal limit of rt's class. The key is
// the user, so a user's tokens and sessions share one allowance and minting
// more tokens buys no more requests.
func (s *server) admitPrincipal(w http.ResponseWriter, rt route, p *authz.Principal) error {
	wait, err := s.limits.allow(routeRateClass(rt), p.UserID)
	if err != nil {
		setRetryAfter(w, wait)
	}
	return err
}
