// Package metatest is the conformance suite every meta.Store must pass.
// meta/sqlite and meta/postgres run it from their tests:
//
//	metatest.Run(t, func(t *testing.T) meta.Store { ... a fresh, empty store ... })
//
// open is called once per subtest and must return an empty store that is
// closed by a t.Cleanup.
package metatest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// Run runs the suite.
func Run(t *testing.T, open func(t *testing.T) meta.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s meta.Store)
	}{
		{"Customers", testCustomers},
		{"Projects", testProjects},
		{"Assets", testAssets},
		{"Renditions", testRenditions},
		{"UsersTokens", testUsersTokens},
		{"ImportRecords", testImportRecords},
		{"Rollback", testRollback},
		{"ViewIsReadOnly", testViewReadOnly},
		{"ListFilters", testListFilters},
		{"Pagination", testPagination},
		{"NextSeq", testNextSeq},
		{"ConcurrentSameSHA", testConcurrentSameSHA},
		{"Jobs", testJobs},
		{"JobsLeaseExpiry", testJobsLease},
		{"JobsConcurrentClaim", testJobsConcurrentClaim},
		// accounts, grants and audit (accounts.go, grants.go, audit.go)
		{"UpdateUser", testUpdateUser},
		{"Tokens", testTokens},
		{"Sessions", testSessions},
		{"MFA", testMFA},
		{"Grants", testGrants},
		{"AccountCascade", testAccountCascade},
		{"AuditChain", testAuditChain},
		{"AuditConcurrent", testAuditConcurrent},
		{"AuditList", testAuditList},
		{"AuditWalk", testAuditWalk},
		{"AuditAppendOnly", testAuditAppendOnly},
		{"Settings", testSettings},   // settings.go
		{"AssetSort", testAssetSort}, // sort.go
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if err := s.Ping(t.Context()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			tc.fn(t, s)
		})
	}
}

// ---- helpers ----

func update(t *testing.T, s meta.Store, fn func(tx meta.Tx) error) {
	t.Helper()
	if err := s.Tx(t.Context(), fn); err != nil {
		t.Fatalf("Tx: %v", err)
	}
}

func view(t *testing.T, s meta.Store, fn func(tx meta.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func wantKind(t *testing.T, what string, err error, kind errs.Kind) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Errorf("%s: got error %v (kind %q), want kind %q", what, err, errs.KindOf(err), kind)
	}
}

// sameTime compares to the microsecond, the precision the contract promises.
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

// at is a fixed time with nanoseconds, in a non-UTC zone, to catch lost
// precision and zone handling.
func at(s string) time.Time {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return tm
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func addCustomer(t *testing.T, s meta.Store, code string) *tuku.Customer {
	t.Helper()
	c := &tuku.Customer{Name: "Customer " + code, Code: code, Sensitivity: tuku.Internal}
	update(t, s, func(tx meta.Tx) error { return tx.CreateCustomer(t.Context(), c) })
	return c
}

func addProject(t *testing.T, s meta.Store, customerID, name string) *tuku.Project {
	t.Helper()
	p := &tuku.Project{CustomerID: customerID, Name: name}
	update(t, s, func(tx meta.Tx) error { return tx.CreateProject(t.Context(), p) })
	return p
}

// newAsset is a minimal valid asset; content makes its SHA-256.
func newAsset(customerID, name, content string) *tuku.Asset {
	return &tuku.Asset{
		CustomerID:       customerID,
		Name:             name,
		OriginalFilename: name + ".jpg",
		MIME:             "image/jpeg",
		Format:           "jpeg",
		Size:             int64(len(content)),
		SHA256:           sha(customerID + content),
		Width:            640,
		Height:           480,
		Frames:           1,
		Category:         tuku.CatOther,
		Sensitivity:      tuku.Internal,
		Status:           tuku.StatusActive,
		Source:           "upload",
		Version:          1,
	}
}

// normAsset makes a stored asset comparable with reflect.DeepEqual.
func normAsset(a tuku.Asset) tuku.Asset {
	a.CreatedAt = a.CreatedAt.Truncate(time.Microsecond).UTC()
	a.UpdatedAt = a.UpdatedAt.Truncate(time.Microsecond).UTC()
	if a.Tags == nil {
		a.Tags = []tuku.Tag{}
	}
	return a
}

func ids(as []tuku.Asset) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func names(as []tuku.Asset) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Name
	}
	sort.Strings(out)
	return out
}

// ---- register ----

