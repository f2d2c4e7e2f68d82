package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"strings"
	"testing"

	"tuku/internal/app"
	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/imaging"
	"tuku/internal/service"
	"tuku/internal/testenv"
	"tuku/internal/tuku"
)

// eachDB runs fn on SQLite and on PostgreSQL (db "" and a server URL).
// testenv.Postgres skips the PostgreSQL case when no server is set (and
// fails it in CI).
func eachDB(t *testing.T, fn func(t *testing.T, db string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "") })
	t.Run("postgres", func(t *testing.T) { fn(t, testenv.Postgres(t)) })
}

// openApp builds the real application (a fresh SQLite data dir, or a
// fresh PostgreSQL database) with known limits, and returns its service
// and an admin and a member principal.
func openApp(t *testing.T, db string) (*service.Service, *authz.Principal, *authz.Principal) {
	t.Helper()
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{
		Data: t.TempDir(), DB: db, ImagingWorkers: 1,
		Limits: imaging.Limits{MaxBytes: 10 << 20, MaxPixels: 50_000_000, MaxSide: 20000, MaxFrames: 100},
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	s := a.Service
	if _, _, err := s.EnsureAdmin(ctx, "admin@example.com"); err != nil {
		t.Fatal(err)
	}
	admin, err := s.PrincipalFor(ctx, "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateUser(ctx, admin, service.NewUser{Email: "m@example.com", Role: tuku.RoleMember}); err != nil {
		t.Fatal(err)
	}
	member, err := s.PrincipalFor(ctx, "m@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return s, admin, member
}

// jpegOf returns a w×h JPEG whose pixels depend on seed (distinct bytes).
func jpegOf(t *testing.T, w, h int, seed uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x*4) + seed, uint8(y * 4), seed, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSettings(t *testing.T) {
	eachDB(t, testSettings)
}

func testSettings(t *testing.T, db string) {
	ctx := context.Background()
	s, admin, member := openApp(t, db)
	c, err := s.CreateCustomer(ctx, admin, service.NewCustomer{Name: "Acme", Code: "ACME"})
	if err != nil {
		t.Fatal(err)
	}

	// Only administrators read or change settings.
	if _, err := s.GetSettings(ctx, member); !errors.Is(err, errs.Permission) {
		t.Errorf("member GetSettings: %v, want Permission", err)
	}
	if _, err := s.UpdateSettings(ctx, member, service.Settings{NamingTemplate: "{seq}.{ext}"}); !errors.Is(err, errs.Permission) {
		t.Errorf("member UpdateSettings: %v, want Permission", err)
	}

	info, err := s.GetSettings(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	wantDef := service.Settings{NamingTemplate: service.DefaultNamingTemplate, MaxBytes: 10 << 20, MaxPixels: 50_000_000, MaxSide: 20000, MaxFrames: 100}
	if info.Current != wantDef || info.Defaults != wantDef || len(info.Stored) != 0 {
		t.Fatalf("fresh settings = %+v, want defaults %+v and nothing stored", info, wantDef)
	}

	// Invalid updates change nothing.
	for _, tc := range []struct {
		name string
		in   service.Settings
		msg  string
	}{
		{"unknown field", service.Settings{NamingTemplate: "{customer}_{nope}.{ext}"}, "unknown field"},
		{"slash", service.Settings{NamingTemplate: "a/{seq}.{ext}"}, "may not contain"},
		{"bytes above max", service.Settings{MaxBytes: 11 << 20}, "may not exceed"},
		{"negative side", service.Settings{MaxSide: -1}, "positive"},
		{"frames above max", service.Settings{MaxFrames: 101}, "may not exceed"},
	} {
		_, err := s.UpdateSettings(ctx, admin, tc.in)
		if !errors.Is(err, errs.Invalid) || !strings.Contains(errs.Message(err), tc.msg) {
			t.Errorf("%s: %v, want Invalid mentioning %q", tc.name, err, tc.msg)
		}
	}
	if info, _ := s.GetSettings(ctx, admin); len(info.Stored) != 0 {
		t.Fatalf("a refused update stored %v", info.Stored)
	}

	upload := func(body []byte, desc string) (*service.IngestResult, error) {
		return s.Ingest(ctx, admin, service.IngestRequest{Customer: c.ID, Filename: "x.jpg", Body: bytes.NewReader(body), Description: desc})
	}

	// A new template names the next upload at once; a lower byte limit
	// rejects a bigger file with a sentence naming the limit.
	small := jpegOf(t, 64, 48, 1)
	info, err = s.UpdateSettings(ctx, admin, service.Settings{NamingTemplate: "{customer}-{seq:03}.{ext}", MaxBytes: int64(len(small) + 10)})
	if err != nil {
		t.Fatal(err)
	}
	if info.Current.NamingTemplate != "{customer}-{seq:03}.{ext}" || info.Current.MaxBytes != int64(len(small)+10) ||
		info.Current.MaxSide != 20000 || !info.Stored[service.SettingNamingTemplate] || !info.Stored[service.SettingMaxBytes] || info.Stored[service.SettingMaxSide] {
		t.Fatalf("after update: %+v", info)
	}
	res, err := upload(small, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Asset.Name != "ACME-001.jpg" {
		t.Errorf("name = %q, want ACME-001.jpg from the stored template", res.Asset.Name)
	}
	big := jpegOf(t, 400, 300, 2)
	if _, err := upload(big, ""); !errors.Is(err, errs.TooLarge) || !strings.Contains(errs.Message(err), "KB") {
		t.Errorf("upload over the stored byte limit: %v, want TooLarge naming the limit in KB", err)
	}

	// A lower side limit is checked from the headers.
	if _, err := s.UpdateSettings(ctx, admin, service.Settings{NamingTemplate: "{customer}-{seq:03}.{ext}", MaxSide: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := upload(big, ""); !errors.Is(err, errs.TooLarge) || !strings.Contains(errs.Message(err), "100 pixels per side") {
		t.Errorf("upload over the stored side limit: %v, want TooLarge naming 100 pixels per side", err)
	}
	res, err = upload(jpegOf(t, 80, 60, 3), "")
	if err != nil {
		t.Fatalf("upload within the limits: %v", err)
	}
	if res.Asset.Name != "ACME-002.jpg" {
		t.Errorf("second name = %q, want ACME-002.jpg", res.Asset.Name)
	}

	// Back to the defaults: nothing stored, the default template names.
	info, err = s.UpdateSettings(ctx, admin, service.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Current != wantDef || len(info.Stored) != 0 {
		t.Errorf("after reset: %+v", info)
	}
	res, err = upload(big, "门店")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Asset.Name, "ACME_") || !strings.HasSuffix(res.Asset.Name, "_门店_01.jpg") {
		t.Errorf("name after reset = %q, want the default template's", res.Asset.Name)
	}
	// Saving the same values again records nothing.
	if _, err := s.UpdateSettings(ctx, admin, service.Settings{}); err != nil {
		t.Fatal(err)
	}

	// Three changes, three audit rows with what changed.
	page, err := s.ListAudit(ctx, admin, service.AuditQuery{Action: "settings.update"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 3 {
		t.Fatalf("settings.update rows = %d, want 3", len(page.Events))
	}
	var first map[string]string
	if err := json.Unmarshal([]byte(page.Events[2].Detail), &first); err != nil {
		t.Fatal(err)
	}
	if first[service.SettingNamingTemplate] != "{customer}-{seq:03}.{ext}" || first[service.SettingMaxBytes] == "" || page.Events[2].ActorEmail != "admin@example.com" {
		t.Errorf("first audit row = %+v (%v)", page.Events[2], first)
	}
	var last map[string]string
	json.Unmarshal([]byte(page.Events[0].Detail), &last)
	if last[service.SettingNamingTemplate] != "(default)" || last[service.SettingMaxSide] != "(default)" {
		t.Errorf("reset audit row detail = %v", last)
	}
}

// TestRequireMFASetting: an administrator's require_mfa setting makes the
// next sign-in of the users it covers enrol a second factor first, on
// both databases; it can be set back; a bad value is refused; and the
// change is audited.
func TestRequireMFASetting(t *testing.T) {
	eachDB(t, testRequireMFASetting)
}

func testRequireMFASetting(t *testing.T, db string) {
	ctx := context.Background()
	s, admin, _ := openApp(t, db)
	const pw = "a long enough password"
	for _, u := range []service.NewUser{
		{Email: "boss@example.com", Role: tuku.RoleAdmin, Password: pw},
		{Email: "staff@example.com", Role: tuku.RoleMember, Password: pw},
	} {
		if _, _, err := s.CreateUser(ctx, admin, u); err != nil {
			t.Fatal(err)
		}
	}
	enrol := func(email string) bool {
		t.Helper()
		_, st, err := s.Login(ctx, email, pw, service.Client{IP: "192.0.2.1"})
		if err != nil {
			t.Fatalf("login %s: %v", email, err)
		}
		return st.MFAEnrolRequired
	}
	set := func(v string) {
		t.Helper()
		info, err := s.UpdateSettings(ctx, admin, service.Settings{RequireMFA: v})
		if err != nil {
			t.Fatalf("require_mfa %q: %v", v, err)
		}
		want := v
		if v == "none" {
			want = ""
		}
		if info.Current.RequireMFA != want {
			t.Errorf("after setting %q the setting reads %q", v, info.Current.RequireMFA)
		}
	}
	if enrol("boss@example.com") || enrol("staff@example.com") {
		t.Fatalf("MFA required before any setting")
	}
	set(service.MFAForAdmins)
	if !enrol("boss@example.com") || enrol("staff@example.com") {
		t.Errorf("require_mfa=admin: admin must enrol, member need not")
	}
	set(service.MFAForAll)
	if !enrol("boss@example.com") || !enrol("staff@example.com") {
		t.Errorf("require_mfa=all: both must enrol")
	}
	set("none")
	if enrol("boss@example.com") || enrol("staff@example.com") {
		t.Errorf("require_mfa cleared: nobody must enrol")
	}
	if _, err := s.UpdateSettings(ctx, admin, service.Settings{RequireMFA: "everyone"}); !errors.Is(err, errs.Invalid) {
		t.Errorf("require_mfa=everyone: %v, want Invalid", err)
	}
	var seen []string
	evs, err := s.ListAudit(ctx, admin, service.AuditQuery{Action: "settings.update"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs.Events {
		seen = append(seen, e.Detail)
	}
	if got := strings.Join(seen, " "); strings.Count(got, "require_mfa") != 3 {
		t.Errorf("settings.update audit rows mention require_mfa %d times, want 3: %s", strings.Count(got, "require_mfa"), got)
	}
}
