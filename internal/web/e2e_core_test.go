package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"tuku/internal/tuku"
)

// TestBrowserCore: signing in with a password and a TOTP code, the home
// page, the phone layout, and switching the language (remembered on the
// account).
func TestBrowserCore(t *testing.T) {
	e := newBrowserEnv(t)
	const email, pw = "ana@example.com", "correct horse battery"
	e.CreateUser(email, tuku.RoleMember, pw)
	c := e.CreateCustomer("上海明珠贸易", "MZ")
	e.Grant(email, c.ID, "", tuku.LevelEditor)
	secret := e.EnrolMFA(email, pw)

	// Signed out, a page sends the browser to sign in and back.
	e.Visit("/account")
	if loc := e.Location(); !strings.Contains(loc, "/login?next=%2Faccount") {
		t.Fatalf("signed out /account went to %s, want the sign-in page with next", loc)
	}
	e.Shot("sign-in")
	e.Run("password step",
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	)
	if loc := e.Location(); !strings.Contains(loc, "/login/mfa") {
		t.Fatalf("after the password: %s, want /login/mfa", loc)
	}
	e.Shot("mfa-step")

	// A wrong code is refused in plain words, and the form stays.
	e.Run("wrong code",
		chromedp.SendKeys(chromedp.CSS("#code"), "000000"),
		chromedp.Click(chromedp.CSS("#verify")),
		chromedp.WaitVisible(chromedp.CSS("#mfa-error")),
	)
	if got := e.Text("#mfa-error"); !strings.Contains(got, "code is wrong") {
		t.Errorf("wrong-code message = %q", got)
	}
	e.Shot("mfa-wrong-code")

	e.Run("right code",
		chromedp.SendKeys(chromedp.CSS("#code"), NextTOTP(t, secret)),
		chromedp.Click(chromedp.CSS("#verify")),
		chromedp.WaitVisible(chromedp.CSS("#sidenav")),
	)
	if loc := e.Location(); !strings.HasSuffix(loc, "/account") {
		t.Errorf("after the second factor: %s, want back at /account", loc)
	}

	e.Visit("/")
	e.WaitText("h1", "Hello, ana")
	if got := e.Text("#home-customers"); !strings.Contains(got, "上海明珠贸易") {
		t.Errorf("home lists customers %q, want 上海明珠贸易", got)
	}
	if got := e.Text("#recent-empty"); !strings.Contains(got, "No images yet") {
		t.Errorf("empty recent uploads say %q", got)
	}
	e.Shot("home")

	// No horizontal scrolling on a 375 px phone.
	e.Run("phone", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("h1")))
	if w := e.Eval(`String(document.documentElement.scrollWidth)`); w != "375" {
		t.Errorf("page is %s px wide on a 375 px phone", w)
	}
	e.Shot("home-phone")
	e.Run("desktop", chromedp.EmulateViewport(1280, 860), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("h1")))

	// Switch to Chinese: the page, and every page after, speaks Chinese,
	// and the account remembers it.
	e.Run("switch language", chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS("h1")))
	e.WaitText("h1", "您好")
	if lang := e.Eval(`document.documentElement.lang`); lang != "zh-CN" {
		t.Errorf("html lang = %q after switching", lang)
	}
	e.WaitText("#sidenav", "客户")
	e.Shot("home-zh")
	e.Visit("/account")
	e.WaitText("main h1", "我的账户")
	u, err := e.Svc.User(context.Background(), e.Sys, email)
	if err != nil || u.Locale != "zh-CN" {
		t.Errorf("saved locale = %v, %v; want zh-CN", u, err)
	}
	e.Shot("account-zh")

	// A rejected upload is explained in Chinese, with the server's own
	// sentence (which names the file's kind) as a detail.
	pdf := filepath.Join(t.TempDir(), "合同.jpg")
	if err := os.WriteFile(pdf, []byte("%PDF-1.4\n1 0 obj <<>> endobj\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.Visit("/upload?customer=" + c.ID)
	e.Run("upload a PDF", chromedp.SetUploadFiles(chromedp.CSS("#u-files"), []string{pdf}))
	e.WaitText("#u-summary", "未导入 1 个文件")
	rejected := e.Text(`#u-results li[data-status="rejected"]`)
	if !strings.Contains(rejected, "此文件不是图库支持的图片格式") || !strings.Contains(rejected, "PDF") {
		t.Errorf("rejected PDF in Chinese: %q", rejected)
	}
	e.Shot("upload-rejected-zh")
	e.Visit("/account")

	// And back to English.
	e.Run("switch back", chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS("h1")))
	e.WaitText("main h1", "Your account")

	// Signing out ends the session: pages send the browser to sign in.
	e.Run("sign out",
		chromedp.Click(chromedp.CSS(".usermenu summary")),
		chromedp.Click(chromedp.CSS("#sign-out")),
		chromedp.WaitVisible(chromedp.CSS("#email")),
	)
	e.Visit("/")
	if loc := e.Location(); !strings.Contains(loc, "/login") {
		t.Errorf("after signing out / went to %s", loc)
	}
}

