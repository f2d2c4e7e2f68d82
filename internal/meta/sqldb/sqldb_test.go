package sqldb

import (
	"errors"
	"testing"
	"testing/fstest"
	"time"

	"tuku/internal/errs"
	"tuku/internal/tuku"
)

func TestRebind(t *testing.T) {
	pg := &Dialect{DollarPlaceholders: true}
	lite := &Dialect{}
	tests := []struct{ in, pg string }{
		{`SELECT 1`, `SELECT 1`},
		{`a = ? AND b IN (?, ?)`, `a = $1 AND b IN ($2, $3)`},
		{`x LIKE ? ESCAPE '\' AND y = '?' AND z = ?`, `x LIKE $1 ESCAPE '\' AND y = '?' AND z = $2`},
		{`n = 'it''s ?' OR m = ?`, `n = 'it''s ?' OR m = $1`},
	}
	for _, tc := range tests {
		if got := pg.rebind(tc.in); got != tc.pg {
			t.Errorf("postgres rebind(%q) = %q, want %q", tc.in, got, tc.pg)
		}
		if got := lite.rebind(tc.in); got != tc.in {
			t.Errorf("sqlite rebind(%q) = %q, want it unchanged", tc.in, got)
		}
	}
}

func TestSortTime(t *testing.T) {
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		taken string
		want  time.Time
	}{
		{"2024-03-01T10:00:00", time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)}, // no offset: as if UTC
		{"2024-03-01T10:00:00+08:00", time.Date(2024, 3, 1, 2, 0, 0, 0, time.UTC)},
		{"2024-03-01T10:00:00-05:30", time.Date(2024, 3, 1, 15, 30, 0, 0, time.UTC)},
		{"2024-03-01T10:00:00Z", time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)},
		{"", created},
		{"garbage", created},
		{"2024:03:01 10:00:00", created}, // EXIF form is not the stored form
	}
	for _, tc := range tests {
		if got := SortTime(tc.taken, created); got != tc.want.Unix() {
			t.Errorf("SortTime(%q) = %v, want %v", tc.taken, time.Unix(got, 0).UTC(), tc.want)
		}
	}
}

func TestCursor(t *testing.T) {
	id := tuku.NewID()
	got, err := DecodeCursor(EncodeCursor(id))
	if err != nil || got != id {
		t.Fatalf("cursor round trip: %q, %v; want %q", got, err, id)
	}
	for _, bad := range []string{"", "!!", "a b", EncodeCursor(string(make([]byte, 65)))} {
		if _, err := DecodeCursor(bad); !errors.Is(err, errs.Invalid) {
			t.Errorf("DecodeCursor(%q) = %v, want errs.Invalid", bad, err)
		}
	}
}

func TestLikePattern(t *testing.T) {
	tests := map[string]string{
		"张三":   "%张三%",
		"50%":  `%50\%%`,
		"a_b":  `%a\_b%`,
		`a\b`:  `%a\\b%`,
		"RED ": "%RED %",
	}
	for in, want := range tests {
		if got := likePattern(in); got != want {
			t.Errorf("likePattern(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCleanTags(t *testing.T) {
	in := []tuku.Tag{{Name: " a ", Source: tuku.TagFile}, {Name: "", Source: tuku.TagManual}, {Name: "b"}, {Name: "a", Source: tuku.TagManual}}
	got := cleanTags(in)
	want := []tuku.Tag{{Name: "a", Source: tuku.TagFile}, {Name: "b"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("cleanTags = %+v, want %+v", got, want)
	}
	if in[0].Name != " a " {
		t.Error("cleanTags modified its input's backing array")
	}
}

func TestLoadMigrations(t *testing.T) {
	good := fstest.MapFS{
		"0002_b.sql": {Data: []byte("B")},
		"0001_a.sql": {Data: []byte("A")},
		"README":     {Data: []byte("ignored")},
	}
	ms, err := loadMigrations(good)
	if err != nil || len(ms) != 2 || ms[0].version != 1 || ms[1].sql != "B" {
		t.Fatalf("loadMigrations = %+v, %v", ms, err)
	}
	if v, _ := SchemaVersion(good); v != 2 {
		t.Errorf("SchemaVersion = %d, want 2", v)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"no number": {"init.sql": {}},
		"duplicate": {"0001_a.sql": {}, "01_b.sql": {}},
		"zero":      {"0000_a.sql": {}},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: loadMigrations accepted it", name)
		}
	}
}

func TestTimeRoundTrip(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("CST", 8*3600)),
		time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC),
	} {
		if got := fromNS(toNS(tm)); !got.Equal(tm) || got.Location() != time.UTC {
			t.Errorf("round trip of %v = %v", tm, got)
		}
	}
	if !fromNS(toNS(time.Time{})).IsZero() {
		t.Error("zero time did not round-trip")
	}
}