func testCustomers(t *testing.T, s meta.Store) {
	ctx := t.Context()
	created := at("2024-05-06T07:08:09.123456789+08:00")
	c := &tuku.Customer{Name: "张三五金", Code: "ZS01", Contact: "张三 138", Notes: "VIP", Sensitivity: tuku.Confidential, CreatedAt: created}
	update(t, s, func(tx meta.Tx) error { return tx.CreateCustomer(ctx, c) })
	if !tuku.ValidID(c.ID) {
		t.Fatalf("CreateCustomer set ID %q, want a tuku ID", c.ID)
	}
	if !c.UpdatedAt.Equal(created) {
		t.Errorf("zero UpdatedAt should default to CreatedAt, got %v", c.UpdatedAt)
	}
	b := addCustomer(t, s, "ACME")

	view(t, s, func(tx meta.Tx) error {
		got, err := tx.GetCustomer(ctx, c.ID)
		if err != nil {
			return err
		}
		if got.Name != c.Name || got.Code != c.Code || got.Contact != c.Contact || got.Notes != c.Notes || got.Sensitivity != c.Sensitivity {
			t.Errorf("GetCustomer = %+v, want %+v", got, c)
		}
		if !sameTime(got.CreatedAt, created) || !sameTime(got.UpdatedAt, created) {
			t.Errorf("times = %v/%v, want %v", got.CreatedAt, got.UpdatedAt, created)
		}
		byCode, err := tx.GetCustomerByCode(ctx, "zs01")
		if err != nil {
			return err
		}
		if byCode.ID != c.ID {
			t.Errorf("GetCustomerByCode(zs01) = %s, want %s", byCode.ID, c.ID)
		}
		list, err := tx.ListCustomers(ctx)
		if err != nil {
			return err
		}
		if len(list) != 2 {
			t.Fatalf("ListCustomers: %d customers, want 2", len(list))
		}
		if list[0].ID != b.ID || list[1].ID != c.ID {
			t.Errorf("ListCustomers order = %s, %s; want by name", list[0].Name, list[1].Name)
		}
		_, err = tx.GetCustomer(ctx, tuku.NewID())
		wantKind(t, "GetCustomer(missing)", err, errs.NotFound)
		_, err = tx.GetCustomerByCode(ctx, "nope")
		wantKind(t, "GetCustomerByCode(missing)", err, errs.NotFound)
		return nil
	})

	// The code is unique whatever its case.
	err := s.Tx(ctx, func(tx meta.Tx) error {
		return tx.CreateCustomer(ctx, &tuku.Customer{Name: "Other", Code: "zs01"})
	})
	wantKind(t, "CreateCustomer(duplicate code)", err, errs.Conflict)
	if msg := errs.Message(err); msg == "" || msg == "conflict" {
		t.Errorf("conflict message %q should name the problem", msg)
	}

	c.Name, c.Notes, c.Code = "张三五金店", "moved", "ZS02"
	c.UpdatedAt = time.Time{}
	update(t, s, func(tx meta.Tx) error { return tx.UpdateCustomer(ctx, c) })
	if c.UpdatedAt.IsZero() {
		t.Error("UpdateCustomer left a zero UpdatedAt")
	}
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.GetCustomerByCode(ctx, "ZS02")
		if err != nil {
			return err
		}
		if got.Name != "张三五金店" || got.Notes != "moved" || !sameTime(got.CreatedAt, created) || !sameTime(got.UpdatedAt, c.UpdatedAt) {
			t.Errorf("after update: %+v", got)
		}
		return nil
	})
	b.Code = "zs02"
	err = s.Tx(ctx, func(tx meta.Tx) error { return tx.UpdateCustomer(ctx, b) })
	wantKind(t, "UpdateCustomer(duplicate code)", err, errs.Conflict)
	err = s.Tx(ctx, func(tx meta.Tx) error { return tx.UpdateCustomer(ctx, &tuku.Customer{ID: tuku.NewID(), Code: "X"}) })
	wantKind(t, "UpdateCustomer(missing)", err, errs.NotFound)
}

func testProjects(t *testing.T, s meta.Store) {
	ctx := t.Context()
	a := addCustomer(t, s, "A")
	b := addCustomer(t, s, "B")
	p2 := addProject(t, s, a.ID, "门店 2024")
	p1 := addProject(t, s, a.ID, "Catalogue")
	pb := addProject(t, s, b.ID, "Catalogue") // same name, other customer: fine

	err := s.Tx(ctx, func(tx meta.Tx) error {
		return tx.CreateProject(ctx, &tuku.Project{CustomerID: a.ID, Name: "Catalogue"})
	})
	wantKind(t, "CreateProject(duplicate)", err, errs.Conflict)
	err = s.Tx(ctx, func(tx meta.Tx) error {
		return tx.CreateProject(ctx, &tuku.Project{CustomerID: tuku.NewID(), Name: "Orphan"})
	})
	wantKind(t, "CreateProject(unknown customer)", err, errs.Invalid)

	view(t, s, func(tx meta.Tx) error {
		got, err := tx.GetProject(ctx, p2.ID)
		if err != nil {
			return err
		}
		if got.CustomerID != a.ID || got.Name != "门店 2024" || !sameTime(got.CreatedAt, p2.CreatedAt) {
			t.Errorf("GetProject = %+v, want %+v", got, p2)
		}
		list, err := tx.ListProjects(ctx, a.ID)
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0].ID != p1.ID || list[1].ID != p2.ID {
			t.Errorf("ListProjects(a) = %+v, want [%s %s]", list, p1.Name, p2.Name)
		}
		list, err = tx.ListProjects(ctx, b.ID)
		if err != nil {
			return err
		}
		if len(list) != 1 || list[0].ID != pb.ID {
			t.Errorf("ListProjects(b) = %+v", list)
		}
		all, err := tx.ListProjects(ctx, "")
		if err != nil {
			return err
		}
		if len(all) != 3 {
			t.Errorf("ListProjects(\"\") returned %d, want 3", len(all))
		}
		_, err = tx.GetProject(ctx, tuku.NewID())
		wantKind(t, "GetProject(missing)", err, errs.NotFound)
		return nil
	})
}

// ---- assets ----

