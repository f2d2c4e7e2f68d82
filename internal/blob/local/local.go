// Package local is a blob.Store in a directory of the local file system.
//
// A key maps to the file of the same slash-separated path below the root.
// Writes go to a temporary file in the destination directory, are fsynced,
// renamed over the key and the directory is fsynced, so a crash leaves either
// the old object or the new one. Temporary files start with "." and are never
// keys (blob.ValidKey forbids segments starting with "."), so List skips them.
//
// Because keys are files and their prefixes directories, a key cannot be both
// an object and a "directory" of other objects ("a" and "a/b"): Put reports
// that as errs.Conflict. The key scheme of package blob never does this.
package local

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"tuku/internal/blob"
	"tuku/internal/errs"
)

// Store is a blob.Store rooted at a directory. Safe for concurrent use by
// goroutines and by several processes sharing the directory.
type Store struct {
	root string // absolute, cleaned
}

var _ blob.Store = (*Store)(nil)

const (
	dirPerm    = 0o700
	filePerm   = 0o600
	tempPrefix = ".tmp-"
	copyBuf    = 256 << 10
)

// New opens (creating if needed, mode 0700) the store rooted at root.
func New(root string) (*Store, error) {
	const op = "blob.local.new"
	if root == "" {
		return nil, errs.Ef(errs.Invalid, op, "blob root directory is empty")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, errs.E(errs.Invalid, op, "invalid blob root directory", err)
	}
	if err := os.MkdirAll(abs, dirPerm); err != nil {
		return nil, ioErr(op, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, ioErr(op, err)
	}
	if !fi.IsDir() {
		return nil, errs.Ef(errs.Invalid, op, "blob root %s is not a directory", abs)
	}
	return &Store{root: abs}, nil
}

// Root returns the absolute root directory.
func (s *Store) Root() string { return s.root }

// Path returns the absolute file path of key, for callers that serve files
// directly (http.ServeContent, sendfile). The file may not exist. Keys that
// are not blob.ValidKey are rejected, which also makes escaping the root
// impossible: no segment can be "..", empty or start with ".".
func (s *Store) Path(key string) (string, error) {
	if err := blob.ValidKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// Ping reports whether the root directory is still there and a directory.
func (s *Store) Ping(ctx context.Context) error {
	fi, err := os.Stat(s.root)
	if err != nil {
		return ioErr("blob.local.ping", err)
	}
	if !fi.IsDir() {
		return errs.Ef(errs.Unavailable, "blob.local.ping", "blob root is not a directory")
	}
	return nil
}

// Put implements blob.Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	const op = "blob.local.put"
	p, err := s.Path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return ctxErr(op, err)
	}
	return s.writeAtomic(ctx, op, p, func(f *os.File) error {
		return copyCtx(ctx, op, f, r)
	})
}

// PutFile implements blob.Store. The file is renamed into place when it is a
// regular file on the same file system (after an fsync, so the rename never
// publishes unsynced data), and copied otherwise.
func (s *Store) PutFile(ctx context.Context, key, path string) error {
	const op = "blob.local.putfile"
	p, err := s.Path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return ctxErr(op, err)
	}
	src, err := os.Open(path)
	if err != nil {
		return ioErr(op, err)
	}
	defer src.Close()
	sfi, err := src.Stat()
	if err != nil {
		return ioErr(op, err)
	}
	if !sfi.Mode().IsRegular() {
		return errs.Ef(errs.Invalid, op, "not a regular file")
	}
	// A symbolic link would be moved as a link, not as the bytes it points
	// to, so only a path that is itself a regular file is renamed.
	lfi, err := os.Lstat(path)
	if err == nil && lfi.Mode().IsRegular() {
		if err := src.Sync(); err != nil {
			return ioErr(op, err)
		}
		// The store's files are private; the caller's file may not be.
		if err := os.Chmod(path, filePerm); err != nil {
			return ioErr(op, err)
		}
		dir := filepath.Dir(p)
		err = retryMissingDir(dir, func() error { return os.Rename(path, p) })
		if err == nil {
			return ioErr(op, syncDir(dir))
		}
		if !errors.Is(err, syscall.EXDEV) {
			return renameErr(op, err)
		}
	}
	return s.writeAtomic(ctx, op, p, func(f *os.File) error {
		if _, err := src.Seek(0, io.SeekStart); err != nil {
			return ioErr(op, err)
		}
		// *os.File to *os.File lets io.Copy use copy_file_range.
		if _, err := io.Copy(f, src); err != nil {
			return ioErr(op, err)
		}
		return nil
	})
}

