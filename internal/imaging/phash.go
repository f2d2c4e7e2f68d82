package imaging

import (
	"math"
	"math/bits"
	"slices"
)

// PHash returns the 64-bit DCT perceptual hash (the pHash.org scheme) of a
// grey picture given as w*h bytes, row by row. The picture is expected to be
// already resized to 32x32, ignoring aspect ratio. The hash takes the 2-D
// DCT-II, keeps the 8x8 lowest frequencies next to (not including) the DC
// term — rows and columns 1..8 — and sets bit 8*v+u when that coefficient is
// above their median. Pictures smaller than 9x9 or a short buffer hash to 0.
func PHash(gray []byte, w, h int) uint64 {
	const n = 8 // coefficients kept per axis
	if w < n+1 || h < n+1 || len(gray) < w*h {
		return 0
	}
	// cos tables for frequencies 1..8 only: that is all the hash looks at,
	// so the 2-D transform costs 8*w*h + 8*8*h multiplications.
	cw := dctTable(w, n)
	ch := dctTable(h, n)

	// Row transform: rows[y][u] = sum_x gray[y][x] * cos_u(x).
	rows := make([]float64, h*n)
	for y := 0; y < h; y++ {
		line := gray[y*w : y*w+w]
		for u := 0; u < n; u++ {
			c := cw[u*w : u*w+w]
			var s float64
			for x, p := range line {
				s += float64(p) * c[x]
			}
			rows[y*n+u] = s
		}
	}
	// Column transform of the kept columns.
	var coef [n * n]float64
	for v := 0; v < n; v++ {
		c := ch[v*h : v*h+h]
		for u := 0; u < n; u++ {
			var s float64
			for y := 0; y < h; y++ {
				s += rows[y*n+u] * c[y]
			}
			coef[v*n+u] = s
		}
	}
	sorted := slices.Clone(coef[:])
	slices.Sort(sorted)
	median := (sorted[n*n/2-1] + sorted[n*n/2]) / 2
	var hash uint64
	for i, c := range coef {
		if c > median {
			hash |= 1 << uint(i)
		}
	}
	return hash
}

// dctTable returns cos(pi*(2x+1)*k/(2*size)) for k = 1..n (row k-1) and
// x = 0..size-1. The DCT's scale factors are left out: they are the same
// for every coefficient with k >= 1 and cannot change a comparison with the
// median.
func dctTable(size, n int) []float64 {
	t := make([]float64, n*size)
	for k := 1; k <= n; k++ {
		for x := 0; x < size; x++ {
			t[(k-1)*size+x] = math.Cos(math.Pi * float64(2*x+1) * float64(k) / float64(2*size))
		}
	}
	return t
}

// Hamming returns the number of differing bits of two hashes: 0 for the
// same picture, up to ~6 for re-encodes and resizes, ~32 for unrelated
// pictures.
func Hamming(a, b uint64) int { return bits.OnesCount64(a ^ b) }

// Clarity returns the variance of the 3x3 Laplacian (4-neighbour kernel)
// over the interior of a grey picture of w*h bytes: high for sharp
// pictures, low for blurred or flat ones. The value depends on the
// picture's scale, so callers compare values computed at the same size
// (Engine.Analyze uses at most 512 px on the longest side). Pictures under
// 3x3 score 0.
func Clarity(gray []byte, w, h int) float64 {
	if w < 3 || h < 3 || len(gray) < w*h {
		return 0
	}
	var sum, sumSq float64
	for y := 1; y < h-1; y++ {
		up, mid, down := gray[(y-1)*w:y*w], gray[y*w:(y+1)*w], gray[(y+1)*w:(y+2)*w]
		for x := 1; x < w-1; x++ {
			l := float64(int(up[x]) + int(down[x]) + int(mid[x-1]) + int(mid[x+1]) - 4*int(mid[x]))
			sum += l
			sumSq += l * l
		}
	}
	count := float64((w - 2) * (h - 2))
	mean := sum / count
	return sumSq/count - mean*mean
}
