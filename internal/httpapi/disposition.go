package httpapi

import (
	"strings"
	"unicode/utf8"
)

// ContentDisposition builds a Content-Disposition header value
// (disposition "attachment" or "inline") for a file name that may hold
// any characters: an ASCII fallback in filename="…" for old clients, and
// the exact name in RFC 5987 / RFC 6266 form filename*=UTF-8”… when the
// fallback differs. Quotes, backslashes, control characters and path
// separators never reach the quoted form.
func ContentDisposition(disposition, name string) string {
	fallback := asciiFilename(name)
	var b strings.Builder
	b.Grow(len(disposition) + len(fallback) + 3*len(name) + 32)
	b.WriteString(disposition)
	b.WriteString(`; filename="`)
	b.WriteString(fallback)
	b.WriteByte('"')
	if fallback != name && name != "" && utf8.ValidString(name) {
		b.WriteString("; filename*=UTF-8''")
		const hex = "0123456789ABCDEF"
		for i := 0; i < len(name); i++ {
			c := name[i]
			if isAttrChar(c) {
				b.WriteByte(c)
				continue
			}
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// isAttrChar reports whether c may appear unencoded in an RFC 5987
// ext-value (attr-char).
func isAttrChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}

// asciiFilename keeps printable ASCII except characters that are unsafe in
// a quoted header value or a file name, turns every run of anything else
// into one '_', and falls back to "download" (keeping the extension) when
// no letter or digit is left.
func asciiFilename(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	under := false
	for _, r := range name {
		ok := r >= 0x20 && r < 0x7f && !strings.ContainsRune("\"\\/:*?<>|%;", r)
		if ok {
			b.WriteRune(r)
			under = false
			continue
		}
		if !under {
			b.WriteByte('_')
			under = true
		}
	}
	out := strings.TrimLeft(strings.TrimSpace(b.String()), ".")
	isAlnum := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}
	// An extension is a short run of letters and digits after the last dot.
	stem, ext := out, ""
	if i := strings.LastIndexByte(out, '.'); i > 0 && len(out)-i <= 10 && strings.IndexFunc(out[i+1:], func(r rune) bool { return !isAlnum(r) }) < 0 {
		stem, ext = out[:i], out[i:]
	}
	if strings.IndexFunc(stem, isAlnum) < 0 {
		stem = "download"
	}
	if len(stem) > 200 {
		stem = stem[:200]
	}
	return stem + ext
}
