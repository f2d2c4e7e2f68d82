package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"tuku/internal/app"
	"tuku/internal/service"
)

// TestUserAndTokenCLI: accounts and tokens managed from the command line
// take effect for sign-in and API authentication.
func TestUserAndTokenCLI(t *testing.T) {
	k := newTK(t)
	ctx := context.Background()
	stdin := func(in string, args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := run(ctx, append(append([]string{}, args...), k.args...), strings.NewReader(in), &out, &errb)
		return out.String() + errb.String(), code
	}
	if out, code := stdin("first password 1\n", "user", "add", "--email", "ann@example.com", "--role", "member", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %d %s", code, out)
	}
	k.ok("user", "add", "--email", "boss@example.com", "--role", "admin")
	if out, code := stdin("second password 2\n", "user", "passwd", "--email", "ann@example.com", "--password-stdin"); code != 0 || strings.Contains(out, "second password") {
		t.Fatalf("user passwd: %d %q", code, out)
	}

	// Tokens: create, list, revoke.
	var created struct {
		Token  struct{ ID, Scope string }
		Secret string
	}
	if err := json.Unmarshal([]byte(k.ok("token", "create", "--email", "ann@example.com", "--read-only", "--name", "ci", "--json")), &created); err != nil {
		t.Fatal(err)
	}
	if created.Token.Scope != "read" || !strings.HasPrefix(created.Secret, service.TokenPrefix) {
		t.Fatalf("token create printed %+v", created)
	}
	list := k.ok("token", "list", "--email", "ann@example.com")
	if !strings.Contains(list, created.Token.ID) || !strings.Contains(list, "read") || strings.Contains(list, created.Secret) {
		t.Fatalf("token list:\n%s", list)
	}

	a, err := app.Open(ctx, app.Config{Data: k.args[1], ImagingWorkers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Service.Authenticate(ctx, created.Secret); err != nil {
		t.Fatalf("the new token does not authenticate: %v", err)
	}
	if _, _, err := a.Service.Login(ctx, "ann@example.com", "first password 1", service.Client{IP: "192.0.2.1"}); err == nil {
		t.Error("the old password still signs in after user passwd")
	}
	secret, _, err := a.Service.Login(ctx, "ann@example.com", "second password 2", service.Client{IP: "192.0.2.1"})
	if err != nil {
		t.Fatalf("the new password: %v", err)
	}

	k.ok("token", "revoke", created.Token.ID)
	if _, err := a.Service.Authenticate(ctx, created.Secret); err == nil {
		t.Error("a revoked token authenticates")
	}
	if list := k.ok("token", "list", "--email", "ann@example.com", "--json"); !strings.Contains(list, `"revoked_at"`) {
		t.Errorf("token list --json does not show the revocation: %s", list)
	}
	if _, _, code := k.run("token", "revoke", "0000000000000000000000000z"); code == 0 {
		t.Error("revoking an unknown token succeeded")
	}

	// Disable: the session ends; list shows it; enable lets the user back.
	k.ok("user", "disable", "--email", "ann@example.com")
	if _, err := a.Service.AuthenticateSession(ctx, secret, service.Client{}); err == nil {
		t.Error("the session of a disabled user still authenticates")
	}
	var users []struct {
		Email    string
		Disabled bool
	}
	for _, l := range strings.Split(strings.TrimSpace(k.ok("user", "list", "--json")), "\n") {
		var u struct {
			Email    string
			Disabled bool
		}
		if err := json.Unmarshal([]byte(l), &u); err != nil {
			t.Fatalf("user list line %q: %v", l, err)
		}
		users = append(users, u)
	}
	disabled := map[string]bool{}
	for _, u := range users {
		disabled[u.Email] = u.Disabled
	}
	if !disabled["ann@example.com"] || disabled["boss@example.com"] {
		t.Errorf("user list: %+v", users)
	}
	k.ok("user", "enable", "--email", "ann@example.com")
	if _, _, err := a.Service.Login(ctx, "ann@example.com", "second password 2", service.Client{IP: "192.0.2.1"}); err != nil {
		t.Errorf("sign-in after enable: %v", err)
	}
	if out := k.ok("user", "reset-mfa", "--email", "ann@example.com"); !strings.Contains(out, "removed") {
		t.Errorf("reset-mfa printed %q", out)
	}
	if _, _, code := k.run("user", "disable", "--email", "nobody@example.com"); code == 0 {
		t.Error("disabling an unknown user succeeded")
	}
}