func testAssets(t *testing.T, s meta.Store) {
	ctx := t.Context()
	c := addCustomer(t, s, "C")
	other := addCustomer(t, s, "O")
	p := addProject(t, s, c.ID, "P")
	otherP := addProject(t, s, other.ID, "P")

	a := newAsset(c.ID, "C_20240301_门店_01.jpg", "one")
	a.ProjectID = p.ID
	a.OriginalFilename = "IMG_0001.JPG"
	a.TakenAt = "2024-03-01T10:11:12+08:00"
	a.GPS = &tuku.GPS{Lat: 31.230416, Lon: -121.473701}
	a.CameraMake, a.CameraModel = "Apple", "iPhone 15"
	six := 6
	a.Orientation = &six
	a.Description = "客户张三的门店照片"
	a.Category = tuku.CatSite
	a.Sensitivity = tuku.Confidential
	a.Copyright = "© C"
	a.PHash = 0xfedcba9876543210 // high bit set: must survive a signed column
	a.Clarity = 123.5
	a.CreatedBy = "user1"
	a.CreatedAt = at("2024-03-02T01:02:03.456789123Z")
	a.Tags = []tuku.Tag{{Name: "storefront", Source: tuku.TagManual}, {Name: " 招牌 ", Source: tuku.TagAuto}, {Name: "storefront", Source: tuku.TagFile}, {Name: "", Source: tuku.TagManual}}
	update(t, s, func(tx meta.Tx) error { return tx.InsertAsset(ctx, a) })
	if !tuku.ValidID(a.ID) {
		t.Fatalf("InsertAsset set ID %q", a.ID)
	}
	wantTags := []tuku.Tag{{Name: "storefront", Source: tuku.TagManual}, {Name: "招牌", Source: tuku.TagAuto}}
	if !reflect.DeepEqual(a.Tags, wantTags) {
		t.Errorf("InsertAsset cleaned tags to %+v, want %+v", a.Tags, wantTags)
	}

	plain := newAsset(c.ID, "plain", "two")
	update(t, s, func(tx meta.Tx) error { return tx.InsertAsset(ctx, plain) })

	view(t, s, func(tx meta.Tx) error {
		got, err := tx.GetAsset(ctx, a.ID)
		if err != nil {
			return err
		}
		if g, w := normAsset(*got), normAsset(*a); !reflect.DeepEqual(g, w) {
			t.Errorf("GetAsset:\n got %+v\nwant %+v", g, w)
		}
		bySHA, err := tx.GetAssetBySHA(ctx, c.ID, a.SHA256)
		if err != nil {
			return err
		}
		if bySHA.ID != a.ID || len(bySHA.Tags) != 2 {
			t.Errorf("GetAssetBySHA = %s with %d tags", bySHA.ID, len(bySHA.Tags))
		}
		got, err = tx.GetAsset(ctx, plain.ID)
		if err != nil {
			return err
		}
		if got.GPS != nil || got.ProjectID != "" || got.TakenAt != "" || got.Tags == nil || len(got.Tags) != 0 {
			t.Errorf("plain asset: gps %v project %q taken %q tags %#v", got.GPS, got.ProjectID, got.TakenAt, got.Tags)
		}
		_, err = tx.GetAsset(ctx, tuku.NewID())
		wantKind(t, "GetAsset(missing)", err, errs.NotFound)
		_, err = tx.GetAssetBySHA(ctx, other.ID, a.SHA256)
		wantKind(t, "GetAssetBySHA(other customer)", err, errs.NotFound)
		return nil
	})

	// The same bytes for the same customer conflict; for another customer not.
	dup := newAsset(c.ID, "dup", "x")
	dup.SHA256 = a.SHA256
	err := s.Tx(ctx, func(tx meta.Tx) error { return tx.InsertAsset(ctx, dup) })
	wantKind(t, "InsertAsset(duplicate sha)", err, errs.Conflict)
	dup = newAsset(other.ID, "dup", "x")
	dup.SHA256 = a.SHA256
	update(t, s, func(tx meta.Tx) error { return tx.InsertAsset(ctx, dup) })

	// A project of another customer, or an unknown customer, is refused.
	bad := newAsset(c.ID, "bad", "bad")
	bad.ProjectID = otherP.ID
	err = s.Tx(ctx, func(tx meta.Tx) error { return tx.InsertAsset(ctx, bad) })
	wantKind(t, "InsertAsset(project of another customer)", err, errs.Invalid)
	bad = newAsset(tuku.NewID(), "bad", "bad2")
	err = s.Tx(ctx, func(tx meta.Tx) error { return tx.InsertAsset(ctx, bad) })
	wantKind(t, "InsertAsset(unknown customer)", err, errs.Invalid)

	// UpdateAsset writes the editable fields only.
	edit := *a
	edit.ProjectID = ""
	edit.Name = "renamed.jpg"
	edit.Description = "new description"
	edit.Category = tuku.CatProduct
	edit.Sensitivity = tuku.Public
	edit.Status = tuku.StatusApproved
	edit.Copyright = "CC-BY"
	edit.Version = 2
	edit.Tags = []tuku.Tag{{Name: "b", Source: tuku.TagManual}, {Name: "a", Source: tuku.TagManual}}
	edit.UpdatedAt = at("2024-04-01T00:00:00.000001Z")
	edit.Width, edit.SHA256, edit.TakenAt = 1, "ignored", "ignored" // not editable
	update(t, s, func(tx meta.Tx) error { return tx.UpdateAsset(ctx, &edit) })
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.GetAsset(ctx, a.ID)
		if err != nil {
			return err
		}
		want := *a
		want.ProjectID, want.Name, want.Description = "", "renamed.jpg", "new description"
		want.Category, want.Sensitivity, want.Status = tuku.CatProduct, tuku.Public, tuku.StatusApproved
		want.Copyright, want.Version, want.UpdatedAt = "CC-BY", 2, edit.UpdatedAt
		want.Tags = edit.Tags
		if g, w := normAsset(*got), normAsset(want); !reflect.DeepEqual(g, w) {
			t.Errorf("after UpdateAsset:\n got %+v\nwant %+v", g, w)
		}
		return nil
	})
	missing := newAsset(c.ID, "missing", "missing")
	missing.ID = tuku.NewID()
	err = s.Tx(ctx, func(tx meta.Tx) error { return tx.UpdateAsset(ctx, missing) })
	wantKind(t, "UpdateAsset(missing)", err, errs.NotFound)
}

func testRenditions(t *testing.T, s meta.Store) {
	ctx := t.Context()
	c := addCustomer(t, s, "R")
	a := newAsset(c.ID, "r", "r")
	update(t, s, func(tx meta.Tx) error { return tx.InsertAsset(ctx, a) })
	r := meta.Rendition{AssetID: a.ID, Size: "grid", Key: "r/ab/grid.webp", Format: "webp", Width: 256, Height: 192, Bytes: 12345}
	update(t, s, func(tx meta.Tx) error { return tx.PutRendition(ctx, r) })
	r2 := r
	r2.Size, r2.Key, r2.Width = "preview", "r/ab/preview.webp", 1024
	update(t, s, func(tx meta.Tx) error { return tx.PutRendition(ctx, r2) })
	r.Key, r.Bytes, r.Format = "r/ab/grid2.jpg", 999, "jpeg" // replace
	update(t, s, func(tx meta.Tx) error { return tx.PutRendition(ctx, r) })
	view(t, s, func(tx meta.Tx) error {
		for _, want := range []meta.Rendition{r, r2} {
			got, err := tx.GetRendition(ctx, a.ID, want.Size)
			if err != nil {
				return err
			}
			if *got != want {
				t.Errorf("GetRendition(%s) = %+v, want %+v", want.Size, *got, want)
			}
		}
		_, err := tx.GetRendition(ctx, a.ID, "huge")
		wantKind(t, "GetRendition(missing)", err, errs.NotFound)
		return nil
	})
	err := s.Tx(ctx, func(tx meta.Tx) error {
		return tx.PutRendition(ctx, meta.Rendition{AssetID: tuku.NewID(), Size: "grid", Key: "k"})
	})
	wantKind(t, "PutRendition(unknown asset)", err, errs.Invalid)
}

