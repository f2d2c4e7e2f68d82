package vips

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"tuku/internal/errs"
	"tuku/internal/imaging"
)

// Public messages. The internal cause (libvips' own text) travels beside
// them and is logged, never shown.
const (
	msgCorrupt     = "the image is corrupt or truncated"
	msgUnsafe      = "the image could not be decoded safely: "
	msgCrashed     = msgUnsafe + "the decoder crashed"
	msgTimeout     = msgUnsafe + "the decoder took too long"
	msgMemory      = msgUnsafe + "the decoder needed too much memory"
	analyzeGreyMax = 512 // longest side of the picture Clarity is measured on
)

// ServeWorker runs the worker side of the pool: it reads requests from
// stdin and answers on stdout until stdin closes. It is meant to be the
// whole life of a child process (the `tuku imaging-worker` subcommand):
// it initialises libvips, applies the memory limit the parent asks for to
// the whole process, and may be killed at any time. When stdout is the
// process's fd 1 the protocol moves to a private descriptor and fd 1 is
// pointed at stderr, so a library that prints cannot corrupt it.
func ServeWorker(stdin io.Reader, stdout io.Writer) error {
	// libvips keeps per-thread state; one OS thread for all calls keeps it
	// tidy and the C stack predictable.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	stdout, err := privateStdout(stdout)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bufio.NewReader(stdin))
	enc := json.NewEncoder(stdout)

	var h hello
	if err := dec.Decode(&h); err != nil {
		return fmt.Errorf("imaging worker: reading hello: %w", err)
	}
	reply := helloReply{Protocol: protocolVersion, PID: os.Getpid()}
	if h.Protocol != protocolVersion {
		reply.Error = toWire(errs.Ef(errs.Internal, "imaging.worker", "protocol %d, want %d", h.Protocol, protocolVersion))
		return errors.Join(enc.Encode(reply), errors.New("imaging worker: protocol mismatch"))
	}
	if err := limitMemory(h.MemoryLimit); err != nil {
		reply.Error = toWire(errs.E(errs.Internal, "imaging.worker", "cannot limit memory", err))
		return errors.Join(enc.Encode(reply), err)
	}
	if err := startVips(); err != nil {
		reply.Error = toWire(errs.E(errs.Internal, "imaging.worker", "cannot start libvips", err))
		return errors.Join(enc.Encode(reply), err)
	}
	reply.Vips = vipsVersion()
	if err := enc.Encode(reply); err != nil {
		return err
	}
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil // the parent closed our stdin: done
			}
			return fmt.Errorf("imaging worker: reading request: %w", err)
		}
		resp := serve(req, h.TestOps)
		resp.ID = req.ID
		if err := enc.Encode(resp); err != nil {
			return fmt.Errorf("imaging worker: writing response: %w", err)
		}
	}
}

// privateStdout moves the protocol off fd 1 when w is this process's
// standard output.
func privateStdout(w io.Writer) (io.Writer, error) {
	f, ok := w.(*os.File)
	if !ok || f.Fd() != 1 {
		return w, nil
	}
	fd, err := unix.Dup(1)
	if err != nil {
		return nil, fmt.Errorf("imaging worker: dup stdout: %w", err)
	}
	unix.CloseOnExec(fd)
	if err := unix.Dup3(2, 1, 0); err != nil {
		return nil, fmt.Errorf("imaging worker: redirect stdout: %w", err)
	}
	return os.NewFile(uintptr(fd), "imaging-protocol"), nil
}

// limitMemory caps this process with RLIMIT_DATA rather than RLIMIT_AS:
// the Go runtime and glibc reserve large PROT_NONE address ranges (a Go
// binary starts with over 1 GiB of address space, each malloc arena
// reserves 64 MiB) that RLIMIT_AS counts although they never hold a byte.
// RLIMIT_DATA (Linux >= 4.7) counts private writable mappings — heap,
// mmap'd pixel buffers, thread stacks — which is what a decoder bomb
// inflates. A decoder that hits the cap sees malloc fail: libvips reports
// "out of memory", glib aborts, or the Go runtime exits; the parent maps
// all three to "needed too much memory".
func limitMemory(limit uint64) error {
	if limit == 0 {
		return nil
	}
	return unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: limit, Max: limit})
}

