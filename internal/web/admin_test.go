package web_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"tuku/internal/authz"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

// HTTP-level tests of the admin pages (no browser): who may see them,
// what each form does through the service, one-time secrets, the audit
// log's filters and CSV export, settings.

// signIn signs c in with a password (no MFA) and fails the test otherwise.
func signIn(t *testing.T, c *http.Client, base, email, pw string) {
	t.Helper()
	res, body := post(t, c, base+"/login", url.Values{"email": {email}, "password": {pw}}, "Origin", base)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d %s", email, res.StatusCode, body)
	}
}

var noInline = regexp.MustCompile(`<script>|<script [^>]*>[^<]|style="|<style|onclick=|onsubmit=|onchange=`)

func TestAdminPages(t *testing.T) {
	base, svc := newServer(t)
	ctx := context.Background()
	sys := &authz.System
	const adminPW, memberPW = "admin password 123", "member password 123"
	if _, _, err := svc.CreateUser(ctx, sys, service.NewUser{Email: "root@example.com", Role: tuku.RoleAdmin, Password: adminPW}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateUser(ctx, sys, service.NewUser{Email: "mem@example.com", Role: tuku.RoleMember, Password: memberPW}); err != nil {
		t.Fatal(err)
	}
	cust, err := svc.CreateCustomer(ctx, sys, service.NewCustomer{Name: "杭州西湖茶业", Code: "XH"})
	if err != nil {
		t.Fatal(err)
	}
	proj, err := svc.CreateProject(ctx, sys, cust.ID, "春茶", "")
	if err != nil {
		t.Fatal(err)
	}
	admin := client(t)
	signIn(t, admin, base, "root@example.com", adminPW)
	member := client(t)
	signIn(t, member, base, "mem@example.com", memberPW)
	origin := []string{"Origin", base, "Accept-Language", "en"}
	en := []string{"Accept-Language", "en"}

	t.Run("members are refused, signed-out sent to sign in", func(t *testing.T) {
		for _, p := range []string{"/admin/users", "/admin/grants", "/admin/audit", "/admin/audit.csv", "/admin/settings"} {
			res, body := get(t, member, base+p, en...)
			if res.StatusCode != http.StatusForbidden || strings.Contains(body, "root@example.com") {
				t.Errorf("member GET %s: %d", p, res.StatusCode)
			}
			res, _ = get(t, client(t), base+p)
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?next=") {
				t.Errorf("signed-out GET %s: %d %s", p, res.StatusCode, res.Header.Get("Location"))
			}
		}
		res, _ := post(t, member, base+"/admin/users", url.Values{"email": {"x@example.com"}}, origin...)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("member POST /admin/users: %d", res.StatusCode)
		}
		if _, err := svc.User(ctx, sys, "x@example.com"); err == nil {
			t.Error("a member's invitation created an account")
		}
		// A cross-site form post is refused even for an admin.
		res, _ = post(t, admin, base+"/admin/users", url.Values{"email": {"y@example.com"}}, "Origin", "https://evil.example")
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("cross-origin POST: %d", res.StatusCode)
		}
		res, _ = get(t, admin, base+"/admin", en...)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/users" {
			t.Errorf("/admin: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
	})

	var invitedPW string
	t.Run("invite, role, disable, enable, reset", func(t *testing.T) {
		res, body := post(t, admin, base+"/admin/users", url.Values{"email": {"Lin@Example.com"}, "name": {"林小姐"}, "role": {"member"}}, origin...)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("invite: %d", res.StatusCode)
		}
		m := regexp.MustCompile(`<code id="new-password">([^<]+)</code>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("invite answer shows no one-time password")
		}
		invitedPW = m[1]
		if noInline.MatchString(body) {
			t.Error("inline script or style on the users page")
		}
		// The password works, once shown; the list does not show it again.
		signIn(t, client(t), base, "lin@example.com", invitedPW)
		_, body = get(t, admin, base+"/admin/users", en...)
		if strings.Contains(body, invitedPW) || !strings.Contains(body, "林小姐") || !strings.Contains(body, "lin@example.com") {
			t.Errorf("users list: password shown again or user missing")
		}
		// Inviting the same address again is a form error, not a crash.
		res, body = post(t, admin, base+"/admin/users", url.Values{"email": {"lin@example.com"}, "role": {"member"}}, origin...)
		if res.StatusCode != http.StatusConflict || !strings.Contains(body, "already is an account for lin@example.com") {
			t.Errorf("duplicate invite: %d", res.StatusCode)
		}
		res, body = post(t, admin, base+"/admin/users", url.Values{"email": {"not-an-email"}, "role": {"member"}}, origin...)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="form-error"`) || !strings.Contains(body, `value="not-an-email"`) {
			t.Errorf("bad email: %d", res.StatusCode)
		}

		lin, err := svc.User(ctx, sys, "lin@example.com")
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			action, role string
			wantOK       string
			check        func(u *tuku.User) bool
		}{
			{"role", "admin", "role", func(u *tuku.User) bool { return u.Role == tuku.RoleAdmin }},
			{"role", "member", "role", func(u *tuku.User) bool { return u.Role == tuku.RoleMember }},
			{"disable", "", "disable", func(u *tuku.User) bool { return u.Disabled }},
			{"enable", "", "enable", func(u *tuku.User) bool { return !u.Disabled }},
		}
		for _, st := range steps {
			res, _ := post(t, admin, base+"/admin/users/"+lin.ID+"/"+st.action, url.Values{"role": {st.role}}, origin...)
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/users?ok="+st.wantOK {
				t.Errorf("%s: %d %s", st.action, res.StatusCode, res.Header.Get("Location"))
			}
			u, err := svc.User(ctx, sys, lin.ID)
			if err != nil || !st.check(u) {
				t.Errorf("after %s %s: %+v %v", st.action, st.role, u, err)
			}
		}
		_, body = get(t, admin, base+"/admin/users?ok=enable", en...)
		if !strings.Contains(body, "The account can sign in again.") {
			t.Error("no confirmation after enable")
		}
		_, body = get(t, admin, base+"/admin/users?ok=<b>hi</b>", en...)
		if strings.Contains(body, "<b>hi</b>") || strings.Contains(body, "flash-ok") {
			t.Error("?ok= put its own text on the page")
		}
		// The admin cannot disable itself: said in words, status 400.
		root, _ := svc.User(ctx, sys, "root@example.com")
		res, body = post(t, admin, base+"/admin/users/"+root.ID+"/disable", nil, origin...)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "cannot disable your own account") {
			t.Errorf("self-disable: %d", res.StatusCode)
		}
		// A new password, shown once; the old one stops working.
		res, body = post(t, admin, base+"/admin/users/"+lin.ID+"/password", nil, origin...)
		m = regexp.MustCompile(`<code id="new-password">([^<]+)</code>`).FindStringSubmatch(body)
		if res.StatusCode != http.StatusOK || m == nil || m[1] == invitedPW {
			t.Fatalf("password reset: %d", res.StatusCode)
		}
		res, _ = post(t, client(t), base+"/login", url.Values{"email": {"lin@example.com"}, "password": {invitedPW}}, origin...)
		if res.StatusCode == http.StatusSeeOther {
			t.Error("the old password still signs in")
		}
		signIn(t, client(t), base, "lin@example.com", m[1])
		res, _ = post(t, admin, base+"/admin/users/"+lin.ID+"/explode", nil, origin...)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("unknown action: %d", res.StatusCode)
		}
	})

	t.Run("grants", func(t *testing.T) {
		_, body := get(t, admin, base+"/admin/grants", en...)
		if !strings.Contains(body, "No access granted yet") || !strings.Contains(body, `value="`+cust.ID+"/"+proj.ID+`"`) {
			t.Errorf("empty grants page lacks its empty state or the project scope")
		}
		res, _ := post(t, admin, base+"/admin/grants", url.Values{"user": {"mem@example.com"}, "scope": {cust.ID + "/" + proj.ID}, "level": {"editor"}}, origin...)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/grants?ok=grant-added" {
			t.Fatalf("grant: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		gs, err := svc.ListGrants(ctx, sys, service.GrantQuery{User: "mem@example.com"})
		if err != nil || len(gs) != 1 || gs[0].ProjectID != proj.ID || gs[0].Level != tuku.LevelEditor {
			t.Fatalf("grants after the form: %+v %v", gs, err)
		}
		_, body = get(t, admin, base+"/admin/grants?customer="+cust.ID, en...)
		if !strings.Contains(body, `data-user="mem@example.com"`) || !strings.Contains(body, "春茶") || !strings.Contains(body, "Editor") {
			t.Errorf("grants list lacks the new grant")
		}
		// The member now sees the customer (the grant took effect).
		if _, body := get(t, member, base+"/admin/grants", en...); strings.Contains(body, "春茶") {
			t.Error("a member sees the admin grants page")
		}
		for _, tc := range []struct {
			name string
			form url.Values
			want string
		}{
			{"no user", url.Values{"scope": {cust.ID}, "level": {"viewer"}}, "Choose a member"},
			{"no scope", url.Values{"user": {"mem@example.com"}, "level": {"viewer"}}, "Choose a customer or project"},
			{"bad level", url.Values{"user": {"mem@example.com"}, "scope": {cust.ID}, "level": {"god"}}, "unknown level"},
		} {
			res, body := post(t, admin, base+"/admin/grants", tc.form, origin...)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, tc.want) {
				t.Errorf("%s: %d, want 400 with %q", tc.name, res.StatusCode, tc.want)
			}
		}
		res, _ = post(t, admin, base+"/admin/grants/"+gs[0].ID+"/revoke", nil, origin...)
		if res.StatusCode != http.StatusSeeOther {
			t.Errorf("revoke: %d", res.StatusCode)
		}
		if gs, _ := svc.ListGrants(ctx, sys, service.GrantQuery{User: "mem@example.com"}); len(gs) != 0 {
			t.Errorf("grants after revoke: %+v", gs)
		}
	})

	t.Run("tokens", func(t *testing.T) {
		// A member manages its own tokens.
		res, body := post(t, member, base+"/account/tokens", url.Values{"name": {"导出脚本"}, "readonly": {"1"}}, origin...)
		m := regexp.MustCompile(`<code id="token-secret">(tuku_[a-z0-9]+)</code>`).FindStringSubmatch(body)
		if res.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("create token: %d", res.StatusCode)
		}
		p, err := svc.Authenticate(ctx, m[1])
		if err != nil || p.Email != "mem@example.com" || !p.ReadOnly {
			t.Fatalf("the shown token: %+v %v", p, err)
		}
		_, body = get(t, member, base+"/account/tokens", en...)
		if strings.Contains(body, m[1]) || !strings.Contains(body, "导出脚本") || !strings.Contains(body, "read only") {
			t.Errorf("tokens list: secret shown again or token missing")
		}
		// ... but not anyone else's.
		root, _ := svc.User(ctx, sys, "root@example.com")
		if res, _ := get(t, member, base+"/account/tokens?user="+root.ID, en...); res.StatusCode != http.StatusNotFound {
			t.Errorf("member viewing the admin's tokens: %d", res.StatusCode)
		}
		res, _ = post(t, member, base+"/account/tokens", url.Values{"name": {""}}, origin...)
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("nameless token: %d", res.StatusCode)
		}
		// An administrator sees and revokes the member's.
		mem, _ := svc.User(ctx, sys, "mem@example.com")
		toks, _ := svc.ListTokens(ctx, sys, mem.ID)
		if len(toks) != 1 {
			t.Fatalf("tokens: %+v", toks)
		}
		_, body = get(t, admin, base+"/account/tokens?user="+mem.ID, en...)
		if !strings.Contains(body, "API tokens of mem@example.com") || !strings.Contains(body, "导出脚本") {
			t.Errorf("admin view of the member's tokens")
		}
		res, _ = post(t, admin, base+"/account/tokens/"+toks[0].ID+"/revoke?user="+mem.ID, nil, origin...)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account/tokens?user="+mem.ID+"&ok=token-revoked" {
			t.Errorf("revoke: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if _, err := svc.Authenticate(ctx, m[1]); err == nil {
			t.Error("a revoked token still authenticates")
		}
	})

	t.Run("settings", func(t *testing.T) {
		// In Chinese too (the language follows the browser here).
		_, body := get(t, admin, base+"/admin/settings", "Accept-Language", "zh-CN,zh;q=0.9")
		if !strings.Contains(body, "命名模板") || !strings.Contains(body, "上传限制") {
			t.Errorf("Chinese settings page lacks its labels")
		}
		_, body = get(t, admin, base+"/admin/settings", en...)
		if !strings.Contains(body, service.DefaultNamingTemplate) || !strings.Contains(body, `id="naming-example"`) {
			t.Errorf("settings page lacks the template or its example")
		}
		res, body := post(t, admin, base+"/admin/settings", url.Values{"naming_template": {"{customer}_{nope}"}}, origin...)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "unknown field {nope}") || !strings.Contains(body, `value="{customer}_{nope}"`) {
			t.Errorf("bad template: %d", res.StatusCode)
		}
		res, body = post(t, admin, base+"/admin/settings", url.Values{"naming_template": {"{customer}"}, "max_mb": {"lots"}}, origin...)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "positive numbers") {
			t.Errorf("bad number: %d", res.StatusCode)
		}
		res, _ = post(t, admin, base+"/admin/settings", url.Values{"naming_template": {"{customer}-{seq:04}.{ext}"}, "max_mb": {"5"}, "max_mp": {""}, "max_side": {"8000"}, "max_frames": {""}}, origin...)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/settings?ok=settings" {
			t.Fatalf("save: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		info, err := svc.GetSettings(ctx, sys)
		if err != nil {
			t.Fatal(err)
		}
		if info.Current.NamingTemplate != "{customer}-{seq:04}.{ext}" || info.Current.MaxBytes != 5<<20 || info.Current.MaxSide != 8000 ||
			info.Current.MaxPixels != info.Defaults.MaxPixels {
			t.Errorf("stored settings: %+v", info.Current)
		}
		_, body = get(t, admin, base+"/admin/settings?ok=settings", en...)
		if !strings.Contains(body, "ACME-0001.jpg") || !strings.Contains(body, `name="max_mb" value="5"`) {
			t.Errorf("settings page after save lacks the example or the stored limit")
		}
	})

	t.Run("audit log and CSV", func(t *testing.T) {
		res, body := get(t, admin, base+"/admin/audit?action=grant.", en...)
		if res.StatusCode != 200 {
			t.Fatalf("audit: %d", res.StatusCode)
		}
		rows := regexp.MustCompile(`data-action="([a-z._]+)"`).FindAllStringSubmatch(body, -1)
		if len(rows) != 2 || rows[0][1] != "grant.revoke" || rows[1][1] != "grant.add" {
			t.Errorf("grant. rows = %v, want grant.revoke then grant.add", rows)
		}
		if !strings.Contains(body, "杭州西湖茶业") || !strings.Contains(body, "root@example.com") {
			t.Error("audit rows lack the customer's name or the actor")
		}
		_, body = get(t, admin, base+"/admin/audit?action=settings.update", en...)
		if !strings.Contains(body, "{customer}-{seq:04}.{ext}") {
			t.Error("settings change not in the log with its value")
		}
		res, body = get(t, admin, base+"/admin/audit?from=yesterday", en...)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="form-error"`) {
			t.Errorf("bad date: %d", res.StatusCode)
		}
		res, body = get(t, admin, base+"/admin/audit.csv?action=user.", en...)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("csv: %d %v", res.StatusCode, res.Header)
		}
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\xef\xbb\xbf"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]int{}
		for _, r := range recs[1:] {
			actions[r[4]]++
		}
		if recs[0][0] != "seq" || actions["user.create"] < 3 || actions["user.role"] != 2 || actions["user.disable"] != 1 || len(actions) < 5 {
			t.Errorf("csv actions = %v (header %v)", actions, recs[0])
		}
		for a := range actions {
			if !strings.HasPrefix(a, "user.") {
				t.Errorf("csv filtered on user. has %s", a)
			}
		}
		// The export itself is in the log.
		if page, _ := svc.ListAudit(ctx, sys, service.AuditQuery{Action: "audit.export"}); len(page.Events) != 1 {
			t.Errorf("audit.export rows = %d", len(page.Events))
		}
		// Paging: 50 rows a page, then an "older" link that continues.
		_, body = get(t, admin, base+"/admin/audit", en...)
		n := len(regexp.MustCompile(`data-seq="`).FindAllString(body, -1))
		if n == 0 || n > 50 {
			t.Errorf("first page has %d rows", n)
		}
	})
}
