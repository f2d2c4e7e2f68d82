package extract

import (
	"context"
	"errors"
	"io"
)

// Limits that bound the work done on one file, whatever it claims about
// itself. Metadata lives in the first few hundred kilobytes of a camera
// file (or in one item of a HEIF file), so these are generous for real
// files and small enough that a hostile file cannot make Extract slow.
const (
	// readBudget is the most bytes Extract reads from one file, counting
	// re-reads after seeks. A parser that loops (an IFD cycle, a box whose
	// size points backwards) runs out of budget instead of forever.
	readBudget = 32 << 20
	// seekCost is what a seek costs against readBudget: it makes a loop of
	// seeks without reads finite too.
	seekCost = 256
	// maxBlob caps one metadata block read into memory (an EXIF item, a
	// JPEG header, a PNG eXIf chunk).
	maxBlob = 8 << 20
)

// errBudget is returned by source when readBudget is spent.
var errBudget = errors.New("extract: read budget exhausted")

// source wraps the caller's reader: every read and seek checks ctx and
// spends budget, so neither our parsers nor the library's can run for long
// on a hostile file. It is used by one goroutine.
type source struct {
	ctx    context.Context
	r      io.ReadSeeker
	budget int64
	size   int64 // -1 when unknown
	err    error // first ctx or budget error, sticky
}

func newSource(ctx context.Context, r io.ReadSeeker) *source {
	s := &source{ctx: ctx, r: r, budget: readBudget, size: -1}
	if n, err := r.Seek(0, io.SeekEnd); err == nil {
		s.size = n
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		s.err = err
	}
	return s
}

func (s *source) check(cost int64) error {
	if s.err != nil {
		return s.err
	}
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return err
	}
	s.budget -= cost
	if s.budget < 0 {
		s.err = errBudget
		return errBudget
	}
	return nil
}

func (s *source) Read(p []byte) (int, error) {
	if err := s.check(int64(len(p))); err != nil {
		return 0, err
	}
	return s.r.Read(p)
}

func (s *source) Seek(off int64, whence int) (int64, error) {
	if err := s.check(seekCost); err != nil {
		return 0, err
	}
	return s.r.Seek(off, whence)
}

// ReadAt reads len(p) bytes at off. It is not safe for concurrent use (it
// moves the underlying reader), which is fine: one Extract, one goroutine.
func (s *source) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("extract: negative offset")
	}
	if s.size >= 0 && off >= s.size {
		return 0, io.EOF
	}
	if _, err := s.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	return io.ReadFull(s, p)
}

// readBlob reads n bytes at off into a new slice, refusing sizes over
// maxBlob or past the end of the file before allocating anything.
func readBlob(ra io.ReaderAt, size, off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || n > maxBlob {
		return nil, errors.New("extract: block size out of range")
	}
	if size >= 0 && (off > size || n > size-off) {
		return nil, io.ErrUnexpectedEOF
	}
	b := make([]byte, n)
	if _, err := ra.ReadAt(b, off); err != nil {
		return nil, err
	}
	return b, nil
}
