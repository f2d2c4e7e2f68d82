package vips

import (
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// makeImage writes a w x h test picture (a grey pattern) as PNG or JPEG,
// by the path's extension, with the standard library.
func makeImage(t testing.TB, path string, w, h int) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+w]
		for x := range row {
			row[x] = uint8((x/8 + y/8) * 16)
		}
	}
	writeImage(t, path, img)
}

func writeImage(t testing.TB, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	switch filepath.Ext(path) {
	case ".png":
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(f, img)
	default:
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 90})
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// makePhoto writes a 12 MP (4000x3000) JPEG that decodes like a camera
// photo: a real picture from the corpus enlarged bilinearly, with sensor
// noise so the entropy-coded data is as dense as a real photo's.
func makePhoto(t testing.TB, src, dst string) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	in, err := jpeg.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	const w, h = 4000, 3000
	sb := in.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < h; y++ {
		fy := float64(y) * float64(sb.Dy()-1) / float64(h-1)
		y0 := int(fy)
		y1 := min(y0+1, sb.Dy()-1)
		wy := fy - float64(y0)
		for x := 0; x < w; x++ {
			fx := float64(x) * float64(sb.Dx()-1) / float64(w-1)
			x0 := int(fx)
			x1 := min(x0+1, sb.Dx()-1)
			wx := fx - float64(x0)
			var c [3]float64
			for i, p := range []struct {
				x, y int
				k    float64
			}{{x0, y0, (1 - wx) * (1 - wy)}, {x1, y0, wx * (1 - wy)}, {x0, y1, (1 - wx) * wy}, {x1, y1, wx * wy}} {
				_ = i
				r, g, b, _ := in.At(sb.Min.X+p.x, sb.Min.Y+p.y).RGBA()
				c[0] += p.k * float64(r>>8)
				c[1] += p.k * float64(g>>8)
				c[2] += p.k * float64(b>>8)
			}
			n := rng.NormFloat64() * 4
			out.SetRGBA(x, y, color.RGBA{clamp(c[0] + n), clamp(c[1] + n), clamp(c[2] + n), 255})
		}
	}
	writeImage(t, dst, out)
}

func clamp(v float64) uint8 {
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v + 0.5)
}
