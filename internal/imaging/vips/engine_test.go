package vips

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tuku/internal/errs"
	"tuku/internal/imaging"
	"tuku/internal/testenv"
)

func grid(path string) []imaging.Output {
	return []imaging.Output{{Spec: imaging.Sizes[0].Spec(), Path: path}}
}

// livePIDs returns the process ids of the engine's children.
func (e *Engine) livePIDs() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	var pids []int
	for w := range e.live {
		pids = append(pids, w.pid)
	}
	return pids
}

// corpusFiles lists the regular files under dir (recursively).
func corpusFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// Known outcomes in the corpus folders of valid images: every other file
// must probe and render.
var corpusFailures = map[string]errs.Kind{
	"edge/monkey12.jpg": errs.Unsupported, // 12-bit JPEG: libjpeg-turbo 8-bit build cannot
}

func TestCorpusRenders(t *testing.T) {
	corpus := testenv.Corpus(t)
	e := newEngine(t, Config{Workers: 2})
	dir := t.TempDir()
	ctx := context.Background()
	var files []string
	for _, d := range []string{"camera", "orientation", "heic", "webp", "png", "gif", "edge"} {
		files = append(files, corpusFiles(t, filepath.Join(corpus, d))...)
	}
	counts := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, f := range files {
		rel, _ := filepath.Rel(corpus, f)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			info, perr := e.Probe(ctx, f)
			out := filepath.Join(dir, fmt.Sprintf("%d.jpg", i))
			a, err := e.Analyze(ctx, f, grid(out))
			mu.Lock()
			defer mu.Unlock()
			if want, ok := corpusFailures[filepath.ToSlash(rel)]; ok {
				if errs.KindOf(err) != want {
					t.Errorf("%s: got %v, want kind %s", rel, err, want)
				}
				counts[string(want)]++
				t.Logf("%s: %s (%s)", rel, errs.Message(err), err)
				return
			}
			if perr != nil || err != nil {
				t.Errorf("%s: probe %v, analyze %v", rel, perr, err)
				counts["error"]++
				return
			}
			counts["ok"]++
			if a.Info != info {
				t.Errorf("%s: Analyze info %+v != Probe info %+v", rel, a.Info, info)
			}
			r := a.Outputs[0]
			if r.Width < 1 || r.Height < 1 || max(r.Width, r.Height) > 400 || r.Path != out {
				t.Errorf("%s: rendition %+v", rel, r)
			}
			checkJPEG(t, rel, out)
		}()
	}
	wg.Wait()
	t.Logf("corpus outcomes over %d files: %v", len(files), counts)
}

