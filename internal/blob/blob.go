// Package blob stores bytes by key. Originals are content-addressed and
// immutable; renditions are keyed by (content, size name, engine version), so
// a key never changes meaning and a cached copy is never stale.
//
// Keys are slash-separated ASCII paths ([a-z0-9._-] segments, no "..", no
// leading slash); ValidKey checks them. Implementations: blob/local (a
// directory) and blob/s3 (any S3-compatible server). Wrappers (encryption,
// metrics) implement the same interface around another Store.
package blob

import (
	"context"
	"io"
	"strings"
	"time"

	"tuku/internal/errs"
)

// Info describes a stored object.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Store is the interface every backend implements. All methods are safe for
// concurrent use. Errors are errs kinds: a missing key is errs.NotFound, an
// invalid key errs.Invalid, a backend that cannot be reached errs.Unavailable.
type Store interface {
	// Put stores the bytes of r under key, atomically: a concurrent or later
	// reader sees either the whole new object or (if the key existed) the
	// old one, never a partial write. size is a hint (-1 if unknown); the
	// bytes written are those read from r. Putting an existing key replaces it.
	Put(ctx context.Context, key string, r io.Reader, size int64) error

	// PutFile stores the file at path under key like Put. A backend may move
	// the file instead of copying it (local does, when on the same file
	// system); the caller must not use path afterwards, and must remove it
	// itself if it still exists.
	PutFile(ctx context.Context, key, path string) error

	// Open returns a reader for the whole object. The caller closes it.
	Open(ctx context.Context, key string) (io.ReadCloser, error)

	// OpenRange returns a reader for length bytes starting at off (length
	// -1 means to the end). Reading past the end returns what there is.
	OpenRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error)

	// Stat returns the object's size and modification time.
	Stat(ctx context.Context, key string) (Info, error)

	// List calls fn for every object whose key starts with prefix, in
	// lexical key order. If fn returns an error, List stops and returns it.
	List(ctx context.Context, prefix string, fn func(Info) error) error

	// Delete removes the object. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// ValidKey reports whether key is acceptable to every Store.
func ValidKey(key string) error {
	if key == "" || len(key) > 512 || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return errs.Ef(errs.Invalid, "blob", "invalid blob key %q", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, ".") {
			return errs.Ef(errs.Invalid, "blob", "invalid blob key %q", key)
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return errs.Ef(errs.Invalid, "blob", "invalid blob key %q", key)
			}
		}
	}
	return nil
}

// OriginalKey is where the original bytes with this SHA-256 (hex) of this
// customer live. Namespacing by customer lets each have its own key for
// encryption at rest and makes erasure a prefix delete.
func OriginalKey(customerID, sha256hex string) string {
	return "originals/" + customerID + "/" + sha256hex[:2] + "/" + sha256hex
}

// RenditionKey is where a derived image lives: keyed by the content, the
// named size, the rendering engine's version and the output format.
func RenditionKey(customerID, sha256hex, size string, engineVersion int, ext string) string {
	return "renditions/" + customerID + "/" + sha256hex[:2] + "/" + sha256hex + "/" + size + "-v" + itoa(engineVersion) + "." + ext
}

// CustomerPrefix is the prefix of everything stored for a customer, under
// one of the top-level areas ("originals/" or "renditions/").
func CustomerPrefix(area, customerID string) string { return area + "/" + customerID + "/" }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
