package service_test

import (
	"context"
	"errors"
	"testing"

	"tuku/internal/errs"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

func TestSetUserRole(t *testing.T) {
	ctx := context.Background()
	s, admin, member := openApp(t, "")
	tests := []struct {
		name string
		by   string // "admin" or "member"
		ref  string
		role tuku.Role
		want errs.Kind // "" = success
	}{
		{"member may not", "member", "m@example.com", tuku.RoleAdmin, errs.Permission},
		{"unknown role", "admin", "m@example.com", "owner", errs.Invalid},
		{"unknown user", "admin", "nobody@example.com", tuku.RoleAdmin, errs.NotFound},
		{"own role", "admin", "admin@example.com", tuku.RoleMember, ""}, // no change: same role
		{"self demote", "admin", "admin@example.com", tuku.RoleMember, errs.Invalid},
		{"promote", "admin", "m@example.com", tuku.RoleAdmin, ""},
		{"demote again", "admin", "m@example.com", tuku.RoleMember, ""},
	}
	// "own role" asks for the role the admin has: a no-op, not an error.
	tests[3].role = tuku.RoleAdmin
	for _, tc := range tests {
		p := admin
		if tc.by == "member" {
			p = member
		}
		u, err := s.SetUserRole(ctx, p, tc.ref, tc.role)
		if tc.want != "" {
			if !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
			}
			continue
		}
		if err != nil || u.Role != tc.role {
			t.Errorf("%s: %v, %+v", tc.name, err, u)
		}
	}
	got, err := s.User(ctx, admin, "m@example.com")
	if err != nil || got.Role != tuku.RoleMember {
		t.Fatalf("stored role = %v (%v), want member", got, err)
	}
	page, err := s.ListAudit(ctx, admin, service.AuditQuery{Action: "user.role"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 2 || page.Events[1].TargetID != got.ID {
		t.Errorf("user.role audit rows = %+v, want 2 about %s", page.Events, got.ID)
	}
}
