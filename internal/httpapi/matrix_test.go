package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"testing"

	"tuku/internal/app"
	"tuku/internal/authz"
	"tuku/internal/httpapi"
	"tuku/internal/service"
	"tuku/internal/testenv"
	"tuku/internal/tuku"
)

// The access matrix: every route of httpapi.Routes() × every kind of
// principal × own / foreign / hidden / missing objects, against the
// policy written out in this file. A route without an entry in
// matrixPolicy fails the test, so no route ships without a policy.
//
// Hidden must look exactly like missing: every 404 must carry a message
// that the admin also gets for a missing object on the same route (IDs
// normalised).

func TestAccessMatrix(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { runMatrix(t, "") })
	t.Run("postgres", func(t *testing.T) { runMatrix(t, testenv.Postgres(t)) })
}

// mGrant is a grant in the test's model.
type mGrant struct {
	cust, proj string // fixture keys
	level      tuku.Level
	conf       bool
}

// mPrincipal is a kind of caller.
type mPrincipal struct {
	name   string
	anon   bool
	admin  bool
	ro     bool   // read-only token
	only   string // fixture key of the one customer its token is limited to
	grants []mGrant
	email  string
	token  string
}

// mAsset is a fixture asset.
type mAsset struct {
	key, cust, proj string
	sens            tuku.Sensitivity
}

// fixture is the world every case runs in.
type fixture struct {
	t      *testing.T
	e      *env
	ctx    context.Context
	admin  *authz.Principal
	ids    map[string]string // fixture key → ID ("missing…" keys → fresh IDs)
	codes  map[string]string // customer key → code
	assets []mAsset
	grants map[string]mGrant // grant ID → its model (fixture grants only)
	owner  map[string]string // grant ID → principal name
	seed   int
	target string // email of a member that POST/DELETE grant cases work on
}

func principals() []*mPrincipal {
	return []*mPrincipal{
		{name: "anonymous", anon: true},
		{name: "admin", admin: true},
		{name: "managerA", grants: []mGrant{{"A", "", tuku.LevelManager, false}}},
		{name: "editorA", grants: []mGrant{{"A", "", tuku.LevelEditor, false}}},
		{name: "contributorA", grants: []mGrant{{"A", "", tuku.LevelContributor, false}}},
		{name: "viewerA", grants: []mGrant{{"A", "", tuku.LevelViewer, false}}},
		{name: "viewerAconf", grants: []mGrant{{"A", "", tuku.LevelViewer, true}}},
		{name: "editorA1", grants: []mGrant{{"A", "A1", tuku.LevelEditor, false}}},
		{name: "managerA1", grants: []mGrant{{"A", "A1", tuku.LevelManager, false}}},
		{name: "memberB", grants: []mGrant{{"B", "", tuku.LevelManager, false}}},
		{name: "readonlyAdminToken", admin: true, ro: true},
		{name: "adminTokenOnlyB", admin: true, only: "B"},
	}
}

// ---- the model ----

func (p *mPrincipal) level(cust, proj string) tuku.Level {
	if p.anon || (p.only != "" && p.only != cust) || isMissing(cust) || isMissing(proj) {
		return tuku.LevelNone
	}
	if p.admin {
		return tuku.LevelManager + 1
	}
	l := tuku.LevelNone
	for _, g := range p.grants {
		if g.cust == cust && (g.proj == "" || g.proj == proj) {
			l = max(l, g.level)
		}
	}
	return l
}

func (p *mPrincipal) conf(cust, proj string) bool {
	for _, g := range p.grants {
		if g.cust == cust && (g.proj == "" || g.proj == proj) && g.conf {
			return true
		}
	}
	return p.level(cust, proj) >= tuku.LevelEditor
}

func (p *mPrincipal) seesCustomer(cust string) bool {
	if p.anon || (p.only != "" && p.only != cust) || cust == "" || isMissing(cust) {
		return false
	}
	if p.admin {
		return true
	}
	for _, g := range p.grants {
		if g.cust == cust {
			return true
		}
	}
	return false
}

func (p *mPrincipal) seesProject(cust, proj string) bool {
	return p.level(cust, proj) >= tuku.LevelViewer
}

