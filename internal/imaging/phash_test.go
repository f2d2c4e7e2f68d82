package imaging

import (
	"math"
	"testing"
)

// picture builds a w*h grey picture from f(x, y).
func picture(w, h int, f func(x, y int) float64) []byte {
	b := make([]byte, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := f(x, y)
			b[y*w+x] = byte(math.Max(0, math.Min(255, math.Round(v))))
		}
	}
	return b
}

func gradient(x, y int) float64 { return float64(x*8 + y*2) }

// scene is a picture with structure at several frequencies.
func scene(x, y int) float64 {
	fx, fy := float64(x), float64(y)
	blob := func(cx, cy, r2 float64) float64 { return math.Exp(-((fx-cx)*(fx-cx) + (fy-cy)*(fy-cy)) / r2) }
	return 40 + 110*blob(10, 21, 40) + 60*blob(24, 8, 25) + 2*fx + fy
}

// blur is a 3x3 box blur, applied n times.
func blur(src []byte, w, h, n int) []byte {
	for ; n > 0; n-- {
		dst := make([]byte, len(src))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var s, c int
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						xx, yy := x+dx, y+dy
						if xx >= 0 && yy >= 0 && xx < w && yy < h {
							s += int(src[yy*w+xx])
							c++
						}
					}
				}
				dst[y*w+x] = byte(s / c)
			}
		}
		src = dst
	}
	return src
}

func TestPHash(t *testing.T) {
	g := picture(32, 32, gradient)
	inv := picture(32, 32, func(x, y int) float64 { return 255 - gradient(x, y) })
	s := picture(32, 32, scene)
	brighter := picture(32, 32, func(x, y int) float64 { return scene(x, y) + 12 })
	seed := uint32(1)
	noisy := picture(32, 32, func(x, y int) float64 {
		seed = seed*1664525 + 1013904223 // deterministic pseudo-random noise of ±1
		return scene(x, y) + float64(seed>>30) - 1.5
	})
	tests := []struct {
		name     string
		a, b     []byte
		min, max int // allowed Hamming distance
	}{
		{"identical gradient", g, append([]byte(nil), g...), 0, 0},
		{"identical scene", s, picture(32, 32, scene), 0, 0},
		{"gradient vs inverse", g, inv, 40, 64},
		{"scene vs brighter", s, brighter, 0, 4},
		{"scene vs slight noise", s, noisy, 0, 6},
		{"scene vs gradient", s, g, 16, 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Hamming(PHash(tt.a, 32, 32), PHash(tt.b, 32, 32))
			if d < tt.min || d > tt.max {
				t.Errorf("Hamming = %d, want %d..%d", d, tt.min, tt.max)
			}
		})
	}
	if h := PHash(g, 32, 32); h == 0 || h == ^uint64(0) {
		t.Errorf("gradient hash %016x is degenerate", h)
	}
	if PHash([]byte{1, 2, 3}, 32, 32) != 0 || PHash(make([]byte, 64), 8, 8) != 0 {
		t.Error("short or tiny input must hash to 0")
	}
}

func TestHamming(t *testing.T) {
	tests := []struct {
		a, b uint64
		want int
	}{
		{0, 0, 0},
		{0, ^uint64(0), 64},
		{0b1011, 0b0001, 2},
		{1 << 63, 1, 2},
	}
	for _, tt := range tests {
		if got := Hamming(tt.a, tt.b); got != tt.want {
			t.Errorf("Hamming(%x, %x) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestClarity(t *testing.T) {
	const w, h = 128, 96
	sharp := picture(w, h, func(x, y int) float64 { return float64(((x/4)+(y/4))%2) * 255 })
	tests := []struct {
		name string
		img  []byte
		want func(c float64) bool
	}{
		{"flat is zero", picture(w, h, func(x, y int) float64 { return 100 }), func(c float64) bool { return c == 0 }},
		{"linear gradient is zero", picture(w, h, func(x, y int) float64 { return float64(x) }), func(c float64) bool { return c < 1e-9 }},
		{"checkerboard is sharp", sharp, func(c float64) bool { return c > 10000 }},
	}
	for _, tt := range tests {
		if c := Clarity(tt.img, w, h); !tt.want(c) {
			t.Errorf("%s: Clarity = %g", tt.name, c)
		}
	}
	c0 := Clarity(sharp, w, h)
	c1 := Clarity(blur(sharp, w, h, 1), w, h)
	c3 := Clarity(blur(sharp, w, h, 3), w, h)
	if !(c0 > c1 && c1 > c3) {
		t.Errorf("clarity must fall with blur: sharp %g, blur1 %g, blur3 %g", c0, c1, c3)
	}
	if c3 > c0/4 {
		t.Errorf("3x blurred clarity %g not well below sharp %g", c3, c0)
	}
	if Clarity([]byte{1, 2, 3, 4}, 2, 2) != 0 {
		t.Error("tiny picture must score 0")
	}
}
