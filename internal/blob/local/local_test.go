package local

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"tuku/internal/blob"
	"tuku/internal/blob/blobtest"
	"tuku/internal/errs"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return newStore(t) })
}

func TestNewCreatesPrivateRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "b")
	s, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("root mode %v, want 0700", fi.Mode().Perm())
	}
	if s.Root() != root {
		t.Errorf("Root() = %q, want %q", s.Root(), root)
	}
	// Opening an existing root again works; a file as root does not.
	if _, err := New(root); err != nil {
		t.Fatalf("New on an existing root: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(file); err == nil {
		t.Fatal("New on a regular file succeeded")
	}
	if _, err := New(""); !errors.Is(err, errs.Invalid) {
		t.Fatalf("New(\"\") = %v, want invalid", err)
	}
}

func TestPathStaysInRoot(t *testing.T) {
	s := newStore(t)
	p, err := s.Path("originals/c1/ab/abcdef")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(s.Root(), "originals", "c1", "ab", "abcdef"); p != want {
		t.Fatalf("Path = %q, want %q", p, want)
	}
	for _, key := range []string{"../etc/passwd", "a/../../b", "/etc/passwd", "..", "a/.."} {
		if p, err := s.Path(key); !errors.Is(err, errs.Invalid) {
			t.Errorf("Path(%q) = %q, %v; want invalid", key, p, err)
		}
	}
}

func TestOpenIsFileAndFilesArePrivate(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if err := s.Put(ctx, "a/b", strings.NewReader("hello"), 5); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(ctx, "a/b")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	f, ok := rc.(*os.File)
	if !ok {
		t.Fatalf("Open returned %T, want *os.File (for sendfile)", rc)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("object mode %v, want 0600", fi.Mode().Perm())
	}
	// A ranged reader hands io.Copy an *io.LimitedReader over the file.
	rr, err := s.OpenRange(ctx, "a/b", 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	if _, ok := rr.(io.WriterTo); !ok {
		t.Fatalf("OpenRange reader %T is not an io.WriterTo", rr)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, rr); err != nil || buf.String() != "ell" {
		t.Fatalf("ranged copy = %q, %v; want \"ell\"", buf.String(), err)
	}
}

func TestPutFileMovesOnSameFileSystem(t *testing.T) {
	s := newStore(t)
	// The source lives under the same parent as the root: same file system.
	src := filepath.Join(filepath.Dir(s.Root()), "upload.tmp")
	if err := os.WriteFile(src, []byte("moved"), 0o644); err != nil {
		t.Fatal(err)
	}
	srcInfo, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutFile(t.Context(), "m/x", src); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Fatalf("source still exists after a same-file-system PutFile: %v", err)
	}
	p, _ := s.Path("m/x")
	dstInfo, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(srcInfo, dstInfo) {
		t.Error("PutFile copied instead of renaming")
	}
	if dstInfo.Mode().Perm() != 0o600 {
		t.Errorf("moved object mode %v, want 0600", dstInfo.Mode().Perm())
	}
}

func TestPutFileSymlinkIsCopied(t *testing.T) {
	s := newStore(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("target bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFile(t.Context(), "l/x", link); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Path("l/x")
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() {
		t.Fatalf("stored object is %v, want a regular file", fi.Mode())
	}
	b, _ := os.ReadFile(p)
	if string(b) != "target bytes" {
		t.Fatalf("stored %q", b)
	}
	if err := s.PutFile(t.Context(), "l/dir", dir); !errors.Is(err, errs.Invalid) {
		t.Fatalf("PutFile of a directory = %v, want invalid", err)
	}
}

// TestPutFileAcrossFileSystems needs a second file system; /dev/shm is one
// on most Linux machines.
func TestPutFileAcrossFileSystems(t *testing.T) {
	s := newStore(t)
	var st1, st2 syscall.Stat_t
	if syscall.Stat(s.Root(), &st1) != nil || syscall.Stat("/dev/shm", &st2) != nil || st1.Dev == st2.Dev {
		t.Skip("no second file system at /dev/shm")
	}
	f, err := os.CreateTemp("/dev/shm", "tuku-blob-test-")
	if err != nil {
		t.Skip("cannot write /dev/shm:", err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	data := blobtest.Data(1, 300_000)
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := s.PutFile(t.Context(), "x/y", f.Name()); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Path("x/y")
	b, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(b, data) {
		t.Fatalf("copied object: %d bytes, %v", len(b), err)
	}
}

func TestListSkipsTempAndForeignFiles(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if err := s.Put(ctx, "d/ok", strings.NewReader("ok"), 2); err != nil {
		t.Fatal(err)
	}
	// Left over by a crash mid-Put, or put there by hand.
	for _, name := range []string{"d/.tmp-123", "d/UPPER", "d/with space"} {
		if err := os.WriteFile(filepath.Join(s.Root(), name), []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(s.Root(), "d", "link")); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := s.List(ctx, "", func(i blob.Info) error { keys = append(keys, i.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"d/ok"}) {
		t.Fatalf("List = %q, want only d/ok", keys)
	}
}

func TestDeletePrunesEmptyDirectories(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	for _, k := range []string{"originals/c1/ab/x", "originals/c1/cd/y", "originals/c2/ef/z"} {
		if err := s.Put(ctx, k, strings.NewReader(k), -1); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"originals/c1/ab/x", "originals/c1/cd/y"} {
		if err := s.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "originals", "c1")); !os.IsNotExist(err) {
		t.Fatalf("customer directory not pruned: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "originals", "c2", "ef", "z")); err != nil {
		t.Fatalf("other customer's object gone: %v", err)
	}
	if _, err := os.Stat(s.Root()); err != nil {
		t.Fatalf("root pruned: %v", err)
	}
}

func TestKeyPrefixClash(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if err := s.Put(ctx, "a/b", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "a", strings.NewReader("x"), 1); !errors.Is(err, errs.Conflict) {
		t.Fatalf("Put over a key prefix = %v, want conflict", err)
	}
	if err := s.Put(ctx, "a/b/c", strings.NewReader("x"), 1); !errors.Is(err, errs.Conflict) {
		t.Fatalf("Put below an object = %v, want conflict", err)
	}
	// Neither attempt left anything behind.
	var keys []string
	if err := s.List(ctx, "", func(i blob.Info) error { keys = append(keys, i.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"a/b"}) {
		t.Fatalf("List = %q", keys)
	}
	entries, _ := os.ReadDir(filepath.Join(s.Root(), "a"))
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

func TestRemoveStaleTemp(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if err := s.Put(ctx, "a/b", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(s.Root(), "a", ".tmp-stale")
	fresh := filepath.Join(s.Root(), "a", ".tmp-fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	n, err := s.RemoveStaleTemp(ctx, time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("RemoveStaleTemp = %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file kept: %v", err)
	}
	for _, p := range []string{fresh, filepath.Join(s.Root(), "a", "b")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}