// TestBrowserMFAEnrol: a user turns on two-step verification from the
// account page (the QR code is rendered by the server and shown as a
// data: image under the CSP), gets recovery codes, and the next sign-in
// asks for a code — which a recovery code also satisfies.
func TestBrowserMFAEnrol(t *testing.T) {
	e := newBrowserEnv(t)
	const email, pw = "chen@example.com", "another good password"
	e.CreateUser(email, tuku.RoleAdmin, pw)
	e.SignIn(email, pw)

	// The stylesheet and the script loaded under the CSP.
	if got := e.Eval(`typeof window.tuku`); got != "object" {
		t.Errorf("app.js did not run: window.tuku is %s", got)
	}
	if got := e.Eval(`getComputedStyle(document.querySelector(".topbar")).backgroundColor`); got != "rgb(21, 24, 29)" {
		t.Errorf("app.css not applied: header background %s", got)
	}

	e.Visit("/account")
	e.WaitText("#mfa-status", "off")
	e.Run("enrolment page", chromedp.Click(chromedp.CSS(`a[href="/account/mfa"]`)), chromedp.WaitVisible(chromedp.CSS("#mfa-start")))
	e.Run("start enrolment", chromedp.Click(chromedp.CSS("#mfa-start")), chromedp.WaitVisible(chromedp.CSS("#mfa-qr")))
	if w := e.Eval(`String(document.getElementById("mfa-qr").naturalWidth)`); w == "0" {
		t.Errorf("the QR code image did not load")
	}
	e.Shot("mfa-enrol")
	secret := strings.TrimSpace(e.Text("#mfa-secret"))
	if len(secret) < 16 {
		t.Fatalf("secret shown for typing by hand: %q", secret)
	}
	// Reloading the page (a GET) shows the same secret; so does a wrong code.
	e.Visit("/account/mfa")
	if again := strings.TrimSpace(e.Text("#mfa-secret")); again != secret {
		t.Errorf("reloading the page changed the secret: %q, then %q", secret, again)
	}
	e.Run("wrong code", chromedp.SendKeys(chromedp.CSS("#code"), "000000"), chromedp.Click(chromedp.CSS("#confirm")),
		chromedp.WaitVisible(chromedp.CSS("#enrol-error")))
	if again := strings.TrimSpace(e.Text("#mfa-secret")); again != secret {
		t.Errorf("after a wrong code the page shows secret %q, want %q", again, secret)
	}
	if w := e.Eval(`String(document.getElementById("mfa-qr").naturalWidth)`); w == "0" {
		t.Errorf("the QR code is gone after a wrong code")
	}
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.Run("confirm", chromedp.SendKeys(chromedp.CSS("#code"), code), chromedp.Click(chromedp.CSS("#confirm")),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes")))
	codes := strings.Fields(e.Text("#recovery-codes"))
	if len(codes) != 10 {
		t.Fatalf("recovery codes shown: %q, want 10", codes)
	}
	e.Shot("mfa-recovery-codes")
	e.Visit("/account")
	e.WaitText("#mfa-status", "on")
	e.WaitText("#mfa-status", "10 recovery codes left")

	// Next sign-in: password, then a recovery code instead of the app.
	e.SignOut()
	e.Run("password step",
		chromedp.Navigate(e.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("#code")),
		chromedp.SendKeys(chromedp.CSS("#code"), codes[0]),
		chromedp.Click(chromedp.CSS("#verify")),
		chromedp.WaitVisible(chromedp.CSS("#sidenav")),
	)
	e.Visit("/account")
	e.WaitText("#mfa-status", "9 recovery codes left")
}

// TestBrowserPhoneWidth: every main page fits a 375 px phone without
// sideways scrolling, for an administrator (who sees the most).
func TestBrowserPhoneWidth(t *testing.T) {
	e := newBrowserEnv(t)
	const email, pw = "root@example.com", "root password here"
	e.CreateUser(email, tuku.RoleAdmin, pw)
	c := e.CreateCustomer("华东建材", "HDJC")
	e.SignIn(email, pw)
	e.Run("phone", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	for _, path := range []string{"/", "/customers", "/customers/" + c.ID, "/upload", "/search?q=x", "/account",
		"/account/password", "/account/tokens", "/admin/users", "/admin/grants", "/admin/audit", "/admin/settings"} {
		e.Visit(path)
		if w := e.Eval(`String(document.documentElement.scrollWidth)`); w != "375" {
			e.Shot("too-wide-" + path)
			t.Errorf("%s is %s px wide on a 375 px phone", path, w)
		}
	}
	// The menu opens and shows the navigation.
	e.Visit("/")
	e.Run("open menu", chromedp.Click(chromedp.CSS(".nav-toggle")), chromedp.WaitVisible(chromedp.CSS(`#sidenav a[href="/customers"]`)))
	if got := e.Eval(`document.querySelector(".nav-toggle").getAttribute("aria-expanded")`); got != "true" {
		t.Errorf("menu button aria-expanded = %q after opening", got)
	}
	time.Sleep(300 * time.Millisecond) // the slide-in animation
	e.Shot("phone-menu")
}
