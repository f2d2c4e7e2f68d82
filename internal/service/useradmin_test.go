package service_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"tuku/internal/authz"
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

// TestLastAdminRace: with two administrators, disabling both at once (or
// demoting both) leaves exactly one, on both databases: the check reads
// the admins with their rows locked, so the second change waits for the
// first and then sees it.
func TestLastAdminRace(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s, admin, _ := openApp(t, url)
		ctx := context.Background()
		for round := 0; round < 10; round++ {
			emails := []string{fmt.Sprintf("a%d@example.com", round), fmt.Sprintf("b%d@example.com", round)}
			for _, e := range emails {
				if _, _, err := s.CreateUser(ctx, admin, service.NewUser{Email: e, Role: tuku.RoleAdmin, Password: "a long enough password"}); err != nil {
					t.Fatal(err)
				}
			}
			// Only the two new ones stay administrators before the race.
			us, err := s.ListUsers(ctx, &authz.System)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range us {
				if u.Role == tuku.RoleAdmin && !u.Disabled && u.Email != emails[0] && u.Email != emails[1] {
					if _, err := s.SetUserRole(ctx, &authz.System, u.Email, tuku.RoleMember); err != nil {
						t.Fatal(err)
					}
				}
			}
			admins := func() int {
				us, err := s.ListUsers(ctx, &authz.System)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, u := range us {
					if u.Role == tuku.RoleAdmin && !u.Disabled {
						n++
					}
				}
				return n
			}
			if n := admins(); n != 2 {
				t.Fatalf("round %d: %d active admins before the race, want 2", round, n)
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			errsOut := make([]error, 2)
			for i, e := range emails {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if round%2 == 0 {
						_, errsOut[i] = s.DisableUser(ctx, &authz.System, e)
					} else {
						_, errsOut[i] = s.SetUserRole(ctx, &authz.System, e, tuku.RoleMember)
					}
				}()
			}
			close(start)
			wg.Wait()
			if n := admins(); n != 1 {
				t.Fatalf("round %d: %d active admins after changing both at once (errors %v), want 1", round, n, errsOut)
			}
			refused := 0
			for _, err := range errsOut {
				if errors.Is(err, errs.Conflict) {
					refused++
				} else if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			if refused != 1 {
				t.Errorf("round %d: %d changes refused as the last admin, want 1", round, refused)
			}
		}
	})
}
