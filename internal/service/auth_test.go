package service

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func TestThrottleEngagesAndReleases(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		key  string
		free int
	}{
		{"account", "user:a@example.com", freeAccountFailures},
		{"address", "ip:192.0.2.7", freeIPFailures},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := newThrottle(100)
			now := t0
			for i := 0; i < tt.free; i++ {
				if w := peek(th, now, tt.key); w != 0 {
					t.Fatalf("attempt %d: wait %v before the free failures are used up", i+1, w)
				}
				failOn(th, now, tt.key)
			}
			// Each further failure doubles the delay: 1 s, 2 s, 4 s, …
			for i, want := range []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
				if w := peek(th, now, tt.key); w != want {
					t.Fatalf("after %d extra failures: wait %v, want %v", i, w, want)
				}
				if w := peek(th, now.Add(want-time.Millisecond), tt.key); w != time.Millisecond {
					t.Fatalf("1 ms before the end: wait %v", w)
				}
				now = now.Add(want)
				if w := peek(th, now, tt.key); w != 0 {
					t.Fatalf("after the delay: wait %v, want 0", w)
				}
				failOn(th, now, tt.key)
			}
			// Quiet for the window after the delay: forgotten entirely.
			now = now.Add(16*time.Second + throttleWindow)
			if w := peek(th, now, tt.key); w != 0 {
				t.Fatalf("after the window: wait %v", w)
			}
			failOn(th, now, tt.key)
			if w := peek(th, now, tt.key); w != 0 {
				t.Fatalf("a forgotten key's first failure waits %v", w)
			}
		})
	}
}

func TestThrottleCapAndForget(t *testing.T) {
	th := newThrottle(100)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for range 60 {
		failOn(th, now, "user:x")
	}
	if w := peek(th, now, "user:x"); w != throttleMax {
		t.Fatalf("wait %v, want the cap %v", w, throttleMax)
	}
	// The longest wait of the keys counts.
	if w := peek(th, now, "user:other", "user:x"); w != throttleMax {
		t.Fatalf("two keys: wait %v", w)
	}
	th.succeeded("user:x")
	if w := peek(th, now, "user:x"); w != 0 {
		t.Fatalf("after forget: wait %v", w)
	}
}

func TestThrottleBounded(t *testing.T) {
	th := newThrottle(1000)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	// One key being delayed, then a flood of distinct keys.
	for range 10 {
		failOn(th, now, "user:victim")
	}
	for i := range 5000 {
		failOn(th, now, "user:flood"+itoa(i))
	}
	if n := len(th.m); n > 1000 {
		t.Fatalf("%d entries, limit 1000", n)
	}
	if w := peek(th, now, "user:victim"); w == 0 {
		t.Fatal("a flood of new keys lifted a throttle")
	}
}

func TestIPKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"not-an-ip", "not-an-ip"},
	}
	for _, tt := range tests {
		if got := ipKey(tt.in); got != tt.want {
			t.Errorf("ipKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTOTPStep(t *testing.T) {
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	now := time.Date(2026, 3, 1, 10, 0, 15, 0, time.UTC)
	cur := now.Unix() / totpPeriod
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name     string
		code     string
		last     int64
		wantStep int64
		wantOK   bool
	}{
		{"current", code(now), 0, cur, true},
		{"previous step", code(now.Add(-30 * time.Second)), 0, cur - 1, true},
		{"next step", code(now.Add(30 * time.Second)), 0, cur + 1, true},
		{"two steps old", code(now.Add(-60 * time.Second)), 0, 0, false},
		{"replay of the last step", code(now), cur, 0, false},
		{"older than the last step", code(now.Add(-30 * time.Second)), cur, 0, false},
		{"later than the last step", code(now.Add(30 * time.Second)), cur, cur + 1, true},
		{"not digits", "12a456", 0, 0, false},
		{"too short", "12345", 0, 0, false},
	}
	for _, tt := range tests {
		step, ok := totpStep(secret, tt.code, now, tt.last)
		if ok != tt.wantOK || step != tt.wantStep {
			t.Errorf("%s: (%d, %v), want (%d, %v)", tt.name, step, ok, tt.wantStep, tt.wantOK)
		}
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, hashes := newRecoveryCodes()
	if len(codes) != recoveryCodes || len(hashes) != recoveryCodes {
		t.Fatalf("%d codes, %d hashes", len(codes), len(hashes))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if len(c) != 19 || c[4] != '-' || c[9] != '-' || c[14] != '-' {
			t.Errorf("code %q is not xxxx-xxxx-xxxx-xxxx", c)
		}
		if seen[c] {
			t.Errorf("code %q twice", c)
		}
		seen[c] = true
		if hashes[i] == c || len(hashes[i]) != 64 {
			t.Errorf("hash %q of %q is not a SHA-256", hashes[i], c)
		}
	}
	// Found however it is typed; unknown codes are not.
	typed := " " + codes[3][:9] + " " + codes[3][10:] + " "
	for _, in := range []string{codes[3], typed, upper(codes[3])} {
		if got := findRecoveryCode(hashes, in); got != 3 {
			t.Errorf("findRecoveryCode(%q) = %d, want 3", in, got)
		}
	}
	for _, in := range []string{"", "aaaa-bbbb-cccc-dddd", codes[3][:18]} {
		if got := findRecoveryCode(hashes, in); got != -1 {
			t.Errorf("findRecoveryCode(%q) = %d, want -1", in, got)
		}
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func TestSessionSecret(t *testing.T) {
	a, ha := newSessionSecret()
	b, hb := newSessionSecret()
	if a == b || ha == hb {
		t.Fatal("two sessions got the same secret")
	}
	if !validSessionSecret(a) || len(a) != 43 {
		t.Fatalf("secret %q (%d chars) invalid", a, len(a))
	}
	if ha != hashSecret(a) || ha == a {
		t.Fatal("the stored hash is not the secret's SHA-256")
	}
	for _, bad := range []string{"", "short", a + "x", a[:42] + "!", a[:40] + "\n\n\n", a[:41] + "\r\n", a[:42] + "="} {
		if validSessionSecret(bad) {
			t.Errorf("validSessionSecret(%q) = true", bad)
		}
	}
}

func TestRequireMFAConfig(t *testing.T) {
	tests := []struct {
		in      []string
		admin   bool
		member  bool
		wantErr bool
	}{
		{nil, false, false, false},
		{[]string{"admin"}, true, false, false},
		{[]string{"all"}, true, true, false},
		{[]string{"member", "admin"}, true, true, false},
		{[]string{"root"}, false, false, true},
	}
	for _, tt := range tests {
		cfg := Config{RequireMFA: tt.in}
		a, err := newAuthState(&cfg)
		if (err != nil) != tt.wantErr {
			t.Errorf("%v: err %v", tt.in, err)
			continue
		}
		if err != nil {
			continue
		}
		if a.mfaRequired("admin") != tt.admin || a.mfaRequired("member") != tt.member {
			t.Errorf("%v: admin %v member %v", tt.in, a.mfaRequired("admin"), a.mfaRequired("member"))
		}
		if cfg.SessionIdle != DefaultSessionIdle || cfg.SessionMax != DefaultSessionMax {
			t.Errorf("defaults not applied: %v %v", cfg.SessionIdle, cfg.SessionMax)
		}
	}
}

// The unknown-email path must cost what a real check costs: the same
// argon2 parameters as stored hashes.
func TestDummyHashCostsTheSame(t *testing.T) {
	cfg := Config{}
	a, err := newAuthState(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	real, err := HashPassword("some password")
	if err != nil {
		t.Fatal(err)
	}
	params := func(h string) string { return strings.Join(strings.Split(h, "$")[:4], "$") }
	if d := a.dummyHash(); params(d) != params(real) || CheckPassword(d, "") {
		t.Fatalf("dummy hash %q, real %q: parameters differ", params(d), params(real))
	}
}

// peek is how long an attempt would wait, without counting one.
func peek(th *throttle, now time.Time, keys ...string) time.Duration {
	th.mu.Lock()
	defer th.mu.Unlock()
	return th.waitLocked(now, keys...)
}

// failOn counts a failure, as an admitted attempt that failed does.
func failOn(th *throttle, now time.Time, keys ...string) {
	th.mu.Lock()
	defer th.mu.Unlock()
	th.failLocked(now, keys...)
}

// TestThrottleBurst: concurrent attempts are counted as they are admitted,
// so a burst cannot all pass before the first failure is recorded.
func TestThrottleBurst(t *testing.T) {
	th := newThrottle(100)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var admitted atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if th.begin(now, "user:a@example.com") == 0 {
				admitted.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := admitted.Load(); n != freeAccountFailures {
		t.Fatalf("%d of 40 concurrent attempts admitted, want %d", n, freeAccountFailures)
	}
	// A success takes back its own count only.
	th2 := newThrottle(100)
	th2.begin(now, "user:b", "ip:192.0.2.1")
	th2.begin(now, "user:b", "ip:192.0.2.1")
	th2.succeeded("user:b", "ip:192.0.2.1")
	if _, ok := th2.m["user:b"]; ok {
		t.Error("the account's count survived a success")
	}
	if s := th2.m["ip:192.0.2.1"]; s == nil || s.n != 1 {
		t.Errorf("the address's count after a success: %+v, want 1", s)
	}
}
