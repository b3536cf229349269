package runs_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestImportsOnlyTheStandardLibraryAndAgentkit: the store's contract, the
// memory store and the conformance suite stay free of the AWS SDK, which
// lives in agentkit/runs/dynamorun alone.
func TestImportsOnlyTheStandardLibraryAndAgentkit(t *testing.T) {
	// GIVEN the go command
	goCmd, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("go command not found on PATH")
		}
		t.Skip("go command not found on PATH; install Go to run this test")
	}

	// WHEN the dependencies of agentkit/runs and agentkit/runs/runstest
	// are listed
	out, err := exec.Command(goCmd, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".", "./runstest").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}

	// THEN none is outside agentkit
	for _, pkg := range strings.Fields(string(out)) {
		if pkg != "github.com/agentcdk/agentcdk/agentkit" && !strings.HasPrefix(pkg, "github.com/agentcdk/agentcdk/agentkit/") ||
			strings.HasPrefix(pkg, "github.com/agentcdk/agentcdk/agentkit/runs/dynamorun") || strings.HasPrefix(pkg, "github.com/agentcdk/agentcdk/agentkit/sqsworker") {
			t.Errorf("non-standard dependency %s", pkg)
		}
	}
}
