package vips

import (
	"bytes"
	"encoding/binary"
	"os"
)

// dnlHeight reports whether the JPEG b declares height 0 in its frame
// header and gives the real height in a DNL marker after the first scan
// (allowed by the JPEG standard, refused by libjpeg-turbo). It returns the
// offset of the SOF height field and the DNL height.
func dnlHeight(b []byte) (sofHeightAt int, height uint16, ok bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 0, 0, false
	}
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return 0, 0, false
		}
		m := b[i+1]
		if m == 0xFF {
			i++
			continue
		}
		n := int(binary.BigEndian.Uint16(b[i+2 : i+4]))
		if n < 2 || i+2+n > len(b) {
			return 0, 0, false
		}
		if m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC {
			if n < 7 || binary.BigEndian.Uint16(b[i+5:i+7]) != 0 {
				return 0, 0, false // a frame with a height: nothing to do
			}
			sofHeightAt = i + 5
		}
		if m == 0xDA { // first scan: the DNL marker follows its data
			if sofHeightAt == 0 {
				return 0, 0, false
			}
			j := bytes.Index(b[i+2+n:], []byte{0xFF, 0xDC, 0x00, 0x04})
			if j < 0 || i+2+n+j+6 > len(b) {
				return 0, 0, false
			}
			at := i + 2 + n + j + 4
			height = binary.BigEndian.Uint16(b[at : at+2])
			return sofHeightAt, height, height > 0
		}
		i += 2 + n
	}
	return 0, 0, false
}

// withDNLHeight returns the path of a copy of the JPEG at path whose frame
// header carries the height its DNL marker gives, so that libjpeg decodes
// it (it skips the DNL marker itself). ok is false when the file is not
// such a JPEG. The caller removes the copy.
func withDNLHeight(path string, maxBytes int64) (string, bool, error) {
	st, err := os.Stat(path)
	if err != nil || st.Size() > maxBytes {
		return "", false, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false, err
	}
	at, h, ok := dnlHeight(b)
	if !ok {
		return "", false, nil
	}
	binary.BigEndian.PutUint16(b[at:at+2], h)
	f, err := os.CreateTemp("", "tuku-dnl-*.jpg")
	if err != nil {
		return "", false, err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", false, err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", false, err
	}
	return f.Name(), true, nil
}