// checkJPEG asserts that a rendition is a complete baseline JPEG with no
// metadata segment (APP1-APP15: EXIF, XMP, ICC, IPTC…) and no comment.
func checkJPEG(t *testing.T, name, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	if !bytes.HasPrefix(b, []byte{0xFF, 0xD8}) || !bytes.HasSuffix(b, []byte{0xFF, 0xD9}) {
		t.Errorf("%s: rendition is not a complete JPEG", name)
		return
	}
	for _, bad := range []string{"Exif\x00", "http://ns.adobe.com/xap", "ICC_PROFILE", "Photoshop 3.0", "<html", "<script"} {
		if bytes.Contains(b, []byte(bad)) {
			t.Errorf("%s: rendition contains %q", name, bad)
		}
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			t.Errorf("%s: bad marker at %d", name, i)
			return
		}
		m := b[i+1]
		if m == 0xDA { // start of scan: metadata segments all come before it
			return
		}
		if m == 0xFE || (m >= 0xE1 && m <= 0xEF) {
			t.Errorf("%s: rendition has metadata segment FF%02X", name, m)
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
}

func TestOrientationUpright(t *testing.T) {
	corpus := testenv.Corpus(t)
	e := newEngine(t, Config{Workers: 2})
	dir := t.TempDir()
	ctx := context.Background()
	for _, shape := range []string{"Landscape", "Portrait"} {
		ref, err := e.Analyze(ctx, filepath.Join(corpus, "orientation", shape+"_1.jpg"), grid(filepath.Join(dir, "ref.jpg")))
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n <= 8; n++ {
			name := fmt.Sprintf("%s_%d.jpg", shape, n)
			out := filepath.Join(dir, name)
			a, err := e.Analyze(ctx, filepath.Join(corpus, "orientation", name), grid(out))
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			r := a.Outputs[0]
			landscape := r.Width > r.Height
			if landscape != (shape == "Landscape") {
				t.Errorf("%s: rendition %dx%d is not %s", name, r.Width, r.Height, shape)
			}
			if r.Width != ref.Outputs[0].Width || r.Height != ref.Outputs[0].Height {
				t.Errorf("%s: %dx%d, want %dx%d", name, r.Width, r.Height, ref.Outputs[0].Width, ref.Outputs[0].Height)
			}
			if d := imaging.Hamming(a.PHash, ref.PHash); d > 6 {
				t.Errorf("%s: pHash distance %d from %s_1 (want <= 6)", name, d, shape)
			}
			checkJPEG(t, name, out)
		}
	}
}

// HEIF rotation is libheif's irot, never EXIF on top of it.
func TestHEICIrotNotAppliedTwice(t *testing.T) {
	corpus := testenv.Corpus(t)
	e := newEngine(t, Config{Workers: 1})
	ctx := context.Background()
	path := filepath.Join(corpus, "heic", "iphone_13_pro_max.HEIC")
	info, err := e.Probe(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if info != (imaging.Info{Format: imaging.HEIF, Width: 3024, Height: 4032, Frames: 1}) {
		t.Errorf("probe: %+v, want upright HEIF 3024x4032", info)
	}
	out := filepath.Join(t.TempDir(), "full.jpg")
	rs, err := e.Render(ctx, path, []imaging.Output{{Spec: imaging.Spec{Format: imaging.JPEG, Quality: 80}, Path: out}})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Width != 3024 || rs[0].Height != 4032 {
		t.Errorf("full-size render %dx%d, want portrait 3024x4032", rs[0].Width, rs[0].Height)
	}
	checkJPEG(t, "iphone full", out)
}

// One decode, several renditions in every output format, all stripped.
func TestRenderFormatsStripped(t *testing.T) {
	corpus := testenv.Corpus(t)
	e := newEngine(t, Config{Workers: 1})
	dir := t.TempDir()
	ctx := context.Background()
	for _, src := range []string{
		"camera/Apple iPhone 4.jpg", // EXIF with GPS, ICC
		"bad/exif-xss-60k-usercomment.jpg",
		"bad/jpeg-html-polyglot.jpg",  // COM with HTML and HTML after EOI
		"webp/Issue 473 (Java).webp",  // WebP with EXIF, orientation 6
		"heic/iphone_13_pro_max.HEIC", // EXIF, GPS, ICC
		"png/sampleWithExifData.png",  // eXIf chunk
		"png/photoshop-8x12-rgb24-all-metadata.png",
	} {
		base := filepath.Base(src)
		outs := []imaging.Output{
			{Spec: imaging.Spec{Width: 320, Height: 320, Format: imaging.JPEG, Quality: 82}, Path: filepath.Join(dir, base+".a.jpg")},
			{Spec: imaging.Spec{Width: 160, Height: 160, Format: imaging.WebP, Quality: 80}, Path: filepath.Join(dir, base+".webp")},
			{Spec: imaging.Spec{Width: 200, Height: 0, Format: imaging.PNG}, Path: filepath.Join(dir, base+".png")},
			{Spec: imaging.Spec{Width: 96, Height: 96, Format: imaging.AVIF, Quality: 50}, Path: filepath.Join(dir, base+".avif")},
			{Spec: imaging.Spec{Width: 64, Height: 64, Format: imaging.JPEG}, Path: filepath.Join(dir, base+".b.jpg")},
		}
		rs, err := e.Render(ctx, filepath.Join(corpus, src), outs)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		for i, r := range rs {
			o := outs[i]
			if r.Path != o.Path || r.Format != o.Spec.Format || r.Bytes <= 0 {
				t.Errorf("%s: rendition %d %+v", src, i, r)
			}
			if (o.Spec.Width > 0 && r.Width > o.Spec.Width) || (o.Spec.Height > 0 && r.Height > o.Spec.Height) {
				t.Errorf("%s: rendition %d is %dx%d, box %dx%d", src, i, r.Width, r.Height, o.Spec.Width, o.Spec.Height)
			}
			b, err := os.ReadFile(r.Path)
			if err != nil || int64(len(b)) != r.Bytes {
				t.Errorf("%s: %s: %d bytes on disk, %d reported (%v)", src, r.Path, len(b), r.Bytes, err)
				continue
			}
			sniffed, err := imaging.Sniff(b)
			if err != nil || sniffed != o.Spec.Format {
				t.Errorf("%s: rendition %d sniffs as %q (%v), want %q", src, i, sniffed, err, o.Spec.Format)
			}
			switch o.Spec.Format {
			case imaging.JPEG:
				checkJPEG(t, src, r.Path)
			case imaging.PNG:
				for _, chunk := range []string{"eXIf", "iTXt", "tEXt", "zTXt", "iCCP"} {
					if bytes.Contains(b, []byte(chunk)) {
						t.Errorf("%s: PNG rendition has a %s chunk", src, chunk)
					}
				}
			case imaging.WebP:
				for _, chunk := range []string{"EXIF", "XMP ", "ICCP"} {
					if bytes.Contains(b, []byte(chunk)) {
						t.Errorf("%s: WebP rendition has a %s chunk", src, chunk)
					}
				}
			case imaging.AVIF:
				for _, item := range []string{"Exif", "mime", "application/rdf+xml"} {
					if bytes.Contains(b, []byte(item)) {
						t.Errorf("%s: AVIF rendition has a %s item", src, item)
					}
				}
			}
		}
		// Every rendition has the source's upright aspect ratio.
		ar := float64(rs[0].Width) / float64(rs[0].Height)
		for _, r := range rs[1:] {
			if got := float64(r.Width) / float64(r.Height); got < ar*0.9 || got > ar*1.1 {
				t.Errorf("%s: rendition %s aspect %.2f, first %.2f", src, r.Path, got, ar)
			}
		}
	}
}

func TestBadFiles(t *testing.T) {
	corpus := testenv.Corpus(t)
	e := newEngine(t, Config{Workers: 2})
	dir := t.TempDir()
	ctx := context.Background()
	tests := []struct {
		file string
		kind errs.Kind // "" = accepted
		msg  string
	}{
		{"png-bomb-60000x60000-header.png", errs.TooLarge, "image dimensions 60000x60000 exceed the limit of 200 megapixels"},
		{"png-bomb-60000x60000-1bit-valid.png", errs.TooLarge, "image dimensions 60000x60000 exceed"},
		{"jpeg-sof-65500x65500.jpg", errs.TooLarge, "image dimensions 65500x65500 exceed"},
		{"gif-canvas-65535x65535.gif", errs.TooLarge, "image dimensions 65535x65535 exceed"},
		{"gif-10000-frames.gif", errs.TooLarge, "too many frames"},
		{"truncated-half.jpg", errs.BadImage, "the image is corrupt or truncated"},
		{"empty.jpg", errs.Invalid, "empty file"},
		{"svg-with-script.svg", errs.Unsupported, "SVG/XML"},
		{"svg-named-jpg.jpg", errs.Unsupported, "SVG/XML"},
		{"html-page.jpg", errs.Unsupported, "HTML"},
		{"text-file.jpg", errs.Unsupported, "plain text"},
		{"png-ztxt-bomb-100mb.png", "", ""},
		{"jpeg-html-polyglot.jpg", "", ""},
		{"png-named-jpg.jpg", "", ""},
		{"exif-ifd-cycle.jpg", "", ""},
		{"exif-huge-counts.jpg", "", ""},
		{"exif-invalid-values.jpg", "", ""},
		{"exif-xss-60k-usercomment.jpg", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(corpus, "bad", tt.file)
			start := time.Now()
			_, perr := e.Probe(ctx, path)
			probeTime := time.Since(start)
			out := filepath.Join(dir, tt.file+".jpg")
			_, err := e.Analyze(ctx, path, grid(out))
			if tt.kind == "" {
				if perr != nil || err != nil {
					t.Fatalf("probe %v, analyze %v; want accepted", perr, err)
				}
				checkJPEG(t, tt.file, out)
				return
			}
			checks := []error{perr, err}
			if tt.kind == errs.BadImage {
				checks = checks[1:] // a probe reads headers only; truncation shows when decoding
			}
			for _, err := range checks {
				if !errors.Is(err, tt.kind) || !strings.Contains(errs.Message(err), tt.msg) {
					t.Errorf("got %v (%s), want %s %q", err, errs.KindOf(err), tt.kind, tt.msg)
				}
			}
			// Bombs are refused from headers: no pixel is decoded, so the
			// probe is quick whatever the file claims.
			if tt.kind == errs.TooLarge && probeTime > 2*time.Second {
				t.Errorf("probe took %s", probeTime)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a rejected file left a rendition")
			}
		})
	}
}

func TestBrokenFilesPoolSurvives(t *testing.T) {
	corpus := testenv.Corpus(t)
	e := newEngine(t, Config{Workers: 2, Timeout: 20 * time.Second})
	dir := t.TempDir()
	ctx := context.Background()
	files := corpusFiles(t, filepath.Join(corpus, "broken"))
	counts := map[errs.Kind]int{}
	messages := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Add(1)
		go func() { // all at once: the pool must queue them on its 2 workers
			defer wg.Done()
			a, err := e.Analyze(ctx, f, grid(filepath.Join(dir, fmt.Sprintf("%d.jpg", i))))
			mu.Lock()
			defer mu.Unlock()
			k := errs.KindOf(err)
			counts[k]++
			if err != nil {
				messages[errs.Message(err)]++
			}
			switch k {
			case "":
				if a.Outputs[0].Width < 1 {
					t.Errorf("%s: accepted with an empty rendition", f)
				}
			case errs.Unsupported, errs.BadImage, errs.TooLarge, errs.Invalid:
				if errs.Message(err) == "" {
					t.Errorf("%s: no message", f)
				}
			default:
				t.Errorf("%s: unexpected %v", f, err)
			}
		}()
	}
	wg.Wait()
	t.Logf("broken/: %d files: %d accepted, %d unsupported, %d invalid image, %d too large, %d invalid",
		len(files), counts[""], counts[errs.Unsupported], counts[errs.BadImage], counts[errs.TooLarge], counts[errs.Invalid])
	for m, n := range messages {
		t.Logf("  %2d × %s", n, m)
	}
	if _, err := e.Analyze(ctx, filepath.Join(corpus, "orientation", "Landscape_1.jpg"), grid(filepath.Join(dir, "after.jpg"))); err != nil {
		t.Fatalf("good file after broken ones: %v", err)
	}
}