func testUsersTokens(t *testing.T, s meta.Store) {
	ctx := t.Context()
	u := &tuku.User{Email: "  Zhang.San@Example.COM ", DisplayName: "张三", Role: tuku.RoleAdmin, PasswordHash: "$argon2id$x", CreatedAt: at("2024-01-01T00:00:00.000001+08:00")}
	update(t, s, func(tx meta.Tx) error { return tx.CreateUser(ctx, u) })
	if u.Email != "zhang.san@example.com" {
		t.Errorf("CreateUser stored email %q, want it normalised", u.Email)
	}
	m := &tuku.User{Email: "a@example.com", DisplayName: "A", Role: tuku.RoleMember, Disabled: true}
	update(t, s, func(tx meta.Tx) error { return tx.CreateUser(ctx, m) })
	err := s.Tx(ctx, func(tx meta.Tx) error {
		return tx.CreateUser(ctx, &tuku.User{Email: "ZHANG.SAN@example.com", Role: tuku.RoleMember})
	})
	wantKind(t, "CreateUser(duplicate email)", err, errs.Conflict)

	revoked := at("2024-02-02T02:02:02.000002Z")
	k1 := &tuku.Token{UserID: u.ID, Name: "ci", Hash: sha("secret1"), Scope: "read", CustomerID: "c1"}
	k2 := &tuku.Token{UserID: m.ID, Name: "old", Hash: sha("secret2"), RevokedAt: &revoked}
	update(t, s, func(tx meta.Tx) error {
		if err := tx.CreateToken(ctx, k1); err != nil {
			return err
		}
		return tx.CreateToken(ctx, k2)
	})
	err = s.Tx(ctx, func(tx meta.Tx) error {
		return tx.CreateToken(ctx, &tuku.Token{UserID: u.ID, Name: "again", Hash: k1.Hash})
	})
	wantKind(t, "CreateToken(duplicate hash)", err, errs.Conflict)

	view(t, s, func(tx meta.Tx) error {
		got, err := tx.GetUserByEmail(ctx, "Zhang.San@example.com")
		if err != nil {
			return err
		}
		if got.ID != u.ID || got.DisplayName != "张三" || got.Role != tuku.RoleAdmin || got.PasswordHash != u.PasswordHash || got.Disabled || !sameTime(got.CreatedAt, u.CreatedAt) {
			t.Errorf("GetUserByEmail = %+v, want %+v", got, u)
		}
		got, err = tx.GetUser(ctx, m.ID)
		if err != nil {
			return err
		}
		if !got.Disabled || got.Email != "a@example.com" {
			t.Errorf("GetUser = %+v", got)
		}
		list, err := tx.ListUsers(ctx)
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0].ID != m.ID || list[1].ID != u.ID {
			t.Errorf("ListUsers = %+v, want ordered by email", list)
		}
		n, err := tx.CountUsers(ctx)
		if err != nil || n != 2 {
			t.Errorf("CountUsers = %d, %v; want 2", n, err)
		}
		_, err = tx.GetUser(ctx, tuku.NewID())
		wantKind(t, "GetUser(missing)", err, errs.NotFound)
		_, err = tx.GetUserByEmail(ctx, "nobody@example.com")
		wantKind(t, "GetUserByEmail(missing)", err, errs.NotFound)

		g1, err := tx.GetTokenByHash(ctx, k1.Hash)
		if err != nil {
			return err
		}
		if g1.ID != k1.ID || g1.UserID != u.ID || g1.Name != "ci" || g1.Scope != "read" || g1.CustomerID != "c1" || g1.RevokedAt != nil || !sameTime(g1.CreatedAt, k1.CreatedAt) {
			t.Errorf("GetTokenByHash = %+v, want %+v", g1, k1)
		}
		g2, err := tx.GetTokenByHash(ctx, k2.Hash)
		if err != nil {
			return err
		}
		if g2.RevokedAt == nil || !sameTime(*g2.RevokedAt, revoked) {
			t.Errorf("revoked token: RevokedAt = %v, want %v", g2.RevokedAt, revoked)
		}
		_, err = tx.GetTokenByHash(ctx, sha("nope"))
		wantKind(t, "GetTokenByHash(missing)", err, errs.NotFound)
		return nil
	})
}

func testImportRecords(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := meta.ImportRecord{CustomerID: "c1", Path: "/data/照片/IMG_1.jpg", Size: 4 << 20, ModTimeNs: 1717171717123456789, Inode: 1<<63 + 7, AssetID: "a1"}
	update(t, s, func(tx meta.Tx) error { return tx.PutImportRecord(ctx, r) })
	r2 := r
	r2.CustomerID = "c2" // same path, other customer: a separate record
	update(t, s, func(tx meta.Tx) error { return tx.PutImportRecord(ctx, r2) })
	r.Size, r.ModTimeNs, r.AssetID = 5, 6, "a2"
	update(t, s, func(tx meta.Tx) error { return tx.PutImportRecord(ctx, r) })
	view(t, s, func(tx meta.Tx) error {
		for _, want := range []meta.ImportRecord{r, r2} {
			got, err := tx.GetImportRecord(ctx, want.CustomerID, want.Path)
			if err != nil {
				return err
			}
			if *got != want {
				t.Errorf("GetImportRecord = %+v, want %+v", *got, want)
			}
		}
		_, err := tx.GetImportRecord(ctx, "c1", "/elsewhere")
		wantKind(t, "GetImportRecord(missing)", err, errs.NotFound)
		return nil
	})

	// WalkImportRecords: a folder's records in path order, nothing of a
	// sibling folder whose name shares the prefix's bytes, nothing of
	// another customer.
	for _, p := range []string{"/data/照片/b.jpg", "/data/照片/a%_.jpg", "/data/照片2/x.jpg", "/data/照片/sub/c.jpg", "/datb/y.jpg"} {
		rec := meta.ImportRecord{CustomerID: "c1", Path: p, Size: 1, AssetID: "x"}
		update(t, s, func(tx meta.Tx) error { return tx.PutImportRecord(ctx, rec) })
	}
	walk := func(customer, prefix string, stopAfter int) []string {
		var got []string
		stop := errors.New("stop")
		view(t, s, func(tx meta.Tx) error {
			err := tx.WalkImportRecords(ctx, customer, prefix, func(r meta.ImportRecord) error {
				if r.CustomerID != customer {
					t.Errorf("record of %s walked for %s", r.CustomerID, customer)
				}
				got = append(got, r.Path)
				if len(got) == stopAfter {
					return stop
				}
				return nil
			})
			if err != nil && !errors.Is(err, stop) {
				return err
			}
			return nil
		})
		return got
	}
	want := []string{"/data/照片/IMG_1.jpg", "/data/照片/a%_.jpg", "/data/照片/b.jpg", "/data/照片/sub/c.jpg"}
	if got := walk("c1", "/data/照片/", 0); !slices.Equal(got, want) {
		t.Errorf("WalkImportRecords(/data/照片/) = %q, want %q", got, want)
	}
	if got := walk("c1", "/data/照片/", 2); len(got) != 2 {
		t.Errorf("WalkImportRecords did not stop at fn's error: %q", got)
	}
	if got := walk("c2", "/data/", 0); !slices.Equal(got, []string{"/data/照片/IMG_1.jpg"}) {
		t.Errorf("WalkImportRecords(c2) = %q", got)
	}
	if got := walk("c1", "", 0); len(got) != 6 {
		t.Errorf("WalkImportRecords(c1, \"\") = %d records, want 6", len(got))
	}
}

