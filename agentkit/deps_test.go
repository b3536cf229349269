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

	// THEN the only non-standard package is agentkit itself
	if got := strings.TrimSpace(string(out)); got != "github.com/agentcdk/agentcdk/agentkit" {
		t.Fatalf("non-standard dependencies:\n%s", got)
	}
}
