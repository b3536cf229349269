//go:build !unix

package starter_test

import "testing"

// lock reports that no lock can be taken here, so the caller uses a
// folder of its own for each run.
func lock(t *testing.T, path string) bool { return false }