// ---- transactions ----

func testRollback(t *testing.T, s meta.Store) {
	ctx := t.Context()
	boom := errors.New("boom")
	err := s.Tx(ctx, func(tx meta.Tx) error {
		c := &tuku.Customer{Name: "Gone", Code: "GONE"}
		if err := tx.CreateCustomer(ctx, c); err != nil {
			return err
		}
		a := newAsset(c.ID, "gone", "gone")
		a.Tags = []tuku.Tag{{Name: "t", Source: tuku.TagManual}}
		if err := tx.InsertAsset(ctx, a); err != nil {
			return err
		}
		if _, err := tx.NextSeq(ctx, "k"); err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, &tuku.Job{Kind: "thumb", Payload: []byte(`{}`)}); err != nil {
			return err
		}
		return fmt.Errorf("later step: %w", boom)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx returned %v, want fn's error", err)
	}
	view(t, s, func(tx meta.Tx) error {
		cs, err := tx.ListCustomers(ctx)
		if err != nil {
			return err
		}
		n, err := tx.CountAssets(ctx, meta.AssetFilter{})
		if err != nil {
			return err
		}
		if len(cs) != 0 || n != 0 {
			t.Errorf("after rollback: %d customers, %d assets", len(cs), n)
		}
		return nil
	})
	j, err := s.Jobs().Claim(ctx, []string{"thumb"}, time.Minute)
	if err != nil || j != nil {
		t.Errorf("Claim after rollback = %+v, %v; want nothing", j, err)
	}
	st, err := s.Jobs().Stats(ctx)
	if err != nil || st["queued"] != 0 || st["running"] != 0 || st["dead"] != 0 {
		t.Errorf("Stats after rollback = %v, %v", st, err)
	}
	// The sequence rolled back too.
	update(t, s, func(tx meta.Tx) error {
		v, err := tx.NextSeq(ctx, "k")
		if v != 1 {
			t.Errorf("NextSeq after rollback = %d, want 1", v)
		}
		return err
	})
}

func testViewReadOnly(t *testing.T, s meta.Store) {
	ctx := t.Context()
	c := addCustomer(t, s, "V")
	writes := map[string]func(tx meta.Tx) error{
		"CreateCustomer": func(tx meta.Tx) error { return tx.CreateCustomer(ctx, &tuku.Customer{Name: "x", Code: "x"}) },
		"UpdateCustomer": func(tx meta.Tx) error { return tx.UpdateCustomer(ctx, c) },
		"InsertAsset":    func(tx meta.Tx) error { return tx.InsertAsset(ctx, newAsset(c.ID, "v", "v")) },
		"NextSeq":        func(tx meta.Tx) error { _, err := tx.NextSeq(ctx, "k"); return err },
		"Enqueue":        func(tx meta.Tx) error { return tx.Enqueue(ctx, &tuku.Job{Kind: "k"}) },
		"CreateUser":     func(tx meta.Tx) error { return tx.CreateUser(ctx, &tuku.User{Email: "v@x"}) },
		"PutImport":      func(tx meta.Tx) error { return tx.PutImportRecord(ctx, meta.ImportRecord{CustomerID: "c", Path: "/p"}) },
	}
	for name, w := range writes {
		var inner error
		err := s.View(ctx, func(tx meta.Tx) error {
			inner = w(tx)
			return nil
		})
		if err != nil {
			t.Errorf("%s: View returned %v", name, err)
		}
		wantKind(t, name+" in View", inner, errs.Invalid)
	}
	view(t, s, func(tx meta.Tx) error {
		cs, err := tx.ListCustomers(ctx)
		if len(cs) != 1 {
			t.Errorf("View wrote: %d customers", len(cs))
		}
		return err
	})
}

// ---- listing ----

