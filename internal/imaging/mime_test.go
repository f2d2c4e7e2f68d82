package imaging

import "testing"

func TestDetectMIME(t *testing.T) {
	ftyp := func(brand string) []byte {
		return append([]byte{0, 0, 0, 24, 'f', 't', 'y', 'p'}, []byte(brand+"\x00\x00\x00\x00mif1heic")...)
	}
	cases := []struct {
		f    Format
		head []byte
		want string
	}{
		{HEIF, ftyp("heic"), "image/heic"},
		{HEIF, ftyp("heix"), "image/heic"},
		{HEIF, ftyp("mif1"), "image/heif"},
		{AVIF, ftyp("avif"), "image/avif"},
		{JPEG, []byte{0xff, 0xd8, 0xff}, "image/jpeg"},
		{HEIF, []byte{1, 2}, "image/heic"},
	}
	for _, c := range cases {
		if got := DetectMIME(c.f, c.head); got != c.want {
			t.Errorf("DetectMIME(%s, %q) = %q, want %q", c.f, c.head, got, c.want)
		}
	}
}
