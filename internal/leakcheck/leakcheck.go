// Package leakcheck fails a test binary whose tests leave goroutines
// running: the runtime packages promise that nothing they start outlives
// them (a stopped Server, a returned Consumer, a closed proxy).
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// settle is how long the goroutines the tests started get to end after the
// last test: timers and closing connections take a moment.
const settle = 5 * time.Second

// Run runs the tests; when they pass, it waits up to 5s for the number of
// goroutines to fall back to what it was before them, and fails with the
// stacks of those still running if it does not. The os/signal loop, which
// the first signal.Notify starts and nothing ends, is not counted. Call it
// from TestMain: os.Exit(leakcheck.Run(m)).
func Run(m *testing.M) int {
	before := len(live())
	code := m.Run()
	if code != 0 {
		return code
	}
	if err := wait(before, settle); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// wait polls the runtime, which has no event to wait on, until at most n
// goroutines remain or within has passed.
func wait(n int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		running := live()
		if len(running) <= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("goroutine leak: %d running after the tests, %d before:\n%s",
				len(running), n, strings.Join(running, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// live returns the stacks of the goroutines other than the caller's and the
// os/signal loop.
func live() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var stacks []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 || strings.Contains(g, "os/signal.loop") {
			continue
		}
		stacks = append(stacks, g)
	}
	return stacks
}
