package authz

import (
	"errors"
	"fmt"
	"testing"

	"tuku/internal/errs"
	"tuku/internal/tuku"
)

// want is the policy as the issue states it, written independently of the
// table in authz.go: the lowest level that allows each action ("admin" =
// no grant does), whether it writes, whether it is global.
var want = map[Action]struct {
	min    string
	write  bool
	global bool
}{
	ViewCustomer:     {"viewer", false, false},
	ManageCustomer:   {"manager", true, false},
	ViewAsset:        {"viewer", false, false},
	DownloadOriginal: {"viewer", false, false},
	UploadAsset:      {"contributor", true, false},
	EditAsset:        {"editor", true, false},
	ReviewAsset:      {"manager", true, false},
	ShareAsset:       {"manager", true, false},
	DeleteAsset:      {"manager", true, false},
	ManageGrants:     {"manager", true, false},
	ManageUsers:      {"admin", true, true},
	ViewAudit:        {"admin", false, true},
	ManageSettings:   {"admin", true, true},
	ViewSystem:       {"admin", false, true},
}

func TestActionsCovered(t *testing.T) {
	seen := map[Action]bool{}
	for _, a := range Actions() {
		if _, ok := want[a]; !ok {
			t.Errorf("action %s is in the policy but not in this test's table", a)
		}
		if seen[a] {
			t.Errorf("action %s listed twice", a)
		}
		seen[a] = true
	}
	if len(seen) != len(want) {
		t.Errorf("Actions() has %d actions, the test expects %d", len(seen), len(want))
	}
}

const custA, custB, projA1, projA2 = "custA", "custB", "projA1", "projA2"

