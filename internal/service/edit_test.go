package service

import (
	"reflect"
	"testing"
	"time"

	"tuku/internal/meta"
	"tuku/internal/tuku"
)

func TestZipNames(t *testing.T) {
	as := []tuku.Asset{
		{ID: "1", Name: "HD_20250101_灯_01.jpg"},
		{ID: "2", Name: "HD_20250101_灯_01.jpg"},
		{ID: "3", Name: "hd_20250101_灯_01.JPG"}, // same name but for case: unzip on Windows would clash
		{ID: "4", Name: "", OriginalFilename: "../../etc/passwd"},
		{ID: "5", Name: "noext"},
		{ID: "6", Name: "noext"},
	}
	want := []string{"HD_20250101_灯_01.jpg", "HD_20250101_灯_01 (2).jpg", "hd_20250101_灯_01 (3).JPG", "passwd", "noext", "noext (2)"}
	if got := zipNames(as); !reflect.DeepEqual(got, want) {
		t.Errorf("zipNames = %q, want %q", got, want)
	}
}

func TestForgetAssets(t *testing.T) {
	s := &Service{cache: newRenditionCache(time.Minute, 100)}
	now := time.Now()
	for _, id := range []string{"a", "b"} {
		for _, size := range []string{"grid", "preview"} {
			s.cache.put(&tuku.Asset{ID: id}, &meta.Rendition{AssetID: id, Size: size}, now)
		}
	}
	s.forgetAssets([]string{"a"})
	if _, _, ok := s.cache.get("a", "grid", now); ok {
		t.Error("a/grid still cached")
	}
	if _, _, ok := s.cache.get("a", "preview", now); ok {
		t.Error("a/preview still cached")
	}
	if _, _, ok := s.cache.get("b", "grid", now); !ok {
		t.Error("b/grid was dropped too")
	}
}

func TestPrepareChange(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name string
		c    AssetChange
		ok   bool
	}{
		{"nothing", AssetChange{}, false},
		{"description", AssetChange{Description: str("x")}, true},
		{"clear category", AssetChange{Category: str("")}, true},
		{"bad category", AssetChange{Category: str("cats")}, false},
		{"bad sensitivity", AssetChange{Sensitivity: str("")}, false},
		{"too many tags", AssetChange{AddTags: manyTags(101)}, false},
		{"tags", AssetChange{Tags: &[]string{"a, b", "b"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc, err := prepareChange("test", tt.c)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			if tt.name == "tags" && !reflect.DeepEqual(pc.tags, []string{"a", "b"}) {
				t.Errorf("tags %q", pc.tags)
			}
		})
	}
}

func manyTags(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "t" + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	return out
}
