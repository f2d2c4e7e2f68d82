// Package testenv finds the external things tests need: the shared corpus,
// a PostgreSQL server, an S3-compatible server. Locally a missing one skips
// the test; in CI (TUKU_TEST_REQUIRE=all, or a comma list such as
// "postgres,s3,corpus") it fails the test instead, so nothing silently
// skips there.
package testenv

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Required reports whether the named dependency must be present.
func Required(name string) bool {
	req := os.Getenv("TUKU_TEST_REQUIRE")
	if req == "all" {
		return true
	}
	for _, r := range strings.Split(req, ",") {
		if strings.TrimSpace(r) == name {
			return true
		}
	}
	return false
}

// Missing skips the test, or fails it when name is required.
func Missing(t testing.TB, name, why string) {
	t.Helper()
	if Required(name) {
		t.Fatalf("%s is required (TUKU_TEST_REQUIRE=%s) but unavailable: %s", name, os.Getenv("TUKU_TEST_REQUIRE"), why)
	}
	t.Skipf("%s unavailable: %s", name, why)
}

// RepoRoot returns the module root (the directory holding go.mod).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Corpus returns the path of ../shared/corpus (or $TUKU_CORPUS), skipping
// or failing the test when it is absent.
func Corpus(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("TUKU_CORPUS")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), "..", "shared", "corpus")
	}
	if _, err := os.Stat(filepath.Join(dir, "expected.json")); err != nil {
		Missing(t, "corpus", "no corpus at "+dir)
	}
	return dir
}

// SyncBuffer is a bytes.Buffer that one goroutine may write (a server's
// log, a command's output) while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