func (p *mPrincipal) seesAsset(a mAsset) bool {
	l := p.level(a.cust, a.proj)
	switch {
	case l < tuku.LevelViewer:
		return false
	case a.sens == tuku.Restricted:
		return l >= tuku.LevelManager
	case a.sens == tuku.Confidential:
		return p.conf(a.cust, a.proj)
	}
	return true
}

// editAssets is the answer to a change (edit true: needs editor and a
// writable token) or a download of the assets named by obj ("a+b").
func (p *mPrincipal) editAssets(f *fixture, obj string, edit bool) int {
	if p.anon {
		return 401
	}
	keys := strings.Split(obj, "+")
	for _, k := range keys {
		if a, ok := f.asset(k); !ok || !p.seesAsset(a) {
			return 404
		}
	}
	if !edit {
		return 200
	}
	for _, k := range keys {
		a, _ := f.asset(k)
		if p.ro || p.level(a.cust, a.proj) < tuku.LevelEditor {
			return 403
		}
	}
	return 200
}

var bulkObjs = []string{"a-A1", "a-A1+a-A0", "a-A1+a-B1", "a-B1", "a-A1conf+a-A2", "missingAsset", "a-A1+missingAsset"}

// idList turns "a+b" into the fixture IDs.
func (f *fixture) idList(obj string) []string {
	var out []string
	for _, k := range strings.Split(obj, "+") {
		out = append(out, f.ids[k])
	}
	return out
}

func isMissing(key string) bool { return strings.HasPrefix(key, "missing") }

// seesGrant: admins, managers of the grant's scope (a read-only token
// still sees), and the grantee.
func (p *mPrincipal) seesGrant(g mGrant, ownedBy string) bool {
	return ownedBy == p.name || p.level(g.cust, g.proj) >= tuku.LevelManager
}

// write answers a change that needs level on (cust, proj): 404 when the
// principal may not see the scope, 403 when it sees it but may not act,
// else ok.
func (p *mPrincipal) write(cust, proj string, need tuku.Level, ok int) int {
	if p.anon {
		return 401
	}
	if !p.seesCustomer(cust) || (proj != "" && !p.seesProject(cust, proj)) {
		return 404
	}
	if p.ro || p.level(cust, proj) < need {
		return 403
	}
	return ok
}

// ---- the policy table ----

// mCase is one route's policy and how to call it.
type mCase struct {
	objs []string // object keys it runs with; "" = none
	// req builds the request path (with query) and body for an object.
	req func(f *fixture, obj string) (path string, body io.Reader, ctype string)
	// want is the expected status.
	want func(f *fixture, p *mPrincipal, obj string) int
	// check inspects a successful response (lists: exactly the visible
	// fixture objects).
	check func(t *testing.T, f *fixture, p *mPrincipal, obj string, body []byte)
}

func public() mCase {
	return mCase{objs: []string{""}, want: func(*fixture, *mPrincipal, string) int { return 200 }}
}

func authed(status int) func(*fixture, *mPrincipal, string) int {
	return func(_ *fixture, p *mPrincipal, _ string) int {
		if p.anon {
			return 401
		}
		return status
	}
}

// adminOnly: unrestricted admins (any token kind when read is true).
func adminOnly(status int, read bool) func(*fixture, *mPrincipal, string) int {
	return func(_ *fixture, p *mPrincipal, _ string) int {
		switch {
		case p.anon:
			return 401
		case !p.admin || p.only != "" || (p.ro && !read):
			return 403
		}
		return status
	}
}

func seesCust(ok int) func(*fixture, *mPrincipal, string) int {
	return func(f *fixture, p *mPrincipal, obj string) int {
		if p.anon {
			return 401
		}
		if obj == "" || p.seesCustomer(obj) {
			return ok
		}
		return 404
	}
}

// noSession: a session step without a session cookie.
func noSession(path string, body any) mCase {
	return mCase{
		objs: []string{""},
		req: func(*fixture, string) (string, io.Reader, string) {
			if body == nil {
				return path, strings.NewReader(""), ""
			}
			return jsonBody(path, body)
		},
		want: func(*fixture, *mPrincipal, string) int { return 401 },
	}
}

