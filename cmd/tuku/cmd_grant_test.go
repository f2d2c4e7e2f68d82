package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestGrantCLI: grants given at the command line decide what a member
// finds with `tuku search --as`, and revoking takes them away.
func TestGrantCLI(t *testing.T) {
	k := newTK(t)
	k.ok("user", "add", "--email", "ann@example.com", "--role", "member")
	k.ok("customer", "add", "Acme", "--code", "ACME")
	k.ok("customer", "add", "Beta", "--code", "BETA")
	k.ok("project", "add", "--customer", "ACME", "Site")
	dir := t.TempDir()
	writeJPEG(t, dir, "a.jpg", 64, 48)
	k.ok("import", dir, "--customer", "ACME", "--project", "Site")
	writeJPEG(t, dir, "b.jpg", 80, 48)
	k.ok("import", dir+"/b.jpg", "--customer", "BETA")

	search := func() int {
		t.Helper()
		out := k.ok("search", "--as", "ann@example.com", "--json")
		return strings.Count(out, `"id"`)
	}
	if n := search(); n != 0 {
		t.Fatalf("a member without grants finds %d assets", n)
	}

	if _, _, code := k.run("grant", "add", "--email", "ann@example.com", "--customer", "ACME", "--level", "owner"); code == 0 {
		t.Error("an unknown level was accepted")
	}
	if _, _, code := k.run("grant", "add", "--email", "nobody@example.com", "--customer", "ACME", "--level", "viewer"); code == 0 {
		t.Error("a grant for an unknown user was accepted")
	}
	var g struct {
		ID         string `json:"id"`
		UserEmail  string `json:"user_email"`
		CustomerID string `json:"customer_id"`
		ProjectID  string `json:"project_id"`
		Level      string `json:"level"`
	}
	out := k.ok("grant", "add", "--email", "ann@example.com", "--customer", "ACME", "--project", "Site", "--level", "contributor", "--json")
	if err := json.Unmarshal([]byte(out), &g); err != nil {
		t.Fatalf("grant add --json: %v: %s", err, out)
	}
	if g.ID == "" || g.UserEmail != "ann@example.com" || g.Level != "contributor" || g.ProjectID == "" {
		t.Fatalf("grant add printed %+v", g)
	}
	if n := search(); n != 1 {
		t.Fatalf("with a project grant the member finds %d assets, want 1", n)
	}

	list := k.ok("grant", "list", "--email", "ann@example.com")
	if !strings.Contains(list, g.ID) || !strings.Contains(list, "contributor") {
		t.Errorf("grant list does not show the grant:\n%s", list)
	}
	if other := k.ok("grant", "list", "--customer", "BETA", "--json"); strings.TrimSpace(other) != "" {
		t.Errorf("grants on BETA: %s", other)
	}

	k.ok("grant", "revoke", g.ID)
	if n := search(); n != 0 {
		t.Fatalf("after revoking, the member finds %d assets", n)
	}
	if _, _, code := k.run("grant", "revoke", g.ID); code == 0 {
		t.Error("revoking twice succeeded")
	}
}
