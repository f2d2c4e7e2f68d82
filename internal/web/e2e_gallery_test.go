package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"tuku/internal/service"
	"tuku/internal/testenv"
	"tuku/internal/tuku"
)

// TestBrowserGallery: create a customer with a Chinese name; upload a
// JPEG, a HEIC and a text file and see the three results; open the asset
// and edit its tags; find it through the header's search box by a
// two-character Chinese word of its description; bulk-tag two assets; and
// a viewer of customer A sees nothing of customer B anywhere.
func TestBrowserGallery(t *testing.T) {
	corpus := testenv.Corpus(t)
	e := newBrowserEnv(t)
	const admin, viewer, pw = "lin@example.com", "zhou@example.com", "correct horse battery"
	e.CreateUser(admin, tuku.RoleAdmin, pw)
	e.CreateUser(viewer, tuku.RoleMember, pw)
	ctx := context.Background()

	// Files to upload: a JPEG made here, an iPhone HEIC, and a text file.
	dir := t.TempDir()
	jpg := filepath.Join(dir, "客厅.jpg")
	if err := os.WriteFile(jpg, tinyJPEG(t, 7), 0o644); err != nil {
		t.Fatal(err)
	}
	txt := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(txt, []byte("this is not an image\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	heic := filepath.Join(corpus, "heic", "IMG_5195.HEIC")

	e.SignIn(admin, pw)

	// 1. A customer with a Chinese name, through the form.
	e.Visit("/customers")
	e.Run("create customer",
		chromedp.SendKeys(chromedp.CSS("#nc-name"), "华东建材"),
		chromedp.SendKeys(chromedp.CSS("#nc-code"), "HDJC"),
		chromedp.Click(chromedp.CSS("#nc-create")),
		chromedp.WaitVisible(chromedp.CSS("#customer-name")),
	)
	e.WaitText("#customer-name", "华东建材")
	e.Shot("customer-created")
	custA, err := e.Svc.ResolveCustomer(ctx, e.Sys, "HDJC")
	if err != nil {
		t.Fatal(err)
	}

	// 2. Upload three files: two images and one that is not.
	e.Visit("/upload?customer=" + custA.ID)
	e.Run("upload",
		chromedp.SendKeys(chromedp.CSS("#u-description"), "客厅吊灯样品"),
		chromedp.SendKeys(chromedp.CSS("#u-tags"), "样品"),
		chromedp.SetUploadFiles(chromedp.CSS("#u-files"), []string{jpg, heic, txt}),
	)
	e.WaitText("#u-summary", "2 imported, 0 already in Tuku, 1 not imported")
	if got := e.Eval(`Array.from(document.querySelectorAll("#u-results li")).map(function(l){return l.getAttribute("data-status")}).sort().join(",")`); got != "imported,imported,rejected" {
		t.Errorf("upload results %q", got)
	}
	rejected := e.Text(`#u-results li[data-status="rejected"]`)
	if !strings.Contains(rejected, "notes.txt") || !strings.Contains(strings.ToLower(rejected), "not") {
		t.Errorf("rejected row says %q", rejected)
	}
	e.DocShot("upload")

	// The same JPEG again: a duplicate with a link to the existing image.
	e.Run("upload duplicate", chromedp.SetUploadFiles(chromedp.CSS("#u-files"), []string{jpg}))
	e.WaitText("#u-summary", "2 imported, 1 already in Tuku, 1 not imported")
	if href := e.Eval(`document.querySelector('#u-results li[data-status="duplicate"] a').getAttribute("href")`); !strings.HasPrefix(href, "/assets/") {
		t.Errorf("duplicate links to %q", href)
	}

	// 3. Open the HEIC (a real photo, for the README's picture) and edit
	// its tags.
	href := e.Eval(`(function(){var l=Array.from(document.querySelectorAll('#u-results li[data-status="imported"]')).filter(function(l){return l.innerText.indexOf("IMG_5195")>=0})[0];return l?l.querySelector("a").getAttribute("href"):""})()`)
	if !strings.HasPrefix(href, "/assets/") {
		t.Fatalf("no link to the imported HEIC: %q", href)
	}
	e.Visit(href)
	e.Run("open asset", chromedp.WaitVisible(chromedp.CSS("#e-tags")))
	e.Run("edit tags",
		chromedp.SetValue(chromedp.CSS("#e-tags"), "样品, 吊灯, 展厅"),
		chromedp.Click(chromedp.CSS("#e-save")),
		chromedp.WaitVisible(chromedp.CSS(".flash-ok")),
	)
	e.WaitText("#a-tags", "展厅")
	e.DocShot("asset")
	id := strings.TrimPrefix(e.Eval(`location.pathname`), "/assets/")
	a, err := e.Svc.GetAsset(ctx, e.Sys, id)
	if err != nil {
		t.Fatal(err)
	}
	if !a.HasTag("展厅") || !a.HasTag("吊灯") || !a.HasTag("样品") || len(a.Tags) != 3 {
		t.Errorf("tags after the edit: %v", a.Tags)
	}

	// 4. Find it through the header's search box by two characters.
	e.Run("search",
		chromedp.SendKeys(chromedp.CSS(`.topsearch input[name="q"]`), "吊灯\n"),
		chromedp.WaitVisible(chromedp.CSS("#grid")),
	)
	if n := e.Eval(`String(document.querySelectorAll("#grid .g-tile").length)`); n != "2" {
		t.Errorf("search for 吊灯: %s tiles, want 2", n)
	}
	if got := e.Eval(`document.querySelector('#grid .g-tile[data-id="` + id + `"]') ? "yes" : "no"`); got != "yes" {
		t.Errorf("the edited asset is not among the results")
	}
	e.Shot("search-results")

	// Open the first result; → goes to the second, as the gallery showed.
	order := strings.Split(e.Eval(`Array.from(document.querySelectorAll("#grid .g-tile")).map(function(t){return t.getAttribute("data-id")}).join(",")`), ",")
	e.Run("open first result", chromedp.Click(chromedp.CSS("#grid .g-tile:nth-child(1) .g-link")), chromedp.WaitVisible(chromedp.CSS("#a-next")))
	e.Run("next by keyboard", chromedp.KeyEvent(kb.ArrowRight), chromedp.WaitVisible(chromedp.CSS("#a-prev")))
	if loc := e.Location(); len(order) != 2 || !strings.HasSuffix(loc, "/assets/"+order[1]) {
		t.Errorf("after →: %s, want the second result of %v", loc, order)
	}
	e.Visit("/search?q=吊灯")

	// 5. Bulk-tag both: click the first box, shift-click the second.
	e.Run("select two",
		chromedp.Click(chromedp.CSS("#grid .g-tile:nth-child(1) .g-check")),
		chromedp.WaitVisible(chromedp.CSS("#bulkbar")),
		evalVoid(`(function(){var b=document.querySelector("#grid .g-tile:nth-child(2) .g-check");b.dispatchEvent(new MouseEvent("click",{bubbles:true,shiftKey:true}));})()`),
	)
	e.WaitText("#sel-count", "2 selected")
	e.Run("bulk tag",
		chromedp.SendKeys(chromedp.CSS("#bulk-add"), "批量"),
		chromedp.Click(chromedp.CSS("#bulk-add-go")),
	)
	e.WaitText("#bulk-msg", "2 images changed")
	e.Shot("bulk-tagged")
	page, err := e.Svc.ListAssets(ctx, e.Sys, service.AssetQuery{Tag: "批量"})
	if err != nil || len(page.Assets) != 2 {
		t.Fatalf("assets tagged 批量: %v %v", page, err)
	}

	// The customer's gallery, with more images (the README's picture).
	if cams, _ := filepath.Glob(filepath.Join(corpus, "camera", "*.jpg")); len(cams) > 0 {
		for i, f := range cams {
			if i >= 23 {
				break
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			e.Svc.Ingest(ctx, e.Sys, service.IngestRequest{Customer: custA.ID, Filename: filepath.Base(f),
				Body: strings.NewReader(string(b)), Description: "样板间", Source: "upload"}) // some are hostile; fine
		}
	}
	e.Visit("/customers/" + custA.ID)
	e.Run("gallery", chromedp.WaitVisible(chromedp.CSS("#grid")))
	e.Run("thumbnails loaded", evalVoid(`new Promise(function(r){var imgs=Array.from(document.images);var n=0;imgs.forEach(function(i){if(i.complete){n++}else{i.onload=i.onerror=function(){if(++n===imgs.length)r("")}}});if(n===imgs.length)r("")})`))
	e.DocShot("gallery")

	// A 375 px phone: no page scrolls sideways.
	e.Run("phone", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	for _, path := range []string{"/customers/" + custA.ID, "/customers", "/upload", "/search?q=吊灯", "/assets/" + id} {
		e.Visit(path)
		if w := e.Eval(`String(document.documentElement.scrollWidth)`); w != "375" {
			e.Shot("FAILED-phone")
			t.Errorf("%s is %s px wide on a 375 px phone", path, w)
		}
	}
	e.Shot("asset-phone")
	e.Run("desktop", chromedp.EmulateViewport(1280, 860))

	// 6. A viewer of A sees nothing of B anywhere.
	custB := e.CreateCustomer("绝密客户乙", "SECB")
	resB, err := e.Svc.Ingest(ctx, e.Sys, service.IngestRequest{Customer: custB.ID, Filename: "b.jpg",
		Body: strings.NewReader(string(tinyJPEG(t, 99))), Description: "客厅吊灯乙方", Source: "upload"})
	if err != nil {
		t.Fatal(err)
	}
	e.Grant(viewer, custA.ID, "", tuku.LevelViewer)
	e.SignIn(viewer, pw)
	for _, path := range []string{"/", "/customers", "/search?q=" + "吊灯", "/upload"} {
		e.Visit(path)
		body := e.Eval(`document.body.innerText + document.body.innerHTML`)
		if strings.Contains(body, "绝密客户乙") || strings.Contains(body, "SECB") || strings.Contains(body, resB.Asset.ID) || strings.Contains(body, "乙方") {
			e.Shot("FAILED-leak")
			t.Errorf("%s shows something of customer B", path)
		}
	}
	e.Visit("/search?q=吊灯")
	if n := e.Eval(`String(document.querySelectorAll("#grid .g-tile").length)`); n != "2" {
		t.Errorf("viewer's search: %s tiles, want A's 2", n)
	}
	e.Shot("viewer-search")
	for _, path := range []string{"/assets/" + resB.Asset.ID, "/customers/" + custB.ID} {
		e.Visit(path)
		if got := e.Text("main"); !strings.Contains(got, "does not exist, or you do not have access") {
			t.Errorf("%s as viewer of A: %q", path, got)
		}
	}
	e.Shot("viewer-forbidden")
}
