package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"tuku/internal/tuku"
)

// Languages and message catalogs.
//
// Every locales/<lang>/*.json file is a flat object of key → message; the
// files of one language are merged (each area owns its own file), and a
// key defined twice is an error at start-up, as is a key present in one
// language and not the other (TestCatalogsComplete). Messages may hold
// fmt verbs filled by T's arguments.
//
// The language of a request is the signed-in user's saved choice, else
// the tuku_lang cookie (set by the switch in the header, for signed-out
// pages), else the best match of Accept-Language, else Chinese: the
// people Tuku is for.

const (
	langZH = "zh-CN"
	langEN = "en"
	// LangCookie remembers the language chosen before signing in.
	LangCookie = "tuku_lang"
)

// languages are the supported languages, the default first.
func languages() []string { return []string{langZH, langEN} }

// catalog is one language's messages.
type catalog map[string]string

// T returns the message of key with args applied; the key itself when the
// catalog lacks it, so a gap shows rather than a blank.
func (c catalog) T(key string, args ...any) string {
	msg, ok := c[key]
	if !ok {
		msg = key
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// loadCatalogs reads locales/<lang>/*.json for every supported language.
func loadCatalogs(fsys fs.FS) (map[string]catalog, error) {
	cats := make(map[string]catalog, len(languages()))
	for _, lang := range languages() {
		dir := path.Join("locales", lang)
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return nil, fmt.Errorf("locales: %w", err)
		}
		cat := catalog{}
		from := map[string]string{}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
				continue
			}
			b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
			if err != nil {
				return nil, err
			}
			var m map[string]string
			if err := json.Unmarshal(b, &m); err != nil {
				return nil, fmt.Errorf("%s/%s: %w", dir, e.Name(), err)
			}
			for k, v := range m {
				if prev, dup := from[k]; dup {
					return nil, fmt.Errorf("%s: key %q is in both %s and %s", dir, k, prev, e.Name())
				}
				from[k] = e.Name()
				cat[k] = v
			}
		}
		cats[lang] = cat
	}
	return cats, nil
}

// missingKeys lists, per language, the keys some other language has and
// it lacks.
func missingKeys(cats map[string]catalog) map[string][]string {
	out := map[string][]string{}
	for _, a := range languages() {
		for _, b := range languages() {
			for k := range cats[b] {
				if _, ok := cats[a][k]; !ok {
					out[a] = append(out[a], k)
				}
			}
		}
		sort.Strings(out[a])
		if len(out[a]) == 0 {
			delete(out, a)
		}
	}
	return out
}

// normLang maps a language tag to a supported language, "" when none fits.
func normLang(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	switch {
	case tag == "":
		return ""
	case tag == "zh" || strings.HasPrefix(tag, "zh-") || strings.HasPrefix(tag, "zh_"):
		// Traditional-script readers read Simplified better than English.
		return langZH
	case tag == "en" || strings.HasPrefix(tag, "en-") || strings.HasPrefix(tag, "en_"):
		return langEN
	}
	return ""
}

// fromAcceptLanguage picks the supported language with the highest q
// value in an Accept-Language header ("" when none is acceptable).
func fromAcceptLanguage(h string) string {
	best, bestQ := "", -1.0
	for part := range strings.SplitSeq(h, ",") {
		tag, params, _ := strings.Cut(part, ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				continue
			}
			q = f
		}
		if l := normLang(tag); l != "" && q > 0 && q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// lang is the language of a request by user u (nil when signed out).
func (s *server) lang(r *http.Request, u *tuku.User) string {
	if u != nil {
		if l := normLang(u.Locale); l != "" {
			return l
		}
	}
	if c, err := r.Cookie(LangCookie); err == nil {
		if l := normLang(c.Value); l != "" {
			return l
		}
	}
	if l := fromAcceptLanguage(r.Header.Get("Accept-Language")); l != "" {
		return l
	}
	return langZH
}

// ---- formatting per language ----

const enMonths = "JanFebMarAprMayJunJulAugSepOctNovDec"

// formatDate: 2026年11月23日 / 23 Nov 2026, in the server's zone (staff
// and server share an office). The zero time is "".
func formatDate(lang string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatDay(lang, t.Local())
}

// formatDay writes t's calendar day as it is, in no other zone.
func formatDay(lang string, t time.Time) string {
	if lang == langZH {
		return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
	}
	return fmt.Sprintf("%d %s %d", t.Day(), enMonths[3*(t.Month()-1):3*t.Month()], t.Year())
}

// formatTaken writes a capture time as the file states it (the camera's
// own clock, not converted to the server's zone): the date in the page's
// language, the time of day with seconds, and the offset from UTC when the
// file gives one (zone is then "UTC+08:00"; "" otherwise). A value that
// is not of the asset JSON's form is returned as it is.
func formatTaken(lang, v string) (when, zone string) {
	if len(v) < 19 {
		return v, ""
	}
	t, err := time.Parse("2006-01-02T15:04:05", v[:19])
	if err != nil {
		return v, ""
	}
	switch off := v[19:]; {
	case off == "":
	case off == "Z":
		zone = "UTC"
	case len(off) == 6 && (off[0] == '+' || off[0] == '-') && off[3] == ':':
		zone = "UTC" + off
	default:
		return v, ""
	}
	return formatDay(lang, t) + " " + t.Format("15:04:05"), zone
}

// formatDateTime adds the time of day (24-hour in both languages).
func formatDateTime(lang string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatDate(lang, t) + " " + t.Local().Format("15:04")
}

// formatNum groups thousands with commas (both languages write 12,345).
func formatNum(_ string, n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatSize writes a byte count in binary units with one decimal:
// "1.5 MB" (the units staff know from their file managers); Chinese says
// 字节 for plain bytes.
func formatSize(lang string, n int64) string {
	if n < 1024 {
		if lang == langZH {
			return strconv.FormatInt(n, 10) + " 字节"
		}
		return strconv.FormatInt(n, 10) + " B"
	}
	units := [...]string{"KB", "MB", "GB", "TB", "PB"}
	v := float64(n)
	i := -1
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v >= 100 {
		return fmt.Sprintf("%.0f %s", v, units[i])
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