// TestCheckExhaustive runs every action × role/level × confidential flag ×
// sensitivity × token restriction against the rules written out plainly.
func TestCheckExhaustive(t *testing.T) {
	levels := []tuku.Level{tuku.LevelNone, tuku.LevelViewer, tuku.LevelContributor, tuku.LevelEditor, tuku.LevelManager}
	sens := []tuku.Sensitivity{"", tuku.Public, tuku.Internal, tuku.Confidential, tuku.Restricted, "bogus"}
	type tokenKind struct {
		name     string
		readOnly bool
		only     string
	}
	tokens := []tokenKind{{"none", false, ""}, {"read-only", true, ""}, {"only-A", false, custA}, {"only-B", false, custB}, {"read-only+only-A", true, custA}}
	n := 0
	for _, a := range Actions() {
		w := want[a]
		for _, admin := range []bool{true, false} {
			for _, lv := range levels {
				if admin && lv != tuku.LevelNone {
					continue
				}
				for _, conf := range []bool{false, true} {
					for _, s := range sens {
						for _, tk := range tokens {
							for _, rc := range []string{custA, ""} {
								p := &Principal{UserID: "u", Role: tuku.RoleMember, ReadOnly: tk.readOnly, OnlyCustomerID: tk.only}
								if admin {
									p.Role = tuku.RoleAdmin
								} else if lv != tuku.LevelNone {
									p.Grants = []tuku.Grant{{CustomerID: custA, Level: lv, Confidential: conf}}
								}
								r := Resource{CustomerID: rc, Sensitivity: s}
								allow := expect(w.min, w.write, w.global, admin, lv, conf, s, tk.readOnly, tk.only, rc)
								err := Check(p, a, r)
								n++
								if (err == nil) != allow {
									t.Errorf("%s admin=%v level=%s conf=%v sens=%q token=%s cust=%q: got %v, want allow=%v",
										a, admin, lv, conf, s, tk.name, rc, err, allow)
								}
								if err != nil && !errors.Is(err, errs.Permission) {
									t.Errorf("%s: denial is %v, want errs.Permission", a, err)
								}
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d combinations", n)
}

// expect is the rules in the order it states them.
func expect(min string, write, global, admin bool, lv tuku.Level, conf bool, s tuku.Sensitivity, readOnly bool, only, cust string) bool {
	if readOnly && write {
		return false
	}
	if only != "" {
		if global || cust != only {
			return false
		}
	}
	if admin {
		return true
	}
	if min == "admin" || cust == "" || lv == tuku.LevelNone {
		return false
	}
	need, _ := tuku.ParseLevel(min)
	if lv < need {
		return false
	}
	switch s {
	case "", tuku.Public, tuku.Internal:
		return true
	case tuku.Confidential:
		return conf || lv >= tuku.LevelEditor
	default: // restricted, and anything unknown
		return lv == tuku.LevelManager
	}
}

func TestCheckCases(t *testing.T) {
	g := func(cust, proj string, l tuku.Level, conf bool) tuku.Grant {
		return tuku.Grant{CustomerID: cust, ProjectID: proj, Level: l, Confidential: conf}
	}
	member := func(gs ...tuku.Grant) *Principal {
		return &Principal{UserID: "m", Role: tuku.RoleMember, Grants: gs}
	}
	tests := []struct {
		name  string
		p     *Principal
		a     Action
		r     Resource
		allow bool
		kind  errs.Kind
	}{
		{"nil principal", nil, ViewAsset, Resource{CustomerID: custA}, false, errs.Unauth},
		{"empty principal", &Principal{}, ViewAsset, Resource{CustomerID: custA}, false, errs.Unauth},
		{"unknown action, admin", &Principal{UserID: "a", Role: tuku.RoleAdmin}, Action("asset.frobnicate"), Resource{CustomerID: custA}, false, errs.Permission},
		{"unknown role", &Principal{UserID: "x", Role: "superuser", Grants: []tuku.Grant{g(custA, "", tuku.LevelManager, true)}}, ViewAsset, Resource{CustomerID: custA}, false, errs.Permission},
		{"member without grants", member(), ViewCustomer, Resource{CustomerID: custA}, false, errs.Permission},
		{"grant on another customer", member(g(custB, "", tuku.LevelManager, true)), ViewAsset, Resource{CustomerID: custA}, false, errs.Permission},
		{"customer grant covers its projects", member(g(custA, "", tuku.LevelViewer, false)), ViewAsset, Resource{CustomerID: custA, ProjectID: projA1}, true, ""},
		{"project grant covers its project", member(g(custA, projA1, tuku.LevelContributor, false)), UploadAsset, Resource{CustomerID: custA, ProjectID: projA1}, true, ""},
		{"project grant: not another project", member(g(custA, projA1, tuku.LevelManager, true)), ViewAsset, Resource{CustomerID: custA, ProjectID: projA2}, false, errs.Permission},
		{"project grant: not assets outside projects", member(g(custA, projA1, tuku.LevelManager, true)), ViewAsset, Resource{CustomerID: custA}, false, errs.Permission},
		{"project grant: sees the customer record", member(g(custA, projA1, tuku.LevelViewer, false)), ViewCustomer, Resource{CustomerID: custA}, true, ""},
		{"project grant: sees its project record", member(g(custA, projA1, tuku.LevelViewer, false)), ViewCustomer, Resource{CustomerID: custA, ProjectID: projA1}, true, ""},
		{"project grant: not other project records", member(g(custA, projA1, tuku.LevelViewer, false)), ViewCustomer, Resource{CustomerID: custA, ProjectID: projA2}, false, errs.Permission},
		{"project manager cannot edit the customer", member(g(custA, projA1, tuku.LevelManager, false)), ManageCustomer, Resource{CustomerID: custA}, false, errs.Permission},
		{"customer manager edits the customer", member(g(custA, "", tuku.LevelManager, false)), ManageCustomer, Resource{CustomerID: custA}, true, ""},
		{"only admins create customers", member(g(custA, "", tuku.LevelManager, false)), ManageCustomer, Resource{}, false, errs.Permission},
		{"project manager manages its grants", member(g(custA, projA1, tuku.LevelManager, false)), ManageGrants, Resource{CustomerID: custA, ProjectID: projA1}, true, ""},
		{"project manager: not customer grants", member(g(custA, projA1, tuku.LevelManager, false)), ManageGrants, Resource{CustomerID: custA}, false, errs.Permission},
		{"highest grant wins", member(g(custA, "", tuku.LevelViewer, false), g(custA, projA1, tuku.LevelEditor, false)), EditAsset, Resource{CustomerID: custA, ProjectID: projA1}, true, ""},
		{"highest grant wins, not elsewhere", member(g(custA, "", tuku.LevelViewer, false), g(custA, projA1, tuku.LevelEditor, false)), EditAsset, Resource{CustomerID: custA, ProjectID: projA2}, false, errs.Permission},
		{"restricted needs a manager of the scope", member(g(custA, "", tuku.LevelEditor, true)), ViewAsset, Resource{CustomerID: custA, Sensitivity: tuku.Restricted}, false, errs.Permission},
		{"restricted: project manager in its project", member(g(custA, projA1, tuku.LevelManager, false)), ViewAsset, Resource{CustomerID: custA, ProjectID: projA1, Sensitivity: tuku.Restricted}, true, ""},
		{"confidential opened by another applicable grant", member(g(custA, "", tuku.LevelViewer, true), g(custA, projA1, tuku.LevelContributor, false)), UploadAsset, Resource{CustomerID: custA, ProjectID: projA1, Sensitivity: tuku.Confidential}, true, ""},
		{"confidential flag of an inapplicable grant does not count", member(g(custA, projA2, tuku.LevelViewer, true), g(custA, projA1, tuku.LevelViewer, false)), ViewAsset, Resource{CustomerID: custA, ProjectID: projA1, Sensitivity: tuku.Confidential}, false, errs.Permission},
		{"corrupt level above manager is capped", member(g(custA, "", tuku.Level(99), false)), ViewAsset, Resource{CustomerID: custA, Sensitivity: tuku.Restricted}, true, ""},
		{"negative level is nothing", member(g(custA, "", tuku.Level(-1), true)), ViewAsset, Resource{CustomerID: custA}, false, errs.Permission},
		{"read-only admin token reads", &Principal{UserID: "a", Role: tuku.RoleAdmin, ReadOnly: true}, DownloadOriginal, Resource{CustomerID: custA, Sensitivity: tuku.Restricted}, true, ""},
		{"read-only admin token cannot manage users", &Principal{UserID: "a", Role: tuku.RoleAdmin, ReadOnly: true}, ManageUsers, Resource{}, false, errs.Permission},
		{"customer token of an admin cannot see audit", &Principal{UserID: "a", Role: tuku.RoleAdmin, OnlyCustomerID: custB}, ViewAudit, Resource{}, false, errs.Permission},
		{"customer token of a member does not widen", &Principal{UserID: "m", Role: tuku.RoleMember, OnlyCustomerID: custB, Grants: []tuku.Grant{g(custA, "", tuku.LevelManager, true)}}, ViewAsset, Resource{CustomerID: custB}, false, errs.Permission},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.p, tc.a, tc.r)
			if (err == nil) != tc.allow {
				t.Fatalf("Check = %v, want allow=%v", err, tc.allow)
			}
			if err != nil && !errors.Is(err, tc.kind) {
				t.Fatalf("Check = %v, want kind %v", err, tc.kind)
			}
		})
	}
}

// TestViewScopesAgreeWithCheck: an asset is inside the scopes exactly
// when Check allows viewing it, for many grant sets and assets.
func TestViewScopesAgreeWithCheck(t *testing.T) {
	levels := []tuku.Level{tuku.LevelViewer, tuku.LevelContributor, tuku.LevelEditor, tuku.LevelManager}
	var grantSets [][]tuku.Grant
	grantSets = append(grantSets, nil)
	for _, l1 := range levels {
		for _, c1 := range []bool{false, true} {
			grantSets = append(grantSets, []tuku.Grant{{CustomerID: custA, Level: l1, Confidential: c1}})
			grantSets = append(grantSets, []tuku.Grant{{CustomerID: custA, ProjectID: projA1, Level: l1, Confidential: c1}})
			for _, l2 := range levels {
				grantSets = append(grantSets, []tuku.Grant{
					{CustomerID: custA, Level: l1, Confidential: c1},
					{CustomerID: custA, ProjectID: projA1, Level: l2},
					{CustomerID: custB, ProjectID: "projB1", Level: l2, Confidential: !c1},
				})
			}
		}
	}
	var assets []Resource
	for _, c := range []string{custA, custB} {
		for _, pr := range []string{"", projA1, projA2, "projB1"} {
			for _, s := range []tuku.Sensitivity{tuku.Public, tuku.Internal, tuku.Confidential, tuku.Restricted} {
				assets = append(assets, Resource{CustomerID: c, ProjectID: pr, Sensitivity: s})
			}
		}
	}
	principals := []*Principal{
		{UserID: "a", Role: tuku.RoleAdmin},
		{UserID: "a", Role: tuku.RoleAdmin, OnlyCustomerID: custB},
	}
	for _, gs := range grantSets {
		principals = append(principals, &Principal{UserID: "m", Role: tuku.RoleMember, Grants: gs})
		principals = append(principals, &Principal{UserID: "m", Role: tuku.RoleMember, Grants: gs, OnlyCustomerID: custA})
	}
	for i, p := range principals {
		for _, act := range []Action{ViewAsset, DownloadOriginal, EditAsset} {
			scopes, all := ViewScopes(p, act)
			for _, r := range assets {
				in := all || inScopes(scopes, r)
				if ok := Check(p, act, r) == nil; ok != in {
					t.Errorf("principal %d %+v, %s on %+v: Check allows=%v, scopes %+v (all=%v) contain=%v", i, p, act, r, ok, scopes, all, in)
				}
			}
		}
	}
	if s, all := ViewScopes(nil, ViewAsset); s != nil || all {
		t.Errorf("nil principal has scopes %v all=%v", s, all)
	}
}

func inScopes(scopes []Scope, r Resource) bool {
	for _, s := range scopes {
		if s.CustomerID != r.CustomerID || (s.ProjectID != "" && s.ProjectID != r.ProjectID) {
			continue
		}
		for _, x := range SensitivitiesUpTo(s.MaxSensitivity) {
			if x == r.Sensitivity {
				return true
			}
		}
	}
	return false
}

func TestLevelNamesRoundTrip(t *testing.T) {
	for l := tuku.LevelViewer; l <= tuku.LevelManager; l++ {
		got, ok := tuku.ParseLevel(l.String())
		if !ok || got != l {
			t.Errorf("ParseLevel(%q) = %v, %v", l.String(), got, ok)
		}
	}
	if _, ok := tuku.ParseLevel("owner"); ok {
		t.Error("ParseLevel accepted an unknown level")
	}
	if fmt.Sprint(SensitivitiesUpTo(tuku.Confidential)) != "[public internal confidential]" {
		t.Errorf("SensitivitiesUpTo(confidential) = %v", SensitivitiesUpTo(tuku.Confidential))
	}
	if SensitivitiesUpTo("bogus") != nil {
		t.Error("SensitivitiesUpTo(bogus) is not empty")
	}
}
