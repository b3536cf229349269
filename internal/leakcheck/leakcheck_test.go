package leakcheck

import (
	"strings"
	"testing"
	"time"
)

func TestWaitReportsAGoroutineThatDoesNotEnd(t *testing.T) {
	// GIVEN one goroutine more than before, blocked until released
	before := len(live())
	release := make(chan struct{})
	go func() { <-release }()
	defer close(release)

	// WHEN the check waits for the count to fall back
	err := wait(before, 100*time.Millisecond)

	// THEN it reports the leak with the goroutine's stack
	if err == nil || !strings.Contains(err.Error(), "goroutine leak:") || !strings.Contains(err.Error(), "leakcheck_test.go") {
		t.Fatalf("wait() = %v, want a leak report naming this file", err)
	}
}

func TestWaitPassesOnceTheGoroutinesEnd(t *testing.T) {
	// GIVEN a goroutine that ends on its own
	before := len(live())
	done := make(chan struct{})
	go func() { <-time.After(50 * time.Millisecond); close(done) }()

	// WHEN the check waits
	err := wait(before, 5*time.Second)

	// THEN it passes
	<-done
	if err != nil {
		t.Fatalf("wait() = %v", err)
	}
}