// serve handles one request, turning panics into errors so one bad file
// never ends the loop by accident.
func serve(req request, testOps bool) (resp response) {
	defer func() {
		if r := recover(); r != nil {
			resp = response{Error: toWire(errs.E(errs.Internal, "imaging.worker", "", fmt.Errorf("panic: %v", r)))}
		}
	}()
	switch req.Op {
	case opProbe, opRender, opAnalyze:
		return process(req)
	case opCrash, opSleep, opAlloc:
		if testOps {
			return testOp(req)
		}
	}
	return response{Error: toWire(errs.Ef(errs.Internal, "imaging.worker", "unknown request %q", req.Op))}
}

func testOp(req request) response {
	switch req.Op {
	case opCrash:
		crash()
	case opSleep:
		time.Sleep(time.Duration(req.Millis) * time.Millisecond)
	case opAlloc:
		alloc(req.Bytes)
	}
	return response{}
}

// process is the decode path: header, limits, one decode shrunk on load to
// the largest output, renditions, fingerprints.
func process(req request) response {
	const op = "imaging.decode"
	var resp response
	fail := func(err error) response {
		resp.Error = toWire(err)
		return resp
	}
	img, err := load(req.Path, req.Format, 1, 1)
	if err != nil && req.Format == imaging.JPEG && strings.Contains(strings.ToLower(err.Error()), "dnl not supported") {
		// The height comes after the scan: decode a copy whose frame
		// header states it.
		if fixed, ok, ferr := withDNLHeight(req.Path, maxDNLBytes); ferr == nil && ok {
			defer os.Remove(fixed)
			req.Path = fixed
			img, err = load(req.Path, req.Format, 1, 1)
		}
	}
	if err != nil {
		return fail(badImage(op, err))
	}
	defer img.close()
	w, h, pages, orientation := img.header()
	resp.Info = imaging.Info{Format: req.Format, Width: w, Height: h, Frames: pages}
	if w <= 0 || h <= 0 {
		return fail(errs.E(errs.BadImage, op, msgCorrupt, fmt.Errorf("size %dx%d", w, h)))
	}
	if err := req.Limits.Check(resp.Info); err != nil {
		return fail(err)
	}
	if req.Op == opProbe {
		return resp
	}

	// HEIF's irot/imir are applied by libheif; its EXIF orientation only
	// describes what libheif already did, so it is never applied again.
	rotate := orientation >= 2 && orientation <= 8 && req.Format != imaging.HEIF && req.Format != imaging.AVIF
	swap := rotate && orientation >= 5 // stored sideways
	uw, uh := w, h                     // upright size
	if swap {
		uw, uh = h, w
	}
	// The decode is shrunk on load for the largest rendition; the kept
	// base image is at most that size, or 512 px for Analyze, whose
	// clarity score is measured at up to 512 px so scores of different
	// files compare. (A 12 MP JPEG decoded at 1/8 for a 400 px grid is
	// 500x375: clarity gets that, without paying for a 1/4 decode.)
	scale, box := 0.0, [2]int{}
	for _, o := range req.Outs {
		if s := fitScale(uw, uh, o.Spec.Width, o.Spec.Height); s > scale {
			scale, box = s, [2]int{o.Spec.Width, o.Spec.Height}
		}
	}
	loadScale := scale
	if req.Op == opAnalyze {
		if s := fitScale(uw, uh, analyzeGreyMax, analyzeGreyMax); s > scale {
			scale, box = s, [2]int{analyzeGreyMax, analyzeGreyMax}
		}
		if len(req.Outs) == 0 {
			loadScale = scale
		}
	}

	// Reopen so the codec decodes at reduced size when it can. Sequential
	// access means nothing is decoded twice either way.
	if shrink, wscale := loadReduction(req.Format, w, h, loadScale); shrink > 1 || wscale < 1 {
		img.close()
		if img, err = load(req.Path, req.Format, shrink, wscale); err != nil {
			return fail(badImage(op, err))
		}
	}
	bw, bh := bound(box[0]), bound(box[1])
	if swap {
		bw, bh = bh, bw
	}
	thumb, err := img.thumbnail(bw, bh, false)
	if err != nil {
		return fail(badImage(op, err))
	}
	defer thumb.close()
	base, err := thumb.srgbMemory(rotate) // the one decode
	if err != nil {
		return fail(badImage(op, err))
	}
	defer base.close()

	for _, o := range req.Outs {
		r, err := render(base, o)
		if err != nil {
			return fail(err)
		}
		resp.Rendered = append(resp.Rendered, r)
	}
	if req.Op == opAnalyze {
		small, grey, gw, gh, err := base.greys(analyzeGreyMax)
		if err != nil {
			return fail(errs.E(errs.Internal, op, "", err))
		}
		resp.PHash = imaging.PHash(small, 32, 32)
		resp.Clarity = imaging.Clarity(grey, gw, gh)
	}
	return resp
}