// userAdmin: changes to another account; the permission is checked before
// the account is looked up, so all but unrestricted admins get 403.
func userAdmin(ok int) func(*fixture, *mPrincipal, string) int {
	return func(_ *fixture, p *mPrincipal, obj string) int {
		switch {
		case p.anon:
			return 401
		case !p.admin || p.only != "" || p.ro:
			return 403
		case isMissing(obj):
			return 404
		}
		return ok
	}
}

func pathID(tmpl string) func(f *fixture, obj string) (string, io.Reader, string) {
	return func(f *fixture, obj string) (string, io.Reader, string) {
		return strings.Replace(tmpl, "{id}", f.ids[obj], 1), nil, ""
	}
}

func jsonBody(path string, v any) (string, io.Reader, string) {
	b, _ := json.Marshal(v)
	return path, bytes.NewReader(b), "application/json"
}

var assetObjs = []string{"a-A1", "a-A0", "a-A2", "a-A1conf", "a-A1restr", "a-B1", "missingAsset"}

func matrixPolicy() map[httpapi.Route]mCase {
	assetRead := mCase{
		objs: assetObjs,
		want: func(f *fixture, p *mPrincipal, obj string) int {
			if p.anon {
				return 401
			}
			if a, ok := f.asset(obj); ok && p.seesAsset(a) {
				return 200
			}
			return 404
		},
	}
	get := func(tmpl string) mCase { c := assetRead; c.req = pathID(tmpl); return c }
	return map[httpapi.Route]mCase{
		{Method: "GET", Path: "/healthz"}:             public(),
		{Method: "GET", Path: "/readyz"}:              public(),
		{Method: "GET", Path: "/metrics"}:             public(),
		{Method: "GET", Path: "/api/v1/openapi.json"}: public(),

		{Method: "POST", Path: "/api/v1/customers"}: {
			objs: []string{""},
			req: func(f *fixture, _ string) (string, io.Reader, string) {
				f.seed++
				return jsonBody("/api/v1/customers", map[string]string{"name": fmt.Sprintf("New %d", f.seed)})
			},
			want: adminOnly(201, false),
		},
		{Method: "GET", Path: "/api/v1/customers"}: {
			objs: []string{""},
			want: authed(200),
			check: func(t *testing.T, f *fixture, p *mPrincipal, _ string, body []byte) {
				var out struct{ Customers []tuku.Customer }
				json.Unmarshal(body, &out)
				var got []string
				for _, c := range out.Customers {
					got = append(got, c.ID)
				}
				f.sameFixtures(t, "customers", got, []string{"A", "B"}, func(k string) bool { return p.seesCustomer(k) })
			},
		},
		{Method: "GET", Path: "/api/v1/customers/{id}"}: {
			objs: []string{"A", "B", "missingCustomer"},
			req:  pathID("/api/v1/customers/{id}"),
			want: seesCust(200),
		},
		{Method: "POST", Path: "/api/v1/customers/{id}/projects"}: {
			objs: []string{"A", "B", "missingCustomer"},
			req: func(f *fixture, obj string) (string, io.Reader, string) {
				f.seed++
				return jsonBody("/api/v1/customers/"+f.ids[obj]+"/projects", map[string]string{"name": fmt.Sprintf("P%d", f.seed)})
			},
			want: func(f *fixture, p *mPrincipal, obj string) int { return p.write(obj, "", tuku.LevelManager, 201) },
		},
		{Method: "GET", Path: "/api/v1/customers/{id}/projects"}: {
			objs: []string{"A", "B", "missingCustomer"},
			req:  pathID("/api/v1/customers/{id}/projects"),
			want: seesCust(200),
			check: func(t *testing.T, f *fixture, p *mPrincipal, obj string, body []byte) {
				var out struct{ Projects []tuku.Project }
				json.Unmarshal(body, &out)
				var got []string
				for _, pr := range out.Projects {
					got = append(got, pr.ID)
				}
				f.sameFixtures(t, "projects", got, []string{"A1", "A2", "B1"}, func(k string) bool {
					return k[:1] == obj && p.seesProject(obj, k)
				})
			},
		},

		{Method: "POST", Path: "/api/v1/assets"}: {
			objs: []string{"A", "A/A1", "A/A2", "A/missingProject", "B", "missingCustomer"},
			req: func(f *fixture, obj string) (string, io.Reader, string) {
				cust, proj, _ := strings.Cut(obj, "/")
				parts := []field{text("customer_id", f.ids[cust])}
				if proj != "" {
					parts = append(parts, text("project_id", f.ids[proj]))
				}
				f.seed++
				parts = append(parts, file("m.jpg", makeJPEG(f.t, 24, 16, 1000+f.seed)))
				body, ct := multipartBody(parts...)
				return "/api/v1/assets", body, ct
			},
			want: func(f *fixture, p *mPrincipal, obj string) int {
				cust, proj, _ := strings.Cut(obj, "/")
				return p.write(cust, proj, tuku.LevelContributor, 201)
			},
		},
		{Method: "GET", Path: "/api/v1/assets"}: {
			objs: []string{"", "A", "B", "A/A2", "missingCustomer", "A/missingProject"},
			req: func(f *fixture, obj string) (string, io.Reader, string) {
				cust, proj, _ := strings.Cut(obj, "/")
				q := url.Values{"limit": {"1000"}}
				if cust != "" {
					q.Set("customer", f.ids[cust])
				}
				if proj != "" {
					q.Set("project", f.ids[proj])
				}
				return "/api/v1/assets?" + q.Encode(), nil, ""
			},
			want: func(f *fixture, p *mPrincipal, obj string) int {
				cust, proj, _ := strings.Cut(obj, "/")
				switch {
				case p.anon:
					return 401
				case cust == "":
					return 200
				case !p.seesCustomer(cust), proj != "" && !p.seesProject(cust, proj):
					return 404
				}
				return 200
			},
			check: func(t *testing.T, f *fixture, p *mPrincipal, obj string, body []byte) {
				cust, proj, _ := strings.Cut(obj, "/")
				var page service.AssetPage
				json.Unmarshal(body, &page)
				var got, keys []string
				for _, a := range page.Assets {
					got = append(got, a.ID)
				}
				for _, a := range f.assets {
					keys = append(keys, a.key)
				}
				f.sameFixtures(t, "assets", got, keys, func(k string) bool {
					a, _ := f.asset(k)
					return p.seesAsset(a) && (cust == "" || a.cust == cust) && (proj == "" || a.proj == proj)
				})
			},
		},
		{Method: "GET", Path: "/api/v1/assets/{id}"}:           get("/api/v1/assets/{id}"),
		{Method: "GET", Path: "/api/v1/assets/{id}/original"}:  get("/api/v1/assets/{id}/original"),
		{Method: "GET", Path: "/api/v1/assets/{id}/thumbnail"}: get("/api/v1/assets/{id}/thumbnail?size=grid"),
		{Method: "GET", Path: "/api/v1/assets/{id}/download"}:  get("/api/v1/assets/{id}/download?format=webp&size=preview"),
		{Method: "PATCH", Path: "/api/v1/assets/{id}"}: {
			objs: assetObjs,
			req: func(f *fixture, obj string) (string, io.Reader, string) {
				return jsonBody("/api/v1/assets/"+f.ids[obj], map[string]string{"description": "matrix"})
			},
			want: func(f *fixture, p *mPrincipal, obj string) int { return p.editAssets(f, obj, true) },
		},
		// Bulk requests name several assets: one hidden or missing makes
		// the whole request 404, one visible but not editable 403.
		{Method: "POST", Path: "/api/v1/assets/bulk"}: {
			objs: bulkObjs,
			req: func(f *fixture, obj string) (string, io.Reader, string) {
				return jsonBody("/api/v1/assets/bulk", map[string]any{"ids": f.idList(obj), "add_tags": []string{"matrix"}})
			},
			want: func(f *fixture, p *mPrincipal, obj string) int { return p.editAssets(f, obj, true) },
		},
		{Method: "POST", Path: "/api/v1/assets/zip"}: {
			objs: bulkObjs,
			req: func(f *fixture, obj string) (string, io.Reader, string) {
				return jsonBody("/api/v1/assets/zip", map[string]any{"ids": f.idList(obj)})
			},
			want: func(f *fixture, p *mPrincipal, obj string) int { return p.editAssets(f, obj, false) },
		},

		// Sign-in and sessions: bearer principals carry no session, so
		// the session steps answer 401 to all; login works for anyone
		// who knows a password.
		{Method: "POST", Path: "/api/v1/auth/login"}: {
			objs: []string{""},
			req: func(f *fixture, _ string) (string, io.Reader, string) {
				return jsonBody("/api/v1/auth/login", map[string]string{"email": f.target, "password": targetPassword})
			},
			want: func(*fixture, *mPrincipal, string) int { return 200 },
		},
		{Method: "POST", Path: "/api/v1/auth/mfa"}:         noSession("/api/v1/auth/mfa", map[string]string{"code": "123456"}),
		{Method: "POST", Path: "/api/v1/auth/mfa/enrol"}:   noSession("/api/v1/auth/mfa/enrol", nil),
		{Method: "POST", Path: "/api/v1/auth/mfa/confirm"}: noSession("/api/v1/auth/mfa/confirm", map[string]string{"code": "123456"}),
		{Method: "POST", Path: "/api/v1/auth/logout"}:      noSession("/api/v1/auth/logout", nil),
		{Method: "GET", Path: "/api/v1/auth/me"}:           {objs: []string{""}, want: authed(200)},
		{Method: "POST", Path: "/api/v1/auth/password"}: {
			// A new password too short to take: the request is judged
			// (and refused as invalid) only for who may change a password.
			objs: []string{""},
			req: func(f *fixture, _ string) (string, io.Reader, string) {
				return jsonBody("/api/v1/auth/password", map[string]string{"current": "x", "new": "short"})
			},
			want: func(_ *fixture, p *mPrincipal, _ string) int {
				switch {
				case p.anon:
					return 401
				case p.ro, p.only != "":
					return 403 // the account is wider than a one-customer token
				}
				return 400
			},
		},

		// Accounts and tokens: user management is for unrestricted
		// admins; tokens are one's own, or anyone's for such an admin.
		{Method: "POST", Path: "/api/v1/users"}: {
			objs: []string{""},
			req: func(f *fixture, _ string) (string, io.Reader, string) {
				f.seed++
				return jsonBody("/api/v1/users", map[string]string{"email": fmt.Sprintf("new%d@example.com", f.seed), "role": "member"})
			},
			want: adminOnly(201, false),
		},
		// The account list needs ManageUsers, which read-only tokens lack.
		{Method: "GET", Path: "/api/v1/users"}: {objs: []string{""}, want: adminOnly(200, false)},
		{Method: "POST", Path: "/api/v1/users/{id}/disable"}: {
			objs: []string{"freshUser", "missingUser"},
			req: func(f *fixture, obj string) (string, io.Reader, string) {
				return "/api/v1/users/" + f.userObj(obj) + "/disable", strings.NewReader(""), ""
			},
			want: userAdmin(200),
		},
		{Method: "POST", Path: "/api/v1/users/{id}/reset-mfa"}: {
			objs: []string{"freshUser", "missingUser"},
			req: func(f *fixture, obj string) (string, io.Reader, string) {
				return "/api/v1/users/" + f.userObj(obj) + "/reset-mfa", strings.NewReader(""), ""
			},
			want: userAdmin(204),
		},
		{Method: "POST", Path: "/api/v1/tokens"}: {
			objs: []string{"self", "other"},
			req: func(f *fixture, obj string) (string, io.Reader, string) {
				in := map[string]string{"name": "matrix"}
				if obj == "other" {
					in["email"] = f.target
				}
				return jsonBody("/api/v1/tokens", in)
			},
			want: func(_ *fixture, p *mPrincipal, obj string) int {
				switch {
				case p.anon:
					return 401
				case p.ro, obj == "other" && (!p.admin || p.only != ""):
					return 403
				}
				return 201
			},
		},
		{Method: "DELETE", Path: "/api/v1/tokens/{id}"}: {
			objs: []string{"ownToken", "otherToken", "missingToken"},
			want: func(_ *fixture, p *mPrincipal, obj string) int {
				switch {
				case p.anon:
					return 401
				case p.ro:
					return 403
				case obj == "ownToken" && p.only != "":
					return 403 // a one-customer token cannot revoke the account's wider tokens
				case obj == "ownToken", obj == "otherToken" && p.admin && p.only == "":
					return 204
				}
				return 404
			},
		},

		{Method: "GET", Path: "/api/v1/audit"}:     {objs: []string{""}, want: adminOnly(200, true)},
		{Method: "GET", Path: "/api/v1/audit.csv"}: {objs: []string{""}, want: adminOnly(200, true)},

		{Method: "GET", Path: "/api/v1/grants"}: {
			objs: []string{"", "A", "B", "missingCustomer"},
			req: func(f *fixture, obj string) (string, io.Reader, string) {
				if obj == "" {
					return "/api/v1/grants", nil, ""
				}
				return "/api/v1/grants?customer=" + f.ids[obj], nil, ""
			},
			want: seesCust(200),
			check: func(t *testing.T, f *fixture, p *mPrincipal, obj string, body []byte) {
				var out struct {
					Grants []service.GrantInfo `json:"grants"`
				}
				json.Unmarshal(body, &out)
				var got, keys []string
				for _, g := range out.Grants {
					got = append(got, g.ID)
				}
				for id := range f.grants {
					keys = append(keys, id)
				}
				f.sameFixtures(t, "grants", got, keys, func(id string) bool {
					g := f.grants[id]
					return p.seesGrant(g, f.owner[id]) && (obj == "" || g.cust == obj)
				})
			},
		},
		{Method: "POST", Path: "/api/v1/grants"}: {
			objs: []string{"A", "A/A1", "A/missingProject", "B", "missingCustomer"},
			req: func(f *fixture, obj string) (string, io.Reader, string) {
				cust, proj, _ := strings.Cut(obj, "/")
				in := map[string]any{"user_email": f.target, "customer_id": f.ids[cust], "level": "viewer"}
				if proj != "" {
					in["project_id"] = f.ids[proj]
				}
				return jsonBody("/api/v1/grants", in)
			},
			want: func(f *fixture, p *mPrincipal, obj string) int {
				cust, proj, _ := strings.Cut(obj, "/")
				return p.write(cust, proj, tuku.LevelManager, 201)
			},
		},
		{Method: "DELETE", Path: "/api/v1/grants/{id}"}: {
			objs: []string{"g-A", "g-A1", "g-B", "missingGrant"},
			req: func(f *fixture, obj string) (string, io.Reader, string) {
				id := f.ids[obj]
				if obj != "missingGrant" { // a fresh grant per request
					scope := strings.TrimPrefix(obj, "g-")
					proj := ""
					if len(scope) > 1 {
						proj = scope
					}
					id = f.grant(f.target, scope[:1], proj, tuku.LevelViewer).ID
				}
				return "/api/v1/grants/" + id, nil, ""
			},
			want: func(f *fixture, p *mPrincipal, obj string) int {
				if p.anon {
					return 401
				}
				var g mGrant
				switch obj {
				case "g-A":
					g = mGrant{cust: "A"}
				case "g-A1":
					g = mGrant{cust: "A", proj: "A1"}
				case "g-B":
					g = mGrant{cust: "B"}
				default:
					return 404
				}
				if !p.seesGrant(g, "") {
					return 404
				}
				if p.ro {
					return 403
				}
				return 204
			},
		},
	}
}

