package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tuku/internal/errs"
	"tuku/internal/tuku"
)

// Every key exists in both languages, no key is defined twice, and every
// key a template or handler asks for exists.
func TestCatalogsComplete(t *testing.T) {
	cats, err := loadCatalogs(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(cats[langEN]) < 50 || len(cats[langZH]) < 50 {
		t.Fatalf("catalogs too small: en %d, zh-CN %d", len(cats[langEN]), len(cats[langZH]))
	}
	for lang, keys := range missingKeys(cats) {
		t.Errorf("%s lacks %d keys: %s", lang, len(keys), strings.Join(keys, ", "))
	}
	used := map[string]string{}
	tmplKey := regexp.MustCompile(`\bT "([a-z0-9_.-]+)"`)
	goKey := regexp.MustCompile(`\.T\("([a-z0-9_.-]+)"\s*[,)]`)
	collect := func(name string, b []byte) {
		re := tmplKey
		if strings.HasSuffix(name, ".go") {
			re = goKey
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			used[string(m[1])] = name
		}
	}
	err = fs.WalkDir(files, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		collect(p, b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	gos, _ := filepath.Glob("*.go")
	for _, f := range gos {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		collect(f, b)
	}
	for k, where := range used {
		for _, lang := range languages() {
			if _, ok := cats[lang][k]; !ok {
				t.Errorf("%s uses %q, missing from %s", where, k, lang)
			}
		}
	}
	// Role names are looked up by value.
	for _, r := range []tuku.Role{tuku.RoleAdmin, tuku.RoleMember} {
		if _, ok := cats[langZH]["role."+string(r)]; !ok {
			t.Errorf("no message for role %s", r)
		}
	}
}

func TestLanguageChoice(t *testing.T) {
	s := &server{}
	tests := []struct {
		name, locale, cookie, accept, want string
	}{
		{"nothing: Chinese", "", "", "", langZH},
		{"browser English", "", "", "en-US,en;q=0.9", langEN},
		{"browser Chinese", "", "", "zh-CN,zh;q=0.9,en;q=0.8", langZH},
		{"Taiwan reads Simplified", "", "", "zh-TW", langZH},
		{"q values win", "", "", "zh;q=0.3, en;q=0.8", langEN},
		{"unsupported first", "", "", "fr-FR, en;q=0.5", langEN},
		{"nothing supported", "", "", "fr-FR, de", langZH},
		{"q=0 refuses", "", "", "en;q=0, zh;q=0.1", langZH},
		{"cookie over browser", "", "en", "zh-CN", langEN},
		{"bad cookie ignored", "", "xx", "en", langEN},
		{"account over cookie", "zh-CN", "en", "en", langZH},
		{"account English", "en", "", "zh-CN", langEN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.accept != "" {
				r.Header.Set("Accept-Language", tc.accept)
			}
			if tc.cookie != "" {
				r.Header.Set("Cookie", LangCookie+"="+tc.cookie)
			}
			var u *tuku.User
			if tc.locale != "" {
				u = &tuku.User{Locale: tc.locale}
			}
			if got := s.lang(r, u); got != tc.want {
				t.Errorf("lang = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestErrText: a service sentence the catalog knows is shown in the page's
// language; one it does not know is shown as the service wrote it.
func TestErrText(t *testing.T) {
	cats, err := loadCatalogs(files)
	if err != nil {
		t.Fatal(err)
	}
	zh := &pageData{Lang: langZH, cat: cats[langZH]}
	en := &pageData{Lang: langEN, cat: cats[langEN]}
	known := errs.E(errs.Conflict, "user.disable", "the last administrator cannot be disabled", nil)
	unknown := errs.Ef(errs.Invalid, "user.create", "%q is not an email address", "x@")
	for _, tc := range []struct {
		d    *pageData
		err  error
		want string
	}{
		{zh, known, "不能停用最后一位管理员。"},
		{en, known, "The last administrator cannot be disabled."},
		{zh, unknown, `"x@" is not an email address`},
	} {
		if got := tc.d.ErrText(tc.err); got != tc.want {
			t.Errorf("%s ErrText(%v) = %q, want %q", tc.d.Lang, tc.err, got, tc.want)
		}
	}
}

func TestFormatting(t *testing.T) {
	day := time.Date(2026, 3, 7, 9, 5, 0, 0, time.Local)
	tests := []struct {
		name, got, want string
	}{
		{"date zh", formatDate(langZH, day), "2026年3月7日"},
		{"date en", formatDate(langEN, day), "7 Mar 2026"},
		{"datetime en", formatDateTime(langEN, day), "7 Mar 2026 09:05"},
		{"zero date", formatDate(langEN, time.Time{}), ""},
		{"num", formatNum(langEN, 1234567), "1,234,567"},
		{"num small", formatNum(langZH, 999), "999"},
		{"num negative", formatNum(langEN, -12345), "-12,345"},
		{"bytes en", formatSize(langEN, 512), "512 B"},
		{"bytes zh", formatSize(langZH, 512), "512 字节"},
		{"KB", formatSize(langEN, 1536), "1.5 KB"},
		{"MB", formatSize(langEN, 5*1024*1024), "5.0 MB"},
		{"big GB", formatSize(langEN, 300*1024*1024*1024), "300 GB"},
	}
	taken := func(lang, v string) string { w, z := formatTaken(lang, v); return w + "|" + z }
	tests = append(tests, []struct{ name, got, want string }{
		{"taken with offset zh", taken(langZH, "2021-04-11T15:47:53-05:00"), "2021年4月11日 15:47:53|UTC-05:00"},
		{"taken with offset en", taken(langEN, "2024-12-31T23:59:59+08:00"), "31 Dec 2024 23:59:59|UTC+08:00"},
		{"taken without zone", taken(langEN, "2024-03-01T10:00:00"), "1 Mar 2024 10:00:00|"},
		{"taken Z", taken(langEN, "2024-03-01T10:00:00Z"), "1 Mar 2024 10:00:00|UTC"},
		{"taken malformed", taken(langEN, "2024:03:01 10:00"), "2024:03:01 10:00|"},
		{"taken bad offset", taken(langEN, "2024-03-01T10:00:00+8"), "2024-03-01T10:00:00+8|"},
	}...)
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	tests := map[string]string{
		"":                     "/",
		"/customers?q=1":       "/customers?q=1",
		"//evil.example":       "/",
		"/\\evil.example":      "/",
		"https://evil.example": "/",
		"customers":            "/",
		"/assets/abc#x":        "/assets/abc#x",
	}
	for in, want := range tests {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every page template parses with the layout.
func TestTemplatesParse(t *testing.T) {
	set, err := parseTemplates(files)
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"login", "mfa", "mfa-enrol", "password", "account", "home", "error"} {
		if set[page] == nil || set[page].Lookup("content") == nil {
			t.Errorf("page %s missing or without content", page)
		}
	}
}

// No template carries what the CSP blocks: inline scripts, event-handler
// attributes, style attributes or elements, or resources from elsewhere
// (intranets have no internet).
func TestTemplatesNoInline(t *testing.T) {
	bad := []struct {
		re   *regexp.Regexp
		what string
	}{
		{regexp.MustCompile(`<script(\s[^>]*)?>\s*[^<\s]`), "inline script"},
		{regexp.MustCompile(`<script(?:\s[^>]*)?>`), ""}, // checked below for src
		{regexp.MustCompile(`\son[a-z]+\s*=`), "event-handler attribute"},
		{regexp.MustCompile(`\sstyle\s*=`), "style attribute"},
		{regexp.MustCompile(`<style[\s>]`), "style element"},
		{regexp.MustCompile(`(?:src|href|action)\s*=\s*"(?:https?:)?//`), "resource from another site"},
		{regexp.MustCompile(`javascript:`), "javascript: URL"},
	}
	err := fs.WalkDir(files, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		for _, c := range bad {
			for _, m := range c.re.FindAll(b, -1) {
				if c.what == "" {
					if !strings.Contains(string(m), "src=") {
						t.Errorf("%s: script without src: %s", p, m)
					}
					continue
				}
				t.Errorf("%s: %s: %s", p, c.what, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The language switch on a page rendered for a form leads back only to
// something a GET can fetch.
func TestBackPath(t *testing.T) {
	s := &server{mux: http.NewServeMux()}
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	s.mux.Handle("/", h)
	s.mux.Handle("GET /customers", h)
	s.mux.Handle("POST /customers", h)
	s.mux.Handle("POST /admin/users/{id}/{action}", h)
	tests := []struct{ method, target, want string }{
		{"GET", "/customers?q=a%20b", "/customers?q=a%20b"},
		{"GET", "/anything", "/anything"},
		{"POST", "/customers?x=1", "/customers"},
		{"POST", "/admin/users/1/disable", "/"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		if got := s.backPath(r); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.method, tc.target, got, tc.want)
		}
	}
}
