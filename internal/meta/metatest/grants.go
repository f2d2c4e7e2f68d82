package metatest

import (
	"reflect"
	"testing"

	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

func testGrants(t *testing.T, s meta.Store) {
	ctx := t.Context()
	admin := addUser(t, s, "admin@example.com")
	u := addUser(t, s, "u@example.com")
	v := addUser(t, s, "v@example.com")
	ca := addCustomer(t, s, "A")
	cb := addCustomer(t, s, "B")
	pa := addProject(t, s, ca.ID, "Renovation")
	pb := addProject(t, s, cb.ID, "Audit")

	gCust := &tuku.Grant{UserID: u.ID, CustomerID: ca.ID, Level: tuku.LevelViewer, CreatedBy: admin.ID,
		CreatedAt: at("2024-01-01T00:00:00.000001+08:00")}
	gProj := &tuku.Grant{UserID: u.ID, CustomerID: ca.ID, ProjectID: pa.ID, Level: tuku.LevelEditor, Confidential: true, CreatedBy: admin.ID}
	gV := &tuku.Grant{UserID: v.ID, CustomerID: cb.ID, ProjectID: pb.ID, Level: tuku.LevelManager, CreatedBy: admin.ID}
	update(t, s, func(tx meta.Tx) error {
		for _, g := range []*tuku.Grant{gCust, gProj, gV} {
			if err := tx.PutGrant(ctx, g); err != nil {
				return err
			}
		}
		return nil
	})
	if gCust.ID == "" || gProj.ID == "" || gProj.CreatedAt.IsZero() || gCust.ID == gProj.ID {
		t.Fatalf("PutGrant did not fill in IDs and times: %+v %+v", gCust, gProj)
	}
	view(t, s, func(tx meta.Tx) error {
		for _, want := range []*tuku.Grant{gCust, gProj, gV} {
			got, err := tx.GetGrant(ctx, want.ID)
			if err != nil {
				return err
			}
			if !sameGrant(*got, *want) {
				t.Errorf("GetGrant = %+v, want %+v", got, want)
			}
		}
		_, err := tx.GetGrant(ctx, tuku.NewID())
		wantKind(t, "GetGrant(missing)", err, errs.NotFound)
		return nil
	})

	// Upsert on (user, customer, project), the project-less case included:
	// the existing row keeps its ID and takes the new level.
	for _, tc := range []struct {
		name string
		old  *tuku.Grant
		g    tuku.Grant
	}{
		{"customer-wide", gCust, tuku.Grant{UserID: u.ID, CustomerID: ca.ID, Level: tuku.LevelContributor, Confidential: true, CreatedBy: v.ID}},
		{"project", gProj, tuku.Grant{UserID: u.ID, CustomerID: ca.ID, ProjectID: pa.ID, Level: tuku.LevelViewer, CreatedBy: v.ID}},
	} {
		g := tc.g
		update(t, s, func(tx meta.Tx) error { return tx.PutGrant(ctx, &g) })
		if g.ID != tc.old.ID {
			t.Errorf("%s: PutGrant of an existing (user, customer, project) gave ID %s, want the existing %s", tc.name, g.ID, tc.old.ID)
		}
		view(t, s, func(tx meta.Tx) error {
			got, err := tx.GetGrant(ctx, tc.old.ID)
			if err != nil {
				return err
			}
			if !sameGrant(*got, g) {
				t.Errorf("%s: after replace GetGrant = %+v, want %+v", tc.name, got, g)
			}
			return nil
		})
		*tc.old = g
	}

	view(t, s, func(tx meta.Tx) error {
		for _, tc := range []struct {
			name string
			f    meta.GrantFilter
			want []string
		}{
			{"all", meta.GrantFilter{}, grantIDs(gCust, gProj, gV)},
			{"user u", meta.GrantFilter{UserID: u.ID}, grantIDs(gCust, gProj)},
			{"user v", meta.GrantFilter{UserID: v.ID}, grantIDs(gV)},
			{"customer A", meta.GrantFilter{CustomerID: ca.ID}, grantIDs(gCust, gProj)},
			{"project A", meta.GrantFilter{ProjectID: pa.ID}, grantIDs(gProj)},
			{"user u customer B", meta.GrantFilter{UserID: u.ID, CustomerID: cb.ID}, []string{}},
			{"user v project B", meta.GrantFilter{UserID: v.ID, CustomerID: cb.ID, ProjectID: pb.ID}, grantIDs(gV)},
			{"unknown user", meta.GrantFilter{UserID: tuku.NewID()}, []string{}},
		} {
			list, err := tx.ListGrants(ctx, tc.f)
			if err != nil {
				return err
			}
			got := []string{}
			for _, g := range list {
				got = append(got, g.ID)
			}
			// Within a customer the customer-wide grant comes first.
			if tc.name != "all" {
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("ListGrants(%s) = %v, want %v", tc.name, got, tc.want)
				}
			} else if len(got) != 3 {
				t.Errorf("ListGrants(all) = %v, want 3 grants", got)
			}
			if tc.name == "user u" && len(list) == 2 && !sameGrant(list[1], *gProj) {
				t.Errorf("ListGrants row = %+v, want %+v", list[1], gProj)
			}
		}
		return nil
	})

	for _, tc := range []struct {
		name string
		g    tuku.Grant
		kind errs.Kind
	}{
		{"level none", tuku.Grant{UserID: v.ID, CustomerID: ca.ID, Level: tuku.LevelNone}, errs.Invalid},
		{"level too high", tuku.Grant{UserID: v.ID, CustomerID: ca.ID, Level: tuku.LevelManager + 1}, errs.Invalid},
		{"unknown user", tuku.Grant{UserID: tuku.NewID(), CustomerID: ca.ID, Level: tuku.LevelViewer}, errs.Invalid},
		{"unknown customer", tuku.Grant{UserID: v.ID, CustomerID: tuku.NewID(), Level: tuku.LevelViewer}, errs.Invalid},
		{"project of another customer", tuku.Grant{UserID: v.ID, CustomerID: ca.ID, ProjectID: pb.ID, Level: tuku.LevelViewer}, errs.Invalid},
		{"existing ID, other key", tuku.Grant{ID: gV.ID, UserID: v.ID, CustomerID: ca.ID, Level: tuku.LevelViewer}, errs.Conflict},
	} {
		err := s.Tx(ctx, func(tx meta.Tx) error { g := tc.g; return tx.PutGrant(ctx, &g) })
		wantKind(t, "PutGrant("+tc.name+")", err, tc.kind)
	}
	err := s.View(ctx, func(tx meta.Tx) error {
		return tx.PutGrant(ctx, &tuku.Grant{UserID: v.ID, CustomerID: ca.ID, Level: tuku.LevelViewer})
	})
	wantKind(t, "PutGrant in a View", err, errs.Invalid)

	update(t, s, func(tx meta.Tx) error {
		if err := tx.DeleteGrant(ctx, gProj.ID); err != nil {
			return err
		}
		_, err := tx.GetGrant(ctx, gProj.ID)
		wantKind(t, "GetGrant after DeleteGrant", err, errs.NotFound)
		wantKind(t, "DeleteGrant(missing)", tx.DeleteGrant(ctx, gProj.ID), errs.NotFound)
		list, err := tx.ListGrants(ctx, meta.GrantFilter{UserID: u.ID})
		if err != nil {
			return err
		}
		if len(list) != 1 || list[0].ID != gCust.ID {
			t.Errorf("ListGrants after DeleteGrant = %+v, want only the customer-wide grant", list)
		}
		return nil
	})
}

func grantIDs(gs ...*tuku.Grant) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

func sameGrant(a, b tuku.Grant) bool {
	if !sameTime(a.CreatedAt, b.CreatedAt) {
		return false
	}
	a.CreatedAt = b.CreatedAt
	return a == b
}
