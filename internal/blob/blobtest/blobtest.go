// Package blobtest is the conformance suite for blob.Store: every
// implementation's tests call Run, so all backends keep one contract.
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"tuku/internal/blob"
	"tuku/internal/errs"
)

// BigSize is the size of the "few MB" objects. It is above 5 MiB, the
// smallest S3 multipart part, so a store configured with that part size
// exercises its multipart path too.
const BigSize = 6<<20 + 17

// Run runs the suite. newStore must return an empty store that no other
// test uses; it is called once per subtest.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"SizeHint", testSizeHint},
		{"Replace", testReplace},
		{"PutFile", testPutFile},
		{"OpenRange", testOpenRange},
		{"NotFound", testNotFound},
		{"List", testList},
		{"ListEmpty", testListEmpty},
		{"Delete", testDelete},
		{"InvalidKeys", testInvalidKeys},
		{"ConcurrentPut", testConcurrentPut},
		{"PutDeleteRace", testPutDeleteRace},
		{"FailingReader", testFailingReader},
		{"Cancelled", testCancelled},
		{"KeyHelpers", testKeyHelpers},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// Data returns n deterministic pseudo-random bytes.
func Data(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func put(t *testing.T, s blob.Store, key string, data []byte) {
	t.Helper()
	if err := s.Put(t.Context(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(data), err)
	}
}

func get(t *testing.T, s blob.Store, key string) []byte {
	t.Helper()
	rc, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return b
}

func checkContent(t *testing.T, s blob.Store, key string, want []byte) {
	t.Helper()
	got := get(t, s, key)
	if !bytes.Equal(got, want) {
		t.Fatalf("content of %q: got %d bytes, want %d bytes (equal prefix %d)", key, len(got), len(want), commonPrefix(got, want))
	}
	info, err := s.Stat(t.Context(), key)
	if err != nil {
		t.Fatalf("Stat(%q): %v", key, err)
	}
	if info.Key != key || info.Size != int64(len(want)) {
		t.Fatalf("Stat(%q) = {%q, %d}, want {%q, %d}", key, info.Key, info.Size, key, len(want))
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func wantKind(t *testing.T, what string, err error, kind errs.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, kind)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("%s: error %v (kind %s), want kind %s", what, err, errs.KindOf(err), kind)
	}
}

func listKeys(t *testing.T, s blob.Store, prefix string) ([]string, map[string]int64) {
	t.Helper()
	var keys []string
	sizes := map[string]int64{}
	err := s.List(t.Context(), prefix, func(i blob.Info) error {
		keys = append(keys, i.Key)
		sizes[i.Key] = i.Size
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys, sizes
}

func testRoundTrip(t *testing.T, s blob.Store) {
	before := time.Now().Add(-time.Hour)
	for i, n := range []int{0, 1, 1000, 64 << 10, BigSize} {
		key := fmt.Sprintf("rt/obj-%d.bin", n)
		data := Data(uint64(i), n)
		put(t, s, key, data)
		checkContent(t, s, key, data)
		info, err := s.Stat(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		// A loose bound: a remote server's clock may differ a little.
		if info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(time.Hour)) {
			t.Errorf("Stat(%q).ModTime = %v, want about now", key, info.ModTime)
		}
	}
}

func testSizeHint(t *testing.T, s blob.Store) {
	data := Data(7, 100_000)
	for _, hint := range []int64{-1, 0, 10, 99_999, 100_001, 1 << 30} {
		key := fmt.Sprintf("hint/h%d", hint+1)
		// A reader that is not a *bytes.Reader, so no store can peek its length.
		if err := s.Put(t.Context(), key, io.MultiReader(bytes.NewReader(data)), hint); err != nil {
			t.Fatalf("Put with size hint %d: %v", hint, err)
		}
		checkContent(t, s, key, data)
	}
}

func testReplace(t *testing.T, s blob.Store) {
	v1, v2, v3 := Data(1, 5000), Data(2, 100), Data(3, 0)
	put(t, s, "r/x", v1)
	put(t, s, "r/x", v2)
	checkContent(t, s, "r/x", v2)
	put(t, s, "r/x", v3)
	checkContent(t, s, "r/x", v3)
	put(t, s, "r/x", v1)
	checkContent(t, s, "r/x", v1)
	if keys, _ := listKeys(t, s, "r/"); !slices.Equal(keys, []string{"r/x"}) {
		t.Fatalf("after replacing, List = %q, want one key", keys)
	}
}

func testPutFile(t *testing.T, s blob.Store) {
	dir := t.TempDir()
	for i, n := range []int{0, 12345, BigSize} {
		data := Data(uint64(100+i), n)
		path := filepath.Join(dir, fmt.Sprintf("upload-%d", i))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("pf/file-%d", i)
		if err := s.PutFile(t.Context(), key, path); err != nil {
			t.Fatalf("PutFile(%d bytes): %v", n, err)
		}
		checkContent(t, s, key, data)
		// The store may have moved the file; if it did not, the file is
		// still the caller's and unchanged.
		if b, err := os.ReadFile(path); err == nil && !bytes.Equal(b, data) {
			t.Fatalf("PutFile changed the source file")
		}
	}
	// Replacing with PutFile.
	path := filepath.Join(dir, "again")
	data := Data(200, 777)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFile(t.Context(), "pf/file-1", path); err != nil {
		t.Fatal(err)
	}
	checkContent(t, s, "pf/file-1", data)

	err := s.PutFile(t.Context(), "pf/missing", filepath.Join(dir, "does-not-exist"))
	if err == nil {
		t.Fatal("PutFile of a missing file succeeded")
	}
	_, err = s.Stat(t.Context(), "pf/missing")
	wantKind(t, "Stat after failed PutFile", err, errs.NotFound)
}

func testOpenRange(t *testing.T, s blob.Store) {
	data := Data(9, 1000)
	put(t, s, "range/x", data)
	put(t, s, "range/empty", nil)
	tests := []struct {
		key         string
		off, length int64
		want        []byte
	}{
		{"range/x", 0, 10, data[:10]},
		{"range/x", 0, -1, data},
		{"range/x", 0, 1000, data},
		{"range/x", 0, 0, nil},
		{"range/x", 1, 1, data[1:2]},
		{"range/x", 500, 100, data[500:600]},
		{"range/x", 990, -1, data[990:]},
		{"range/x", 990, 100, data[990:]},
		{"range/x", 999, 1, data[999:]},
		{"range/x", 1000, 10, nil},
		{"range/x", 1000, -1, nil},
		{"range/x", 5000, -1, nil},
		{"range/x", 5000, 10, nil},
		{"range/empty", 0, -1, nil},
		{"range/empty", 0, 10, nil},
		{"range/empty", 3, 10, nil},
	}
	for _, tc := range tests {
		rc, err := s.OpenRange(t.Context(), tc.key, tc.off, tc.length)
		if err != nil {
			t.Fatalf("OpenRange(%q, %d, %d): %v", tc.key, tc.off, tc.length, err)
		}
		got, err := io.ReadAll(rc)
		if cerr := rc.Close(); cerr != nil {
			t.Errorf("Close: %v", cerr)
		}
		if err != nil {
			t.Fatalf("reading range (%q, %d, %d): %v", tc.key, tc.off, tc.length, err)
		}
		if !bytes.Equal(got, tc.want) {
			t.Errorf("OpenRange(%q, %d, %d) = %d bytes, want %d", tc.key, tc.off, tc.length, len(got), len(tc.want))
		}
	}
	// io.Copy (which prefers WriterTo) must honour the range too.
	rc, err := s.OpenRange(t.Context(), "range/x", 100, 50)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if !bytes.Equal(buf.Bytes(), data[100:150]) {
		t.Errorf("io.Copy of range = %d bytes, want 50", buf.Len())
	}

	_, err = s.OpenRange(t.Context(), "range/x", -1, 10)
	wantKind(t, "OpenRange with negative offset", err, errs.Invalid)
	_, err = s.OpenRange(t.Context(), "range/x", 0, -2)
	wantKind(t, "OpenRange with length -2", err, errs.Invalid)
}

func testNotFound(t *testing.T, s blob.Store) {
	ctx := t.Context()
	put(t, s, "nf/dir/x", []byte("x"))
	for _, key := range []string{"nf/missing", "nf/dir", "nf/dir/x/y", "nothing-here"} {
		_, err := s.Open(ctx, key)
		wantKind(t, "Open("+key+")", err, errs.NotFound)
		_, err = s.OpenRange(ctx, key, 0, 10)
		wantKind(t, "OpenRange("+key+")", err, errs.NotFound)
		_, err = s.OpenRange(ctx, key, 5, -1)
		wantKind(t, "OpenRange("+key+", 5, -1)", err, errs.NotFound)
		_, err = s.Stat(ctx, key)
		wantKind(t, "Stat("+key+")", err, errs.NotFound)
	}
}

func testList(t *testing.T, s blob.Store) {
	// Chosen so that '-' and '.' (which sort before '/') and '_' (after it)
	// catch a store that lists directory by directory in the wrong order.
	keys := []string{
		"list/a/b", "list/a-c", "list/a.d", "list/a0", "list/a_e", "list/a/c/d",
		"list/b1", "list/bb/x", "list/c", "list/z/y/x/w", "other/a", "lisu/x",
	}
	for i, k := range keys {
		put(t, s, k, Data(uint64(i), i*10))
	}
	sorted := slices.Clone(keys)
	slices.Sort(sorted)

	tests := []struct {
		prefix string
		want   []string
	}{
		{"", sorted},
		{"list/", filter(sorted, "list/")},
		{"list", filter(sorted, "list")},
		{"list/a", filter(sorted, "list/a")},
		{"list/a/", []string{"list/a/b", "list/a/c/d"}},
		{"list/b", []string{"list/b1", "list/bb/x"}},
		{"list/bb", []string{"list/bb/x"}},
		{"list/c", []string{"list/c"}},
		{"list/z/y/", []string{"list/z/y/x/w"}},
		{"list/q", nil},
		{"nothing/", nil},
		{"list/c/", nil},
	}
	for _, tc := range tests {
		got, sizes := listKeys(t, s, tc.prefix)
		if !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) =\n %q\nwant\n %q", tc.prefix, got, tc.want)
		}
		for k, size := range sizes {
			i := slices.Index(keys, k)
			if i < 0 || size != int64(i*10) {
				t.Errorf("List(%q): %q has size %d, want %d", tc.prefix, k, size, i*10)
			}
		}
	}

	// An error from fn stops the listing and is returned as is.
	stop := errors.New("stop here")
	var seen []string
	err := s.List(t.Context(), "list/", func(i blob.Info) error {
		seen = append(seen, i.Key)
		if len(seen) == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("List with a failing fn returned %v, want the fn's error", err)
	}
	if !slices.Equal(seen, filter(sorted, "list/")[:2]) {
		t.Fatalf("List called fn for %q after stopping", seen)
	}

	err = s.List(t.Context(), "../", func(blob.Info) error { return nil })
	wantKind(t, `List("../")`, err, errs.Invalid)
	err = s.List(t.Context(), "/", func(blob.Info) error { return nil })
	wantKind(t, `List("/")`, err, errs.Invalid)
}

func filter(keys []string, prefix string) []string {
	var out []string
	for _, k := range keys {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			out = append(out, k)
		}
	}
	return out
}

func testListEmpty(t *testing.T, s blob.Store) {
	if keys, _ := listKeys(t, s, ""); len(keys) != 0 {
		t.Fatalf("a new store lists %q", keys)
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := t.Context()
	put(t, s, "del/a/b/c", []byte("abc"))
	put(t, s, "del/a/x", []byte("x"))
	if err := s.Delete(ctx, "del/a/b/c"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := s.Stat(ctx, "del/a/b/c")
	wantKind(t, "Stat after Delete", err, errs.NotFound)
	_, err = s.Open(ctx, "del/a/b/c")
	wantKind(t, "Open after Delete", err, errs.NotFound)
	if keys, _ := listKeys(t, s, "del/"); !slices.Equal(keys, []string{"del/a/x"}) {
		t.Fatalf("List after Delete = %q", keys)
	}
	for _, key := range []string{"del/a/b/c", "del/never", "del/a/x/y", "del/a"} {
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("Delete(%q) of a missing key: %v", key, err)
		}
	}
	checkContent(t, s, "del/a/x", []byte("x"))
	// The key (and its emptied parents) can be used again.
	put(t, s, "del/a/b/c", []byte("again"))
	checkContent(t, s, "del/a/b/c", []byte("again"))
	if err := s.Delete(ctx, "del/a/x"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "del/a/b/c"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := listKeys(t, s, ""); len(keys) != 0 {
		t.Fatalf("after deleting everything, List = %q", keys)
	}
}

func testInvalidKeys(t *testing.T, s blob.Store) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("f"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := []string{
		"", "../x", "a/../../x", "..", ".", "/abs", "a//b", "a/", "A", "a/B", "a/./b",
		".hidden", "a/.tmp-1", "a b", `a\b`, "ü", "a\x00b", "a:b", string(make([]byte, 600)),
	}
	for _, key := range bad {
		wantKind(t, fmt.Sprintf("Put(%q)", key), s.Put(ctx, key, bytes.NewReader([]byte("x")), 1), errs.Invalid)
		wantKind(t, fmt.Sprintf("PutFile(%q)", key), s.PutFile(ctx, key, path), errs.Invalid)
		_, err := s.Open(ctx, key)
		wantKind(t, fmt.Sprintf("Open(%q)", key), err, errs.Invalid)
		_, err = s.OpenRange(ctx, key, 0, 1)
		wantKind(t, fmt.Sprintf("OpenRange(%q)", key), err, errs.Invalid)
		_, err = s.Stat(ctx, key)
		wantKind(t, fmt.Sprintf("Stat(%q)", key), err, errs.Invalid)
		wantKind(t, fmt.Sprintf("Delete(%q)", key), s.Delete(ctx, key), errs.Invalid)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("a rejected PutFile touched the source: %v", err)
	}
	if keys, _ := listKeys(t, s, ""); len(keys) != 0 {
		t.Fatalf("invalid keys left objects behind: %q", keys)
	}
}

// uniform reports whether b is n copies of one byte, returning it.
func uniform(b []byte, n int) (byte, bool) {
	if len(b) != n || n == 0 {
		return 0, false
	}
	for _, c := range b {
		if c != b[0] {
			return 0, false
		}
	}
	return b[0], true
}

func testConcurrentPut(t *testing.T, s blob.Store) {
	const n, size, key = 8, 1 << 20, "conc/same"
	ctx := t.Context()
	put(t, s, key, bytes.Repeat([]byte{0xff}, size))

	var wg sync.WaitGroup
	putErrs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			putErrs <- s.Put(ctx, key, bytes.NewReader(bytes.Repeat([]byte{byte(i)}, size)), size)
		})
	}
	// Meanwhile a reader must only ever see a whole object.
	done := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		defer close(readErr)
		for {
			select {
			case <-done:
				return
			default:
			}
			rc, err := s.Open(ctx, key)
			if err != nil {
				readErr <- fmt.Errorf("Open during concurrent puts: %w", err)
				return
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				readErr <- fmt.Errorf("reading during concurrent puts: %w", err)
				return
			}
			if _, ok := uniform(b, size); !ok {
				readErr <- fmt.Errorf("a reader saw a partial or mixed object (%d bytes)", len(b))
				return
			}
		}
	}()
	wg.Wait()
	close(done)
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	close(putErrs)
	for err := range putErrs {
		if err != nil {
			t.Fatalf("concurrent Put: %v", err)
		}
	}
	c, ok := uniform(get(t, s, key), size)
	if !ok || c >= n {
		t.Fatalf("after concurrent puts the object is not one writer's whole content (byte %#x, ok %v)", c, ok)
	}
	if keys, _ := listKeys(t, s, "conc/"); !slices.Equal(keys, []string{key}) {
		t.Fatalf("List after concurrent puts = %q (temporary files visible?)", keys)
	}
}

