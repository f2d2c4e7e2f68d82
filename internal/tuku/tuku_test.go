package tuku

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestNewIDSortsAndValidates(t *testing.T) {
	prev := ""
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewID()
		if !ValidID(id) {
			t.Fatalf("NewID() = %q, not ValidID", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
		if id[:10] < prev[:min(10, len(prev))] {
			t.Fatalf("ids not time-ordered: %q after %q", id, prev)
		}
		prev = id
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", 26), strings.Repeat("u", 26), "../../../../../etc/passwd0"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestAssetJSONNulls(t *testing.T) {
	b, err := json.Marshal(Asset{ID: "x", Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"project_id", "taken_at", "orientation", "gps", "camera_make", "camera_model"} {
		v, ok := m[k]
		if !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
	if tags, ok := m["tags"].([]any); !ok || len(tags) != 0 {
		t.Errorf("tags = %v, want []", m["tags"])
	}
	six := 6
	b, _ = json.Marshal(Asset{ProjectID: "p", TakenAt: "2005-08-13T09:47:23+03:00", Orientation: &six, GPS: &GPS{Lat: -0.3713, Lon: 36.05641667}, CameraModel: "<b>"})
	s := string(b)
	for _, want := range []string{`"project_id":"p"`, `"taken_at":"2005-08-13T09:47:23+03:00"`, `"orientation":6`, `"gps":{"lat":-0.3713,"lon":36.05641667}`, `"camera_model":"\u003cb\u003e"`} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON %s lacks %s", s, want)
		}
	}
}
