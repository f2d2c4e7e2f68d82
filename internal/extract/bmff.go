package extract

import (
	"encoding/binary"
	"io"
)

// A small reader of the ISO-BMFF boxes of HEIF/AVIF files: enough to find
// the primary item's stored size (ispe) and the Exif item. imagemeta's
// HEIF reader swaps the size when the item is rotated (irot); the corpus
// contract wants ispe as stored, so we read it ourselves, and the Exif
// item with it since the same boxes locate it.
//
// The whole meta box is read into memory (capped at maxBlob) and parsed
// with a bounds-checked cursor: a box or field that runs past its parent
// ends that parent's parsing; nothing is allocated from a count in the
// file.

type heifMeta struct {
	width, height int
	exif          []byte // the Exif item payload (offset prefix included)
}

const maxTopBoxes = 1024

// cursor reads big-endian fields from a byte slice; once a read runs out
// of bytes every later read fails too (ok stays false).
type cursor struct {
	b  []byte
	ok bool
}

func (c *cursor) take(n int) []byte {
	if !c.ok || n < 0 || n > len(c.b) {
		c.ok = false
		return nil
	}
	p := c.b[:n]
	c.b = c.b[n:]
	return p
}

func (c *cursor) u8() uint64 {
	if p := c.take(1); p != nil {
		return uint64(p[0])
	}
	return 0
}
func (c *cursor) u16() uint64 {
	if p := c.take(2); p != nil {
		return uint64(binary.BigEndian.Uint16(p))
	}
	return 0
}
func (c *cursor) u32() uint64 {
	if p := c.take(4); p != nil {
		return uint64(binary.BigEndian.Uint32(p))
	}
	return 0
}
func (c *cursor) u64() uint64 {
	if p := c.take(8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

// uN reads an n-byte unsigned field (n in 0, 4, 8; iloc also allows 2).
func (c *cursor) uN(n uint64) uint64 {
	switch n {
	case 0:
		return 0
	case 2:
		return c.u16()
	case 4:
		return c.u32()
	case 8:
		return c.u64()
	}
	c.ok = false
	return 0
}

// box splits the next child box off c: its type and payload.
func (c *cursor) box() (typ string, body cursor) {
	size := c.u32()
	t := c.take(4)
	if !c.ok {
		return "", cursor{}
	}
	hdr := uint64(8)
	switch size {
	case 0:
		size = uint64(len(c.b)) + hdr
	case 1:
		size = c.u64()
		hdr = 16
	}
	if size < hdr || size-hdr > uint64(len(c.b)) {
		c.ok = false
		return "", cursor{}
	}
	return string(t), cursor{b: c.take(int(size - hdr)), ok: true}
}

type ilocEntry struct {
	method  uint64
	extents [][2]uint64 // absolute offset (method 0) or idat offset (1), length
}

// readHEIF finds the meta box among the top-level boxes and parses it.
func readHEIF(ra io.ReaderAt, size int64) heifMeta {
	var hm heifMeta
	off := int64(0)
	for i := range maxTopBoxes {
		var hdr [16]byte
		if _, err := ra.ReadAt(hdr[:8], off); err != nil {
			return hm
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:8])
		hlen := int64(8)
		if n == 1 {
			if _, err := ra.ReadAt(hdr[8:16], off+8); err != nil {
				return hm
			}
			n = int64(binary.BigEndian.Uint64(hdr[8:16]))
			hlen = 16
		} else if n == 0 && size >= 0 {
			n = size - off
		}
		if i == 0 && typ != "ftyp" {
			return hm
		}
		if n < hlen {
			return hm
		}
		if typ == "meta" {
			b, err := readBlob(ra, size, off+hlen, n-hlen)
			if err != nil {
				return hm
			}
			return parseMeta(ra, size, b)
		}
		off += n
	}
	return hm
}

func parseMeta(ra io.ReaderAt, size int64, b []byte) heifMeta {
	var hm heifMeta
	c := cursor{b: b, ok: true}
	c.u32() // FullBox version and flags
	var (
		primary    uint64
		exifItem   uint64
		haveExif   bool
		iloc       = map[uint64]ilocEntry{}
		props      []cursor // ipco children, index 0 = property 1
		propTypes  []string
		assoc      = map[uint64][]uint64{} // item -> property indices
		idat       []byte
		boxesCount int
	)
	for c.ok && len(c.b) >= 8 && boxesCount < maxTopBoxes {
		boxesCount++
		typ, body := c.box()
		switch typ {
		case "pitm":
			v := body.u32() >> 24
			if v == 0 {
				primary = body.u16()
			} else {
				primary = body.u32()
			}
		case "iinf":
			v := body.u32() >> 24
			if v == 0 {
				body.u16()
			} else {
				body.u32()
			}
			for body.ok && len(body.b) >= 8 {
				t, infe := body.box()
				if t != "infe" {
					continue
				}
				iv := infe.u32() >> 24
				if iv < 2 {
					continue
				}
				var id uint64
				if iv == 2 {
					id = infe.u16()
				} else {
					id = infe.u32()
				}
				infe.u16() // protection index
				if it := infe.take(4); infe.ok && string(it) == "Exif" && !haveExif {
					exifItem, haveExif = id, true
				}
			}
		case "iloc":
			parseIloc(&body, iloc)
		case "iprp":
			for body.ok && len(body.b) >= 8 {
				t, child := body.box()
				switch t {
				case "ipco":
					for child.ok && len(child.b) >= 8 && len(props) < 4096 {
						pt, p := child.box()
						if !child.ok {
							break
						}
						props = append(props, p)
						propTypes = append(propTypes, pt)
					}
				case "ipma":
					parseIpma(&child, assoc)
				}
			}
		case "idat":
			idat = body.b
		}
	}

	for _, idx := range assoc[primary] {
		if idx < 1 || idx > uint64(len(props)) || propTypes[idx-1] != "ispe" {
			continue
		}
		p := props[idx-1]
		p.u32() // version, flags
		w, h := p.u32(), p.u32()
		if p.ok && w > 0 && h > 0 && w <= 1<<30 && h <= 1<<30 {
			hm.width, hm.height = int(w), int(h)
			break
		}
	}

	if e, ok := iloc[exifItem]; haveExif && ok {
		hm.exif = readItem(ra, size, e, idat)
	}
	return hm
}

func parseIloc(c *cursor, out map[uint64]ilocEntry) {
	v := c.u32() >> 24
	if v > 2 {
		return
	}
	b1, b2 := c.u8(), c.u8()
	offSize, lenSize, baseSize := b1>>4, b1&15, b2>>4
	idxSize := uint64(0)
	if v >= 1 {
		idxSize = b2 & 15
	}
	var count uint64
	if v < 2 {
		count = c.u16()
	} else {
		count = c.u32()
	}
	for i := uint64(0); i < count && c.ok; i++ {
		var id uint64
		if v < 2 {
			id = c.u16()
		} else {
			id = c.u32()
		}
		var e ilocEntry
		if v >= 1 {
			e.method = c.u16() & 15
		}
		c.u16() // data reference index
		base := c.uN(baseSize)
		n := c.u16()
		for j := uint64(0); j < n && c.ok; j++ {
			c.uN(idxSize)
			o, l := c.uN(offSize), c.uN(lenSize)
			if len(e.extents) < 64 {
				e.extents = append(e.extents, [2]uint64{base + o, l})
			}
		}
		if c.ok {
			if _, dup := out[id]; !dup {
				out[id] = e
			}
		}
	}
}

func parseIpma(c *cursor, out map[uint64][]uint64) {
	vf := c.u32()
	v, flags := vf>>24, vf&0xFFFFFF
	count := c.u32()
	for i := uint64(0); i < count && c.ok; i++ {
		var id uint64
		if v < 1 {
			id = c.u16()
		} else {
			id = c.u32()
		}
		n := c.u8()
		for j := uint64(0); j < n && c.ok; j++ {
			var idx uint64
			if flags&1 != 0 {
				idx = c.u16() & 0x7FFF
			} else {
				idx = c.u8() & 0x7F
			}
			if c.ok && len(out[id]) < 64 {
				out[id] = append(out[id], idx)
			}
		}
	}
}

// readItem concatenates an item's extents (from the file, or from idat
// for construction method 1), capped at maxBlob in total.
func readItem(ra io.ReaderAt, size int64, e ilocEntry, idat []byte) []byte {
	var out []byte
	for _, x := range e.extents {
		off, n := x[0], x[1]
		if n > maxBlob || uint64(len(out))+n > maxBlob || off > 1<<62 {
			return nil
		}
		switch e.method {
		case 0:
			b, err := readBlob(ra, size, int64(off), int64(n))
			if err != nil {
				return nil
			}
			out = append(out, b...)
		case 1:
			if off > uint64(len(idat)) || n > uint64(len(idat))-off {
				return nil
			}
			out = append(out, idat[off:off+n]...)
		default:
			return nil
		}
	}
	return out
}

// heifEXIF returns where the TIFF header starts in an Exif item: the item
// begins with a 4-byte offset to it (usually 6, skipping "Exif\0\0").
func heifEXIF(item []byte) (int64, bool) {
	if len(item) < 4 {
		return 0, false
	}
	off := int64(binary.BigEndian.Uint32(item)) + 4
	if off+8 > int64(len(item)) {
		return 0, false
	}
	return off, true
}