// goodImage writes a small valid JPEG for tests that need no corpus.
func goodImage(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "good.jpg")
	makeImage(t, p, 64, 48)
	return p
}

func TestWorkerCrashFailsOneRequest(t *testing.T) {
	e := newEngine(t, Config{Workers: 1})
	ctx := context.Background()
	good := goodImage(t)
	out := filepath.Join(t.TempDir(), "o.jpg")

	if err := e.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	before := e.livePIDs()
	_, err := e.do(ctx, request{Op: opCrash}, "imaging.test")
	if !errors.Is(err, errs.BadImage) || errs.Message(err) != msgCrashed {
		t.Fatalf("crash: %v, want BadImage %q", err, msgCrashed)
	}
	if !strings.Contains(err.Error(), "SIGABRT") && !strings.Contains(err.Error(), "aborted") {
		t.Errorf("cause should name the signal: %v", err)
	}
	if _, err := e.Analyze(ctx, good, grid(out)); err != nil {
		t.Fatalf("request after crash: %v", err)
	}
	after := e.livePIDs()
	if len(before) != 1 || len(after) != 1 || before[0] == after[0] {
		t.Errorf("crashed child %v was not replaced: %v", before, after)
	}

	// SIGKILL from outside (the OOM killer, an operator) mid-request.
	done := make(chan error, 1)
	go func() {
		_, err := e.do(ctx, request{Op: opSleep, Millis: 30_000}, "imaging.test")
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	for _, pid := range e.livePIDs() {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		if !errors.Is(err, errs.BadImage) || !strings.Contains(err.Error(), "killed") {
			t.Errorf("killed child: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("request on a killed child did not return")
	}
	if _, err := e.Analyze(ctx, good, grid(out)); err != nil {
		t.Fatalf("request after SIGKILL: %v", err)
	}
}

func TestWorkerTimeout(t *testing.T) {
	e := newEngine(t, Config{Workers: 1, Timeout: 300 * time.Millisecond})
	ctx := context.Background()
	start := time.Now()
	_, err := e.do(ctx, request{Op: opSleep, Millis: 20_000}, "imaging.test")
	if !errors.Is(err, errs.BadImage) || errs.Message(err) != msgTimeout {
		t.Fatalf("hang: %v, want BadImage %q", err, msgTimeout)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timeout took %s", d)
	}
	if _, err := e.Analyze(ctx, goodImage(t), grid(filepath.Join(t.TempDir(), "o.jpg"))); err != nil {
		t.Fatalf("request after timeout: %v", err)
	}
}

func TestContextCancel(t *testing.T) {
	e := newEngine(t, Config{Workers: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := e.do(ctx, request{Op: opSleep, Millis: 20_000}, "imaging.test")
	if !errors.Is(err, context.DeadlineExceeded) || errs.KindOf(err) != errs.Unavailable {
		t.Fatalf("cancelled request: %v", err)
	}
	if _, err := e.Probe(context.Background(), goodImage(t)); err != nil {
		t.Fatalf("request after cancel: %v", err)
	}
}

func TestMemoryLimit(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's shadow memory does not fit under the cap")
	}
	e := newEngine(t, Config{Workers: 1, MemoryLimit: 256 << 20})
	ctx := context.Background()
	// A decoder that balloons: the child hits RLIMIT_DATA and dies.
	_, err := e.do(ctx, request{Op: opAlloc, Bytes: 1 << 30}, "imaging.test")
	if !errors.Is(err, errs.BadImage) || errs.Message(err) != msgMemory {
		t.Fatalf("alloc 1 GiB under a 256 MiB cap: %v, want BadImage %q", err, msgMemory)
	}
	// Under the cap, the same request works.
	if _, err := e.do(ctx, request{Op: opAlloc, Bytes: 64 << 20}, "imaging.test"); err != nil {
		t.Fatalf("alloc 64 MiB: %v", err)
	}

	// A real decode over the cap: a valid 10000x10000 PNG rendered at full
	// size needs 300 MB of pixels.
	big := filepath.Join(t.TempDir(), "big.png")
	makeImage(t, big, 10000, 10000)
	_, err = e.Render(ctx, big, []imaging.Output{{Spec: imaging.Spec{Format: imaging.PNG}, Path: filepath.Join(t.TempDir(), "full.png")}})
	if !errors.Is(err, errs.BadImage) || errs.Message(err) != msgMemory {
		t.Fatalf("full-size 100 MP render under a 256 MiB cap: %v, want BadImage %q", err, msgMemory)
	}
	// Shrunk, it fits: libvips streams the decode.
	if _, err := e.Render(ctx, big, grid(filepath.Join(t.TempDir(), "small.jpg"))); err != nil {
		t.Fatalf("grid render of the same file: %v", err)
	}
}

func TestInvalidRequests(t *testing.T) {
	e := newEngine(t, Config{Workers: 1})
	ctx := context.Background()
	good := goodImage(t)
	tests := []struct {
		name string
		path string
		outs []imaging.Output
		kind errs.Kind
	}{
		{"missing file", filepath.Join(t.TempDir(), "nope.jpg"), grid("x.jpg"), errs.NotFound},
		{"directory", t.TempDir(), grid("x.jpg"), errs.Invalid},
		{"gif output", good, []imaging.Output{{Spec: imaging.Spec{Format: imaging.GIF}, Path: "x.gif"}}, errs.Invalid},
		{"no path", good, []imaging.Output{{Spec: imaging.Spec{Format: imaging.JPEG}}}, errs.Invalid},
		{"quality", good, []imaging.Output{{Spec: imaging.Spec{Format: imaging.JPEG, Quality: 101}, Path: "x.jpg"}}, errs.Invalid},
	}
	for _, tt := range tests {
		if _, err := e.Render(ctx, tt.path, tt.outs); errs.KindOf(err) != tt.kind {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.kind)
		}
	}
	if _, err := e.Render(ctx, good, nil); errs.KindOf(err) != errs.Invalid {
		t.Errorf("no outputs: %v", err)
	}
	small := newEngine(t, Config{Workers: 1, Limits: imaging.Limits{MaxBytes: 10, MaxPixels: 1}})
	if _, err := small.Probe(ctx, good); !errors.Is(err, errs.TooLarge) || !strings.Contains(errs.Message(err), "over the limit of 10 bytes") {
		t.Errorf("MaxBytes: %v", err)
	}
	if e.Version() != Version || Version < 1 {
		t.Errorf("Version() = %d", e.Version())
	}
}

func TestClosedEngine(t *testing.T) {
	e := newEngine(t, Config{Workers: 1})
	pids := e.livePIDs()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Probe(context.Background(), goodImage(t)); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("after Close: %v", err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("child %d still running after Close", pid)
		}
	}
}

func TestNewBadCommand(t *testing.T) {
	if _, err := New(Config{}); errs.KindOf(err) != errs.Invalid {
		t.Errorf("empty command: %v", err)
	}
	e, err := New(Config{Command: []string{"/bin/false"}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("New starts no worker, so it cannot fail on the command: %v", err)
	}
	defer e.Close()
	if err := e.Warm(context.Background()); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("Warm with /bin/false as worker: %v", err)
	}
	if _, err := e.Probe(context.Background(), "/nonexistent"); err == nil {
		t.Error("Probe with /bin/false as worker succeeded")
	}
}

func TestIdleWorkersStop(t *testing.T) {
	e := newEngine(t, Config{Workers: 2, IdleTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	good := goodImage(t)
	if _, err := e.Analyze(ctx, good, grid(filepath.Join(t.TempDir(), "o.jpg"))); err != nil {
		t.Fatal(err)
	}
	pids := e.livePIDs()
	if len(pids) != 1 {
		t.Fatalf("live workers after one request: %v", pids)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(e.livePIDs()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if live := e.livePIDs(); len(live) != 0 {
		t.Fatalf("idle worker %v still live after its idle timeout", live)
	}
	time.Sleep(100 * time.Millisecond)
	if err := syscall.Kill(pids[0], 0); err == nil {
		t.Errorf("idle worker %d still running", pids[0])
	}
	// The pool starts a new worker for the next request.
	if _, err := e.Analyze(ctx, good, grid(filepath.Join(t.TempDir(), "o.jpg"))); err != nil {
		t.Fatalf("request after reaping: %v", err)
	}
}

func TestCheckLeavesNoWorker(t *testing.T) {
	e := newEngine(t, Config{Workers: 2})
	if err := e.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if live := e.livePIDs(); len(live) != 0 {
		t.Errorf("Check left workers %v", live)
	}
}
