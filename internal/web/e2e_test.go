package web_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"tuku/internal/app"
	"tuku/internal/authz"
	"tuku/internal/httpapi"
	"tuku/internal/service"
	"tuku/internal/testenv"
	"tuku/internal/tuku"
)

// The browser test harness: a real Tuku (app.Open on a fresh SQLite data
// directory, real libvips workers) served on loopback, driven by Debian's
// headless Chromium through chromedp. Each area's steps live in their own
// file (e2e_gallery_test.go, e2e_admin_test.go) and use browserEnv.
//
// Screenshots: every Shot is saved as NN-name.png under
// $TUKU_SCREENSHOTS/<test name> when that is set, else under the test's
// artifact directory (go test -artifacts keeps it); a failed step saves
// one first. DocShot also writes doc/screenshots/<name>.png when
// TUKU_UPDATE_SCREENSHOTS=1 (the README's pictures).

func TestMain(m *testing.M) {
	// The imaging engine re-executes the test binary as its worker.
	app.MaybeServeImagingWorker()
	os.Exit(m.Run())
}

// chromiumPath finds the browser, "" when it is not installed.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserEnv is one running Tuku and one browser tab on it.
type browserEnv struct {
	t   *testing.T
	URL string           // the server's base URL, http://127.0.0.1:port
	App *app.App         // the application under test
	Svc *service.Service // for setting up data as the system principal
	Ctx context.Context  // the chromedp tab (cancelled at cleanup)
	// Sys is the principal set-up calls act as.
	Sys *authz.Principal

	mu       sync.Mutex
	shots    string
	n        int
	problems []string // script errors and CSP violations seen
}

