package httpapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"sort"
	"strings"
	"testing"

	"tuku/internal/authz"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

func (e *env) patchJSON(path string, v any) *response {
	b, _ := json.Marshal(v)
	return e.do("PATCH", path, bytes.NewReader(b), map[string]string{"Content-Type": "application/json"})
}

// uploadN files n distinct JPEGs for a customer and returns their IDs.
func (e *env) uploadN(cust string, n, seed int, extra ...field) []string {
	e.t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		parts := append([]field{text("customer_id", cust)}, extra...)
		parts = append(parts, file("same.jpg", makeJPEG(e.t, 40, 30, seed+i)))
		u := e.mustUpload(201, parts...)
		ids = append(ids, u.Asset["id"].(string))
	}
	return ids
}

func (e *env) asset(id string) *tuku.Asset {
	e.t.Helper()
	r := e.get("/api/v1/assets/" + id)
	if r.StatusCode != 200 {
		e.t.Fatalf("get asset %s: %d %s", id, r.StatusCode, r.body)
	}
	var a tuku.Asset
	r.json(e.t, &a)
	return &a
}

// admin is the principal of the env's admin.
func (e *env) admin() *authz.Principal {
	e.t.Helper()
	p, err := e.app.Service.PrincipalFor(context.Background(), "admin@example.com")
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func tagList(a tuku.Asset) string {
	var out []string
	for _, t := range a.Tags {
		out = append(out, t.Name+"/"+string(t.Source))
	}
	return strings.Join(out, ",")
}

func TestPatchAsset(t *testing.T) {
	e := newEnv(t)
	cust := e.createCustomer("编辑测试", "EDIT")
	pr := e.postJSON("/api/v1/customers/"+cust+"/projects", map[string]string{"name": "展厅"})
	if pr.StatusCode != 201 {
		t.Fatalf("project: %d %s", pr.StatusCode, pr.body)
	}
	var proj tuku.Project
	pr.json(t, &proj)
	id := e.uploadN(cust, 1, 1, text("tags", "旧"))[0]

	tests := []struct {
		name   string
		body   map[string]any
		status int
		check  func(t *testing.T, a tuku.Asset)
	}{
		{"description and tags", map[string]any{"description": "  客厅 吊灯 ", "tags": []string{"旧", "新", "新"}}, 200, func(t *testing.T, a tuku.Asset) {
			if a.Description != "客厅 吊灯" {
				t.Errorf("description %q", a.Description)
			}
			if got := tagList(a); got != "旧/manual,新/manual" {
				t.Errorf("tags %s", got)
			}
		}},
		{"add and remove", map[string]any{"add_tags": []string{"灯"}, "remove_tags": []string{"旧"}}, 200, func(t *testing.T, a tuku.Asset) {
			if got := tagList(a); got != "新/manual,灯/manual" {
				t.Errorf("tags %s", got)
			}
		}},
		{"category, sensitivity, project by name", map[string]any{"category": "product", "sensitivity": "confidential", "project_id": "展厅"}, 200, func(t *testing.T, a tuku.Asset) {
			if a.Category != "product" || a.Sensitivity != "confidential" || a.ProjectID != proj.ID {
				t.Errorf("got %s %s %q", a.Category, a.Sensitivity, a.ProjectID)
			}
		}},
		{"out of the project", map[string]any{"project_id": ""}, 200, func(t *testing.T, a tuku.Asset) {
			if a.ProjectID != "" {
				t.Errorf("project %q", a.ProjectID)
			}
		}},
		{"unknown category", map[string]any{"category": "cats"}, 400, nil},
		{"unknown sensitivity", map[string]any{"sensitivity": "secret"}, 400, nil},
		{"project of nobody", map[string]any{"project_id": "不存在"}, 404, nil},
		{"nothing", map[string]any{}, 400, nil},
		{"unknown field", map[string]any{"name": "x"}, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.patchJSON("/api/v1/assets/"+id, tt.body)
			if r.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", r.StatusCode, tt.status, r.body)
			}
			if tt.check != nil {
				var a tuku.Asset
				r.json(t, &a)
				tt.check(t, a)
				tt.check(t, *e.asset(id)) // stored, not just answered
			}
		})
	}
	if r := e.patchJSON("/api/v1/assets/"+tuku.NewID(), map[string]any{"description": "x"}); r.StatusCode != 404 {
		t.Errorf("missing asset: %d", r.StatusCode)
	}
	// Every effective edit left an audit row naming the changed fields.
	ar := e.get("/api/v1/audit?action=asset.edit&target=" + id)
	var page service.AuditPage
	ar.json(t, &page)
	if len(page.Events) != 4 {
		t.Fatalf("asset.edit rows: %d, want 4: %s", len(page.Events), ar.body)
	}
	if d := page.Events[3].Detail; !strings.Contains(d, `"changed":"description,tags"`) {
		t.Errorf("first edit detail %s", d)
	}
}

