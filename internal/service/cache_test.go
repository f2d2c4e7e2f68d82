package service

import (
	"testing"
	"time"

	"tuku/internal/meta"
	"tuku/internal/tuku"
)

func TestRenditionCache(t *testing.T) {
	c := newRenditionCache(2*time.Second, 4)
	now := time.Unix(1000, 0)
	a := &tuku.Asset{ID: "a1", CustomerID: "c1"}
	c.put(a, &meta.Rendition{AssetID: "a1", Size: "grid", Key: "k"}, now)
	if got, r, ok := c.get("a1", "grid", now.Add(time.Second)); !ok || got != a || r.Key != "k" {
		t.Fatalf("fresh entry: %v %v %v", got, r, ok)
	}
	if _, _, ok := c.get("a1", "preview", now); ok {
		t.Error("other size hit")
	}
	if _, _, ok := c.get("a1", "grid", now.Add(3*time.Second)); ok {
		t.Error("expired entry hit")
	}
	c.forget("a1")
	if _, _, ok := c.get("a1", "grid", now); ok {
		t.Error("forgotten entry hit")
	}
	for i := 0; i < 10; i++ {
		id := string(rune('a' + i))
		c.put(&tuku.Asset{ID: id}, &meta.Rendition{Size: "grid"}, now)
	}
	if len(c.m) > 4 {
		t.Errorf("cache grew to %d entries, max 4", len(c.m))
	}
	var off *renditionCache
	if _, _, ok := off.get("a1", "grid", now); ok {
		t.Error("nil cache hit")
	}
}
