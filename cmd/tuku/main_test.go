package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"tuku/internal/app"
	"tuku/internal/testenv"
)

func TestMain(m *testing.M) {
	app.MaybeServeImagingWorker()
	os.Exit(m.Run())
}

// tk runs one tuku command line in-process against env's configuration.
type tk struct {
	t    *testing.T
	args []string // configuration flags
}

func newTK(t *testing.T, cfg ...string) *tk {
	return &tk{t: t, args: append([]string{"--data", t.TempDir()}, cfg...)}
}

func (k *tk) run(args ...string) (stdout, stderr string, code int) {
	k.t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append(append([]string{}, args...), k.args...), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func (k *tk) ok(args ...string) string {
	k.t.Helper()
	out, errs, code := k.run(args...)
	if code != 0 {
		k.t.Fatalf("tuku %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

type line struct {
	Path    string `json:"path"`
	Status  string `json:"status"`
	AssetID string `json:"asset_id"`
	Error   string `json:"error"`
	Code    string `json:"code"`
}

func (k *tk) importJSON(args ...string) ([]line, int) {
	k.t.Helper()
	out, errOut, code := k.run(append([]string{"import", "--json"}, args...)...)
	var ls []line
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var x line
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			k.t.Fatalf("import output line %q: %v (stderr %s)", l, err, errOut)
		}
		ls = append(ls, x)
	}
	return ls, code
}

type assetJSON struct {
	ID               string   `json:"id"`
	CustomerID       string   `json:"customer_id"`
	ProjectID        *string  `json:"project_id"`
	Name             string   `json:"name"`
	OriginalFilename string   `json:"original_filename"`
	MIME             string   `json:"mime"`
	Size             int64    `json:"size"`
	SHA256           string   `json:"sha256"`
	Width            int      `json:"width"`
	Height           int      `json:"height"`
	Orientation      *int     `json:"orientation"`
	TakenAt          *string  `json:"taken_at"`
	GPS              *gpsJSON `json:"gps"`
	CameraMake       *string  `json:"camera_make"`
	CameraModel      *string  `json:"camera_model"`
	Description      string   `json:"description"`
	Tags             []struct {
		Name   string `json:"name"`
		Source string `json:"source"`
	} `json:"tags"`
	Status string `json:"status"`
}

type gpsJSON struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// searchAll lists every asset matching the filters (at most 1000).
func (k *tk) searchAll(filters ...string) map[string]assetJSON {
	k.t.Helper()
	out := map[string]assetJSON{}
	text := k.ok(append([]string{"search", "--json", "--limit", "1000"}, filters...)...)
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if l == "" {
			continue
		}
		var a assetJSON
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			k.t.Fatalf("search output %q: %v", l, err)
		}
		if _, dup := out[a.ID]; dup {
			k.t.Fatalf("search returned %s twice", a.ID)
		}
		out[a.ID] = a
	}
	if len(out) == 1000 {
		k.t.Fatal("1000 assets or more: page through them instead")
	}
	return out
}

func (k *tk) show(id string) assetJSON {
	k.t.Helper()
	var a assetJSON
	if err := json.Unmarshal([]byte(k.ok("asset", "show", id, "--json")), &a); err != nil {
		k.t.Fatal(err)
	}
	return a
}

type expected struct {
	Width    *int     `json:"width"`
	Height   *int     `json:"height"`
	Orient   *int     `json:"orientation"`
	Make     *string  `json:"make"`
	Model    *string  `json:"model"`
	DateTime *string  `json:"datetime_original"`
	Lat      *float64 `json:"gps_lat"`
	Lon      *float64 `json:"gps_lon"`
	MIME     *string  `json:"mime"`
}

