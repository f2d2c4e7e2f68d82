package service

// tokenSecretChars is the length of a token's secret part: RandomSecret(20)
// is 20 bytes in unpadded base32.
const tokenSecretChars = 32

// WellFormedToken reports whether s has the shape of an API token this
// service issues: TokenPrefix followed by exactly 32 lower-case base32
// characters. Authenticate refuses anything else before touching the
// database, so junk in an Authorization header costs no query and no
// hashing of attacker-sized input. It is pure and fuzzed.
func WellFormedToken(s string) bool {
	if len(s) != len(TokenPrefix)+tokenSecretChars || s[:len(TokenPrefix)] != TokenPrefix {
		return false
	}
	for i := len(TokenPrefix); i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