func TestBulkAllOrNothing(t *testing.T) {
	e := newEnv(t)
	a := e.createCustomer("Alpha", "AL")
	b := e.createCustomer("Beta", "BE")
	ida := e.uploadN(a, 3, 10)
	idb := e.uploadN(b, 1, 20)

	// A member editing Alpha only: a request naming a Beta asset too
	// changes nothing.
	ctx := context.Background()
	svc := e.app.Service
	if _, _, err := svc.CreateUser(ctx, e.admin(), service.NewUser{Email: "ed@example.com", Role: tuku.RoleMember}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GrantAccess(ctx, e.admin(), "ed@example.com", a, "", tuku.LevelEditor, false); err != nil {
		t.Fatal(err)
	}
	ed, err := svc.PrincipalFor(ctx, "ed@example.com")
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.BulkUpdate(ctx, ed, append(append([]string{}, ida...), idb[0]), service.AssetChange{AddTags: []string{"批量"}})
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("mixed request: %v, want not found", err)
	}
	for _, id := range ida {
		if e.asset(id).HasTag("批量") {
			t.Fatalf("asset %s changed by a refused bulk request", id)
		}
	}
	res, err := svc.BulkUpdate(ctx, ed, ida[:2], service.AssetChange{AddTags: []string{"批量"}})
	if err != nil || res.Changed != 2 {
		t.Fatalf("bulk: %+v %v", res, err)
	}
	if !e.asset(ida[0]).HasTag("批量") || !e.asset(ida[1]).HasTag("批量") || e.asset(ida[2]).HasTag("批量") {
		t.Error("bulk tagged the wrong assets")
	}
	// Over HTTP: a second run changes nothing (already tagged).
	r := e.postJSON("/api/v1/assets/bulk", map[string]any{"ids": ida[:2], "add_tags": []string{"批量"}, "category": "site"})
	if r.StatusCode != 200 {
		t.Fatalf("bulk: %d %s", r.StatusCode, r.body)
	}
	var br service.BulkResult
	r.json(t, &br)
	if br.Assets != 2 || br.Changed != 2 || e.asset(ida[1]).Category != "site" {
		t.Errorf("bulk result %+v", br)
	}
	if r := e.postJSON("/api/v1/assets/bulk", map[string]any{"ids": []string{}, "add_tags": []string{"x"}}); r.StatusCode != 400 {
		t.Errorf("empty ids: %d", r.StatusCode)
	}
}

func TestZipAndConvertedDownload(t *testing.T) {
	e := newEnv(t)
	c := e.createCustomer("Zip", "ZP")
	ids := e.uploadN(c, 3, 30, text("description", "同名"))
	r := e.postJSON("/api/v1/assets/zip", map[string]any{"ids": ids})
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("zip: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="ZP_`) || !strings.Contains(cd, `_3.zip"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	zr, err := zip.NewReader(bytes.NewReader(r.body), int64(len(r.body)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	want := map[string]bool{}
	for _, id := range ids {
		want[e.asset(id).Name] = true
	}
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if len(b) < 100 || b[0] != 0xFF || b[1] != 0xD8 {
			t.Errorf("%s: not the JPEG original (%d bytes)", f.Name, len(b))
		}
		if !want[f.Name] {
			t.Errorf("entry %q is not a display name of the assets (%v)", f.Name, want)
		}
	}
	sort.Strings(names)
	if len(names) != 3 || names[0] == names[1] || names[1] == names[2] {
		t.Errorf("entries %v", names)
	}
	if r := e.postJSON("/api/v1/assets/zip", map[string]any{"ids": append(ids[:1:1], tuku.NewID())}); r.StatusCode != 404 {
		t.Errorf("zip with a missing asset: %d", r.StatusCode)
	}
	// Each zipped original is an audited download.
	var page service.AuditPage
	e.get("/api/v1/audit?action=asset.download").json(t, &page)
	if len(page.Events) != 3 {
		t.Errorf("download audit rows %d, want 3", len(page.Events))
	}

	magic := map[string][]byte{"png": []byte("\x89PNG"), "webp": []byte("RIFF"), "jpeg": {0xFF, 0xD8}}
	for _, tt := range []struct {
		q      string
		status int
		ctype  string
		ext    string
	}{
		{"format=png", 200, "image/png", ".png"},
		{"format=webp&size=preview", 200, "image/webp", "_preview.webp"},
		{"format=jpeg&size=large", 200, "image/jpeg", "_large.jpg"},
		{"", 200, "image/jpeg", ".jpg"},
		{"format=gif", 400, "", ""},
		{"format=png&size=huge", 400, "", ""},
		{"size=preview", 400, "", ""},
	} {
		r := e.get("/api/v1/assets/" + ids[0] + "/download?" + tt.q)
		if r.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d: %s", tt.q, r.StatusCode, tt.status, r.body)
			continue
		}
		if tt.status != 200 {
			continue
		}
		if ct := r.Header.Get("Content-Type"); ct != tt.ctype {
			t.Errorf("%s: Content-Type %q", tt.q, ct)
		}
		if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, tt.ext+`"`) {
			t.Errorf("%s: Content-Disposition %q", tt.q, cd)
		}
		f := strings.TrimPrefix(strings.Split(tt.q, "&")[0], "format=")
		if m, ok := magic[f]; ok && !bytes.HasPrefix(r.body, m) {
			t.Errorf("%s: body starts % x", tt.q, r.body[:8])
		}
	}
}
