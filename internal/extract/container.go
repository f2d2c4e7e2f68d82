package extract

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
	"slices"
)

// Container walkers: each finds the metadata blocks of one format while
// reading as little of the file as it can (segment and chunk headers, then
// the blocks themselves), never the pixel data.

// jpegHeader is the part of a JPEG before its first scan.
type jpegHeader struct {
	buf        []byte // SOI and every marker segment up to (not including) SOS
	exifOff    int64  // offset in buf of the TIFF header of the first Exif APP1; -1 none
	exifLength int64
	hasIPTC    bool // an APP13 (Photoshop IRB) segment exists
	sof        bool // a start-of-frame segment was seen
	sofW, sofH int  // its declared size; the height may be 0 (set later by DNL)
}

// maxSegments bounds the marker segments read from one JPEG header.
const maxSegments = 4096

// readJPEGHeader copies the JPEG's marker segments up to the first SOS
// (or EOI) into memory. Both our EXIF reader and imagemeta then work on
// that copy, so the file is read once, sequentially, and the compressed
// image data is never touched. The copy is capped at maxBlob; a header
// that large is cut off there.
func readJPEGHeader(r io.Reader) *jpegHeader {
	h := &jpegHeader{exifOff: -1}
	br := bufio.NewReaderSize(r, 8<<10)
	var soi [2]byte
	if _, err := io.ReadFull(br, soi[:]); err != nil || soi != [2]byte{0xFF, 0xD8} {
		return h
	}
	h.buf = append(h.buf, 0xFF, 0xD8)
	for range maxSegments {
		c, err := br.ReadByte()
		if err != nil || c != 0xFF {
			return h
		}
		m := byte(0xFF)
		for m == 0xFF { // fill bytes
			if m, err = br.ReadByte(); err != nil {
				return h
			}
		}
		switch {
		case m == 0xDA || m == 0xD9: // SOS, EOI: the header ends here
			return h
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7) || m == 0x00: // no length
			continue
		}
		var lb [2]byte
		if _, err := io.ReadFull(br, lb[:]); err != nil {
			return h
		}
		n := int(binary.BigEndian.Uint16(lb[:]))
		if n < 2 || len(h.buf)+n+2 > maxBlob {
			return h
		}
		start := len(h.buf)
		h.buf = append(h.buf, 0xFF, m, lb[0], lb[1])
		h.buf = slices.Grow(h.buf, n+2)[:start+2+n]
		if _, err := io.ReadFull(br, h.buf[start+4:]); err != nil {
			h.buf = h.buf[:start]
			return h
		}
		data := h.buf[start+4:]
		if m == 0xED {
			h.hasIPTC = true
		}
		// SOF0-15 except DHT (C4), JPG (C8) and DAC (CC).
		if m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC && !h.sof && len(data) >= 5 {
			h.sof = true
			h.sofH = int(binary.BigEndian.Uint16(data[1:3]))
			h.sofW = int(binary.BigEndian.Uint16(data[3:5]))
		}
		if m == 0xE1 && h.exifOff < 0 && len(data) > 6 && bytes.HasPrefix(data, []byte("Exif\x00")) {
			h.exifOff = int64(start + 4 + 6)
			h.exifLength = int64(len(data) - 6)
		}
	}
	return h
}

// pngMeta is what scanPNG found.
type pngMeta struct {
	exif []byte // eXIf chunk payload (a TIFF structure)
	xmp  []byte // iTXt XML:com.adobe.xmp text
}

const (
	maxChunks = 4096
	maxXMP    = 1 << 20 // inflated XMP cap; real packets are a few KB
)

// scanPNG reads chunk headers up to the first IDAT and loads eXIf and the
// XMP iTXt chunk. Other text chunks, such as a zTXt comment that inflates
// to 100 MB, are skipped without reading. Walking every IDAT chunk of a big
// PNG would cost thousands of reads, but ImageMagick writes eXIf after the
// image data (png/sampleWithExifData.png), so when none came before IDAT
// the end of the file is searched for one (pngTailEXIF).
func scanPNG(ra io.ReaderAt, size int64) pngMeta {
	var pm pngMeta
	var sig [8]byte
	if _, err := ra.ReadAt(sig[:], 0); err != nil || string(sig[:]) != "\x89PNG\r\n\x1a\n" {
		return pm
	}
	off := int64(8)
	for range maxChunks {
		var hdr [8]byte
		if _, err := ra.ReadAt(hdr[:], off); err != nil {
			return pm
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:])
		switch typ {
		case "IDAT":
			if pm.exif == nil && size > 0 {
				pm.exif = pngTailEXIF(ra, size)
			}
			return pm
		case "IEND":
			return pm
		case "eXIf":
			if pm.exif == nil {
				pm.exif, _ = readBlob(ra, size, off+8, n)
			}
		case "iTXt":
			if pm.xmp == nil && n <= maxBlob {
				if b, err := readBlob(ra, size, off+8, n); err == nil {
					pm.xmp = pngXMP(b)
				}
			}
		}
		off += 12 + n
	}
	return pm
}

