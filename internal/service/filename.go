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
// It returns "" when nothing usable is left.
func CleanFilename(name string) string {
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
	name = strings.TrimSpace(b.String())
	name = strings.TrimLeft(name, ".")
	name = strings.TrimRight(name, ". ")
	if isReservedWindowsName(name) {
		name = "_" + name
	}
	if len(name) > MaxFilenameBytes {
		ext := ""
		if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 16 {
			ext = name[i:]
		}
		name = truncateUTF8(name[:len(name)-len(ext)], MaxFilenameBytes-len(ext)) + ext
	}
	return name
}

func isReservedWindowsName(name string) bool {
	stem := strings.ToUpper(name)
	if i := strings.IndexByte(stem, '.'); i >= 0 {
		stem = stem[:i]
	}
	switch stem {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(stem) == 4 && (strings.HasPrefix(stem, "COM") || strings.HasPrefix(stem, "LPT")) && stem[3] >= '0' && stem[3] <= '9' {
		return true
	}
	return false
}
