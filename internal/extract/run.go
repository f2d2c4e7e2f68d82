package extract

import (
	"bytes"
	"context"
	"io"

	"github.com/bep/imagemeta"

	"tuku/internal/errs"
)

const op = "extract"

// Extract reads what a file says about itself. format is the imaging
// format name ("jpeg", "png", "webp", "gif", "heif", "avif", "tiff"); the
// caller has already sniffed it from the content.
//
// Metadata problems never make a file bad: a broken or hostile EXIF, XMP or
// IPTC block is skipped and whatever else was read is returned, with a nil
// error. Extract returns an error only when it could not run at all (nil
// reader: errs.Invalid; unknown format: errs.Unsupported) or was stopped
// (ctx done: errs.Unavailable wrapping ctx.Err(), with the partial result).
// It never panics, reads at most readBudget bytes, and reads only the
// metadata parts of a file (JPEG: the marker segments before the first
// scan; PNG: chunks before IDAT; HEIF: the meta box and the Exif item).
func Extract(ctx context.Context, r io.ReadSeeker, format string) (*Metadata, error) {
	md, _, err := extract(ctx, r, format)
	return md, err
}

// extract is Extract that also returns the extraction, whose panics field
// lets the fuzz test fail on a recovered panic instead of hiding it.
func extract(ctx context.Context, r io.ReadSeeker, format string) (*Metadata, *extraction, error) {
	x := &extraction{}
	if r == nil {
		return &Metadata{}, x, errs.E(errs.Invalid, op, "no input", nil)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	src := newSource(ctx, r)
	switch format {
	case "jpeg":
		var h *jpegHeader
		x.safely(func() { h = readJPEGHeader(src) })
		if h != nil {
			if h.sof {
				x.width, x.height, x.sized = h.sofW, h.sofH, true
			}
			hdr := bytes.NewReader(h.buf)
			if h.exifOff >= 0 {
				x.safely(func() { x.exif, _ = readEXIF(hdr, h.exifOff, h.exifLength) })
			}
			// Parsing XMP costs more than everything else together, so
			// imagemeta runs only when a source can hold what we want:
			// an XMP packet that uses the Dublin Core namespace, or IPTC.
			var sources imagemeta.Source
			if bytes.Contains(h.buf, []byte(dcNamespace)) {
				sources |= imagemeta.XMP
			}
			if h.hasIPTC {
				sources |= imagemeta.IPTC
			}
			if sources != 0 {
				x.libraryMeta(hdr, imagemeta.JPEG, sources)
			}
		}
	case "tiff":
		x.safely(func() { x.exif, _ = readEXIF(src, 0, src.size) })
		x.libraryMeta(src, imagemeta.TIFF, imagemeta.XMP|imagemeta.IPTC)
	case "png":
		var pm pngMeta
		x.safely(func() { pm = scanPNG(src, src.size) })
		if pm.exif != nil {
			x.safely(func() { x.exif, _ = readEXIF(bytes.NewReader(pm.exif), 0, int64(len(pm.exif))) })
		}
		if pm.xmp != nil {
			x.libraryMeta(bytes.NewReader(xmpAsTIFF(pm.xmp)), imagemeta.TIFF, imagemeta.XMP)
		}
	case "webp":
		var b []byte
		x.safely(func() { b = scanWebP(src, src.size) })
		if b != nil {
			x.safely(func() { x.exif, _ = readEXIF(bytes.NewReader(b), 0, int64(len(b))) })
		}
		x.libraryMeta(src, imagemeta.WebP, imagemeta.XMP)
	case "heif", "avif":
		var hm heifMeta
		x.safely(func() { hm = readHEIF(src, src.size) })
		x.width, x.height = hm.width, hm.height
		x.sized = hm.width > 0 && hm.height > 0
		if off, ok := heifEXIF(hm.exif); ok {
			x.safely(func() { x.exif, _ = readEXIF(bytes.NewReader(hm.exif), off, int64(len(hm.exif))-off) })
		}
		f := imagemeta.HEIF
		if format == "avif" {
			f = imagemeta.AVIF
		}
		x.libraryMeta(src, f, imagemeta.XMP)
	case "gif":
		// GIF has no EXIF; XMP in a GIF application extension is rare and
		// not read.
	default:
		return &Metadata{}, x, errs.Ef(errs.Unsupported, op, "unsupported format %q", format)
	}
	md := &Metadata{}
	x.safely(func() { md = x.metadata() })
	if err := ctx.Err(); err != nil {
		return md, x, errs.E(errs.Unavailable, op, "metadata extraction stopped", err)
	}
	return md, x, nil
}

// safely runs f, turning a panic into a note: the step's result stays
// whatever it had assigned and the other steps still run. Our parsers are
// bounds-checked and should not panic (the fuzz test fails if one does);
// this is the second line, as the file is hostile until proven otherwise.
func (x *extraction) safely(f func()) {
	defer func() {
		if p := recover(); p != nil {
			x.panics = append(x.panics, p)
		}
	}()
	f()
}

// extraction collects raw values from every source before normalising.
type extraction struct {
	exif          *exifData
	width, height int
	sized         bool // the container stated width and height

	xmpDescription string
	xmpSubject     []string
	iptcCaption    string
	iptcKeywords   []string
	iptcCharset    string

	panics    []any // recovered in safely
	libPanics []any // recovered around imagemeta
}

// dcNamespace is the Dublin Core XMP namespace (dc:description, dc:subject).
const dcNamespace = "http://purl.org/dc/elements/1.1/"

// libraryMeta reads XMP and IPTC with imagemeta. Its errors are ignored:
// whatever it delivered before failing is kept.
func (x *extraction) libraryMeta(r io.ReadSeeker, f imagemeta.ImageFormat, sources imagemeta.Source) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return
	}
	want := func(ti imagemeta.TagInfo) bool {
		switch ti.Source {
		case imagemeta.XMP:
			return ti.Namespace == dcNamespace && (ti.Tag == "Description" || ti.Tag == "Subject")
		case imagemeta.IPTC:
			return ti.Tag == "Caption-Abstract" || ti.Tag == "Keywords" || ti.Tag == "CodedCharacterSet"
		}
		return false
	}
	handle := func(ti imagemeta.TagInfo) error {
		switch {
		case ti.Source == imagemeta.XMP && ti.Tag == "Description":
			if s := firstString(ti.Value); s != "" && x.xmpDescription == "" {
				x.xmpDescription = s
			}
		case ti.Source == imagemeta.XMP && ti.Tag == "Subject":
			x.xmpSubject = append(x.xmpSubject, textValues(ti.Value)...)
		case ti.Tag == "Caption-Abstract":
			if s := firstString(ti.Value); s != "" && x.iptcCaption == "" {
				x.iptcCaption = s
			}
		case ti.Tag == "Keywords":
			x.iptcKeywords = append(x.iptcKeywords, textValues(ti.Value)...)
		case ti.Tag == "CodedCharacterSet":
			if s, ok := ti.Value.(string); ok {
				x.iptcCharset = s
			}
		}
		return nil
	}
	// imagemeta recovers its own panics; one that escapes is noted apart
	// from ours, as it is not ours to fix.
	defer func() {
		if p := recover(); p != nil {
			x.libPanics = append(x.libPanics, p)
		}
	}()
	_, _ = imagemeta.Decode(imagemeta.Options{
		R:               r,
		ImageFormat:     f,
		Sources:         sources,
		ShouldHandleTag: want,
		HandleTag:       handle,
		LimitNumTags:    2000,
		LimitTagSize:    0xFFFF, // compared as uint16 inside imagemeta: 64<<10 would wrap to 0
	})
}