func testListFilters(t *testing.T, s meta.Store) {
	ctx := t.Context()
	c1 := addCustomer(t, s, "ONE")
	c2 := addCustomer(t, s, "TWO")
	p1 := addProject(t, s, c1.ID, "展厅改造")

	mk := func(cust *tuku.Customer, name string, mod func(a *tuku.Asset)) {
		a := newAsset(cust.ID, name, name)
		a.CreatedAt = at("2025-01-01T00:00:00Z")
		if mod != nil {
			mod(a)
		}
		update(t, s, func(tx meta.Tx) error { return tx.InsertAsset(ctx, a) })
	}
	mk(c1, "zhang", func(a *tuku.Asset) {
		a.Description = "客户张三的门店照片"
		a.ProjectID = p1.ID
		a.Category = tuku.CatSite
		a.TakenAt = "2024-03-01T10:00:00+08:00" // 02:00 UTC
		a.Tags = []tuku.Tag{{Name: "门店", Source: tuku.TagManual}, {Name: "red", Source: tuku.TagAuto}}
	})
	mk(c1, "receipt", func(a *tuku.Asset) {
		a.OriginalFilename = "Receipt_001.JPG"
		a.Category = tuku.CatReceipt
		a.Sensitivity = tuku.Confidential
		a.TakenAt = "2024-03-01T10:00:00" // no offset: read as UTC
		a.Description = "50% deposit"
	})
	mk(c1, "trashed", func(a *tuku.Asset) {
		a.Status = tuku.StatusTrashed
		a.Description = "a_b"
		a.Tags = []tuku.Tag{{Name: "red", Source: tuku.TagManual}}
		a.CreatedAt = at("2023-06-01T12:00:00Z") // no capture time: upload time counts
	})
	mk(c2, "two-shop", func(a *tuku.Asset) {
		a.Description = "张三 second shop"
		a.Category = tuku.CatSite
		a.Tags = []tuku.Tag{{Name: "Redwood", Source: tuku.TagFile}}
		a.TakenAt = "2024-03-02T00:00:00Z"
	})
	mk(c2, "boundary", func(a *tuku.Asset) {
		a.TakenAt = "2024-03-01T02:00:00Z" // exactly the From of a range below
		a.Description = "abb"
	})

	all := []string{"boundary", "receipt", "trashed", "two-shop", "zhang"}
	utc := func(s string) time.Time { return at(s) }
	cases := []struct {
		name string
		f    meta.AssetFilter
		want []string
	}{
		{"none", meta.AssetFilter{}, all},
		{"customer", meta.AssetFilter{CustomerID: c1.ID}, []string{"receipt", "trashed", "zhang"}},
		{"customer set", meta.AssetFilter{CustomerIDs: []string{c2.ID}}, []string{"boundary", "two-shop"}},
		{"customer set both", meta.AssetFilter{CustomerIDs: []string{c1.ID, c2.ID}}, all},
		{"empty customer set", meta.AssetFilter{CustomerIDs: []string{}}, nil},
		{"customer and set disjoint", meta.AssetFilter{CustomerID: c1.ID, CustomerIDs: []string{c2.ID}}, nil},
		{"project", meta.AssetFilter{ProjectID: p1.ID}, []string{"zhang"}},
		{"tag", meta.AssetFilter{Tag: "red"}, []string{"trashed", "zhang"}},
		{"tag chinese", meta.AssetFilter{Tag: "门店"}, []string{"zhang"}},
		{"tag exact", meta.AssetFilter{Tag: "Red"}, nil},
		{"category", meta.AssetFilter{Category: "site"}, []string{"two-shop", "zhang"}},
		{"status", meta.AssetFilter{Status: "trashed"}, []string{"trashed"}},
		{"sensitivity", meta.AssetFilter{Sensitivity: "confidential"}, []string{"receipt"}},
		{"query chinese 2 chars", meta.AssetFilter{Query: "张三"}, []string{"two-shop", "zhang"}},
		{"query chinese in tag", meta.AssetFilter{Query: "门"}, []string{"zhang"}},
		{"query ascii case", meta.AssetFilter{Query: "RECEIPT_0"}, []string{"receipt"}},
		{"query tag substring", meta.AssetFilter{Query: "wood"}, []string{"two-shop"}},
		{"query tag case", meta.AssetFilter{Query: "RED"}, []string{"trashed", "two-shop", "zhang"}},
		{"query percent literal", meta.AssetFilter{Query: "50%"}, []string{"receipt"}},
		{"query underscore literal", meta.AssetFilter{Query: "a_b"}, []string{"trashed"}},
		{"query two words", meta.AssetFilter{Query: "张三 shop"}, []string{"two-shop"}},
		{"query no match", meta.AssetFilter{Query: "李四"}, nil},
		{"query project name", meta.AssetFilter{Query: "展厅"}, []string{"zhang"}},
		{"query customer name", meta.AssetFilter{Query: "customer one"}, []string{"receipt", "trashed", "zhang"}},
		{"query customer code and word", meta.AssetFilter{Query: "TWO 张三"}, []string{"two-shop"}},
		{"from", meta.AssetFilter{From: utc("2024-03-01T02:00:00Z")}, []string{"boundary", "receipt", "two-shop", "zhang"}},
		{"from to", meta.AssetFilter{From: utc("2024-03-01T00:00:00Z"), To: utc("2024-03-01T05:00:00Z")}, []string{"boundary", "zhang"}},
		{"to exclusive", meta.AssetFilter{To: utc("2024-03-01T02:00:00Z")}, []string{"trashed"}},
		{"from in other zone", meta.AssetFilter{From: utc("2024-03-01T18:00:00+08:00")}, []string{"receipt", "two-shop"}},
		{"upload time fallback", meta.AssetFilter{From: utc("2023-06-01T00:00:00Z"), To: utc("2023-06-02T00:00:00Z")}, []string{"trashed"}},
		{"combined", meta.AssetFilter{CustomerID: c1.ID, Category: "site", Tag: "red", Query: "张三", From: utc("2024-01-01T00:00:00Z")}, []string{"zhang"}},
		{"combined miss", meta.AssetFilter{CustomerID: c2.ID, Tag: "red"}, nil},
	}
	view(t, s, func(tx meta.Tx) error {
		for _, tc := range cases {
			got, next, err := tx.ListAssets(ctx, tc.f)
			if err != nil {
				t.Errorf("%s: ListAssets: %v", tc.name, err)
				continue
			}
			if next != "" {
				t.Errorf("%s: next cursor %q on the only page", tc.name, next)
			}
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if g := names(got); !slices.Equal(g, want) {
				t.Errorf("%s: got %v, want %v", tc.name, g, want)
			}
			if !slices.IsSortedFunc(got, func(a, b tuku.Asset) int { return -compare(a.ID, b.ID) }) {
				t.Errorf("%s: not newest first: %v", tc.name, ids(got))
			}
			n, err := tx.CountAssets(ctx, tc.f)
			if err != nil || n != int64(len(want)) {
				t.Errorf("%s: CountAssets = %d, %v; want %d", tc.name, n, err, len(want))
			}
			var wantBytes int64
			for _, a := range got {
				wantBytes += a.Size
			}
			if b, err := tx.SumAssetBytes(ctx, tc.f); err != nil || b != wantBytes {
				t.Errorf("%s: SumAssetBytes = %d, %v; want %d", tc.name, b, err, wantBytes)
			}
		}
		// Tags come with listed assets.
		got, _, err := tx.ListAssets(ctx, meta.AssetFilter{ProjectID: p1.ID})
		if err != nil {
			return err
		}
		want := []tuku.Tag{{Name: "门店", Source: tuku.TagManual}, {Name: "red", Source: tuku.TagAuto}}
		if len(got) != 1 || !reflect.DeepEqual(got[0].Tags, want) {
			t.Errorf("listed tags = %+v, want %+v", got, want)
		}
		return nil
	})
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testPagination(t *testing.T, s meta.Store) {
	ctx := t.Context()
	c := addCustomer(t, s, "PG")
	other := addCustomer(t, s, "PX")
	const n = 55
	inserted := map[string]bool{}
	update(t, s, func(tx meta.Tx) error {
		for i := range n {
			a := newAsset(c.ID, fmt.Sprintf("a%02d", i), fmt.Sprint(i))
			if err := tx.InsertAsset(ctx, a); err != nil {
				return err
			}
			inserted[a.ID] = true
			if i%10 == 0 {
				if err := tx.InsertAsset(ctx, newAsset(other.ID, "noise", fmt.Sprint(i))); err != nil {
					return err
				}
			}
		}
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		// Default limit.
		got, next, err := tx.ListAssets(ctx, meta.AssetFilter{CustomerID: c.ID})
		if err != nil {
			return err
		}
		if len(got) != 50 || next == "" {
			t.Errorf("default page: %d assets, next %q; want 50 and a cursor", len(got), next)
		}
		// Three pages of 20, 20, 15.
		var seen []string
		cursor := ""
		var sizes []int
		for page := 0; page < 5; page++ {
			got, next, err := tx.ListAssets(ctx, meta.AssetFilter{CustomerID: c.ID, Limit: 20, Cursor: cursor})
			if err != nil {
				return err
			}
			sizes = append(sizes, len(got))
			seen = append(seen, ids(got)...)
			if next == "" {
				break
			}
			cursor = next
		}
		if !slices.Equal(sizes, []int{20, 20, 15}) {
			t.Errorf("page sizes %v, want [20 20 15]", sizes)
		}
		if len(seen) != n {
			t.Fatalf("pages returned %d assets, want %d", len(seen), n)
		}
		uniq := map[string]bool{}
		for i, id := range seen {
			if !inserted[id] || uniq[id] {
				t.Errorf("asset %s unexpected or repeated", id)
			}
			uniq[id] = true
			if i > 0 && seen[i-1] <= id {
				t.Errorf("not newest first at %d: %s then %s", i, seen[i-1], id)
			}
		}
		// A limit over the maximum is capped, not refused.
		got, _, err = tx.ListAssets(ctx, meta.AssetFilter{Limit: 5000})
		if err != nil || len(got) != n+6 {
			t.Errorf("Limit 5000: %d assets, %v; want %d", len(got), err, n+6)
		}
		_, _, err = tx.ListAssets(ctx, meta.AssetFilter{Cursor: "!!not a cursor!!"})
		wantKind(t, "ListAssets(bad cursor)", err, errs.Invalid)
		return nil
	})
}

// ---- sequences and concurrency ----

func testNextSeq(t *testing.T, s meta.Store) {
	ctx := t.Context()
	update(t, s, func(tx meta.Tx) error {
		for want := 1; want <= 3; want++ {
			v, err := tx.NextSeq(ctx, "ACME/20240301/门店")
			if err != nil {
				return err
			}
			if v != want {
				t.Errorf("NextSeq = %d, want %d", v, want)
			}
		}
		v, err := tx.NextSeq(ctx, "ACME/20240302/门店")
		if v != 1 {
			t.Errorf("NextSeq(other key) = %d, want 1", v)
		}
		return err
	})

	const workers = 8
	var wg sync.WaitGroup
	vals := make([]int, workers)
	errsCh := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errsCh <- s.Tx(ctx, func(tx meta.Tx) error {
				v, err := tx.NextSeq(ctx, "concurrent")
				vals[i] = v
				return err
			})
		}()
	}
	wg.Wait()
	close(errsCh)
	for err := range errsCh {
		if err != nil {
			t.Errorf("concurrent NextSeq: %v", err)
		}
	}
	slices.Sort(vals)
	if !slices.Equal(vals, []int{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Errorf("concurrent NextSeq values %v, want 1..8 once each", vals)
	}
}

