package httpapi_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"tuku/internal/authz"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

// TestAuditAPI: admins browse, filter and export the log; members never;
// hostile strings from the request (a user agent, a customer name) come out
// of the CSV export as text, not formulas.
func TestAuditAPI(t *testing.T) {
	e := newEnv(t)
	const evilUA = `=HYPERLINK("http://x","click")`
	const evilName = `=HYPERLINK("http://y")`
	r := e.do("POST", "/api/v1/customers", strings.NewReader(`{"name":`+jsonString(evilName)+`,"code":"EVIL"}`),
		map[string]string{"Content-Type": "application/json", "User-Agent": evilUA})
	if r.StatusCode != 201 {
		t.Fatalf("create customer: %d %s", r.StatusCode, r.body)
	}
	e.createCustomer("Acme", "ACME")

	// List, newest first, with filters.
	var page struct {
		Events     []tuku.AuditEvent `json:"events"`
		NextCursor string            `json:"next_cursor"`
	}
	r = e.get("/api/v1/audit?action=customer.create")
	if r.StatusCode != 200 {
		t.Fatalf("list: %d %s", r.StatusCode, r.body)
	}
	r.json(t, &page)
	if len(page.Events) != 2 || page.NextCursor != "" || page.Events[0].Seq <= page.Events[1].Seq {
		t.Fatalf("customer.create rows: %+v", page)
	}
	evil := page.Events[1]
	if evil.UserAgent != evilUA || evil.IP != "127.0.0.1" || evil.RequestID == "" || evil.ActorEmail != "admin@example.com" {
		t.Errorf("origin not recorded: %+v", evil)
	}
	// Paging.
	r = e.get("/api/v1/audit?limit=1")
	r.json(t, &page)
	if len(page.Events) != 1 || page.NextCursor == "" {
		t.Fatalf("limit=1: %+v", page)
	}
	first := page.Events[0].Seq
	r = e.get("/api/v1/audit?limit=1&cursor=" + url.QueryEscape(page.NextCursor))
	r.json(t, &page)
	if len(page.Events) != 1 || page.Events[0].Seq != first-1 {
		t.Fatalf("second page: %+v", page)
	}
	for _, bad := range []string{"limit=0", "limit=abc", "cursor=nonsense", "from=yesterday"} {
		if r := e.get("/api/v1/audit?" + bad); r.StatusCode != 400 {
			t.Errorf("?%s: %d, want 400", bad, r.StatusCode)
		}
	}

	// The export.
	r = e.do("GET", "/api/v1/audit.csv", nil, nil)
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", r.StatusCode, r.Header)
	}
	recs, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, r.body)
	}
	var uaCells int
	for _, rec := range recs[1:] {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("formula cell %q", cell)
			}
		}
		if rec[10] == "'"+evilUA {
			uaCells++
		}
	}
	if uaCells == 0 {
		t.Errorf("the user agent %q is not in the export as '%s", evilUA, evilUA)
	}
	if !strings.Contains(string(r.body), "audit.export") {
		t.Error("the export did not record itself")
	}

	// Members and restricted tokens see no log, whatever else they may do.
	ctx := context.Background()
	if _, _, err := e.app.Service.CreateUser(ctx, admin(t, e), service.NewUser{Email: "m@example.com", Role: tuku.RoleMember, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	_, memberTok, err := e.app.Service.CreateToken(ctx, admin(t, e), service.NewToken{Email: "m@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	cust := page.Events[0].CustomerID
	_, scopedTok, err := e.app.Service.CreateToken(ctx, admin(t, e), service.NewToken{Email: "admin@example.com", CustomerID: cust})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{memberTok, scopedTok} {
		for _, path := range []string{"/api/v1/audit", "/api/v1/audit.csv"} {
			r := e.do("GET", path, nil, map[string]string{"Authorization": "Bearer " + tok})
			if r.StatusCode != 403 || strings.Contains(string(r.body), "customer.create") {
				t.Errorf("%s with a restricted token: %d %s", path, r.StatusCode, r.body)
			}
		}
	}
	for _, path := range []string{"/api/v1/audit", "/api/v1/audit.csv"} {
		if r := e.do("GET", path, nil, map[string]string{"Authorization": ""}); r.StatusCode != 401 {
			t.Errorf("%s anonymous: %d", path, r.StatusCode)
		}
	}

	// What happened over the API verifies as a chain.
	rep, err := e.app.Service.VerifyAudit(ctx, admin(t, e), "")
	if err != nil || !rep.OK || rep.Rows < 5 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

func admin(t *testing.T, e *env) *authz.Principal {
	t.Helper()
	p, err := e.app.Service.PrincipalFor(context.Background(), "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