// testPutDeleteRace puts and deletes keys sharing parent "directories" from
// several goroutines: a store that prunes empty directories on Delete must
// not make a concurrent Put fail.
func testPutDeleteRace(t *testing.T, s blob.Store) {
	const workers, rounds = 4, 25
	ctx := t.Context()
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				key := fmt.Sprintf("race/a/b/w%d-%d", w, i)
				data := Data(uint64(w*1000+i), 100)
				if err := s.Put(ctx, key, bytes.NewReader(data), 100); err != nil {
					errc <- fmt.Errorf("Put(%q): %w", key, err)
					return
				}
				if err := s.Delete(ctx, key); err != nil {
					errc <- fmt.Errorf("Delete(%q): %w", key, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if keys, _ := listKeys(t, s, "race/"); len(keys) != 0 {
		t.Fatalf("after the race, List = %q", keys)
	}
}

// failingReader returns its data and then err instead of io.EOF.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func testFailingReader(t *testing.T, s blob.Store) {
	ctx := t.Context()
	old := Data(11, 3000)
	put(t, s, "fail/old", old)
	boom := errors.New("upload connection reset")
	for _, n := range []int{0, 100, 100_000, BigSize + 1<<20} {
		for _, hint := range []int64{-1, int64(n) + 10} {
			what := fmt.Sprintf("Put failing after %d bytes with hint %d", n, hint)
			err := s.Put(ctx, "fail/old", &failingReader{data: Data(12, n), err: boom}, hint)
			if !errors.Is(err, boom) {
				t.Fatalf("%s: error %v, want the reader's error", what, err)
			}
			err = s.Put(ctx, "fail/new", &failingReader{data: Data(12, n), err: boom}, hint)
			if !errors.Is(err, boom) {
				t.Fatalf("%s: error %v, want the reader's error", what, err)
			}
			checkContent(t, s, "fail/old", old)
			_, err = s.Stat(ctx, "fail/new")
			wantKind(t, what+": Stat of the new key", err, errs.NotFound)
			_, err = s.Open(ctx, "fail/new")
			wantKind(t, what+": Open of the new key", err, errs.NotFound)
		}
	}
	// A kind in the reader's error survives (e.g. a size limit).
	err := s.Put(ctx, "fail/new", &failingReader{data: Data(13, 10), err: errs.Ef(errs.TooLarge, "limit", "too big")}, -1)
	wantKind(t, "Put with a TooLarge reader", err, errs.TooLarge)
	if keys, _ := listKeys(t, s, "fail/"); !slices.Equal(keys, []string{"fail/old"}) {
		t.Fatalf("List after failed puts = %q", keys)
	}
}

func testCancelled(t *testing.T, s blob.Store) {
	put(t, s, "cancel/old", []byte("old"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Put(ctx, "cancel/new", bytes.NewReader([]byte("new")), 3); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	if err := s.Put(ctx, "cancel/old", bytes.NewReader([]byte("new")), 3); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	if _, err := s.Open(ctx, "cancel/old"); err == nil {
		t.Fatal("Open with a cancelled context succeeded")
	}
	if err := s.List(ctx, "", func(blob.Info) error { return nil }); err == nil {
		t.Fatal("List with a cancelled context succeeded")
	}
	checkContent(t, s, "cancel/old", []byte("old"))
	_, err := s.Stat(t.Context(), "cancel/new")
	wantKind(t, "Stat after a cancelled Put", err, errs.NotFound)
}

func testKeyHelpers(t *testing.T, s blob.Store) {
	const cust = "01jd2k3m4n5p6q7r8s9t0vwxyz"
	sum := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	keys := []string{
		blob.OriginalKey(cust, sum),
		blob.RenditionKey(cust, sum, "grid", 3, "webp"),
		blob.RenditionKey(cust, sum, "preview", 12, "jpg"),
	}
	for _, k := range keys {
		if err := blob.ValidKey(k); err != nil {
			t.Fatalf("helper key %q is invalid: %v", k, err)
		}
		put(t, s, k, []byte(k))
	}
	got, _ := listKeys(t, s, blob.CustomerPrefix("renditions", cust))
	if !slices.Equal(got, []string{keys[1], keys[2]}) {
		t.Fatalf("List(CustomerPrefix) = %q", got)
	}
	checkContent(t, s, keys[0], []byte(keys[0]))
}
