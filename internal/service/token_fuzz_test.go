package service

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestWellFormedToken(t *testing.T) {
	real := TokenPrefix + RandomSecret(20)
	tests := []struct {
		in   string
		want bool
	}{
		{real, true},
		{"tuku_abcdefghijklmnopqrstuvwxyz234567", true},
		{"", false},
		{"tuku_", false},
		{"tuku_notarealtoken", false},
		{strings.ToUpper(real), false},
		{"TUKU_" + real[5:], false},
		{real + "a", false},
		{real[:len(real)-1], false},
		{real[:len(real)-1] + "8", false},    // 8 is not base32
		{real[:len(real)-1] + "=", false},    // no padding
		{real[:len(real)-1] + "\x00", false}, // NUL
		{real[:len(real)-2] + "é", false},    // two bytes, right length
		{"xxxx_" + real[5:], false},          // wrong prefix
		{"tuku_" + strings.Repeat("a", 5000), false},
	}
	for _, tt := range tests {
		if got := WellFormedToken(tt.in); got != tt.want {
			t.Errorf("WellFormedToken(%.60q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// FuzzTokenParse checks the two credential shape checks that run on raw
// client input before any lookup: API tokens (WellFormedToken) and
// session cookie secrets (validSessionSecret). Neither may panic, and
// whatever they accept must be exactly the shape the issuer produces, so
// nothing odd (NUL, a header's CR LF, a megabyte) reaches the store.
func FuzzTokenParse(f *testing.F) {
	f.Add(TokenPrefix + RandomSecret(20))
	sess, _ := newSessionSecret()
	f.Add(sess)
	f.Add("tuku_")
	f.Add("Bearer tuku_abcdefghijklmnopqrstuvwxyz234567")
	f.Fuzz(func(t *testing.T, s string) {
		if WellFormedToken(s) {
			if len(s) != len(TokenPrefix)+tokenSecretChars || !strings.HasPrefix(s, TokenPrefix) {
				t.Fatalf("accepted token %q has the wrong length or prefix", s)
			}
			if strings.Trim(s[len(TokenPrefix):], "abcdefghijklmnopqrstuvwxyz234567") != "" {
				t.Fatalf("accepted token %q has characters outside base32", s)
			}
		}
		if validSessionSecret(s) {
			b, err := base64.RawURLEncoding.DecodeString(s)
			if err != nil || len(b) != sessionSecretLen {
				t.Fatalf("accepted session secret %q decodes to %d bytes, %v", s, len(b), err)
			}
			if strings.ContainsAny(s, "\x00\r\n ;,\"=+/") {
				t.Fatalf("accepted session secret %q has a character a cookie cannot carry", s)
			}
		}
	})
}
