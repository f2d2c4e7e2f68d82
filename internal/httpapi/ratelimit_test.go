package httpapi

import (
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"tuku/internal/errs"
)

// fakeClock is a settable clock for the limiter.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestRateLimiterBucket(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	rl := newRateLimiter(RateLimits{Read: Rate{Per: 2, Burst: 3}, Now: clk.now})

	// The burst goes through at once, the next waits half a second (2/s).
	for i := range 3 {
		if _, err := rl.allow(rateRead, "u1"); err != nil {
			t.Fatalf("request %d of the burst refused: %v", i+1, err)
		}
	}
	wait, err := rl.allow(rateRead, "u1")
	if errs.KindOf(err) != errs.RateLimit {
		t.Fatalf("4th request: %v, want a rate-limit error", err)
	}
	if wait != 500*time.Millisecond {
		t.Errorf("wait %v, want 500ms", wait)
	}
	if retryAfterSeconds(wait) != 1 {
		t.Errorf("Retry-After %d, want 1", retryAfterSeconds(wait))
	}
	// Another principal has its own bucket.
	if _, err := rl.allow(rateRead, "u2"); err != nil {
		t.Errorf("u2 refused: %v", err)
	}
	// So does another class of the same principal.
	if _, err := rl.allow(rateWrite, "u1"); err != nil {
		t.Errorf("u1 write refused: %v", err)
	}
	// A refused request takes nothing: after 0.5 s exactly one more.
	clk.advance(500 * time.Millisecond)
	if _, err := rl.allow(rateRead, "u1"); err != nil {
		t.Errorf("after refill: %v", err)
	}
	if _, err := rl.allow(rateRead, "u1"); err == nil {
		t.Error("second request after a half-second refill allowed")
	}
	// Refill stops at the burst.
	clk.advance(time.Hour)
	n := 0
	for ; n < 10; n++ {
		if _, err := rl.allow(rateRead, "u1"); err != nil {
			break
		}
	}
	if n != 3 {
		t.Errorf("%d requests after an hour, want the burst of 3", n)
	}
	// A clock going backwards drains nothing and refills nothing.
	clk.advance(-time.Minute)
	if _, err := rl.allow(rateRead, "u1"); err == nil {
		t.Error("allowed after the clock went back")
	}
}

func TestRateLimiterCheckDoesNotTake(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	rl := newRateLimiter(RateLimits{SignIn: Rate{Per: 0.1, Burst: 2}, Now: clk.now})
	for range 5 {
		if _, err := rl.check(rateSignIn, "1.2.3.4"); err != nil {
			t.Fatalf("check on a fresh bucket: %v", err)
		}
	}
	rl.allow(rateSignIn, "1.2.3.4")
	rl.allow(rateSignIn, "1.2.3.4")
	wait, err := rl.check(rateSignIn, "1.2.3.4")
	if err == nil || wait != 10*time.Second {
		t.Errorf("check on an empty bucket: %v, %v; want a 10 s wait", wait, err)
	}
	if got := rl.classes[rateSignIn].size(); got != 1 {
		t.Errorf("%d buckets, want 1 (check must not create any)", got)
	}
}

func TestRateLimiterDefaultsAndOff(t *testing.T) {
	rl := newRateLimiter(RateLimits{})
	for c := rateRead; c < numRateClasses; c++ {
		want := defaultRates[c].Per >= 0
		if got := rl.classes[c] != nil; got != want {
			t.Errorf("class %s on = %v, want %v", rateClassNames[c], got, want)
		}
	}
	if rl.classes[rateRead].rate != 20 || rl.classes[rateRead].burst != 100 {
		t.Errorf("read default %v/%v", rl.classes[rateRead].rate, rl.classes[rateRead].burst)
	}
	off := newRateLimiter(NoRateLimits())
	for c := rateRead; c < numRateClasses; c++ {
		if off.classes[c] != nil {
			t.Errorf("class %s still on under NoRateLimits", rateClassNames[c])
		}
		for range 1000 {
			if _, err := off.allow(c, "k"); err != nil {
				t.Fatalf("class %s refused with limits off: %v", rateClassNames[c], err)
			}
		}
	}
	// A limit turned on for the thumbnail class, which has none by default.
	on := newRateLimiter(RateLimits{Thumbnail: Rate{Per: 500}})
	if tt := on.classes[rateThumbnail]; tt == nil || tt.burst != 500 {
		t.Errorf("thumbnail limit: %+v", tt)
	}
}

// TestRateLimiterBoundedMemory: buckets that have refilled are dropped on
// the periodic sweep, and the table never grows past MaxKeys however many
// addresses come, idle or not.
func TestRateLimiterBoundedMemory(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	const maxKeys = 1000
	rl := newRateLimiter(RateLimits{Anonymous: Rate{Per: 1, Burst: 5}, MaxKeys: maxKeys, Now: clk.now})
	tab := rl.classes[rateAnonymous]
	for i := range 10 * maxKeys {
		if _, err := rl.allow(rateAnonymous, "10.0."+strconv.Itoa(i)); err != nil {
			t.Fatalf("first request of address %d refused: %v", i, err)
		}
		if n := tab.size(); n > maxKeys {
			t.Fatalf("%d buckets after %d addresses, bound %d", n, i+1, maxKeys)
		}
	}
	// A key that used its burst is refused.
	for range 5 {
		rl.allow(rateAnonymous, "busy")
	}
	if _, err := rl.allow(rateAnonymous, "busy"); err == nil {
		t.Fatal("busy key not limited")
	}
	// After a minute every bucket has refilled (5 tokens at 1/s) and the
	// next call sweeps them all but its own.
	clk.advance(rateSweepEvery)
	rl.allow(rateAnonymous, "late")
	if n := tab.size(); n != 1 {
		t.Errorf("%d buckets after the idle sweep, want 1", n)
	}
}

func TestClientAddr(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"192.0.2.7:5555", "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"}, // same /64, same key
		{"[::ffff:192.0.2.7]:80", "192.0.2.7"},
		{"[::1]:80", "::/64"},
		{"pipe", "pipe"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		r.Header.Set("X-Forwarded-For", "203.0.113.9") // never trusted
		if got := clientAddr(r); got != tt.want {
			t.Errorf("clientAddr(%q) = %q, want %q", tt.remote, got, tt.want)
		}
	}
}

func TestRouteRateClass(t *testing.T) {
	want := map[string]rateClass{
		"GET /api/v1/assets/{id}/thumbnail": rateThumbnail,
		"POST /api/v1/assets":               rateUpload,
		"GET /api/v1/assets":                rateRead,
		"POST /api/v1/customers":            rateWrite,
	}
	for _, rt := range routeTable() {
		if w, ok := want[rt.pattern()]; ok {
			if got := routeRateClass(rt); got != w {
				t.Errorf("%s: class %s, want %s", rt.pattern(), rateClassNames[got], rateClassNames[w])
			}
			delete(want, rt.pattern())
		}
	}
	if len(want) > 0 {
		t.Errorf("routes not in the table: %v", want)
	}
}
