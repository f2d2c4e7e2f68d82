package extract

import (
	"encoding/binary"
	"io"
	"math"
)

// This is a small EXIF (TIFF IFD) reader for the handful of tags Tuku
// stores. imagemeta reads EXIF too, but it joins the pieces of an ASCII
// value across NULs (camera/WWL_(Polaroid)_ION230.jpg becomes "ION230F"),
// strips the NUL bytes out of UTF-16 XP* tags (so Chinese keywords turn to
// garbage), gives interoperability tags GPS names, and stops the whole IFD
// at one entry of an unknown type (camera/Sony DSC-HX5V (2).jpg loses its
// date and GPS). Reading the tags ourselves is smaller than working around
// all of that; imagemeta still reads XMP and IPTC.
//
// Every offset and count is checked against the block before anything is
// allocated, each IFD is visited once (cycles end), and the number of IFDs
// and entries is capped.

const (
	maxIFDEntries = 1024 // a real IFD0 has tens; the field is 16 bits
	maxIFDs       = 8    // IFD0, Exif, GPS and a few repeats at most
	maxValueBytes = 1 << 20
)

// EXIF tag IDs used here.
const (
	tagImageDescription   = 0x010E
	tagMake               = 0x010F
	tagModel              = 0x0110
	tagOrientation        = 0x0112
	tagArtist             = 0x013B
	tagCopyright          = 0x8298
	tagExifIFD            = 0x8769
	tagGPSIFD             = 0x8825
	tagXPKeywords         = 0x9C9E
	tagDateTimeOriginal   = 0x9003
	tagOffsetTimeOriginal = 0x9011
	tagGPSLatitudeRef     = 0x0001
	tagGPSLatitude        = 0x0002
	tagGPSLongitudeRef    = 0x0003
	tagGPSLongitude       = 0x0004
)

// exifData is what the reader found, still raw (not yet normalised).
type exifData struct {
	orientation      int64
	hasOrientation   bool
	make, model      string
	description      string
	artist           string
	copyright        string
	xpKeywords       string
	dateTimeOriginal string
	offsetOriginal   string
	latRef, lonRef   string
	lat, lon         []rational
}

type tiffReader struct {
	ra      io.ReaderAt
	base    int64 // where the TIFF header starts in ra
	size    int64 // bytes available from base; -1 unknown
	order   binary.ByteOrder
	visited map[int64]bool
}

// ifdEntry is one 12-byte directory entry.
type ifdEntry struct {
	tag, typ uint16
	count    uint32
	raw      [4]byte // the value, or the offset of the value
}

var typeSize = [...]int64{0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4}

// readEXIF parses the TIFF structure that starts at base in ra. size is
// the number of bytes from base that belong to it (-1 when unknown, for a
// whole TIFF file of unknown length). It returns what it could read; an
// error only means the structure is not TIFF at all.
func readEXIF(ra io.ReaderAt, base, size int64) (*exifData, bool) {
	var hdr [8]byte
	if size >= 0 && size < 8 {
		return nil, false
	}
	if _, err := ra.ReadAt(hdr[:], base); err != nil {
		return nil, false
	}
	t := &tiffReader{ra: ra, base: base, size: size, visited: map[int64]bool{}}
	switch string(hdr[:2]) {
	case "II":
		t.order = binary.LittleEndian
	case "MM":
		t.order = binary.BigEndian
	default:
		return nil, false
	}
	if t.order.Uint16(hdr[2:]) != 42 {
		return nil, false
	}
	d := &exifData{}
	ifd0 := int64(t.order.Uint32(hdr[4:]))
	entries := t.readIFD(ifd0)
	var exifOff, gpsOff int64 = -1, -1
	for _, e := range entries {
		switch e.tag {
		case tagOrientation:
			if v, ok := t.intValue(e); ok && !d.hasOrientation {
				d.orientation, d.hasOrientation = v, true
			}
		case tagMake:
			d.make = t.asciiValue(e)
		case tagModel:
			d.model = t.asciiValue(e)
		case tagImageDescription:
			d.description = t.asciiValue(e)
		case tagArtist:
			d.artist = t.asciiValue(e)
		case tagCopyright:
			d.copyright = t.copyrightValue(e)
		case tagXPKeywords:
			if b := t.bytesValue(e); b != nil {
				d.xpKeywords = decodeUTF16LE(b)
			}
		case tagExifIFD:
			if v, ok := t.pointer(e); ok {
				exifOff = v
			}
		case tagGPSIFD:
			if v, ok := t.pointer(e); ok {
				gpsOff = v
			}
		}
	}
	if exifOff >= 0 {
		for _, e := range t.readIFD(exifOff) {
			switch e.tag {
			case tagDateTimeOriginal:
				d.dateTimeOriginal = t.asciiValue(e)
			case tagOffsetTimeOriginal:
				d.offsetOriginal = t.asciiValue(e)
			}
		}
	}
	if gpsOff >= 0 {
		for _, e := range t.readIFD(gpsOff) {
			switch e.tag {
			case tagGPSLatitudeRef:
				d.latRef = t.asciiValue(e)
			case tagGPSLongitudeRef:
				d.lonRef = t.asciiValue(e)
			case tagGPSLatitude:
				d.lat = t.rationals(e)
			case tagGPSLongitude:
				d.lon = t.rationals(e)
			}
		}
	}
	return d, true
}