// writeAtomic creates a temporary file beside p, lets fill write it, then
// fsyncs, renames it to p and fsyncs the directory. On any failure the
// temporary file is removed and p is untouched.
func (s *Store) writeAtomic(ctx context.Context, op, p string, fill func(*os.File) error) (err error) {
	dir := filepath.Dir(p)
	var f *os.File
	if err := retryMissingDir(dir, func() error {
		var err error
		f, err = os.CreateTemp(dir, tempPrefix+"*")
		return err
	}); err != nil {
		return ioErr(op, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := fill(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return ioErr(op, err)
	}
	if err := f.Close(); err != nil {
		return ioErr(op, err)
	}
	// A cancelled request must not publish its object, even a complete one.
	if err := ctx.Err(); err != nil {
		return ctxErr(op, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return renameErr(op, err)
	}
	return ioErr(op, syncDir(dir))
}

// retryMissingDir runs fn, creating dir and retrying when fn fails because
// dir does not exist (it may never have, or a concurrent Delete may have
// pruned it just now).
func retryMissingDir(dir string, fn func() error) error {
	var err error
	for range 5 {
		if err = fn(); !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if mkErr := os.MkdirAll(dir, dirPerm); mkErr != nil {
			return mkErr
		}
	}
	return err
}

// Open implements blob.Store. The reader is an *os.File, so io.Copy to a
// network connection can use sendfile.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	return s.open(ctx, "blob.local.open", key)
}

func (s *Store) open(ctx context.Context, op, key string) (*os.File, error) {
	p, err := s.Path(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxErr(op, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, keyErr(op, key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, ioErr(op, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, errs.Ef(errs.NotFound, op, "blob %s not found", key)
	}
	return f, nil
}

// OpenRange implements blob.Store.
func (s *Store) OpenRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	const op = "blob.local.openrange"
	if off < 0 || length < -1 {
		return nil, errs.Ef(errs.Invalid, op, "invalid range %d+%d", off, length)
	}
	f, err := s.open(ctx, op, key)
	if err != nil {
		return nil, err
	}
	if off > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return nil, ioErr(op, err)
		}
	}
	if length < 0 {
		return f, nil
	}
	return &rangeReader{LimitedReader: io.LimitedReader{R: f, N: length}, f: f}, nil
}

// rangeReader is a bounded, closable view of a file.
type rangeReader struct {
	io.LimitedReader
	f *os.File
}

func (r *rangeReader) Close() error { return r.f.Close() }

// WriteTo hands the *io.LimitedReader itself to io.Copy, so a TCP
// connection's ReadFrom still recognises a file and uses sendfile.
func (r *rangeReader) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, &r.LimitedReader)
}

// Stat implements blob.Store.
func (s *Store) Stat(ctx context.Context, key string) (blob.Info, error) {
	const op = "blob.local.stat"
	p, err := s.Path(key)
	if err != nil {
		return blob.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return blob.Info{}, ctxErr(op, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return blob.Info{}, keyErr(op, key, err)
	}
	if !fi.Mode().IsRegular() {
		return blob.Info{}, errs.Ef(errs.NotFound, op, "blob %s not found", key)
	}
	return blob.Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// List implements blob.Store. It walks only the directories that can hold
// keys with the prefix.
func (s *Store) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	const op = "blob.local.list"
	if err := validPrefix(prefix); err != nil {
		return err
	}
	// Start at the deepest directory the prefix names completely.
	start := ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = prefix[:i]
	}
	return s.walk(ctx, op, start, prefix, fn)
}

