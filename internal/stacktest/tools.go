package stacktest

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// need returns the path of the command-line tool bin, or skips t when it
// is not on PATH; under CI=true it fails t instead, so CI never passes by
// skipping.
func need(t testing.TB, bin, install string) string {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("stacktest: %s is not on PATH (%s): %v", bin, install, err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; CI=true, so this test must not skip")
	}
	t.Skip(msg)
	return ""
}
