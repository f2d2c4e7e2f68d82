package metatest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// testAssetSort: the capture-time order (newest taken first, upload time
// standing in when unknown, ties by ID) pages without gaps or repeats, and
// its cursors are not mistaken for the upload order's.
func testAssetSort(t *testing.T, s meta.Store) {
	ctx := t.Context()
	c := addCustomer(t, s, "SORT")
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	// name → (taken, created): uploaded in name order, taken in another.
	in := []struct{ name, taken string }{
		{"a", "2020-01-01T10:00:00"},
		{"b", ""}, // unknown: sorts by its upload time, 2025
		{"c", "2023-05-05T08:00:00+08:00"},
		{"d", "2020-01-01T10:00:00"}, // ties with a: the later ID first
		{"e", "2021-07-07T07:07:07"},
	}
	for i, x := range in {
		a := newAsset(c.ID, x.name, x.name)
		a.TakenAt = x.taken
		a.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		a.ID = tuku.NewID()
		time.Sleep(2 * time.Millisecond) // IDs in creation order
		update(t, s, func(tx meta.Tx) error { return tx.InsertAsset(ctx, a) })
	}
	list := func(f meta.AssetFilter) ([]string, string, error) {
		var names []string
		var next string
		err := s.View(ctx, func(tx meta.Tx) error {
			as, n, err := tx.ListAssets(ctx, f)
			for _, a := range as {
				names = append(names, a.Name)
			}
			next = n
			return err
		})
		return names, next, err
	}
	var got []string
	f := meta.AssetFilter{CustomerID: c.ID, Sort: meta.SortTaken, Limit: 2}
	for pages := 0; ; pages++ {
		names, next, err := list(f)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		got = append(got, names...)
		if next == "" || pages > 5 {
			break
		}
		f.Cursor = next
	}
	if want := []string{"b", "c", "e", "d", "a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("taken order %v, want %v", got, want)
	}
	up, next, err := list(meta.AssetFilter{CustomerID: c.ID, Limit: 2})
	if err != nil || !reflect.DeepEqual(up, []string{"e", "d"}) {
		t.Fatalf("upload order first page %v, %v", up, err)
	}
	if _, _, err := list(meta.AssetFilter{CustomerID: c.ID, Sort: meta.SortTaken, Cursor: next}); !errors.Is(err, errs.Invalid) {
		t.Errorf("an upload-order cursor in the taken order: %v, want Invalid", err)
	}
}
