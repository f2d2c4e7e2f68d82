package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"tuku/internal/testenv"
)

// sniff names the format of b the way imaging does (from content), so the
// tests do not depend on the imaging package.
func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8}):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte("GIF8")):
		return "gif"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "webp"
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return "tiff"
	case len(b) >= 12 && string(b[4:8]) == "ftyp":
		if brand := string(b[8:12]); brand == "avif" || brand == "avis" {
			return "avif"
		}
		return "heif"
	}
	return ""
}

type expectedEntry struct {
	Width       *int     `json:"width"`
	MIME        *string  `json:"mime"`
	Height      *int     `json:"height"`
	Orientation *int     `json:"orientation"`
	Make        *string  `json:"make"`
	Model       *string  `json:"model"`
	DateTime    *string  `json:"datetime_original"`
	Lat         *float64 `json:"gps_lat"`
	Lon         *float64 `json:"gps_lon"`
}

func orientString(p *int) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

// TestCorpus compares Extract with exiftool's view of every file in the
// corpus folders that carry metadata (expected.json).
func TestCorpus(t *testing.T) {
	dir := testenv.Corpus(t)
	raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]expectedEntry
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	folders := map[string]bool{"camera": true, "orientation": true, "heic": true, "webp": true, "png": true, "gif": true, "edge": true}
	files, mismatches := 0, 0
	for name, exp := range want {
		if !folders[strings.SplitN(name, "/", 2)[0]] {
			continue
		}
		files++
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
			if err != nil {
				t.Fatal(err)
			}
			format := sniff(b)
			if format == "" {
				t.Fatalf("cannot sniff %s", name)
			}
			md, err := Extract(context.Background(), bytes.NewReader(b), format)
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			var bad []string
			check := func(field string, got, want any) {
				if got != want {
					bad = append(bad, field)
					t.Errorf("%s: got %#v, want %#v", field, got, want)
				}
			}
			check("orientation", orientString(md.Orientation), orientString(exp.Orientation))
			check("make", md.Make, deref(exp.Make))
			check("model", md.Model, deref(exp.Model))
			check("datetime_original", md.TakenAt, deref(exp.DateTime))
			if (exp.Lat == nil) != (md.GPS == nil) {
				bad = append(bad, "gps")
				t.Errorf("gps: got %+v, want %v,%v", md.GPS, exp.Lat, exp.Lon)
			} else if md.GPS != nil && (math.Abs(md.GPS.Lat-*exp.Lat) > 1e-6 || math.Abs(md.GPS.Lon-*exp.Lon) > 1e-6) {
				bad = append(bad, "gps")
				t.Errorf("gps: got %+v, want %v,%v", *md.GPS, *exp.Lat, *exp.Lon)
			}
			// The container's own statement of the size: HEIF ispe, JPEG SOF.
			if strings.HasPrefix(name, "heic/") || (exp.MIME != nil && *exp.MIME == "image/jpeg") {
				check("width", md.Width, deref(exp.Width))
				check("height", md.Height, deref(exp.Height))
				check("stored size", md.StoredSize, true)
			} else {
				check("width", md.Width, 0)
				check("height", md.Height, 0)
			}
			if len(bad) > 0 {
				mismatches++
			}
		})
	}
	t.Logf("corpus: %d files compared, %d agree, %d disagree", files, files-mismatches, mismatches)
	if files < 100 {
		t.Errorf("only %d corpus files compared; is expected.json complete?", files)
	}
}

