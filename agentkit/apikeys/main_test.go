package apikeys_test

import (
	"os"
	"testing"

	"github.com/agentcdk/agentcdk/internal/leakcheck"
)

// TestMain fails the package when a test leaves a goroutine running: Run's
// refresh loop must end with its context.
func TestMain(m *testing.M) {
	os.Exit(leakcheck.Run(m))
}
