package listquery

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"tuku/internal/errs"
	"tuku/internal/service"
)

func TestParseListQuery(t *testing.T) {
	tests := []struct {
		raw  string
		want service.AssetQuery
		err  bool
	}{
		{"", service.AssetQuery{}, false},
		{"q=%E5%BC%A0%E4%B8%89&customer=ACME&limit=5", service.AssetQuery{Q: "张三", Customer: "ACME", Limit: 5}, false},
		{"q=a+b&tag=x&from=2024-01-01&to=2024-12-31&category=site&status=approved&sensitivity=internal&cursor=abc&project=p",
			service.AssetQuery{Q: "a b", Tag: "x", From: "2024-01-01", To: "2024-12-31", Category: "site", Status: "approved", Sensitivity: "internal", Cursor: "abc", Project: "p"}, false},
		{"colour=red", service.AssetQuery{}, true},
		{"q=a&q=b", service.AssetQuery{}, true},
		{"limit=0", service.AssetQuery{}, true},
		{"limit=1001", service.AssetQuery{}, true},
		{"limit=-1", service.AssetQuery{}, true},
		{"limit=1e3", service.AssetQuery{}, true},
		{"q=%zz", service.AssetQuery{}, true},
		{"q=a;b", service.AssetQuery{}, true}, // Go refuses semicolons
		{"q=%00", service.AssetQuery{}, true},
		{"q=%ff%fe", service.AssetQuery{}, true},
		{"tag=a%0d%0aSet-Cookie:x", service.AssetQuery{}, true},
		{"q=" + strings.Repeat("x", MaxValue+1), service.AssetQuery{}, true},
		{"q=" + strings.Repeat("x", MaxValue), service.AssetQuery{Q: strings.Repeat("x", MaxValue)}, false},
	}
	for _, tt := range tests {
		got, err := Parse(tt.raw)
		if (err != nil) != tt.err {
			t.Errorf("Parse(%.60q): err %v, want error %v", tt.raw, err, tt.err)
			continue
		}
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Errorf("Parse(%.60q): kind %s", tt.raw, errs.KindOf(err))
			}
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%.60q) = %+v, want %+v", tt.raw, got, tt.want)
		}
	}
}

// encodeListQuery is the inverse of Parse, for the fuzzer's
// round trip.
func encodeListQuery(aq service.AssetQuery) string {
	v := url.Values{}
	for k, s := range map[string]string{
		"q": aq.Q, "customer": aq.Customer, "project": aq.Project, "tag": aq.Tag, "from": aq.From, "to": aq.To,
		"category": aq.Category, "status": aq.Status, "sensitivity": aq.Sensitivity, "cursor": aq.Cursor,
	} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if aq.Limit != 0 {
		v.Set("limit", strconv.Itoa(aq.Limit))
	}
	return v.Encode()
}

// FuzzListQuery feeds raw query strings to the asset list parser: it must
// not panic, must refuse with errs.Invalid only, and whatever it accepts
// must be clean (bounded, valid UTF-8, no control characters, limit in
// range) and survive a round trip through url.Values unchanged.
func FuzzListQuery(f *testing.F) {
	f.Add("q=%E5%BC%A0%E4%B8%89&customer=ACME&limit=5")
	f.Add("from=2024-01-01&to=2024-12-31T23:59:59%2B08:00&cursor=abc")
	f.Add("q=a&q=b")
	f.Add("q=%00&tag=%ff")
	f.Fuzz(func(t *testing.T, raw string) {
		aq, err := Parse(raw)
		if err != nil {
			if k := errs.KindOf(err); k != errs.Invalid {
				t.Fatalf("Parse(%q): kind %s (%v)", raw, k, err)
			}
			return
		}
		for _, s := range []string{aq.Q, aq.Customer, aq.Project, aq.Tag, aq.From, aq.To, aq.Category, aq.Status, aq.Sensitivity, aq.Cursor} {
			if len(s) > MaxValue || !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
				t.Fatalf("Parse(%q) accepted the value %q", raw, s)
			}
		}
		if aq.Limit < 0 || aq.Limit > 1000 {
			t.Fatalf("Parse(%q): limit %d", raw, aq.Limit)
		}
		again, err := Parse(encodeListQuery(aq))
		if err != nil || again != aq {
			t.Fatalf("round trip of %q: %+v -> %+v, %v", raw, aq, again, err)
		}
	})
}
