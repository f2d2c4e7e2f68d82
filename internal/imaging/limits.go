package imaging

import (
	"fmt"

	"tuku/internal/errs"
)

// CheckBytes returns errs.TooLarge when a file of n bytes exceeds
// MaxBytes. A zero limit means no limit.
func (l Limits) CheckBytes(n int64) error {
	if l.MaxBytes > 0 && n > l.MaxBytes {
		return errs.Ef(errs.TooLarge, "imaging.limits", "the file is %s, over the limit of %s", byteSize(n), byteSize(l.MaxBytes))
	}
	return nil
}

// Check returns errs.TooLarge, with a message a person can act on, when
// the header facts in i exceed a limit. Width and Height are those of one
// frame (for animations the canvas, i.e. the page height). Zero limits
// mean no limit.
func (l Limits) Check(i Info) error {
	const op = "imaging.limits"
	w, h := int64(i.Width), int64(i.Height)
	if l.MaxPixels > 0 && w*h > l.MaxPixels {
		return errs.Ef(errs.TooLarge, op, "image dimensions %dx%d exceed the limit of %s", w, h, megapixels(l.MaxPixels))
	}
	if l.MaxSide > 0 && (w > int64(l.MaxSide) || h > int64(l.MaxSide)) {
		return errs.Ef(errs.TooLarge, op, "image dimensions %dx%d exceed the limit of %d pixels per side", w, h, l.MaxSide)
	}
	if l.MaxFrames > 0 && i.Frames > l.MaxFrames {
		return errs.Ef(errs.TooLarge, op, "the image has too many frames (%d or more; the limit is %d)", i.Frames, l.MaxFrames)
	}
	return nil
}

func megapixels(n int64) string {
	if n%1_000_000 == 0 {
		return fmt.Sprintf("%d megapixels", n/1_000_000)
	}
	return fmt.Sprintf("%.1f megapixels", float64(n)/1e6)
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
