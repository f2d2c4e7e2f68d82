package vips

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"tuku/internal/imaging"
	"tuku/internal/testenv"
)

// BenchmarkAnalyze12MP measures ingest's imaging step on a 12 MP camera-
// like JPEG: probe, one decode shrunk on load, the grid rendition (400 px
// JPEG q80), pHash and clarity, through the worker process. Per op is per
// image per worker; the Parallel variant runs 2 workers as on the 2-core
// target machine.
func BenchmarkAnalyze12MP(b *testing.B) {
	benchAnalyze(b, 1)
}

func BenchmarkAnalyze12MPParallel(b *testing.B) {
	benchAnalyze(b, 2)
}

func benchAnalyze(b *testing.B, workers int) {
	corpus := testenv.Corpus(b)
	dir := b.TempDir()
	src := filepath.Join(dir, "12mp.jpg")
	makePhoto(b, filepath.Join(corpus, "orientation", "Landscape_1.jpg"), src)
	e := newEngine(b, Config{Workers: workers})
	ctx := context.Background()
	// Start every worker before timing.
	for range workers {
		if _, err := e.Analyze(ctx, src, grid(filepath.Join(dir, "warm.jpg"))); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	if workers == 1 {
		for i := 0; i < b.N; i++ {
			if _, err := e.Analyze(ctx, src, grid(filepath.Join(dir, "grid.jpg"))); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	var seq atomic.Int64 // one output file per goroutine
	b.RunParallel(func(pb *testing.PB) {
		out := filepath.Join(dir, fmt.Sprintf("grid-%d.jpg", seq.Add(1)))
		for pb.Next() {
			if _, err := e.Analyze(ctx, src, []imaging.Output{{Spec: imaging.Sizes[0].Spec(), Path: out}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
