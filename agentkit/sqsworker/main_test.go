package sqsworker_test

import (
	"flag"
	"fmt"
	"os"
	"testing"
)

// testParallel is how many of this package's tests run at once unless
// -parallel says otherwise. Its tests wait on timers and on the network
// (visibility timeouts, backoffs, drains), not on the CPU, so the default
// of one per core would leave the machine idle and the package's wall time
// at the sum of their waits.
const testParallel = 8

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		if err := flag.Set("test.parallel", fmt.Sprint(testParallel)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	os.Exit(m.Run())
}
