package extract

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// maxKeywords caps how many keywords one file may contribute.
const maxKeywords = 256

// capText cuts s to at most max bytes without splitting a UTF-8 sequence.
func capText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	// Step back over continuation bytes to the start of the rune that
	// straddles the limit.
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// cleanText makes a stored string safe to keep: drops control characters
// (keeping newline and tab, which descriptions use), turns invalid UTF-8
// into U+FFFD, trims surrounding white space and caps the length. The text
// stays literal: escaping for HTML, JSON or logs is the output's job.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return -1
		case unicode.IsControl(r), r == '\uFEFF':
			return -1
		}
		return r
	}, s)
	return capText(strings.TrimSpace(s), MaxText)
}

// cutNUL returns b up to its first NUL: EXIF ASCII values end there
// (exiftool does the same; camera/WWL_(Polaroid)_ION230.jpg keeps junk after it).
func cutNUL(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// decodeText turns bytes of unknown encoding into UTF-8. The rules, in
// order:
//   - valid UTF-8 (which includes plain ASCII) is taken as is;
//   - otherwise, if the bytes look like GBK/GB18030 Chinese, they are
//     decoded as GB18030 (Chinese Windows and many Chinese cameras and apps
//     write GBK into EXIF and IPTC);
//   - otherwise they are Latin-1, which cannot fail and keeps Western
//     accented text from old cameras readable.
//
// "Looks like GBK" is strict, because any Latin-1 accented letter followed
// by an ASCII letter is also a valid GBK pair ("Crème" would become
// Chinese): every non-ASCII byte must belong to a two-byte pair whose both
// bytes are non-ASCII (lead 0x81-0xFE, trail 0x80-0xFE), the whole must
// decode without a replacement character, and at least one character must
// be a CJK ideograph or CJK punctuation. Latin-1 text with two accented
// letters side by side ("æø") can still pass; for this product Chinese
// text matters more, and such words are rare.
func decodeText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	if s, ok := decodeGBK(b); ok {
		return s
	}
	return latin1(b)
}

func decodeGBK(b []byte) (string, bool) {
	for i := 0; i < len(b); i++ {
		if b[i] < 0x80 {
			continue
		}
		if b[i] == 0x80 || b[i] == 0xFF || i+1 >= len(b) || b[i+1] < 0x80 || b[i+1] == 0xFF {
			return "", false
		}
		i++ // skip the trail byte
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	if err != nil {
		return "", false
	}
	s := string(out)
	cjk := false
	for _, r := range s {
		if r == utf8.RuneError {
			return "", false
		}
		if unicode.Is(unicode.Han, r) || (r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFFEF) {
			cjk = true
		}
	}
	return s, cjk
}

func latin1(b []byte) string {
	rs := make([]rune, len(b))
	for i, c := range b {
		rs[i] = rune(c)
	}
	return string(rs)
}

// unLatin1 reverses a Latin-1 decoding: it returns the original bytes when
// every rune of s is below 256. The IPTC decoder of imagemeta decodes
// undeclared IPTC text as Latin-1; this gives decodeText the raw bytes back
// so undeclared UTF-8 and GB18030 are recognised.
func unLatin1(s string) ([]byte, bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			return nil, false
		}
		b = append(b, byte(r))
	}
	return b, true
}

// decodeUTF16LE decodes Windows XP* tags (XPKeywords, XPTitle...), which
// are UTF-16LE in a BYTE array, up to the first NUL character.
func decodeUTF16LE(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := uint16(b[i]) | uint16(b[i+1])<<8
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// placeholderDescriptions are ImageDescription values cameras write by
// default; they describe nothing. Compared case-insensitively after
// trimming.
var placeholderDescriptions = map[string]bool{
	"olympus digital camera": true,
	"sony dsc":               true,
	"dsc":                    true,
	"default":                true,
	"untitled":               true,
	"no title":               true,
	"image":                  true,
	"picture":                true,
	"photo":                  true,
	"dcim":                   true,
	"camera":                 true,
	"description":            true,
	"image description":      true,
	"exif_jpeg_picture":      true,
	"exif jpeg picture":      true,
	"lg digital camera":      true,
	"samsung digital camera": true,
}

// isPlaceholder reports whether a description is camera boilerplate rather
// than words a person wrote: empty; without any letter or digit; one of the
// known defaults; "<anything> DIGITAL CAMERA" (KONICA MINOLTA, SANYO,
// MINOLTA, KODAK...); or the same as the camera's Make, Model or both
// (Samsung writes "SAMSUNG", WWL "WWL", Samsung Digimax its model name).
func isPlaceholder(desc, make, model string) bool {
	d := strings.ToLower(strings.TrimSpace(desc))
	if d == "" || !strings.ContainsFunc(d, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
		return true
	}
	if placeholderDescriptions[d] {
		return true
	}
	if strings.HasSuffix(d, "digital camera") && len(d) <= 48 {
		return true
	}
	mk, md := strings.ToLower(make), strings.ToLower(model)
	return (mk != "" && d == mk) || (md != "" && d == md) || (mk != "" && md != "" && d == mk+" "+md)
}

// keywordSet collects keywords in first-seen order, trimmed, without empty
// or repeated entries (compared case-insensitively, first spelling kept).
type keywordSet struct {
	list []string
	seen map[string]bool
}

func (k *keywordSet) add(s string) {
	s = cleanText(s)
	if s == "" || len(k.list) >= maxKeywords {
		return
	}
	key := strings.ToLower(s)
	if k.seen == nil {
		k.seen = map[string]bool{}
	}
	if k.seen[key] {
		return
	}
	k.seen[key] = true
	k.list = append(k.list, s)
}

// addSplit adds each ';'-separated part of s (the XPKeywords convention).
func (k *keywordSet) addSplit(s string) {
	for _, p := range strings.Split(s, ";") {
		k.add(p)
	}
}
