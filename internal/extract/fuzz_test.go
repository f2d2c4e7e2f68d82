package extract

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"
	"unicode/utf8"
)

var fuzzFormats = []string{"jpeg", "png", "webp", "gif", "heif", "avif", "tiff"}

// FuzzExtract feeds arbitrary bytes to Extract, in the format the bytes
// sniff as (or one chosen from the length when they sniff as nothing).
// Seeds live in testdata/fuzz/FuzzExtract; more are built here.
func FuzzExtract(f *testing.F) {
	f.Add(jpegWithEXIF(bigEndianMake("Nikon")))
	f.Add(jpegWithEXIF(buildTIFF(
		[]tiffEntry{ascii(tagMake, "Canon"), short(tagOrientation, 6)},
		[]tiffEntry{ascii(tagDateTimeOriginal, "2011:05:06 09:59:48"), ascii(tagOffsetTimeOriginal, "+08:00")},
		[]tiffEntry{ascii(tagGPSLatitudeRef, "N"), rationals(tagGPSLatitude, 31, 1, 13, 1, 4944, 100)},
	)))
	f.Add(buildTIFF([]tiffEntry{ascii(tagModel, "TIFF")}, nil, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		format := sniff(data)
		if format == "" {
			format = fuzzFormats[len(data)%len(fuzzFormats)]
		}
		// A hang would otherwise stall the fuzzer silently; crash instead
		// so the input is saved.
		watchdog := time.AfterFunc(10*time.Second, func() { panic("Extract did not return within 10s") })
		md, x, err := extract(context.Background(), bytes.NewReader(data), format)
		watchdog.Stop()
		if err != nil {
			t.Fatalf("error on %s input: %v", format, err)
		}
		if len(x.panics) > 0 {
			t.Fatalf("recovered panic: %v", x.panics[0])
		}
		if md.Orientation != nil && (*md.Orientation < 0 || *md.Orientation > 8) {
			t.Errorf("orientation %d", *md.Orientation)
		}
		if md.GPS != nil && (math.IsNaN(md.GPS.Lat) || math.Abs(md.GPS.Lat) > 90 || math.Abs(md.GPS.Lon) > 180) {
			t.Errorf("gps %+v", *md.GPS)
		}
		if md.TakenAt != "" && parseDateTime(md.TakenAt[:19]) != md.TakenAt[:19] {
			t.Errorf("taken %q", md.TakenAt)
		}
		if md.Width < 0 || md.Height < 0 {
			t.Errorf("size %dx%d", md.Width, md.Height)
		}
		if len(md.Keywords) > maxKeywords {
			t.Errorf("%d keywords", len(md.Keywords))
		}
		for _, s := range append([]string{md.Make, md.Model, md.Description, md.Copyright, md.Artist, md.TakenAt}, md.Keywords...) {
			if len(s) > MaxText || !utf8.ValidString(s) {
				t.Errorf("bad text field of %d bytes", len(s))
			}
		}
	})
}
