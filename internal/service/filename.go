package service

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxFilenameBytes caps a stored original file name.
const MaxFilenameBytes = 255

// CleanFilename turns an untrusted upload name into one that is safe to
// store and show: only the last path component (either separator, and
// percent-encoded separators too), NFC, no control, format (bidi override)
// or invalid characters, no leading dots, not a Windows reserved device
// name, at most 255 bytes cut on a character boundary keeping the
// extension. The name is only ever a label: storage keys never derive from it.
// It returns "" when nothing usable is left. It is idempotent: a cleaned
// name cleans to itself.
func CleanFilename(name string) string {
	// One pass can leave something a second pass would change: "%0\x060"
	// loses its control character and becomes "%00", an escaped NUL; a
	// doubly escaped "%252F" becomes "%2F". So clean to a fixed point.
	// Each pass that changes a name shortens it or settles it, and a name
	// nested deeper than the passes allow loses its '%' instead.
	for range 8 {
		next := cleanFilenameOnce(name)
		if next == name {
			return name
		}
		name = next
	}
	return cleanFilenameOnce(strings.ReplaceAll(name, "%", "_"))
}

func cleanFilenameOnce(name string) string {
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "")
	}
	// A name like "..%2F..%2Fevil.jpg" is a path in disguise.
	if strings.Contains(name, "%") {
		if u, err := url.PathUnescape(name); err == nil {
			name = u
		}
	}
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	// Drive letters such as "C:evil.jpg".
	if len(name) >= 2 && name[1] == ':' {
		name = name[2:]
	}
	name = norm.NFC.String(name)
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			continue
		case strings.ContainsRune(`:*?"<>|`, r):
			b.WriteRune('_')
		default:
			b.WriteRune(r)
		}
	}
	// Dots and spaces interleaved at either end (". . x") go together:
	// trimming one kind and then the other left " x", which a second
	// cleaning changed again (found by FuzzCleanFilename).
	name = trimDotsAndSpace(b.String())
	if len(name) > MaxFilenameBytes {
		ext := ""
		if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 16 {
			ext = name[i:]
		}
		// The cut may end the stem on a space or dot.
		name = trimDotsAndSpace(truncateUTF8(name[:len(name)-len(ext)], MaxFilenameBytes-len(ext)) + ext)
	}
	if isReservedWindowsName(name) {
		name = "_" + name
		if len(name) > MaxFilenameBytes {
			name = trimDotsAndSpace(truncateUTF8(name, MaxFilenameBytes))
		}
	}
	return name
}

// trimDotsAndSpace removes leading dots (hidden files, "..") and trailing
// dots (Windows drops them), and white space at both ends.
func trimDotsAndSpace(s string) string {
	dotOrSpace := func(r rune) bool { return r == '.' || unicode.IsSpace(r) }
	return strings.TrimRightFunc(strings.TrimLeftFunc(s, dotOrSpace), dotOrSpace)
}

func isReservedWindowsName(name string) bool {
	stem := strings.ToUpper(name)
	if i := strings.IndexByte(stem, '.'); i >= 0 {
		stem = stem[:i]
	}
	// Windows ignores spaces before the extension: "AUX .txt" is AUX.
	stem = strings.TrimRight(stem, " ")
	switch stem {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(stem) == 4 && (strings.HasPrefix(stem, "COM") || strings.HasPrefix(stem, "LPT")) && stem[3] >= '0' && stem[3] <= '9' {
		return true
	}
	return false
}