// newBrowserEnv starts Tuku and Chromium for t. Without Chromium the test
// skips (fails in CI, which sets TUKU_TEST_REQUIRE=all).
func newBrowserEnv(t *testing.T) *browserEnv {
	t.Helper()
	chrome := chromiumPath()
	if chrome == "" {
		testenv.Missing(t, "chromium", "Debian package chromium (scripts/deps.sh test)")
		return nil
	}
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{
		Data:           t.TempDir(),
		Log:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		RateLimits:     httpapi.NoRateLimits(),
		ImagingWorkers: 2,
		JobWorkers:     1,
	})
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	// The server is what `tuku serve` runs (app.Serve: the handler, the job
	// runner, graceful shutdown) on a loopback port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- a.Serve(sctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		a.Close()
	})
	baseURL := "http://" + ln.Addr().String()

	shots := os.Getenv("TUKU_SCREENSHOTS")
	if shots != "" {
		shots = filepath.Join(shots, safeName(t.Name()))
	} else {
		shots = t.ArtifactDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.Flag("accept-lang", "en-US,en"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	// Script errors and CSP violations on any page fail the test: the CSP
	// blocks inline code silently otherwise, and a page would just not
	// work.
	e := &browserEnv{t: t, URL: baseURL, App: a, Svc: a.Service, Sys: &authz.System, shots: shots}
	bctx, cancelTab := chromedp.NewContext(actx, chromedp.WithListener(e.watch))
	// The whole browser session may take this long at most.
	tctx, cancelTimeout := context.WithTimeout(bctx, 8*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(tctx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	e.Ctx = tctx
	// Runs before the browser closes (cleanups run last-in first-out).
	t.Cleanup(func() {
		e.mu.Lock()
		problems := e.problems
		e.mu.Unlock()
		for _, p := range problems {
			t.Errorf("in the browser: %s", p)
		}
		if t.Failed() {
			e.Shot("FAILED-end")
		}
	})
	return e
}

// watch records script errors and CSP violations reported by the page.
// It runs on chromedp's event goroutine: it must not block or call back.
func (e *browserEnv) watch(ev any) {
	var p string
	switch ev := ev.(type) {
	case *cdpruntime.EventExceptionThrown:
		if d := ev.ExceptionDetails; d != nil {
			p = "script error: " + d.Text
			if d.Exception != nil {
				p += " " + d.Exception.Description
			}
			if d.URL != "" {
				p += " at " + d.URL
			}
		}
	case *cdplog.EventEntryAdded:
		if ev.Entry != nil && strings.Contains(ev.Entry.Text, "Content Security Policy") {
			p = "CSP violation: " + ev.Entry.Text
		}
	}
	if p != "" {
		e.mu.Lock()
		e.problems = append(e.problems, p)
		e.mu.Unlock()
	}
}

func safeName(s string) string {
	return regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(s, "_")
}

// Shot saves a full-page screenshot named NN-name.png and returns its path.
func (e *browserEnv) Shot(name string) string {
	e.t.Helper()
	e.mu.Lock()
	e.n++
	n := e.n
	e.mu.Unlock()
	b, err := chromedp.Run(e.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		e.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	p := filepath.Join(e.shots, twoDigits(n)+"-"+safeName(name)+".png")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		e.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	return p
}

func twoDigits(n int) string {
	s := "0" + itoa(n)
	return s[len(s)-2:]
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// DocShot is Shot, and with TUKU_UPDATE_SCREENSHOTS=1 also writes
// doc/screenshots/<name>.png for the README.
func (e *browserEnv) DocShot(name string) {
	e.t.Helper()
	p := e.Shot(name)
	if p == "" || os.Getenv("TUKU_UPDATE_SCREENSHOTS") != "1" {
		return
	}
	b, err := os.ReadFile(p)
	if err != nil {
		e.t.Fatal(err)
	}
	dir := filepath.Join(testenv.RepoRoot(), "doc", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, safeName(name)+".png"), b, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// Run runs browser steps; on failure it saves a screenshot and fails the
// test with what went wrong.
func (e *browserEnv) Run(what string, steps ...chromedp.Action[chromedp.Void]) {
	e.t.Helper()
	if err := chromedp.Do(e.Ctx, steps...); err != nil {
		e.Shot("FAILED-" + what)
		e.t.Fatalf("%s: %v", what, err)
	}
}

// Visit opens path (e.g. "/customers") and waits for the page's main.
func (e *browserEnv) Visit(path string) {
	e.t.Helper()
	e.Run("visit "+path, chromedp.Navigate(e.URL+path), chromedp.WaitReady(chromedp.CSS("main")))
}

// Text returns the visible text of the first element matching a CSS
// selector (waiting for it to appear).
func (e *browserEnv) Text(css string) string {
	e.t.Helper()
	s, err := chromedp.Run(e.Ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		e.Shot("FAILED-text")
		e.t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

// Eval runs JavaScript in the page and returns its string result.
func (e *browserEnv) Eval(js string) string {
	e.t.Helper()
	s, err := chromedp.Run(e.Ctx, chromedp.Evaluate[string](js))
	if err != nil {
		e.Shot("FAILED-eval")
		e.t.Fatalf("eval %q: %v", js, err)
	}
	return s
}

// Location is the tab's current URL.
func (e *browserEnv) Location() string {
	e.t.Helper()
	s, err := chromedp.Run(e.Ctx, chromedp.Location())
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// WaitText waits until the element matching css contains want (up to
// 15 s), and fails with a screenshot otherwise.
func (e *browserEnv) WaitText(css, want string) {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		s, err := chromedp.Run(e.Ctx, chromedp.Evaluate[string](
			`(function(){var n=document.querySelector(`+jsString(css)+`);return n?n.innerText:""})()`))
		if err == nil && strings.Contains(s, want) {
			return
		}
		last = s
		time.Sleep(100 * time.Millisecond)
	}
	e.Shot("FAILED-wait-text")
	e.t.Fatalf("%s: want text %q, have %q", css, want, last)
}

// jsString quotes s for JavaScript.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "<", `\x3c`)
	return `"` + r.Replace(s) + `"`
}

// ---- set-up through the service ----

// CreateUser makes an account with a password (role "admin" or "member").
func (e *browserEnv) CreateUser(email string, role tuku.Role, password string) *tuku.User {
	e.t.Helper()
	u, _, err := e.Svc.CreateUser(context.Background(), e.Sys, service.NewUser{
		Email: email, DisplayName: strings.Split(email, "@")[0], Role: role, Password: password})
	if err != nil {
		e.t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// CreateCustomer adds a customer (code may be "").
func (e *browserEnv) CreateCustomer(name, code string) *tuku.Customer {
	e.t.Helper()
	c, err := e.Svc.CreateCustomer(context.Background(), e.Sys, service.NewCustomer{Name: name, Code: code})
	if err != nil {
		e.t.Fatalf("create customer %s: %v", name, err)
	}
	return c
}

// Grant gives user email a level on a customer (and optionally one of its
// projects, "" for the whole customer).
func (e *browserEnv) Grant(email, customer, project string, level tuku.Level) {
	e.t.Helper()
	if _, err := e.Svc.GrantAccess(context.Background(), e.Sys, email, customer, project, level, false); err != nil {
		e.t.Fatalf("grant %s on %s: %v", email, customer, err)
	}
}

// Principal returns the principal of user email, for set-up calls made as
// that user.
func (e *browserEnv) Principal(email string) *authz.Principal {
	e.t.Helper()
	p, err := e.Svc.PrincipalFor(context.Background(), email)
	if err != nil {
		e.t.Fatalf("principal %s: %v", email, err)
	}
	return p
}

// EnrolMFA turns on TOTP for a user through the service (a session of its
// own) and returns the TOTP secret.
func (e *browserEnv) EnrolMFA(email, password string) string {
	e.t.Helper()
	ctx, c := context.Background(), service.Client{IP: "127.0.0.1", UserAgent: "test"}
	secret, _, err := e.Svc.Login(ctx, email, password, c)
	if err != nil {
		e.t.Fatalf("login %s: %v", email, err)
	}
	en, err := e.Svc.EnrolMFA(ctx, secret, c)
	if err != nil {
		e.t.Fatalf("enrol %s: %v", email, err)
	}
	code, err := totp.GenerateCode(en.Secret, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if _, _, err := e.Svc.ConfirmMFA(ctx, secret, code, c); err != nil {
		e.t.Fatalf("confirm MFA %s: %v", email, err)
	}
	return en.Secret
}

// NextTOTP is a code for secret that the server has not seen yet: the
// next 30-second step's (the server accepts one step of skew and refuses
// a step at or before the last one used).
func NextTOTP(t *testing.T, secret string) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// SignIn signs in through the form as a user without MFA and waits for
// the home page.
func (e *browserEnv) SignIn(email, password string) {
	e.t.Helper()
	e.SignOut()
	e.Run("sign in "+email,
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("#sidenav")),
	)
}

// SignOut ends the browser's session, if any (the cookie is removed by
// the server's answer).
func (e *browserEnv) SignOut() {
	e.t.Helper()
	e.Run("sign out",
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitReady(chromedp.CSS("main")),
		evalVoid(`fetch("/logout",{method:"POST"}).then(function(){return 1})`),
	)
}

// evalVoid runs JavaScript (awaiting a promise) as a step whose result is
// not needed.
func evalVoid(js string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[any](js, chromedp.EvalAwaitPromise)(ctx, t)
		return chromedp.Void{}, err
	}
}
