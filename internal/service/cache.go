package service

import (
	"sync"
	"time"

	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// renditionCache remembers, for a short time, which asset a rendition
// belongs to and where its bytes are, so that a gallery's thumbnails are
// served without a database round trip each. Permission is still checked
// on every request against the cached asset; an entry lives at most ttl,
// so a change made by another process (a trashed asset, a new sensitivity)
// takes effect within ttl, and changes made through this service drop the
// entry at once (forget).
type renditionCache struct {
	mu  sync.Mutex
	ttl time.Duration
	max int
	m   map[cacheKey]cacheEntry
}

type cacheKey struct{ id, size string }

type cacheEntry struct {
	asset   *tuku.Asset // shared and read-only
	r       *meta.Rendition
	expires time.Time
}

func newRenditionCache(ttl time.Duration, max int) *renditionCache {
	return &renditionCache{ttl: ttl, max: max, m: make(map[cacheKey]cacheEntry)}
}

func (c *renditionCache) get(id, size string, now time.Time) (*tuku.Asset, *meta.Rendition, bool) {
	if c == nil || c.ttl <= 0 {
		return nil, nil, false
	}
	c.mu.Lock()
	e, ok := c.m[cacheKey{id, size}]
	c.mu.Unlock()
	if !ok || now.After(e.expires) {
		return nil, nil, false
	}
	return e.asset, e.r, true
}

func (c *renditionCache) put(a *tuku.Asset, r *meta.Rendition, now time.Time) {
	if c == nil || c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		// Drop expired entries; if none, drop an arbitrary tenth. Cheap,
		// and a miss only costs one query.
		n, drop := 0, max(1, c.max/10)
		for k, e := range c.m {
			if now.After(e.expires) || n < drop {
				delete(c.m, k)
				n++
			}
		}
	}
	c.m[cacheKey{a.ID, r.Size}] = cacheEntry{asset: a, r: r, expires: now.Add(c.ttl)}
}

// forget drops every entry of an asset.
func (c *renditionCache) forget(id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if k.id == id {
			delete(c.m, k)
		}
	}
}
