package vips

// #cgo pkg-config: vips
// #include "vips.h"
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"tuku/internal/imaging"
)

// This file is the whole cgo surface: thin Go wrappers over the helpers in
// vips.c. Every wrapper that can fail reads and clears libvips' error
// buffer, and every *vimg is unreffed exactly once by close. Only the
// worker process (ServeWorker) calls these functions.

// formatCode maps a format to the TK_* constants of vips.h.
func formatCode(f imaging.Format) C.int {
	switch f {
	case imaging.JPEG:
		return C.TK_JPEG
	case imaging.PNG:
		return C.TK_PNG
	case imaging.WebP:
		return C.TK_WEBP
	case imaging.GIF:
		return C.TK_GIF
	case imaging.HEIF:
		return C.TK_HEIF
	case imaging.AVIF:
		return C.TK_AVIF
	case imaging.TIFF:
		return C.TK_TIFF
	}
	return 0
}

// vipsError returns the text libvips left in its error buffer, clearing it.
func vipsError(op string) error {
	msg := strings.TrimSpace(C.GoString(C.vips_error_buffer()))
	C.vips_error_clear()
	if msg == "" {
		msg = "unknown libvips error"
	}
	return fmt.Errorf("%s: %s", op, msg)
}

// startVips initialises libvips for this process: one thread, no cache,
// untrusted operations blocked and every loader but Tuku's six blocked.
func startVips() error {
	if C.tk_init() != 0 {
		return vipsError("vips_init")
	}
	return nil
}

func vipsVersion() string { return C.GoString(C.tk_version()) }

// blocked reports whether the operation with that nickname is blocked.
func blocked(nickname string) bool {
	cs := C.CString(nickname)
	defer C.free(unsafe.Pointer(cs))
	return C.tk_blocked(cs) != 0
}

// genericLoad tries libvips' content-sniffing loader (tests only).
func genericLoad(path string) error {
	cs := C.CString(path)
	defer C.free(unsafe.Pointer(cs))
	if C.tk_generic_load(cs) != 0 {
		return vipsError("vips_image_new_from_file")
	}
	return nil
}

type vimg struct{ p *C.VipsImage }

func (im *vimg) close() {
	if im != nil && im.p != nil {
		C.tk_unref(im.p)
		im.p = nil
	}
}

// load opens path with the loader for f, reading headers only.
func load(path string, f imaging.Format, shrink int, scale float64) (*vimg, error) {
	code := formatCode(f)
	if code == 0 {
		return nil, errors.New("no loader for format " + string(f))
	}
	cs := C.CString(path)
	defer C.free(unsafe.Pointer(cs))
	var out *C.VipsImage
	if C.tk_load(cs, code, C.int(shrink), C.double(scale), &out) != 0 {
		return nil, vipsError(string(f) + "load")
	}
	return &vimg{out}, nil
}

// header returns the size of the loaded (first) frame, the number of
// frames or pages in the file and the EXIF orientation (1 when absent).
func (im *vimg) header() (width, height, pages, orientation int) {
	var w, h, p, o C.int
	C.tk_header(im.p, &w, &h, &p, &o)
	runtime.KeepAlive(im)
	return int(w), int(h), int(p), int(o)
}

func (im *vimg) size() (int, int) {
	w, h := int(C.tk_width(im.p)), int(C.tk_height(im.p))
	runtime.KeepAlive(im)
	return w, h
}

// thumbnail fits the image inside width x height without enlarging it,
// or resizes it to exactly that size when force is set.
func (im *vimg) thumbnail(width, height int, force bool) (*vimg, error) {
	var out *C.VipsImage
	if C.tk_thumbnail(im.p, &out, C.int(width), C.int(height), cbool(force)) != 0 {
		return nil, vipsError("thumbnail")
	}
	runtime.KeepAlive(im)
	return &vimg{out}, nil
}

// srgbMemory converts to 8-bit sRGB, decodes into memory and, if rotate,
// applies the EXIF orientation.
func (im *vimg) srgbMemory(rotate bool) (*vimg, error) {
	var out *C.VipsImage
	if C.tk_srgb_memory(im.p, &out, cbool(rotate)) != 0 {
		return nil, vipsError("decode")
	}
	runtime.KeepAlive(im)
	return &vimg{out}, nil
}

// save encodes the image to path as f, metadata stripped.
func (im *vimg) save(path string, f imaging.Format, quality int) error {
	cs := C.CString(path)
	defer C.free(unsafe.Pointer(cs))
	if C.tk_save(im.p, cs, formatCode(f), C.int(quality)) != 0 {
		return vipsError(string(f) + "save")
	}
	runtime.KeepAlive(im)
	return nil
}

// greys returns the two grey versions Analyze fingerprints: exactly
// 32x32 (aspect ignored) for PHash, and fitted inside max x max for
// Clarity, both from one grey conversion.
func (im *vimg) greys(max int) (small, grey []byte, w, h int, err error) {
	var sbuf, gbuf unsafe.Pointer
	var cw, ch C.int
	if C.tk_greys(im.p, C.int(max), &sbuf, &gbuf, &cw, &ch) != 0 {
		return nil, nil, 0, 0, vipsError("grey")
	}
	runtime.KeepAlive(im)
	defer C.tk_free(sbuf)
	defer C.tk_free(gbuf)
	w, h = int(cw), int(ch)
	return C.GoBytes(sbuf, 32*32), C.GoBytes(gbuf, C.int(w*h)), w, h, nil
}

// alloc allocates and touches n bytes with g_malloc, which aborts when
// the allocation fails, as decoders built on glib do (test requests only).
func alloc(n int64) { C.tk_alloc(C.size_t(n)) }

// crash aborts the process (test requests only).
func crash() { C.tk_crash() }

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