func readCorpus(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Corpus(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// extractTimed runs Extract and fails when it takes longer than limit.
func extractTimed(t *testing.T, b []byte, limit time.Duration) (*Metadata, error) {
	t.Helper()
	start := time.Now()
	md, err := Extract(context.Background(), bytes.NewReader(b), sniff(b))
	if d := time.Since(start); d > limit {
		t.Errorf("Extract took %v, limit %v", d, limit)
	}
	if md == nil {
		t.Fatal("nil Metadata")
	}
	return md, err
}

func assertCapped(t *testing.T, md *Metadata) {
	t.Helper()
	fields := map[string]string{"make": md.Make, "model": md.Model, "description": md.Description,
		"copyright": md.Copyright, "artist": md.Artist, "taken_at": md.TakenAt}
	for i, k := range md.Keywords {
		fields["keyword"+string(rune('0'+i%10))] = k
	}
	for name, v := range fields {
		if len(v) > MaxText {
			t.Errorf("%s is %d bytes, over MaxText", name, len(v))
		}
		if !utf8.ValidString(v) {
			t.Errorf("%s is not valid UTF-8", name)
		}
	}
}

func TestBadXSS(t *testing.T) {
	md, err := extractTimed(t, readCorpus(t, "bad/exif-xss-60k-usercomment.jpg"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := Metadata{
		Make:        "<b>Evil</b> Corp",
		Model:       "javascript:alert(3)",
		Description: "<img src=x onerror=alert(1)>",
		Artist:      `<script>alert("artist")</script>`,
		Copyright:   `"><svg onload=alert(2)>`,
	}
	for _, c := range []struct{ name, got, want string }{
		{"make", md.Make, want.Make}, {"model", md.Model, want.Model},
		{"description", md.Description, want.Description},
		{"artist", md.Artist, want.Artist}, {"copyright", md.Copyright, want.Copyright},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	assertCapped(t, md)
}

func TestBadInvalidValues(t *testing.T) {
	md, err := extractTimed(t, readCorpus(t, "bad/exif-invalid-values.jpg"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if md.TakenAt != "" || md.GPS != nil || md.Orientation != nil {
		t.Errorf("got taken %q, gps %+v, orientation %v; want all absent", md.TakenAt, md.GPS, md.Orientation)
	}
}

func TestBadStructure(t *testing.T) {
	for _, c := range []struct {
		file     string
		wantMake string // "" = any
	}{
		{"bad/exif-ifd-cycle.jpg", "Loop"},
		{"bad/exif-huge-counts.jpg", ""},
		{"bad/png-ztxt-bomb-100mb.png", ""},
		{"bad/jpeg-html-polyglot.jpg", ""},
		{"bad/png-bomb-60000x60000-1bit-valid.png", ""},
		{"bad/gif-10000-frames.gif", ""},
		{"bad/truncated-half.jpg", ""},
		{"bad/empty.jpg", ""},
	} {
		t.Run(c.file, func(t *testing.T) {
			b := readCorpus(t, c.file)
			format := sniff(b)
			if format == "" {
				format = "jpeg"
			}
			start := time.Now()
			md, err := Extract(context.Background(), bytes.NewReader(b), format)
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
			if err != nil {
				t.Errorf("Extract: %v", err)
			}
			if md == nil {
				t.Fatal("nil Metadata")
			}
			if c.wantMake != "" && md.Make != c.wantMake {
				t.Errorf("make %q, want %q", md.Make, c.wantMake)
			}
			assertCapped(t, md)
		})
	}
}

// TestZTXtBombMemory checks that the 100 MB zTXt comment is never inflated.
func TestZTXtBombMemory(t *testing.T) {
	b := readCorpus(t, "bad/png-ztxt-bomb-100mb.png")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	if _, err := Extract(context.Background(), bytes.NewReader(b), "png"); err != nil {
		t.Fatal(err)
	}
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("ztxt bomb: %v, %d bytes allocated", d, alloc)
	if alloc > 50<<20 {
		t.Errorf("allocated %d bytes, want < 50 MB", alloc)
	}
	if d > time.Second {
		t.Errorf("took %v", d)
	}
}

// TestBroken runs every malformed file: no panic, bounded time.
func TestBroken(t *testing.T) {
	dir := filepath.Join(testenv.Corpus(t), "broken")
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		format := sniff(b)
		if format == "" {
			continue
		}
		start := time.Now()
		md, _ := Extract(context.Background(), bytes.NewReader(b), format)
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %v", filepath.Base(f), d)
		}
		if md == nil {
			t.Errorf("%s: nil Metadata", filepath.Base(f))
			continue
		}
		assertCapped(t, md)
	}
}

func BenchmarkExtractCanon40D(b *testing.B) {
	data := readCorpus(b, "camera/Canon_40D.jpg")
	benchExtract(b, data)
}

func benchExtract(b *testing.B, data []byte) {
	format := sniff(data)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Extract(context.Background(), bytes.NewReader(data), format); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExtractFile measures Extract on real files read from disk, as
// ingest does: the Canon 40D corpus JPEG, and the file named by
// TUKU_EXTRACT_BENCH_FILE when set (e.g. a 12 MP camera JPEG).
func BenchmarkExtractFile(b *testing.B) {
	paths := map[string]string{"canon40d": filepath.Join(testenv.Corpus(b), "camera", "Canon_40D.jpg")}
	if p := os.Getenv("TUKU_EXTRACT_BENCH_FILE"); p != "" {
		paths["env"] = p
	}
	for name, p := range paths {
		b.Run(name, func(b *testing.B) {
			f, err := os.Open(p)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { f.Close() })
			head := make([]byte, 16)
			if _, err := f.ReadAt(head, 0); err != nil {
				b.Fatal(err)
			}
			format := sniff(head)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.Seek(0, 0); err != nil {
					b.Fatal(err)
				}
				if _, err := Extract(context.Background(), f, format); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExtractLargeJPEG shows the cost does not grow with the image
// data: a JPEG header followed by 32 MB of scan data, read from disk.
func BenchmarkExtractLargeJPEG(b *testing.B) {
	exif := jpegWithEXIF(buildTIFF([]tiffEntry{ascii(tagMake, "Canon"), short(tagOrientation, 6)},
		[]tiffEntry{ascii(tagDateTimeOriginal, "2011:05:06 09:59:48")}, nil))
	data := append(exif[:len(exif)-2], make([]byte, 32<<20)...) // keep SOS, drop EOI
	p := filepath.Join(b.TempDir(), "large.jpg")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Seek(0, 0); err != nil {
			b.Fatal(err)
		}
		md, err := Extract(context.Background(), f, "jpeg")
		if err != nil || md.Make != "Canon" {
			b.Fatal(md, err)
		}
	}
}