func testConcurrentSameSHA(t *testing.T, s meta.Store) {
	ctx := t.Context()
	c := addCustomer(t, s, "SHA")
	const workers = 8
	var wg sync.WaitGroup
	results := make([]error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := newAsset(c.ID, fmt.Sprintf("w%d", i), "same bytes")
			results[i] = s.Tx(ctx, func(tx meta.Tx) error { return tx.InsertAsset(ctx, a) })
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, errs.Conflict):
			t.Errorf("concurrent insert: %v, want nil or errs.Conflict", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d inserts of the same bytes succeeded, want exactly 1", ok)
	}
	view(t, s, func(tx meta.Tx) error {
		n, err := tx.CountAssets(ctx, meta.AssetFilter{CustomerID: c.ID})
		if n != 1 {
			t.Errorf("CountAssets = %d, want 1", n)
		}
		return err
	})
}

// ---- jobs ----

func enqueue(t *testing.T, s meta.Store, jobs ...*tuku.Job) {
	t.Helper()
	update(t, s, func(tx meta.Tx) error {
		for _, j := range jobs {
			if err := tx.Enqueue(t.Context(), j); err != nil {
				return err
			}
		}
		return nil
	})
}

func wantStats(t *testing.T, s meta.Store, queued, running, dead int) {
	t.Helper()
	st, err := s.Jobs().Stats(t.Context())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	want := map[string]int{"queued": queued, "running": running, "dead": dead}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("Stats = %v, want %v", st, want)
	}
}

