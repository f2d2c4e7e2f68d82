package vips

import (
	"os"
	"path/filepath"
	"testing"

	"tuku/internal/imaging"
)

// The block list: only Tuku's six loaders are reachable, by name or by
// libvips' content dispatch. (Runs libvips in the test process itself.)
func TestLoaderAllowList(t *testing.T) {
	if err := startVips(); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"jpegload", "pngload", "webpload", "gifload", "heifload", "tiffload"} {
		if blocked(op) {
			t.Errorf("%s is blocked", op)
		}
	}
	for _, op := range []string{"svgload", "pdfload", "magickload", "matload", "fitsload", "openslideload",
		"csvload", "matrixload", "rawload", "vipsload", "ppmload", "radload", "analyzeload", "jp2kload", "jxlload", "openexrload"} {
		if !blocked(op) {
			t.Errorf("%s is not blocked", op)
		}
	}
	dir := t.TempDir()
	svg := filepath.Join(dir, "x.svg")
	ppm := filepath.Join(dir, "x.ppm")
	jpg := filepath.Join(dir, "x.jpg")
	os.WriteFile(svg, []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>`), 0o600)
	os.WriteFile(ppm, []byte("P5\n2 2\n255\n\x00\x01\x02\x03"), 0o600)
	makeImage(t, jpg, 16, 16)
	for _, p := range []string{svg, ppm} {
		if err := genericLoad(p); err == nil {
			t.Errorf("content dispatch loaded %s", filepath.Base(p))
		}
	}
	if err := genericLoad(jpg); err != nil {
		t.Errorf("allowed loader failed: %v", err)
	}
}

func TestLoadReduction(t *testing.T) {
	tests := []struct {
		f          imaging.Format
		w, h       int
		scale      float64
		shrink     int
		webpScaled bool
	}{
		{imaging.JPEG, 4000, 3000, 0.1, 8, false},   // 400 px from 4000: 500 px at 1/8
		{imaging.JPEG, 4000, 3000, 0.128, 4, false}, // 512 px: 1/8 would give 500
		{imaging.JPEG, 4000, 3000, 0.32, 2, false},
		{imaging.JPEG, 4000, 3000, 0.6, 1, false},
		{imaging.JPEG, 1, 1, 1, 1, false}, // libvips aborts on 1x1 with shrink 8
		{imaging.JPEG, 9, 9, 1, 1, false},
		{imaging.PNG, 4000, 3000, 0.1, 1, false},
		{imaging.WebP, 4000, 3000, 0.1, 1, true},
		{imaging.WebP, 400, 300, 1, 1, false},
	}
	for _, tt := range tests {
		s, ws := loadReduction(tt.f, tt.w, tt.h, tt.scale)
		if s != tt.shrink || (ws < 1) != tt.webpScaled {
			t.Errorf("loadReduction(%s %dx%d, %g) = %d, %g", tt.f, tt.w, tt.h, tt.scale, s, ws)
		}
		if tt.webpScaled && (ws < tt.scale || ws > tt.scale*1.01) {
			t.Errorf("webp scale %g for %g", ws, tt.scale)
		}
	}
}

func TestStripWebPBytes(t *testing.T) {
	chunk := func(fourcc, payload string) string {
		n := len(payload)
		s := fourcc + string([]byte{byte(n), byte(n >> 8), 0, 0}) + payload
		if n%2 == 1 {
			s += "\x00"
		}
		return s
	}
	riff := func(body string) []byte {
		n := len(body) + 4
		return []byte("RIFF" + string([]byte{byte(n), byte(n >> 8), 0, 0}) + "WEBP" + body)
	}
	vp8x := chunk("VP8X", "\x2c\x00\x00\x00\x0f\x00\x00\x0f\x00\x00") // ICC|EXIF|XMP flags
	image := chunk("VP8 ", "abcde")
	in := riff(vp8x + chunk("ICCP", "profile") + image + chunk("EXIF", "Exif\x00\x00MM") + chunk("XMP ", "<x/>"))
	out, changed, err := stripWebPBytes(in)
	if err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	want := riff(chunk("VP8X", "\x00\x00\x00\x00\x0f\x00\x00\x0f\x00\x00") + image)
	if string(out) != string(want) {
		t.Errorf("got %q\nwant %q", out, want)
	}
	plain := riff(image)
	if out, changed, err := stripWebPBytes(plain); err != nil || changed || string(out) != string(plain) {
		t.Errorf("plain file changed: %v %v", changed, err)
	}
	for _, bad := range [][]byte{[]byte("RIFF"), riff("VP8 \xff\xff\x00\x00ab")} {
		if _, _, err := stripWebPBytes(bad); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}