// pngTailSize is how much of a PNG's end pngTailEXIF searches.
const pngTailSize = 256 << 10

// pngTailEXIF finds an eXIf chunk in the last pngTailSize bytes of a PNG.
// A candidate must have a length that fits and a matching CRC, so bytes
// that spell "eXIf" inside compressed image data are not mistaken for it.
func pngTailEXIF(ra io.ReaderAt, size int64) []byte {
	start := max(size-pngTailSize, 8)
	tail, err := readBlob(ra, size, start, size-start)
	if err != nil {
		return nil
	}
	for i := len(tail) - 8; i >= 4; i-- {
		j := bytes.LastIndex(tail[:i+4], []byte("eXIf"))
		if j < 4 {
			return nil
		}
		i = j
		n := int(binary.BigEndian.Uint32(tail[j-4:]))
		if n < 0 || n > len(tail)-j-8 {
			continue
		}
		if crc32.ChecksumIEEE(tail[j:j+4+n]) != binary.BigEndian.Uint32(tail[j+4+n:]) {
			continue
		}
		return bytes.Clone(tail[j+4 : j+4+n])
	}
	return nil
}

// pngXMP returns the XMP text of an iTXt chunk with the keyword
// XML:com.adobe.xmp, inflating it (bounded) when compressed.
func pngXMP(b []byte) []byte {
	const kw = "XML:com.adobe.xmp\x00"
	if !bytes.HasPrefix(b, []byte(kw)) || len(b) < len(kw)+2 {
		return nil
	}
	compressed := b[len(kw)] == 1
	rest := b[len(kw)+2:]
	// Skip language tag and translated keyword, each NUL-terminated.
	for range 2 {
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			return nil
		}
		rest = rest[i+1:]
	}
	if !compressed {
		return rest
	}
	z, err := zlib.NewReader(bytes.NewReader(rest))
	if err != nil {
		return nil
	}
	defer z.Close()
	out, err := io.ReadAll(io.LimitReader(z, maxXMP+1))
	if err != nil || len(out) > maxXMP {
		return nil
	}
	return out
}

// scanWebP walks the RIFF chunks of a WebP file and returns the EXIF
// chunk's TIFF structure (without the "Exif\0\0" prefix some writers add).
func scanWebP(ra io.ReaderAt, size int64) []byte {
	var hdr [12]byte
	if _, err := ra.ReadAt(hdr[:], 0); err != nil || string(hdr[:4]) != "RIFF" || string(hdr[8:]) != "WEBP" {
		return nil
	}
	off := int64(12)
	for range maxChunks {
		var ch [8]byte
		if _, err := ra.ReadAt(ch[:], off); err != nil {
			return nil
		}
		n := int64(binary.LittleEndian.Uint32(ch[4:]))
		if string(ch[:4]) == "EXIF" {
			b, err := readBlob(ra, size, off+8, n)
			if err != nil {
				return nil
			}
			return bytes.TrimPrefix(b, []byte("Exif\x00\x00"))
		}
		off += 8 + n + n&1 // chunks are padded to an even size
	}
	return nil
}

// xmpAsTIFF wraps an XMP packet in a minimal TIFF (one IFD with the XMP
// tag) so imagemeta's XMP decoder can read XMP that came from a container
// imagemeta does not handle (PNG iTXt).
func xmpAsTIFF(xmp []byte) []byte {
	b := make([]byte, 26, 26+len(xmp))
	copy(b, "II*\x00")
	binary.LittleEndian.PutUint32(b[4:], 8)                 // IFD0 at 8
	binary.LittleEndian.PutUint16(b[8:], 1)                 // one entry
	binary.LittleEndian.PutUint16(b[10:], 0x02BC)           // XMP
	binary.LittleEndian.PutUint16(b[12:], 1)                // BYTE
	binary.LittleEndian.PutUint32(b[14:], uint32(len(xmp))) // count
	binary.LittleEndian.PutUint32(b[18:], 26)               // value offset
	// b[22:26] is the next-IFD offset, 0.
	return append(b, xmp...)
}
