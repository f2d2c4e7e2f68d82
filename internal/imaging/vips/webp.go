package vips

import (
	"encoding/binary"
	"errors"
	"os"
)

// stripWebP removes the ICCP, EXIF and XMP chunks from the WebP file at
// path and clears their VP8X flags. libvips 8.14.1's webpsave writes them
// (rebuilding EXIF from the image's resolution) even with strip set and
// every metadata item removed, so renditions are cleaned after saving.
func stripWebP(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, changed, err := stripWebPBytes(b)
	if err != nil || !changed {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

func stripWebPBytes(b []byte) ([]byte, bool, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return nil, false, errors.New("webp: not a RIFF WEBP file")
	}
	out := make([]byte, 12, len(b))
	copy(out, b[:12])
	changed := false
	vp8x := -1 // offset in out of the VP8X payload
	for i := 12; i < len(b); {
		if i+8 > len(b) {
			return nil, false, errors.New("webp: truncated chunk header")
		}
		fourcc := string(b[i : i+4])
		n := int(binary.LittleEndian.Uint32(b[i+4 : i+8]))
		end := i + 8 + n + n&1 // chunks are padded to even sizes
		if n < 0 || end > len(b) {
			return nil, false, errors.New("webp: chunk runs past the end")
		}
		switch fourcc {
		case "ICCP", "EXIF", "XMP ":
			changed = true
		default:
			if fourcc == "VP8X" && n >= 10 {
				vp8x = len(out) + 8
			}
			out = append(out, b[i:end]...)
		}
		i = end
	}
	if !changed {
		return b, false, nil
	}
	if vp8x >= 0 {
		out[vp8x] &^= 0x20 | 0x08 | 0x04 // ICC, EXIF, XMP present
	}
	binary.LittleEndian.PutUint32(out[4:8], uint32(len(out)-8))
	return out, true, nil
}
