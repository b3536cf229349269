// Package testparallel sets how many of a package's tests run at once when
// they wait on timers, the network and processes of their own rather than
// on the CPU: Go's default of one per core would leave the machine idle and
// the package's wall time at the sum of their waits.
package testparallel

import (
	"flag"
	"fmt"
)

// Default makes n the value of -test.parallel unless the command line set
// it. Call it from TestMain, before m.Run.
func Default(n int) error {
	if !flag.Parsed() {
		flag.Parse()
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if set {
		return nil
	}
	if err := flag.Set("test.parallel", fmt.Sprint(n)); err != nil {
		return fmt.Errorf("testparallel: set -test.parallel to %d: %w", n, err)
	}
	return nil
}
