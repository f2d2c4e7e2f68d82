package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tuku/internal/testenv"
)

// badManifest is corpus/bad/manifest.json.
type badManifest struct {
	Files []struct {
		File   string `json:"file"`
		Expect struct {
			Action string `json:"action"` // reject, accept, accept_neutralized
			Error  string `json:"error"`
			MIME   string `json:"mime"`
			Width  int    `json:"width"`
			Height int    `json:"height"`
		} `json:"expect"`
		UploadNames []string `json:"upload_names"`
	} `json:"files"`
}

// rejectCode is the error code expected for each kind of rejection the
// manifest names.
func rejectCode(expectErr string) string {
	switch {
	case strings.Contains(expectErr, "corrupt"):
		return "invalid_image"
	case strings.Contains(expectErr, "empty"):
		return "invalid"
	case strings.Contains(expectErr, "exceed"), strings.Contains(expectErr, "too many"):
		return "too_large"
	case strings.Contains(expectErr, "unsupported"):
		return "unsupported"
	}
	return ""
}

// TestCorpusBadUploads sends every hostile file of the corpus through the
// API, under the hostile upload names where the manifest lists them.
func TestCorpusBadUploads(t *testing.T) {
	dir := filepath.Join(testenv.Corpus(t), "bad")
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m badManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Files) < 10 {
		t.Fatalf("manifest lists only %d files", len(m.Files))
	}
	e := newEnv(t)
	e.createCustomer("Hostile", "HOSTILE")
	customers := map[string]bool{}
	imported := 0
	for _, f := range m.Files {
		data, err := os.ReadFile(filepath.Join(dir, f.File))
		if err != nil {
			t.Fatal(err)
		}
		names := f.UploadNames
		if len(names) == 0 {
			names = []string{f.File}
		}
		for i, name := range names {
			// Each hostile name goes to its own customer, so each is a
			// new import whose name is cleaned, not a duplicate.
			cust := "HOSTILE"
			if i > 0 {
				cust = fmt.Sprintf("HOSTILE%d", i)
				if !customers[cust] {
					e.createCustomer(cust, cust)
					customers[cust] = true
				}
			}
			t.Run(f.File+"/"+shortName(name), func(t *testing.T) {
				r := e.upload(text("customer_id", cust), file(name, data))
				switch f.Expect.Action {
				case "reject":
					if r.StatusCode < 400 || r.StatusCode >= 500 {
						t.Fatalf("want a 4xx rejection (%s), got %d: %.300s", f.Expect.Error, r.StatusCode, r.body)
					}
					got := r.apiError(t)
					if want := rejectCode(f.Expect.Error); want != "" && got.Code != want {
						t.Errorf("code %q (%s), want %q for %q", got.Code, got.Message, want, f.Expect.Error)
					}
				case "accept", "accept_neutralized":
					if r.StatusCode != http.StatusCreated && r.StatusCode != http.StatusOK {
						t.Fatalf("want acceptance, got %d: %.300s", r.StatusCode, r.body)
					}
					var u uploadResult
					r.json(t, &u)
					if u.Status == "imported" {
						imported++
					}
					a := u.Asset
					if f.Expect.MIME != "" && a["mime"] != f.Expect.MIME {
						t.Errorf("mime %v, want %s", a["mime"], f.Expect.MIME)
					}
					if f.Expect.Width != 0 && (a["width"] != float64(f.Expect.Width) || a["height"] != float64(f.Expect.Height)) {
						t.Errorf("size %vx%v, want %dx%d", a["width"], a["height"], f.Expect.Width, f.Expect.Height)
					}
					on, _ := a["original_filename"].(string)
					if strings.ContainsAny(on, `/\`) || strings.HasPrefix(on, ".") || len(on) > 255 {
						t.Errorf("original_filename %q is not neutralized", on)
					}
					// The original is served as the detected type, inert.
					orig := e.get("/api/v1/assets/" + a["id"].(string) + "/original")
					if orig.StatusCode != 200 || orig.Header.Get("Content-Type") != a["mime"] ||
						orig.Header.Get("X-Content-Type-Options") != "nosniff" ||
						!strings.HasPrefix(orig.Header.Get("Content-Disposition"), "attachment;") {
						t.Errorf("original: %d %v", orig.StatusCode, orig.Header)
					}
				default:
					t.Fatalf("unknown action %q", f.Expect.Action)
				}
			})
		}
	}
	// Rejected files left no asset behind.
	var page struct{ Assets []map[string]any }
	e.get("/api/v1/assets?limit=1000").json(t, &page)
	if len(page.Assets) != imported {
		t.Errorf("%d assets stored, %d imports answered", len(page.Assets), imported)
	}
	if r := e.get("/healthz"); r.StatusCode != 200 {
		t.Errorf("healthz after the hostile uploads: %d", r.StatusCode)
	}
}

func shortName(s string) string {
	s = strings.NewReplacer("/", "_", `\`, "_").Replace(s)
	if r := []rune(s); len(r) > 24 {
		return string(r[:24])
	}
	return s
}