func loadExpected(t *testing.T, corpus string) map[string]expected {
	b, err := os.ReadFile(filepath.Join(corpus, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]expected
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// compare returns the differences between an asset and its expected values.
func compare(a assetJSON, e expected) []string {
	var d []string
	str := func(p *string) string {
		if p == nil {
			return "null"
		}
		return *p
	}
	num := func(p *int) string {
		if p == nil {
			return "null"
		}
		return fmt.Sprint(*p)
	}
	if e.Width != nil && a.Width != *e.Width {
		d = append(d, fmt.Sprintf("width %d, want %d", a.Width, *e.Width))
	}
	if e.Height != nil && a.Height != *e.Height {
		d = append(d, fmt.Sprintf("height %d, want %d", a.Height, *e.Height))
	}
	if num(a.Orientation) != num(e.Orient) {
		d = append(d, fmt.Sprintf("orientation %s, want %s", num(a.Orientation), num(e.Orient)))
	}
	if str(a.CameraMake) != str(e.Make) {
		d = append(d, fmt.Sprintf("make %q, want %q", str(a.CameraMake), str(e.Make)))
	}
	if str(a.CameraModel) != str(e.Model) {
		d = append(d, fmt.Sprintf("model %q, want %q", str(a.CameraModel), str(e.Model)))
	}
	if str(a.TakenAt) != str(e.DateTime) {
		d = append(d, fmt.Sprintf("taken_at %s, want %s", str(a.TakenAt), str(e.DateTime)))
	}
	switch {
	case e.Lat == nil && a.GPS != nil:
		d = append(d, fmt.Sprintf("gps %v, want null", *a.GPS))
	case e.Lat != nil && a.GPS == nil:
		d = append(d, fmt.Sprintf("gps null, want %v,%v", *e.Lat, *e.Lon))
	case e.Lat != nil && (math.Abs(a.GPS.Lat-*e.Lat) > 1e-6 || math.Abs(a.GPS.Lon-*e.Lon) > 1e-6):
		d = append(d, fmt.Sprintf("gps %v, want %v,%v", *a.GPS, *e.Lat, *e.Lon))
	}
	if e.MIME != nil && a.MIME != *e.MIME {
		d = append(d, fmt.Sprintf("mime %s, want %s", a.MIME, *e.MIME))
	}
	return d
}

// acceptedAsUnsupported are files of listed formats in a variant Tuku's
// decoder does not handle, where the corpus README allows a clear
// "unsupported" instead of an import.
var acceptedAsUnsupported = map[string]string{
	"edge/testimgari.jpg": "arithmetic-coded JPEG",
	"edge/monkey12.jpg":   "12-bit JPEG",
}

// TestCorpus imports every good corpus file with the CLI and compares each
// asset with the exiftool ground truth of expected.json.
func TestCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("corpus import in -short mode")
	}
	corpus := testenv.Corpus(t)
	exp := loadExpected(t, corpus)
	k := newTK(t)
	k.ok("customer", "add", "语料客户", "--code", "CORPUS")
	var dirs []string
	for _, d := range []string{"camera", "orientation", "heic", "webp", "png", "gif", "edge"} {
		dirs = append(dirs, filepath.Join(corpus, d))
	}
	lines, _ := k.importJSON(append(dirs, "--customer", "CORPUS")...)
	all := k.searchAll("--customer", "CORPUS")
	counts := map[string]int{}
	matched := 0
	for _, l := range lines {
		rel, _ := filepath.Rel(corpus, l.Path)
		rel = filepath.ToSlash(rel)
		counts[l.Status]++
		e, ok := exp[rel]
		if !ok {
			continue // e.g. a README next to the images
		}
		switch l.Status {
		case "rejected":
			if why, ok := acceptedAsUnsupported[rel]; ok && l.Code == "unsupported" {
				t.Logf("%s: unsupported (%s): %s", rel, why, l.Error)
				continue
			}
			t.Errorf("%s rejected (%s): %s", rel, l.Code, l.Error)
			continue
		case "imported", "duplicate":
		default:
			t.Errorf("%s: status %q", rel, l.Status)
			continue
		}
		a, ok := all[l.AssetID]
		if !ok {
			t.Errorf("%s: asset %s not listed by search", rel, l.AssetID)
			continue
		}
		if d := compare(a, e); len(d) > 0 {
			t.Errorf("%s: %s", rel, strings.Join(d, "; "))
		} else {
			matched++
		}
	}
	t.Logf("corpus: %d files, %v, %d match expected.json", len(lines), counts, matched)
	if len(lines) < 130 {
		t.Fatalf("only %d files imported from the corpus", len(lines))
	}

	// Importing the same folders again reads nothing and imports nothing.
	again, code := k.importJSON(append(dirs, "--customer", "CORPUS")...)
	if len(again) != len(lines) {
		t.Fatalf("re-import saw %d files, first import %d", len(again), len(lines))
	}
	for _, l := range again {
		if l.Status == "imported" {
			t.Errorf("re-import imported %s again", l.Path)
		}
	}
	_ = code
}

