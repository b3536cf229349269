package runs_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestImportsOnlyTheStandardLibraryAndAgentkit(t *testing.T) {
	// GIVEN the go command
	goCmd, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("go command not found on PATH")
		}
		t.Skip("go command not found on PATH; install Go to run this test")
	}

	// WHEN the dependencies of runs and runstest are listed
	out, err := exec.Command(goCmd, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".", "./runstest").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}

	// THEN they are agentkit's own packages only: no AWS SDK
	for _, pkg := range strings.Fields(string(out)) {
		if !strings.HasPrefix(pkg, "github.com/agentcdk/agentcdk/agentkit") || strings.Contains(pkg, "sqsworker") || strings.Contains(pkg, "apikeys") {
			t.Errorf("dependency %s", pkg)
		}
	}
}
