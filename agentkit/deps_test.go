package agentkit_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	// GIVEN the go command
	goCmd, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("go command not found on PATH")
		}
		t.Skip("go command not found on PATH; install Go to run this test")
	}

	// WHEN agentkit's dependencies are listed
	out, err := exec.Command(goCmd, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}

	// THEN the only non-standard packages are agentkit and its own
	// internal packages (whose dependencies the list includes)
	for _, pkg := range strings.Fields(string(out)) {
		if pkg != "github.com/agentcdk/agentcdk/agentkit" && !strings.HasPrefix(pkg, "github.com/agentcdk/agentcdk/agentkit/internal/") {
			t.Errorf("non-standard dependency %s", pkg)
		}
	}
}
