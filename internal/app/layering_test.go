package app_test

import (
	"os/exec"
	"strings"
	"testing"

	"tuku/internal/testenv"
)

// TestLayering holds the dependency direction of DESIGN.md §2: adapters
// are imported only by the composition root, the vocabulary imports
// nothing of ours, and nothing below the service reaches up.
func TestLayering(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "./...")
	cmd.Dir = testenv.RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	adapters := []string{"tuku/internal/blob/local", "tuku/internal/blob/s3", "tuku/internal/meta/sqlite",
		"tuku/internal/meta/postgres", "tuku/internal/meta/sqldb", "tuku/internal/imaging/vips"}
	isAdapter := func(p string) bool {
		for _, a := range adapters {
			if p == a || strings.HasPrefix(p, a+"/") {
				return true
			}
		}
		return false
	}
	upper := []string{"tuku/internal/app", "tuku/internal/httpapi", "tuku/internal/web", "tuku/internal/worker", "tuku/cmd/"}
	isUpper := func(p string) bool {
		for _, u := range upper {
			if strings.HasPrefix(p, u) {
				return true
			}
		}
		return false
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imps, _ := strings.Cut(line, ":")
		for _, imp := range strings.Fields(imps) {
			if !strings.HasPrefix(imp, "tuku/") {
				continue
			}
			checked++
			switch {
			case isAdapter(imp) && pkg != "tuku/internal/app" && !isAdapter(pkg) && !strings.HasPrefix(pkg, "tuku/internal/testenv"):
				t.Errorf("%s imports adapter %s: only internal/app may", pkg, imp)
			case pkg == "tuku/internal/tuku" || pkg == "tuku/internal/errs":
				t.Errorf("%s imports %s: the vocabulary and error kinds import only the standard library", pkg, imp)
			case isUpper(imp) && !isUpper(pkg):
				t.Errorf("%s imports %s: dependencies point down, never up", pkg, imp)
			case imp == "tuku/internal/service" && !isUpper(pkg):
				t.Errorf("%s imports the service layer from below it", pkg)
			case strings.HasPrefix(pkg, "tuku/internal/httpapi") && (imp == "tuku/internal/meta" || imp == "tuku/internal/blob"):
				t.Errorf("%s imports %s: HTTP goes through the service", pkg, imp)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d internal imports seen; go list output looks wrong:\n%s", checked, out)
	}
}