func firstString(v any) string {
	if s := textValues(v); len(s) > 0 {
		return s[0]
	}
	return ""
}

// textValues flattens the value shapes imagemeta uses for text (a string, or
// a list for repeated IPTC datasets and multi-item XMP arrays).
func textValues(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []string:
		return v
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// iptcText decodes an IPTC string as imagemeta delivered it: as is when
// the record declared UTF-8, otherwise imagemeta decoded it as Latin-1,
// which we undo so decodeText can recognise undeclared UTF-8 or GB18030.
func (x *extraction) iptcText(s string) string {
	if x.iptcCharset == "UTF-8" {
		return s
	}
	if b, ok := unLatin1(s); ok {
		return decodeText(b)
	}
	return s
}

// metadata applies the corpus README's normalisation rules.
func (x *extraction) metadata() *Metadata {
	md := &Metadata{Width: x.width, Height: x.height, StoredSize: x.sized}
	var kw keywordSet
	if e := x.exif; e != nil {
		if e.hasOrientation {
			md.Orientation = orientation(e.orientation)
		}
		md.Make = cleanText(e.make)
		md.Model = cleanText(e.model)
		md.TakenAt = takenAt(e.dateTimeOriginal, e.offsetOriginal)
		md.GPS = gpsFrom(e.lat, e.latRef, e.lon, e.lonRef)
		md.Artist = cleanText(e.artist)
		md.Copyright = cleanText(e.copyright)
		if d := cleanText(e.description); !isPlaceholder(d, md.Make, md.Model) {
			md.Description = d
		}
		kw.addSplit(e.xpKeywords)
	}
	if md.Description == "" {
		if d := cleanText(x.xmpDescription); !isPlaceholder(d, md.Make, md.Model) {
			md.Description = d
		}
	}
	if md.Description == "" {
		if d := cleanText(x.iptcText(x.iptcCaption)); !isPlaceholder(d, md.Make, md.Model) {
			md.Description = d
		}
	}
	for _, k := range x.iptcKeywords {
		kw.add(x.iptcText(k))
	}
	for _, k := range x.xmpSubject {
		kw.add(k)
	}
	md.Keywords = kw.list
	return md
}
