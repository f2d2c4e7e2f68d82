package service

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"tuku/internal/errs"
)

func TestNamer(t *testing.T) {
	day := time.Date(2024, 3, 9, 14, 5, 6, 0, time.UTC)
	cases := []struct {
		tmpl string
		in   NameInput
		seq  int
		want string
	}{
		{DefaultNamingTemplate, NameInput{CustomerCode: "ACME", Date: day, Desc: "门店 照片", Ext: "jpg"}, 3, "ACME_20240309_门店-照片_03.jpg"},
		{DefaultNamingTemplate, NameInput{CustomerName: "张三", Date: day, Category: "receipt", Ext: "png"}, 12, "张三_20240309_receipt_12.png"},
		{DefaultNamingTemplate, NameInput{CustomerCode: "X", Date: day, Ext: "heic"}, 1, "X_20240309_image_01.heic"},
		{DefaultNamingTemplate, NameInput{CustomerCode: "X", Date: day, Desc: "../../etc/passwd", Ext: "jpg"}, 1, "X_20240309_etc-passwd_01.jpg"},
		{"{customer_name}-{date:YYYY-MM-DD_HHmmss}-{seq}.{ext}", NameInput{CustomerName: "李四", Date: day, Ext: "webp"}, 7, "李四-2024-03-09-140506-7.webp"},
		{"{project} {orig}.{ext}", NameInput{Project: "二期 工地", Orig: "IMG_0001", Ext: "jpg"}, 0, "二期-工地 IMG-0001.jpg"},
	}
	for _, c := range cases {
		n, err := ParseNamingTemplate(c.tmpl)
		if err != nil {
			t.Fatalf("%q: %v", c.tmpl, err)
		}
		if got := n.Name(c.in, c.seq); got != c.want {
			t.Errorf("%q with %+v seq %d = %q, want %q", c.tmpl, c.in, c.seq, got, c.want)
		}
	}
}

func TestNamerSeqKey(t *testing.T) {
	n, _ := ParseNamingTemplate(DefaultNamingTemplate)
	d1 := time.Date(2024, 3, 9, 10, 0, 0, 0, time.UTC)
	a := n.SeqKey("c1", NameInput{CustomerCode: "A", Date: d1, Desc: "x", Ext: "jpg"})
	b := n.SeqKey("c1", NameInput{CustomerCode: "A", Date: d1.Add(3 * time.Hour), Desc: "x", Ext: "jpg"})
	if a != b {
		t.Errorf("same day and description should share a sequence: %q vs %q", a, b)
	}
	for _, other := range []NameInput{
		{CustomerCode: "A", Date: d1.AddDate(0, 0, 1), Desc: "x", Ext: "jpg"},
		{CustomerCode: "A", Date: d1, Desc: "y", Ext: "jpg"},
	} {
		if n.SeqKey("c1", other) == a {
			t.Errorf("%+v should not share the sequence of %q", other, a)
		}
	}
	if n.SeqKey("c2", NameInput{CustomerCode: "A", Date: d1, Desc: "x", Ext: "jpg"}) == a {
		t.Error("sequences must be per customer")
	}
}

func TestParseNamingTemplateErrors(t *testing.T) {
	for _, tmpl := range []string{"{customer", "{nope}", "{seq:x}", "{project}/{seq}", `a\{seq}`} {
		if _, err := ParseNamingTemplate(tmpl); errs.KindOf(err) != errs.Invalid {
			t.Errorf("ParseNamingTemplate(%q) error = %v, want invalid", tmpl, err)
		}
	}
}

func TestCleanFilename(t *testing.T) {
	long := "IMG_" + strings.Repeat("A", 1016) + ".jpg"
	zh := strings.Repeat("照片", 100) + ".jpg"
	cases := []struct{ in, want string }{
		{"../../../../../../etc/passwd", "passwd"},
		{`..\..\..\windows\win.ini`, "win.ini"},
		{"/etc/cron.d/evil.jpg", "evil.jpg"},
		{"photos/../../../../tmp/evil.jpg", "evil.jpg"},
		{"..%2F..%2F..%2Ftmp%2Fevil.jpg", "evil.jpg"},
		{"....//....//evil.jpg", "evil.jpg"},
		{`C:\evil.jpg`, "evil.jpg"},
		{"C:evil.jpg", "evil.jpg"},
		{"gift\u202egpj.exe", "giftgpj.exe"},
		{"a\x00b\nc.jpg", "abc.jpg"},
		{"CON.jpg", "_CON.jpg"},
		{"e\u0301te\u0301.jpg", "été.jpg"},
		{"...", ""},
		{"客户 张三.HEIC", "客户 张三.HEIC"},
	}
	for _, c := range cases {
		if got := CleanFilename(c.in); got != c.want {
			t.Errorf("CleanFilename(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, in := range []string{long, zh} {
		got := CleanFilename(in)
		if len(got) > MaxFilenameBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, ".jpg") {
			t.Errorf("CleanFilename(long %d bytes) = %d bytes, valid %v, %q", len(in), len(got), utf8.ValidString(got), got[len(got)-8:])
		}
	}
}

func FuzzCleanFilename(f *testing.F) {
	for _, s := range []string{"../../etc/passwd", "照片.jpg", "a%2fb", "C:\\x", "\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := CleanFilename(s)
		if len(got) > MaxFilenameBytes || !utf8.ValidString(got) || strings.ContainsAny(got, "/\\\x00") || got == "." || got == ".." {
			t.Fatalf("CleanFilename(%q) = %q", s, got)
		}
		if CleanFilename(got) != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, got, CleanFilename(got))
		}
	})
}