// walk lists directory dirKey ("" for the root) in key order.
func (s *Store) walk(ctx context.Context, op, dirKey, prefix string, fn func(blob.Info) error) error {
	if err := ctx.Err(); err != nil {
		return ctxErr(op, err)
	}
	entries, err := os.ReadDir(filepath.Join(s.root, filepath.FromSlash(dirKey)))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil // nothing stored under this prefix (or deleted meanwhile)
		}
		return ioErr(op, err)
	}
	type item struct {
		key   string
		sort  string
		isDir bool
		entry fs.DirEntry
	}
	items := make([]item, 0, len(entries))
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") { // temporary files, never keys
			continue
		}
		key := name
		if dirKey != "" {
			key = dirKey + "/" + name
		}
		it := item{key: key, sort: name, isDir: e.IsDir(), entry: e}
		if it.isDir {
			// Keys below a directory all start with "name/": sorting it that
			// way keeps the walk in key order ("a-b" < "a/c" < "a0").
			it.sort = name + "/"
			if !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				continue
			}
		} else if !e.Type().IsRegular() || !strings.HasPrefix(key, prefix) || blob.ValidKey(key) != nil {
			continue
		}
		items = append(items, it)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].sort < items[j].sort })
	for _, it := range items {
		if it.isDir {
			if err := s.walk(ctx, op, it.key, prefix, fn); err != nil {
				return err
			}
			continue
		}
		fi, err := it.entry.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted since ReadDir
			}
			return ioErr(op, err)
		}
		if err := fn(blob.Info{Key: it.key, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}

// Delete implements blob.Store. Directories left empty are removed, so that
// erasing a customer's prefix leaves nothing behind.
func (s *Store) Delete(ctx context.Context, key string) error {
	const op = "blob.local.delete"
	p, err := s.Path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return ctxErr(op, err)
	}
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil
	}
	if err != nil {
		return ioErr(op, err)
	}
	if fi.IsDir() {
		return nil // a prefix of other keys, not an object
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return ioErr(op, err)
	}
	// Prune empty parents; Remove fails harmlessly on a non-empty one (a
	// concurrent Put's temporary file keeps its directory non-empty).
	for dir := filepath.Dir(p); dir != s.root && strings.HasPrefix(dir, s.root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// RemoveStaleTemp deletes temporary files older than age, left behind when
// the process died mid-Put, and returns how many it removed. It walks the
// whole tree, so it belongs in a scrub ("tuku check"), not in start-up.
// age must comfortably exceed the longest upload still in flight.
func (s *Store) RemoveStaleTemp(ctx context.Context, age time.Duration) (int, error) {
	const op = "blob.local.removestaletemp"
	cutoff := time.Now().Add(-age)
	n := 0
	err := filepath.WalkDir(s.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // pruned by a concurrent Delete
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return ctxErr(op, err)
		}
		if d.IsDir() || !strings.HasPrefix(d.Name(), tempPrefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			return nil
		}
		if os.Remove(path) == nil {
			n++
		}
		return nil
	})
	return n, ioErr(op, err)
}

// validPrefix accepts "" and any prefix that some valid key starts with
// and rejects the rest, so a prefix can never point outside the root.
func validPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if blob.ValidKey(prefix+"x") != nil {
		return errs.Ef(errs.Invalid, "blob", "invalid blob prefix %q", prefix)
	}
	return nil
}

// copyCtx copies r to f, checking ctx between chunks. Errors from r keep
// their own kind (a size limit in the reader stays errs.TooLarge); errors
// writing f are storage errors.
func copyCtx(ctx context.Context, op string, f *os.File, r io.Reader) error {
	buf := make([]byte, copyBuf)
	for {
		if err := ctx.Err(); err != nil {
			return ctxErr(op, err)
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return ioErr(op, err)
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return readErr(op, rerr)
		}
	}
}

func readErr(op string, err error) error {
	if errs.KindOf(err) != errs.Internal {
		return &wrapped{op: op, err: err}
	}
	return errs.E(errs.Internal, op, "reading the upload failed", err)
}

// wrapped adds the operation to an error without hiding its kind.
type wrapped struct {
	op  string
	err error
}

func (w *wrapped) Error() string { return w.op + ": " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

func ctxErr(op string, err error) error {
	return errs.E(errs.Unavailable, op, "request cancelled", err)
}

// keyErr maps a failure to reach a key's file.
func keyErr(op, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return errs.E(errs.NotFound, op, "blob "+key+" not found", err)
	}
	return ioErr(op, err)
}

func renameErr(op string, err error) error {
	// The key is a directory of other keys, or one of its parents is a file.
	if errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTDIR) ||
		errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) {
		return errs.E(errs.Conflict, op, "blob key clashes with an existing key prefix", err)
	}
	return ioErr(op, err)
}

// ioErr classifies a file system error; nil stays nil.
func ioErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errs.KindOf(err) != errs.Internal:
		return err
	case errors.Is(err, fs.ErrNotExist):
		return errs.E(errs.NotFound, op, "file not found", err)
	case errors.Is(err, syscall.ENOTDIR):
		return errs.E(errs.Conflict, op, "blob key clashes with an existing key", err)
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT):
		return errs.E(errs.Unavailable, op, "blob storage is full", err)
	case errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EIO):
		return errs.E(errs.Unavailable, op, "blob storage failed", err)
	}
	return errs.E(errs.Internal, op, "blob storage error", err)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	// Some file systems cannot sync a directory; their renames are as
	// durable as they get.
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		return nil
	}
	return err
}