func claim(t *testing.T, q meta.JobQueue, lease time.Duration, kinds ...string) *tuku.Job {
	t.Helper()
	j, err := q.Claim(t.Context(), kinds, lease)
	if err != nil {
		t.Fatalf("Claim(%v): %v", kinds, err)
	}
	return j
}

func testJobs(t *testing.T, s meta.Store) {
	ctx := t.Context()
	q := s.Jobs()
	if j := claim(t, q, time.Minute, "thumb"); j != nil {
		t.Fatalf("Claim on an empty queue = %+v", j)
	}
	before := time.Now()
	first := &tuku.Job{Kind: "thumb", Payload: []byte(`{"asset":"a1"}`)}
	second := &tuku.Job{Kind: "thumb", Payload: []byte(`{"asset":"a2"}`), MaxAttempt: 2}
	later := &tuku.Job{Kind: "thumb", RunAt: time.Now().Add(time.Hour)}
	mail := &tuku.Job{Kind: "mail"}
	enqueue(t, s, first, second, later, mail)
	if first.ID == 0 || second.ID <= first.ID {
		t.Errorf("Enqueue IDs %d, %d: want increasing, non-zero", first.ID, second.ID)
	}
	if first.MaxAttempt != 5 || first.RunAt.Before(before.Add(-time.Second)) {
		t.Errorf("Enqueue defaults: max %d run_at %v", first.MaxAttempt, first.RunAt)
	}
	wantStats(t, s, 4, 0, 0)

	// Oldest due first; kinds filter; future jobs wait.
	j := claim(t, q, time.Minute, "thumb")
	if j == nil || j.ID != first.ID || j.Attempts != 1 || string(j.Payload) != `{"asset":"a1"}` || j.MaxAttempt != 5 || j.Kind != "thumb" {
		t.Fatalf("Claim = %+v, want first job with attempts 1", j)
	}
	if !sameTime(j.RunAt, first.RunAt) {
		t.Errorf("claimed RunAt %v, want %v", j.RunAt, first.RunAt)
	}
	j2 := claim(t, q, time.Minute, "thumb", "other")
	if j2 == nil || j2.ID != second.ID {
		t.Fatalf("second Claim = %+v, want job %d", j2, second.ID)
	}
	if j := claim(t, q, time.Minute, "thumb"); j != nil {
		t.Errorf("Claim with only future/running thumb jobs = %+v", j)
	}
	wantStats(t, s, 2, 2, 0)

	// Complete removes; completing again is NotFound.
	if err := q.Complete(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "Complete(again)", q.Complete(ctx, first.ID), errs.NotFound)

	// Fail retries until max attempts, then the job is dead.
	if err := q.Fail(ctx, second.ID, "decoder crashed", time.Now().Add(-time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	wantStats(t, s, 3, 0, 0)
	j2 = claim(t, q, time.Minute, "thumb")
	if j2 == nil || j2.ID != second.ID || j2.Attempts != 2 || j2.LastError != "decoder crashed" {
		t.Fatalf("re-Claim after Fail = %+v, want attempts 2 and the last error", j2)
	}
	if err := q.Fail(ctx, second.ID, "crashed again", time.Now()); err != nil {
		t.Fatal(err)
	}
	wantStats(t, s, 2, 0, 1)
	if j := claim(t, q, time.Minute, "thumb"); j != nil {
		t.Errorf("Claim returned %+v, want the dead job never handed out", j)
	}

	// A retry in the future is not due yet.
	m := claim(t, q, time.Minute, "mail")
	if m == nil || m.ID != mail.ID {
		t.Fatalf("Claim(mail) = %+v", m)
	}
	if err := q.Fail(ctx, m.ID, "smtp down", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if j := claim(t, q, time.Minute, "mail"); j != nil {
		t.Errorf("Claim before retryAt = %+v", j)
	}
	wantKind(t, "Fail(missing)", q.Fail(ctx, 1<<40, "x", time.Now()), errs.NotFound)
	if _, err := q.Claim(ctx, nil, time.Minute); !errors.Is(err, errs.Invalid) {
		t.Errorf("Claim with no kinds: %v, want errs.Invalid", err)
	}
}

func testJobsLease(t *testing.T, s meta.Store) {
	q := s.Jobs()
	j := &tuku.Job{Kind: "render", MaxAttempt: 2}
	enqueue(t, s, j)
	c1 := claim(t, q, 50*time.Millisecond, "render")
	if c1 == nil || c1.ID != j.ID {
		t.Fatalf("Claim = %+v", c1)
	}
	if c := claim(t, q, time.Minute, "render"); c != nil {
		t.Fatalf("Claim while leased = %+v", c)
	}
	time.Sleep(120 * time.Millisecond)
	// The worker died: the job is handed out again.
	c2 := claim(t, q, 50*time.Millisecond, "render")
	if c2 == nil || c2.ID != j.ID || c2.Attempts != 2 {
		t.Fatalf("Claim after lease expiry = %+v, want the job with attempts 2", c2)
	}
	wantStats(t, s, 0, 1, 0)
	time.Sleep(120 * time.Millisecond)
	// Its last attempt's lease expired too: dead, not handed out again.
	if c := claim(t, q, time.Minute, "render"); c != nil {
		t.Errorf("Claim after the last lease expired = %+v, want nil", c)
	}
	wantStats(t, s, 0, 0, 1)
}

func testJobsConcurrentClaim(t *testing.T, s meta.Store) {
	ctx := t.Context()
	const jobs, workers = 100, 8
	var js []*tuku.Job
	for i := range jobs {
		js = append(js, &tuku.Job{Kind: "k", Payload: []byte(fmt.Sprint(i))})
	}
	enqueue(t, s, js...)
	var mu sync.Mutex
	got := map[int64]int{}
	var wg sync.WaitGroup
	start := make(chan struct{}) // release all claimers at once to make them collide
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				j, err := s.Jobs().Claim(ctx, []string{"k"}, time.Minute)
				if err != nil {
					t.Errorf("Claim: %v", err)
					return
				}
				if j == nil {
					return
				}
				mu.Lock()
				got[j.ID]++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(got) != jobs {
		t.Errorf("claimed %d distinct jobs, want %d", len(got), jobs)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("job %d claimed %d times", id, n)
		}
	}
	wantStats(t, s, 0, jobs, 0)
}
