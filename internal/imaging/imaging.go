// Package imaging is what Tuku knows about pixels: which formats it accepts
// (decided from content, never from a file name), the limits an upload must
// respect before anything decodes it, and the Engine that probes, renders
// and fingerprints images.
//
// The Engine implementation (imaging/vips) decodes untrusted files in child
// processes, so a decoder that crashes or hangs fails one file, not the
// server.
package imaging

import (
	"context"
)

// Format is an accepted image format.
type Format string

const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
	WebP Format = "webp"
	GIF  Format = "gif"
	HEIF Format = "heif"
	AVIF Format = "avif"
	TIFF Format = "tiff"
)

// MIME returns the media type of the format.
func (f Format) MIME() string {
	switch f {
	case JPEG:
		return "image/jpeg"
	case PNG:
		return "image/png"
	case WebP:
		return "image/webp"
	case GIF:
		return "image/gif"
	case HEIF:
		return "image/heic"
	case AVIF:
		return "image/avif"
	case TIFF:
		return "image/tiff"
	}
	return "application/octet-stream"
}

// Ext returns the usual file extension, without the dot.
func (f Format) Ext() string {
	switch f {
	case JPEG:
		return "jpg"
	case HEIF:
		return "heic"
	case TIFF:
		return "tif"
	}
	return string(f)
}

// Limits bound the work an upload may cause. They are checked from headers
// before any pixel is decoded.
type Limits struct {
	MaxBytes  int64 // file size
	MaxPixels int64 // width*height of the largest frame/canvas
	MaxSide   int   // longest side in pixels
	MaxFrames int   // frames/pages of animations and multi-page files
}

// DefaultLimits are the limits when none are configured.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 200 << 20, MaxPixels: 200_000_000, MaxSide: 30000, MaxFrames: 1000}
}

// Info is what a probe learns from the headers, without decoding pixels.
// Width and Height are as the decoder will deliver the first frame (for
// HEIF that is after its mandatory irot/imir transforms).
type Info struct {
	Format Format
	Width  int
	Height int
	Frames int
}

// Spec describes one rendition: fit inside Width x Height (0 = no bound on
// that side; never enlarged), auto-rotated upright, colour converted to
// sRGB, all metadata stripped, encoded as Format at Quality (1-100, 0 =
// the encoder's default).
type Spec struct {
	Width   int
	Height  int
	Format  Format // JPEG, WebP, AVIF or PNG
	Quality int
}

// Output asks for a rendition written to the file at Path.
type Output struct {
	Spec Spec
	Path string
}

// Rendered describes a rendition written to disk.
type Rendered struct {
	Path   string
	Format Format
	Width  int
	Height int
	Bytes  int64
}

// Analysis is the result of Engine.Analyze.
type Analysis struct {
	Info
	Outputs []Rendered // in the order asked for
	PHash   uint64     // 64-bit DCT perceptual hash of the upright image
	Clarity float64    // variance of the Laplacian on a 512 px grey version; < ~50 is blurry
}

// Engine probes and renders image files. Methods are safe for concurrent
// use. Errors: errs.Unsupported for formats Tuku does not accept,
// errs.TooLarge when a limit is exceeded, errs.BadImage when the file is
// corrupt, truncated or crashes/hangs the decoder.
type Engine interface {
	// Probe reads headers only and checks the limits.
	Probe(ctx context.Context, path string) (Info, error)

	// Analyze probes, checks limits, decodes once (shrinking on load to the
	// largest output), writes outs (largest first is not required) and
	// computes the perceptual hash and clarity score of the upright image.
	Analyze(ctx context.Context, path string, outs []Output) (*Analysis, error)

	// Render writes the renditions of the file at path, decoding once.
	Render(ctx context.Context, path string, outs []Output) ([]Rendered, error)

	// Version changes whenever rendering output changes; it is part of
	// rendition keys so caches never serve stale renditions.
	Version() int

	// Close stops child processes.
	Close() error
}

// Size is a named rendition size.
type Size struct {
	Name    string
	Max     int // longest side
	Format  Format
	Quality int
}

// Sizes is the fixed registry of named rendition sizes. "grid" is rendered
// at ingest; larger ones in the background or on first request.
var Sizes = []Size{
	{Name: "grid", Max: 400, Format: JPEG, Quality: 80},
	{Name: "preview", Max: 1280, Format: JPEG, Quality: 82},
	{Name: "large", Max: 2560, Format: JPEG, Quality: 85},
}

// SizeByName returns the named size.
func SizeByName(name string) (Size, bool) {
	for _, s := range Sizes {
		if s.Name == name {
			return s, true
		}
	}
	return Size{}, false
}

// Spec returns the rendering spec for the named size.
func (s Size) Spec() Spec {
	return Spec{Width: s.Max, Height: s.Max, Format: s.Format, Quality: s.Quality}
}
