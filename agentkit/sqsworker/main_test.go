package sqsworker_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/agentcdk/agentcdk/internal/testparallel"
)

// testParallel is how many of this package's tests run at once unless
// -parallel says otherwise. Its tests wait on timers and on the network
// (visibility timeouts, backoffs, drains), not on the CPU (package
// testparallel).
const testParallel = 32

func TestMain(m *testing.M) {
	if err := testparallel.Default(testParallel); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}