// readIFD returns the entries of the IFD at off (relative to base), or nil
// when it is out of bounds, already visited or over the IFD cap.
func (t *tiffReader) readIFD(off int64) []ifdEntry {
	if off < 8 || t.visited[off] || len(t.visited) >= maxIFDs {
		return nil
	}
	t.visited[off] = true
	var nb [2]byte
	if !t.read(nb[:], off) {
		return nil
	}
	n := int64(t.order.Uint16(nb[:]))
	if n > maxIFDEntries {
		n = maxIFDEntries
	}
	// Clip the entry count to what the block holds, so a count of 65535
	// in a 200-byte segment reads the entries that exist.
	if t.size >= 0 {
		if avail := (t.size - off - 2) / 12; avail < n {
			n = max(avail, 0)
		}
	}
	buf := make([]byte, n*12)
	if !t.read(buf, off+2) {
		return nil
	}
	out := make([]ifdEntry, 0, n)
	for i := int64(0); i < n; i++ {
		b := buf[i*12:]
		e := ifdEntry{tag: t.order.Uint16(b), typ: t.order.Uint16(b[2:]), count: t.order.Uint32(b[4:])}
		copy(e.raw[:], b[8:12])
		out = append(out, e)
	}
	return out
}

// read fills p from offset off (relative to base) or reports false.
func (t *tiffReader) read(p []byte, off int64) bool {
	if off < 0 || (t.size >= 0 && (off > t.size || int64(len(p)) > t.size-off)) {
		return false
	}
	_, err := t.ra.ReadAt(p, t.base+off)
	return err == nil
}

// value returns the bytes of an entry's value: inline when they fit in
// four bytes, otherwise at the stored offset. nil when the type is
// unknown, the size is absurd, or the offset points outside the block.
func (t *tiffReader) value(e ifdEntry) []byte {
	if int(e.typ) >= len(typeSize) || typeSize[e.typ] == 0 {
		return nil
	}
	n := typeSize[e.typ] * int64(e.count)
	if n > maxValueBytes {
		return nil
	}
	if n <= 4 {
		return e.raw[:n]
	}
	off := int64(t.order.Uint32(e.raw[:]))
	if t.size >= 0 && (off > t.size || n > t.size-off) {
		return nil // checked before allocating
	}
	b := make([]byte, n)
	if !t.read(b, off) {
		return nil
	}
	return b
}

// asciiValue reads a text tag: any 8-bit type, cut at the first NUL,
// decoded by decodeText (UTF-8, GB18030 or Latin-1).
func (t *tiffReader) asciiValue(e ifdEntry) string {
	switch e.typ {
	case 1, 2, 6, 7:
	default:
		return ""
	}
	return decodeText(cutNUL(t.value(e)))
}

// copyrightValue reads Copyright, which EXIF defines as the photographer's
// and the editor's notices separated by a NUL; both are kept, joined by
// " - " (exiftool shows them the same way).
func (t *tiffReader) copyrightValue(e ifdEntry) string {
	switch e.typ {
	case 1, 2, 6, 7:
	default:
		return ""
	}
	b := t.value(e)
	first := cutNUL(b)
	rest := b[len(first):]
	for len(rest) > 0 && rest[0] == 0 {
		rest = rest[1:]
	}
	s := decodeText(first)
	if second := decodeText(cutNUL(rest)); len(rest) > 0 && second != "" && second != " " {
		if s == "" || s == " " {
			return second
		}
		return s + " - " + second
	}
	return s
}

// bytesValue returns the raw bytes of a BYTE/UNDEFINED tag (XP* tags).
func (t *tiffReader) bytesValue(e ifdEntry) []byte {
	if e.typ != 1 && e.typ != 7 {
		return nil
	}
	return t.value(e)
}

// intValue reads the first value of an integer tag of any integer type.
func (t *tiffReader) intValue(e ifdEntry) (int64, bool) {
	if e.count == 0 {
		return 0, false
	}
	// Only the first value matters; with count > 1 it may live at the
	// offset rather than inline, so read the value as stored.
	b := t.value(e)
	if len(b) == 0 {
		return 0, false
	}
	switch e.typ {
	case 1, 7:
		return int64(b[0]), true
	case 6:
		return int64(int8(b[0])), true
	case 3:
		return int64(t.order.Uint16(b)), true
	case 8:
		return int64(int16(t.order.Uint16(b))), true
	case 4, 13:
		return int64(t.order.Uint32(b)), true
	case 9:
		return int64(int32(t.order.Uint32(b))), true
	}
	return 0, false
}

// pointer reads a sub-IFD offset (LONG or IFD type, count 1).
func (t *tiffReader) pointer(e ifdEntry) (int64, bool) {
	if (e.typ != 4 && e.typ != 13) || e.count != 1 {
		return 0, false
	}
	return int64(t.order.Uint32(e.raw[:])), true
}

// rationals reads up to three RATIONAL/SRATIONAL values (GPS degrees,
// minutes, seconds). Some writers store FLOAT or DOUBLE; those are read
// as value/1.
func (t *tiffReader) rationals(e ifdEntry) []rational {
	if e.count == 0 || e.count > 3 {
		return nil
	}
	b := t.value(e)
	if b == nil {
		return nil
	}
	out := make([]rational, 0, e.count)
	for i := 0; i < int(e.count); i++ {
		switch e.typ {
		case 5:
			out = append(out, rational{float64(t.order.Uint32(b[i*8:])), float64(t.order.Uint32(b[i*8+4:]))})
		case 10:
			out = append(out, rational{float64(int32(t.order.Uint32(b[i*8:]))), float64(int32(t.order.Uint32(b[i*8+4:])))})
		case 11:
			out = append(out, rational{float64(math.Float32frombits(t.order.Uint32(b[i*4:]))), 1})
		case 12:
			out = append(out, rational{math.Float64frombits(t.order.Uint64(b[i*8:])), 1})
		default:
			return nil
		}
	}
	return out
}
