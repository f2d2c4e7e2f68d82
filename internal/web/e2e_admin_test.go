package web_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"tuku/internal/service"
	"tuku/internal/tuku"
)

// TestBrowserAdmin: an administrator invites a colleague, grants it
// viewer access to customer A, changes the naming template, and finds the
// grant in the audit log; the colleague then signs in with the one-time
// password and sees customer A and nothing of customer B.
func TestBrowserAdmin(t *testing.T) {
	e := newBrowserEnv(t)
	const adminEmail, adminPW = "boss@example.com", "admin password 123"
	const viewer = "viewer@example.com"
	e.CreateUser(adminEmail, tuku.RoleAdmin, adminPW)
	a := e.CreateCustomer("客户甲 上海", "CA")
	e.CreateCustomer("客户乙 北京", "CB")

	e.SignIn(adminEmail, adminPW)

	// Invite: the answer shows the one-time password once.
	e.Visit("/admin/users")
	e.Run("invite",
		chromedp.Click(chromedp.CSS("#invite > summary")),
		chromedp.WaitVisible(chromedp.CSS(`#invite-form input[name="email"]`)),
		chromedp.SendKeys(chromedp.CSS(`#invite-form input[name="email"]`), viewer),
		chromedp.SendKeys(chromedp.CSS(`#invite-form input[name="name"]`), "王小明"),
		chromedp.SetValue(chromedp.CSS(`#invite-form select[name="role"]`), "member"),
		chromedp.Click(chromedp.CSS("#invite-submit")),
		chromedp.WaitVisible(chromedp.CSS("#new-password")),
	)
	pw := strings.TrimSpace(e.Text("#new-password"))
	if len(pw) < 10 {
		t.Fatalf("one-time password %q", pw)
	}
	if got := e.Text("#users-table"); !strings.Contains(got, viewer) || !strings.Contains(got, "王小明") {
		t.Errorf("users table lacks the new colleague: %q", got)
	}
	e.Shot("admin-invite")

	// Grant viewer access to customer A.
	e.Visit("/admin/grants")
	e.Run("grant",
		chromedp.SetValue(chromedp.CSS("#grant-user"), viewer),
		chromedp.SetValue(chromedp.CSS("#grant-scope"), a.ID),
		chromedp.SetValue(chromedp.CSS("#grant-level"), "viewer"),
		chromedp.Click(chromedp.CSS("#grant-submit")),
		chromedp.WaitVisible(chromedp.CSS(".flash-ok")),
	)
	e.WaitText("#grants-table", viewer)
	if got := e.Text("#grants-table"); !strings.Contains(got, "客户甲 上海") || !strings.Contains(got, "Viewer") {
		t.Errorf("grants table = %q", got)
	}
	e.Shot("admin-grants")

	// Change the naming template; the page shows an example at once.
	const tmpl = "{customer}-{date:YYYYMMDD}-{seq:03}.{ext}"
	e.Visit("/admin/settings")
	e.Run("settings",
		chromedp.SetValue(chromedp.CSS("#naming-template"), tmpl),
		chromedp.SetValue(chromedp.CSS("#require-mfa"), "all"),
		chromedp.Click(chromedp.CSS("#settings-save")),
		chromedp.WaitVisible(chromedp.CSS(".flash-ok")),
	)
	if got := e.Text("#naming-example"); got != "ACME-20260308-001.jpg" {
		t.Errorf("example name = %q", got)
	}
	info, err := e.Svc.GetSettings(context.Background(), e.Sys)
	if err != nil || info.Current.NamingTemplate != tmpl || info.Current.RequireMFA != "all" {
		t.Fatalf("stored settings: %+v %v", info, err)
	}
	if got := e.Eval(`document.getElementById("require-mfa").value`); got != "all" {
		t.Errorf("the settings page shows require_mfa %q after saving all", got)
	}
	// Back to no second factor, for the sign-ins below.
	if _, err := e.Svc.UpdateSettings(context.Background(), e.Sys, service.Settings{NamingTemplate: tmpl}); err != nil {
		t.Fatal(err)
	}
	e.Shot("admin-settings")

	// On a 375 px phone the tables scroll inside their box, not the page.
	e.Visit("/admin/users")
	e.Run("phone", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#users-table")))
	if w := e.Eval(`String(document.documentElement.scrollWidth)`); w != "375" {
		t.Errorf("users page is %s px wide on a 375 px phone", w)
	}
	e.Shot("admin-users-phone")
	e.Run("desktop", chromedp.EmulateViewport(1280, 860), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#users-table")))

	// The audit log shows the grant.
	e.Visit("/admin/audit?action=grant.")
	e.WaitText("#audit-table", "grant.add")
	if got := e.Text("#audit-table"); !strings.Contains(got, viewer) || !strings.Contains(got, "客户甲 上海") || !strings.Contains(got, adminEmail) {
		t.Errorf("audit table = %q", got)
	}
	e.Shot("admin-audit")

	// The colleague signs in with the one-time password, must choose an
	// own password first, and then sees customer A only.
	e.SignIn(viewer, pw)
	e.Visit("/customers")
	e.WaitText("#password-onetime", "one-time password")
	const own = "wang's own password"
	e.Run("choose own password",
		chromedp.SendKeys(chromedp.CSS(`input[name="current"]`), pw),
		chromedp.SendKeys(chromedp.CSS(`input[name="new"]`), own),
		chromedp.SendKeys(chromedp.CSS(`input[name="confirm"]`), own),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#password-continue")),
	)
	e.Shot("password-changed")
	e.Run("continue", chromedp.Click(chromedp.CSS("#password-continue")), chromedp.WaitVisible(chromedp.CSS("#sidenav")))
	if loc := e.Location(); !strings.HasSuffix(loc, "/customers") {
		t.Errorf("after choosing a password: %s, want /customers", loc)
	}
	e.WaitText("main", "客户甲 上海")
	if got := e.Text("main"); strings.Contains(got, "客户乙") {
		t.Errorf("the viewer of A sees customer B: %q", got)
	}
	// No admin pages for a member.
	e.Visit("/admin/users")
	if got := e.Text("main"); strings.Contains(got, adminEmail) {
		t.Errorf("a member sees the users list")
	}
	if n := e.Eval(`String(document.querySelectorAll('a[href="/admin"]').length)`); n != "0" {
		t.Errorf("a member sees %s admin links", n)
	}
	// The colleague makes an API token of its own from the account page;
	// the secret is shown once and works, read-only.
	e.Visit("/account")
	e.Run("tokens",
		chromedp.Click(chromedp.CSS("#account-tokens")),
		chromedp.WaitVisible(chromedp.CSS("#token-form")),
		chromedp.SendKeys(chromedp.CSS(`#token-form input[name="name"]`), "夜间同步"),
		chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#token-secret")),
	)
	tok := strings.TrimSpace(e.Text("#token-secret"))
	tp, err := e.Svc.Authenticate(context.Background(), tok)
	if err != nil || tp.Email != viewer || !tp.ReadOnly {
		t.Errorf("the token shown: %+v %v", tp, err)
	}
	if got := e.Text("#tokens-table"); !strings.Contains(got, "夜间同步") {
		t.Errorf("tokens table = %q", got)
	}
	e.Shot("tokens")

	// The template is used for the next upload (through the service).
	p := e.Principal(adminEmail)
	res, err := e.Svc.Ingest(context.Background(), p, service.IngestRequest{Customer: a.ID, Filename: "a.jpg", Body: bytes.NewReader(adminJPEG(t))})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Asset.Name, "CA-") || !strings.HasSuffix(res.Asset.Name, "-001.jpg") {
		t.Errorf("uploaded name %q does not follow the new template", res.Asset.Name)
	}
}

// adminJPEG is a small photo-like JPEG.
func adminJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 96; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 3), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
