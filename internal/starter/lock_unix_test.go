//go:build unix

package starter_test

import (
	"os"
	"syscall"
	"testing"
)

// lock takes an exclusive lock on the file at path, waiting for another
// run that holds it, and returns true; the lock ends with t.
func lock(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("lock %s: %v", path, err)
	}
	t.Cleanup(func() { f.Close() }) // closing the file releases the lock
	return true
}