// TestHostile sends every file of corpus bad/ and broken/ through the CLI
// and checks the outcome the MANIFEST gives.
func TestHostile(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile corpus in -short mode")
	}
	corpus := testenv.Corpus(t)
	var man struct {
		Files []struct {
			File   string `json:"file"`
			Expect struct {
				Action string   `json:"action"`
				MIME   string   `json:"mime"`
				Width  int      `json:"width"`
				Height int      `json:"height"`
				Make   *string  `json:"make"`
				Model  *string  `json:"model"`
				Orient *int     `json:"orientation"`
				Lat    *float64 `json:"gps_lat"`
			} `json:"expect"`
		} `json:"files"`
	}
	b, err := os.ReadFile(filepath.Join(corpus, "bad", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	k := newTK(t)
	k.ok("customer", "add", "Hostile", "--code", "BAD")
	for _, f := range man.Files {
		path := filepath.Join(corpus, "bad", f.File)
		ls, code := k.importJSON(path, "--customer", "BAD")
		if len(ls) != 1 {
			t.Errorf("%s: %d output lines", f.File, len(ls))
			continue
		}
		l := ls[0]
		switch f.Expect.Action {
		case "reject":
			if l.Status != "rejected" || code == 0 {
				t.Errorf("%s: status %s (exit %d), want rejected", f.File, l.Status, code)
			} else if l.Code == "internal" || l.Code == "" || l.Error == "" {
				t.Errorf("%s: rejected without a clear error: %q (%s)", f.File, l.Error, l.Code)
			}
			t.Logf("%s: rejected: %s (%s)", f.File, l.Error, l.Code)
		default:
			if l.Status == "rejected" {
				t.Errorf("%s: rejected (%s), want accepted", f.File, l.Error)
				continue
			}
			a := k.show(l.AssetID)
			if a.MIME != f.Expect.MIME || a.Width != f.Expect.Width || a.Height != f.Expect.Height {
				t.Errorf("%s: %s %dx%d, want %s %dx%d", f.File, a.MIME, a.Width, a.Height, f.Expect.MIME, f.Expect.Width, f.Expect.Height)
			}
			if f.Expect.Make != nil && (a.CameraMake == nil || *a.CameraMake != *f.Expect.Make) {
				t.Errorf("%s: make %v, want %q", f.File, a.CameraMake, *f.Expect.Make)
			}
			if f.Expect.Action == "accept" && f.File == "exif-invalid-values.jpg" && (a.Orientation != nil || a.TakenAt != nil || a.GPS != nil) {
				t.Errorf("%s: invalid values kept: orientation %v taken %v gps %v", f.File, a.Orientation, a.TakenAt, a.GPS)
			}
			if len(a.Description) > 8<<10 {
				t.Errorf("%s: description of %d bytes not capped", f.File, len(a.Description))
			}
		}
	}

	// broken/: rejected with a clear error or accepted; never an internal
	// error, and the decoder pool survives all of them.
	ls, _ := k.importJSON(filepath.Join(corpus, "broken"), "--customer", "BAD")
	counts := map[string]int{}
	for _, l := range ls {
		counts[l.Status+"/"+l.Code]++
		if l.Status == "rejected" && (l.Code == "internal" || l.Error == "") {
			t.Errorf("%s: unclear rejection %q (%s)", filepath.Base(l.Path), l.Error, l.Code)
		}
	}
	t.Logf("broken/: %d files: %v", len(ls), counts)
	if len(ls) < 50 {
		t.Errorf("broken/: only %d files", len(ls))
	}
	// A good file still imports afterwards.
	good := filepath.Join(corpus, "camera", "Canon_40D.jpg")
	if ls, code := k.importJSON(good, "--customer", "BAD"); code != 0 || len(ls) != 1 || ls[0].Status != "imported" {
		t.Errorf("good file after the hostile ones: %+v exit %d", ls, code)
	}
}

// TestCLIRoundTrip covers the register and asset commands on SQLite and
// local disk, and on PostgreSQL and S3 when those are available.
func TestCLIRoundTrip(t *testing.T) {
	t.Run("sqlite+local", func(t *testing.T) { roundTrip(t, newTK(t)) })
	t.Run("postgres+s3", func(t *testing.T) {
		pg := testenv.Postgres(t)
		endpoint, ak, sk := testenv.S3(t)
		t.Setenv("AWS_ACCESS_KEY_ID", ak)
		t.Setenv("AWS_SECRET_ACCESS_KEY", sk)
		bucket := "tuku-cli-" + strings.ToLower(hex.EncodeToString(sha256.New().Sum([]byte(t.Name())))[:12])
		blobs := fmt.Sprintf("s3://%s/data?endpoint=%s&region=us-east-1&secure=false&create_bucket=true", bucket, strings.TrimPrefix(strings.TrimPrefix(endpoint, "http://"), "https://"))
		roundTrip(t, newTK(t, "--db", pg, "--blobs", blobs))
	})
}

func roundTrip(t *testing.T, k *tk) {
	dir := t.TempDir()
	img := writeJPEG(t, dir, "门店照片.jpg", 640, 480)
	var cu struct{ ID, Code, Name string }
	if err := json.Unmarshal([]byte(k.ok("customer", "add", "张三装饰", "--code", "ZS", "--json")), &cu); err != nil {
		t.Fatal(err)
	}
	if cu.Code != "ZS" || cu.Name != "张三装饰" {
		t.Fatalf("customer add: %+v", cu)
	}
	if _, _, code := k.run("customer", "add", "又一个", "--code", "zs"); code == 0 {
		t.Error("a second customer with code zs (case-insensitive duplicate) was accepted")
	}
	k.ok("project", "add", "--customer", "ZS", "二期工地")
	if out := k.ok("customer", "list"); !strings.Contains(out, "张三装饰") {
		t.Errorf("customer list lacks the customer: %s", out)
	}
	ls, code := k.importJSON(img, "--customer", "ZS", "--project", "二期工地", "--tag", "验收", "--tag", "门头", "--description", "门店 照片")
	if code != 0 || len(ls) != 1 || ls[0].Status != "imported" {
		t.Fatalf("import: %+v exit %d", ls, code)
	}
	a := k.show(ls[0].AssetID)
	raw, _ := os.ReadFile(img)
	sum := sha256.Sum256(raw)
	if a.SHA256 != hex.EncodeToString(sum[:]) || a.Size != int64(len(raw)) || a.MIME != "image/jpeg" || a.Width != 640 || a.Height != 480 {
		t.Errorf("asset: %+v", a)
	}
	if a.OriginalFilename != "门店照片.jpg" || a.ProjectID == nil || a.CustomerID != cu.ID {
		t.Errorf("asset names: %+v", a)
	}
	if !strings.HasPrefix(a.Name, "ZS_") || !strings.HasSuffix(a.Name, "_门店-照片_01.jpg") {
		t.Errorf("display name %q does not follow the template", a.Name)
	}
	var tags []string
	for _, tg := range a.Tags {
		tags = append(tags, tg.Name+"/"+tg.Source)
	}
	sort.Strings(tags)
	if strings.Join(tags, ",") != "门头/manual,验收/manual" {
		t.Errorf("tags %v", tags)
	}
	// The original comes back byte for byte; the grid thumbnail is a small JPEG.
	out := filepath.Join(dir, "back.jpg")
	k.ok("asset", "get", a.ID, "-o", out)
	back, _ := os.ReadFile(out)
	if !bytes.Equal(back, raw) {
		t.Error("asset get returned different bytes")
	}
	k.ok("asset", "get", a.ID, "--size", "grid", "-o", out)
	th, _ := os.ReadFile(out)
	if w, h := jpegSize(t, th); w != 400 || h != 300 {
		t.Errorf("grid thumbnail %dx%d, want 400x300", w, h)
	}
	// preview is rendered on first request.
	k.ok("asset", "get", a.ID, "--size", "preview", "-o", out)
	pv, _ := os.ReadFile(out)
	if w, h := jpegSize(t, pv); w != 640 || h != 480 {
		t.Errorf("preview %dx%d, want 640x480 (never enlarged)", w, h)
	}
	// Search by a two-character Chinese word, by tag, by customer.
	for _, q := range [][]string{{"search", "门店", "--json"}, {"search", "--tag", "验收", "--json"}, {"search", "--customer", "ZS", "--json"}} {
		if out := k.ok(q...); !strings.Contains(out, a.ID) {
			t.Errorf("tuku %v did not find the asset: %s", q, out)
		}
	}
	if out := k.ok("search", "不存在的词", "--json"); strings.TrimSpace(out) != "" {
		t.Errorf("search for a missing word found %s", out)
	}
	// The same bytes again are a duplicate, even from another path.
	other := filepath.Join(dir, "copy.jpg")
	os.WriteFile(other, raw, 0o644)
	ls, _ = k.importJSON(other, "--customer", "ZS")
	if len(ls) != 1 || ls[0].Status != "duplicate" || ls[0].AssetID != a.ID {
		t.Errorf("duplicate import: %+v", ls)
	}
	// Unknown customer, missing asset: clear errors, non-zero exit.
	if _, e, code := k.run("import", img, "--customer", "NOPE"); code == 0 || !strings.Contains(e, "customer not found") {
		t.Errorf("unknown customer: exit %d, %q", code, e)
	}
	if _, e, code := k.run("asset", "show", "01aaaaaaaaaaaaaaaaaaaaaaaa"); code == 0 || !strings.Contains(e, "not found") {
		t.Errorf("missing asset: exit %d, %q", code, e)
	}
	// Users and tokens.
	k.ok("user", "add", "--email", "Li@Example.com", "--role", "admin")
	if out := k.ok("user", "list"); !strings.Contains(out, "li@example.com") {
		t.Errorf("user list: %s", out)
	}
	if out := k.ok("token", "create", "--email", "li@example.com"); !strings.HasPrefix(out, "tuku_") {
		t.Errorf("token create printed %q", out)
	}
}