// ---- running it ----

func runMatrix(t *testing.T, db string) {
	e := newEnv(t, func(c *app.Config) {
		c.DB = db
		c.RateLimits = httpapi.NoRateLimits()
	})
	f := newFixture(t, e)
	ps := principals()
	for _, p := range ps {
		f.enrol(p)
	}
	policy := matrixPolicy()
	registered := map[httpapi.Route]bool{}
	for _, rt := range httpapi.Routes() {
		registered[rt] = true
		if _, ok := policy[rt]; !ok {
			t.Errorf("no policy entry for route %s %s: add one to matrixPolicy", rt.Method, rt.Path)
		}
	}
	for rt := range policy {
		if !registered[rt] {
			t.Errorf("matrixPolicy has an entry for %s %s, which is not a route", rt.Method, rt.Path)
		}
	}
	routes := httpapi.Routes()
	sort.Slice(routes, func(i, j int) bool { return routes[i].Path+routes[i].Method < routes[j].Path+routes[j].Method })

	admin := ps[1]
	n := 0
	for _, rt := range routes {
		c, ok := policy[rt]
		if !ok {
			continue
		}
		// What a missing object looks like, as the admin sees it.
		missing := map[string]bool{}
		for _, obj := range c.objs {
			if !strings.Contains(obj, "missing") {
				continue
			}
			r := f.call(rt, c, admin, obj)
			if r.StatusCode != 404 {
				t.Errorf("%s %s as admin on %s: %d, want 404 (%s)", rt.Method, rt.Path, obj, r.StatusCode, r.body)
				continue
			}
			missing[f.normalise(r.apiError(t).Message)] = true
		}
		for _, p := range ps {
			for _, obj := range c.objs {
				want := c.want(f, p, obj)
				r := f.call(rt, c, p, obj)
				n++
				if r.StatusCode != want {
					t.Errorf("%s %s as %s on %q: status %d, want %d: %.200s", rt.Method, rt.Path, p.name, obj, r.StatusCode, want, r.body)
					continue
				}
				switch {
				case want == 404:
					if msg := f.normalise(r.apiError(t).Message); !missing[msg] {
						t.Errorf("%s %s as %s on %q: 404 says %q, unlike a missing object (%v)", rt.Method, rt.Path, p.name, obj, msg, keys(missing))
					}
				case want < 300 && c.check != nil:
					c.check(t, f, p, obj, r.body)
				}
			}
		}
	}
	t.Logf("%d routes × %d principals: %d requests checked", len(routes), len(ps), n)
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// call sends one case's request as p.
func (f *fixture) call(rt httpapi.Route, c mCase, p *mPrincipal, obj string) *response {
	f.t.Helper()
	path, body, ctype := rt.Path, io.Reader(nil), ""
	switch {
	case rt.Path == "/api/v1/tokens/{id}":
		path = "/api/v1/tokens/" + f.tokenObj(p, obj) // depends on who asks
	case c.req != nil:
		path, body, ctype = c.req(f, obj)
	}
	if body == nil && rt.Method != "GET" && rt.Method != "DELETE" {
		body = strings.NewReader("")
	}
	hdr := map[string]string{"Authorization": ""}
	if !p.anon {
		hdr["Authorization"] = "Bearer " + p.token
	}
	if ctype != "" {
		hdr["Content-Type"] = ctype
	}
	return f.e.do(rt.Method, path, body, hdr)
}

func newFixture(t *testing.T, e *env) *fixture {
	ctx := context.Background()
	admin, err := e.app.Service.PrincipalFor(ctx, "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, e: e, ctx: ctx, admin: admin, ids: map[string]string{}, codes: map[string]string{},
		grants: map[string]mGrant{}, owner: map[string]string{}}
	svc := e.app.Service
	for _, k := range []string{"A", "B"} {
		c, err := svc.CreateCustomer(ctx, admin, service.NewCustomer{Name: "Customer " + k, Code: "C" + k})
		if err != nil {
			t.Fatal(err)
		}
		f.ids[k], f.codes[k] = c.ID, c.Code
	}
	for _, k := range []string{"A1", "A2", "B1"} {
		pr, err := svc.CreateProject(ctx, admin, f.ids[k[:1]], "Project "+k, "")
		if err != nil {
			t.Fatal(err)
		}
		f.ids[k] = pr.ID
	}
	f.assets = []mAsset{
		{"a-A1", "A", "A1", tuku.Internal},
		{"a-A0", "A", "", tuku.Public},
		{"a-A2", "A", "A2", tuku.Internal},
		{"a-A1conf", "A", "A1", tuku.Confidential},
		{"a-A1restr", "A", "A1", tuku.Restricted},
		{"a-B1", "B", "B1", tuku.Internal},
	}
	for i, a := range f.assets {
		req := service.IngestRequest{Customer: f.ids[a.cust], Filename: a.key + ".jpg", Sensitivity: string(a.sens),
			Body: bytes.NewReader(makeJPEG(t, 32, 24, 500+i))}
		if a.proj != "" {
			req.Project = f.ids[a.proj]
		}
		res, err := svc.Ingest(ctx, admin, req)
		if err != nil {
			t.Fatalf("ingest %s: %v", a.key, err)
		}
		f.ids[a.key] = res.Asset.ID
	}
	for _, k := range []string{"missingCustomer", "missingProject", "missingAsset", "missingGrant", "missingUser", "missingToken"} {
		f.ids[k] = tuku.NewID()
	}
	f.target = "target@example.com"
	if _, _, err := svc.CreateUser(ctx, admin, service.NewUser{Email: f.target, Role: tuku.RoleMember, Password: targetPassword}); err != nil {
		t.Fatal(err)
	}
	return f
}

// enrol creates p's account, grants and token.
func (f *fixture) enrol(p *mPrincipal) {
	if p.anon {
		return
	}
	svc := f.e.app.Service
	p.email = "admin@example.com"
	if !p.admin {
		p.email = strings.ToLower(p.name) + "@example.com"
		if _, _, err := svc.CreateUser(f.ctx, f.admin, service.NewUser{Email: p.email, Role: tuku.RoleMember}); err != nil {
			f.t.Fatal(err)
		}
		for _, g := range p.grants {
			gi, err := svc.GrantAccess(f.ctx, f.admin, p.email, f.ids[g.cust], f.ids[g.proj], g.level, g.conf)
			if err != nil {
				f.t.Fatal(err)
			}
			f.grants[gi.ID], f.owner[gi.ID] = g, p.name
		}
	}
	_, secret, err := svc.CreateToken(f.ctx, f.admin, service.NewToken{Email: p.email, Name: p.name, ReadOnly: p.ro, CustomerID: f.ids[p.only]})
	if err != nil {
		f.t.Fatal(err)
	}
	p.token = secret
}

// grant makes a grant as the admin.
func (f *fixture) grant(email, cust, proj string, l tuku.Level) *service.GrantInfo {
	f.t.Helper()
	g, err := f.e.app.Service.GrantAccess(f.ctx, f.admin, email, f.ids[cust], f.ids[proj], l, false)
	if err != nil {
		f.t.Fatal(err)
	}
	return g
}

const targetPassword = "correct horse battery"

// userObj returns the ID of a fresh member for "freshUser", else of a
// missing one.
func (f *fixture) userObj(obj string) string {
	if obj != "freshUser" {
		return f.ids["missingUser"]
	}
	f.seed++
	u, _, err := f.e.app.Service.CreateUser(f.ctx, f.admin, service.NewUser{Email: fmt.Sprintf("fresh%d@example.com", f.seed), Role: tuku.RoleMember})
	if err != nil {
		f.t.Fatal(err)
	}
	return u.ID
}

// tokenObj returns the ID of a fresh token of p ("ownToken"), of another
// user ("otherToken"), or a missing one.
func (f *fixture) tokenObj(p *mPrincipal, obj string) string {
	email := f.target
	switch obj {
	case "ownToken":
		if p.anon {
			return f.ids["missingToken"]
		}
		email = p.email
	case "otherToken":
	default:
		return f.ids["missingToken"]
	}
	tok, _, err := f.e.app.Service.CreateToken(f.ctx, f.admin, service.NewToken{Email: email, Name: "victim"})
	if err != nil {
		f.t.Fatal(err)
	}
	return tok.ID
}

func (f *fixture) asset(key string) (mAsset, bool) {
	for _, a := range f.assets {
		if a.key == key {
			return a, true
		}
	}
	return mAsset{}, false
}

// normalise replaces the fixture's IDs and codes in a message, so that
// "customer CA has no project \"<id>\"" compares by shape.
func (f *fixture) normalise(msg string) string {
	for _, id := range f.ids {
		msg = strings.ReplaceAll(msg, id, "<id>")
	}
	for _, c := range f.codes {
		msg = strings.ReplaceAll(msg, c, "<code>")
	}
	return msg
}

// sameFixtures checks that among the fixture objects keys, got (IDs)
// holds exactly those for which visible is true. Objects made by other
// cases are ignored.
func (f *fixture) sameFixtures(t *testing.T, what string, got []string, keys []string, visible func(string) bool) {
	t.Helper()
	in := map[string]bool{}
	for _, id := range got {
		in[id] = true
	}
	for _, k := range keys {
		id := k
		if v, ok := f.ids[k]; ok {
			id = v
		}
		if in[id] != visible(k) {
			t.Errorf("%s: %s listed=%v, want %v", what, k, in[id], visible(k))
		}
	}
}