func render(base *vimg, o imaging.Output) (imaging.Rendered, error) {
	r, err := base.thumbnail(bound(o.Spec.Width), bound(o.Spec.Height), false)
	if err != nil {
		return imaging.Rendered{}, errs.E(errs.Internal, "imaging.render", "", err)
	}
	defer r.close()
	if err := r.save(o.Path, o.Spec.Format, o.Spec.Quality); err != nil {
		return imaging.Rendered{}, errs.E(errs.Internal, "imaging.render", "could not write a rendition", err)
	}
	if o.Spec.Format == imaging.WebP {
		if err := stripWebP(o.Path); err != nil {
			return imaging.Rendered{}, errs.E(errs.Internal, "imaging.render", "could not write a rendition", err)
		}
	}
	st, err := os.Stat(o.Path)
	if err != nil {
		return imaging.Rendered{}, errs.E(errs.Internal, "imaging.render", "could not write a rendition", err)
	}
	w, h := r.size()
	return imaging.Rendered{Path: o.Path, Format: o.Spec.Format, Width: w, Height: h, Bytes: st.Size()}, nil
}

// maxDNLBytes bounds the JPEGs rewritten for a DNL height (they are read
// into memory whole).
const maxDNLBytes = 64 << 20

// badImage classifies a libvips failure on untrusted input.
func badImage(op string, err error) error {
	s := strings.ToLower(err.Error())
	switch {
	case strings.Contains(s, "out of memory"):
		return errs.E(errs.BadImage, op, msgMemory, err)
	case strings.Contains(s, "unsupported jpeg data precision"):
		return errs.E(errs.Unsupported, op, "this JPEG uses 12-bit samples, which Tuku cannot decode", err)
	case strings.Contains(s, "dnl not supported"):
		return errs.E(errs.Unsupported, op, "this JPEG gives its height in a DNL marker, which Tuku cannot decode", err)
	}
	return errs.E(errs.BadImage, op, msgCorrupt, err)
}

// maxCoord stands for "no bound" on one side of a box (libvips' own max).
const maxCoord = 10_000_000

func bound(n int) int {
	if n <= 0 {
		return maxCoord
	}
	return n
}

// fitScale is the factor that fits w x h inside bw x bh (0 = unbounded),
// never above 1.
func fitScale(w, h, bw, bh int) float64 {
	s := 1.0
	if bw > 0 {
		s = math.Min(s, float64(bw)/float64(w))
	}
	if bh > 0 {
		s = math.Min(s, float64(bh)/float64(h))
	}
	return s
}

// loadReduction picks the decode-time reduction for a final scale: JPEG's
// DCT shrink (1, 2, 4 or 8) that still leaves at least the target size,
// and WebP's free scale with a pixel of headroom so rounding never leaves
// the image a pixel short.
func loadReduction(f imaging.Format, w, h int, scale float64) (shrink int, webpScale float64) {
	shrink, webpScale = 1, 1
	switch f {
	case imaging.JPEG:
		tw, th := int(math.Ceil(float64(w)*scale)), int(math.Ceil(float64(h)*scale))
		for _, s := range []int{8, 4, 2} {
			// Floor, not libjpeg's ceil: libvips 8.14 aborts on a shrink
			// that would leave a side of 0 (a 1x1 JPEG with shrink 8).
			if float64(s)*scale <= 1 && w/s >= tw && h/s >= th {
				return s, 1
			}
		}
	case imaging.WebP:
		if scale < 1 {
			webpScale = math.Min(1, scale+1/float64(min(w, h)))
		}
	}
	return shrink, webpScale
}
