package imaging

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"

	"tuku/internal/errs"
)

// SniffLen is how many leading bytes Sniff wants. Fewer are fine (a short
// file is judged on what it has); more are ignored. 64 bytes hold every
// magic number below and an ISO-BMFF ftyp box with up to 12 compatible
// brands, which covers what cameras and encoders write.
const SniffLen = 64

// accepted is the sentence that ends every "unsupported" message.
const accepted = "Tuku accepts JPEG, PNG, WebP, GIF, HEIC/HEIF, AVIF and TIFF images."

// Sniff decides the format of a file from its first bytes (see SniffLen),
// never from its name. It returns errs.Invalid for an empty file and
// errs.Unsupported, with a message saying what the file looks like when
// that is easy to tell, for anything Tuku does not accept.
func Sniff(head []byte) (Format, error) {
	const op = "imaging.sniff"
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	if len(head) == 0 {
		return "", errs.E(errs.Invalid, op, "empty file", nil)
	}
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return JPEG, nil
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, nil
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return GIF, nil
	case len(head) >= 12 && string(head[0:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return WebP, nil
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		// Canon CR2 raw files are TIFF containers marked "CR" at byte 8;
		// the TIFF loader would show their raw sensor data or a tiny preview.
		if len(head) >= 10 && string(head[8:10]) == "CR" {
			return "", unsupported(op, "a camera raw file (Canon CR2)")
		}
		return TIFF, nil
	case bytes.HasPrefix(head, []byte("II+\x00")), bytes.HasPrefix(head, []byte("MM\x00+")):
		return TIFF, nil // BigTIFF; libtiff reads it like TIFF.
	}
	if f, what, ok := sniffFtyp(head); ok {
		if f != "" {
			return f, nil
		}
		return "", unsupported(op, what)
	}
	return "", unsupported(op, describe(head))
}

func unsupported(op, what string) error {
	msg := "this file's format is not supported. " + accepted
	if what != "" {
		msg = "this file is " + what + ", not a supported image. " + accepted
	}
	return errs.E(errs.Unsupported, op, msg, nil)
}

// sniffFtyp reads an ISO-BMFF ftyp box (HEIF, AVIF, MP4, QuickTime). ok is
// false when head does not start with one. Otherwise it returns the image
// format, or "" and a description of what the container holds instead.
func sniffFtyp(head []byte) (f Format, what string, ok bool) {
	if len(head) < 12 || string(head[4:8]) != "ftyp" {
		return "", "", false
	}
	size := int(binary.BigEndian.Uint32(head[0:4]))
	if size < 16 || size > len(head) {
		size = len(head) // brands past what we were given are not looked at
	}
	major := string(head[8:12])
	var compat []string
	for i := 16; i+4 <= size; i += 4 {
		compat = append(compat, string(head[i:i+4]))
	}
	has := func(set func(string) bool) bool {
		for _, b := range compat {
			if set(b) {
				return true
			}
		}
		return false
	}
	switch {
	case isAVIFBrand(major):
		return AVIF, "", true
	case isHEICBrand(major):
		return HEIF, "", true
	case has(isAVIFBrand):
		// mif1/msf1/miaf majors with an avif compatible brand are AVIF.
		return AVIF, "", true
	case isHEIFBrand(major), has(isHEICBrand), has(isHEIFBrand):
		return HEIF, "", true
	case major == "qt  ":
		return "", "a QuickTime video", true
	case major == "crx ":
		return "", "a camera raw file (Canon CR3)", true
	}
	return "", "a video or other ISO media file (MP4 family)", true
}

func isAVIFBrand(b string) bool { return b == "avif" || b == "avis" }

func isHEICBrand(b string) bool {
	switch b {
	case "heic", "heix", "heim", "heis", "hevc", "hevx":
		return true
	}
	return false
}

// isHEIFBrand is the codec-neutral HEIF structure brands.
func isHEIFBrand(b string) bool { return b == "mif1" || b == "msf1" }

// describe names common non-image files so the person uploading them
// learns what went wrong. "" means "no idea".
func describe(head []byte) string {
	// Binary formats first: their magic numbers are exact.
	magics := []struct {
		prefix string
		what   string
	}{
		{"%PDF-", "a PDF document"},
		{"BM", "a BMP image"},
		{"8BPS", "a Photoshop (PSD) document"},
		{"\x00\x00\x01\x00", "an icon (ICO) file"},
		{"\xFF\x0A", "a JPEG XL image"},
		{"\x00\x00\x00\x0CJXL ", "a JPEG XL image"},
		{"\x00\x00\x00\x0CjP  ", "a JPEG 2000 image"},
		{"PK\x03\x04", "a ZIP archive (or an Office document)"},
		{"\x1F\x8B", "a gzip-compressed file"},
		{"Rar!", "a RAR archive"},
		{"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"},
		{"\x7FELF", "an executable program"},
		{"MZ", "a Windows executable"},
		{"%!PS", "a PostScript document"},
		{"{\\rtf", "an RTF document"},
		{"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "an old-style Office document"},
	}
	for _, m := range magics {
		if bytes.HasPrefix(head, []byte(m.prefix)) {
			return m.what
		}
	}
	if len(head) >= 12 && string(head[0:4]) == "RIFF" {
		return "a RIFF media file (AVI or WAV)"
	}
	text := bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF")) // UTF-8 BOM
	if !isText(text) {
		return ""
	}
	lower := bytes.ToLower(bytes.TrimLeft(text, " \t\r\n"))
	switch {
	case bytes.Contains(lower, []byte("<svg")):
		return "an SVG/XML document"
	case bytes.HasPrefix(lower, []byte("<!doctype html")), bytes.Contains(lower, []byte("<html")),
		bytes.Contains(lower, []byte("<head")), bytes.Contains(lower, []byte("<body")),
		bytes.Contains(lower, []byte("<script")):
		return "an HTML page"
	case bytes.HasPrefix(lower, []byte("<?xml")), bytes.HasPrefix(lower, []byte("<!doctype svg")):
		// An XML prolog within the first bytes is almost always SVG when
		// someone uploads it as an image.
		return "an SVG/XML document"
	}
	return "plain text"
}

// isText reports whether b looks like text: valid UTF-8 (a rune cut at
// the end is fine) without control characters other than whitespace.
func isText(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return !utf8.FullRune(b) // only a rune cut by the head's end is allowed
		}
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f' || r == 0x7F {
			return false
		}
		b = b[n:]
	}
	return true
}
