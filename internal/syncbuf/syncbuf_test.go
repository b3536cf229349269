package syncbuf_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/agentcdk/agentcdk/internal/syncbuf"
)

func TestWritesFromManyGoroutinesAllLand(t *testing.T) {
	// GIVEN a buffer WHEN 8 goroutines write 100 lines each while it is read
	var b syncbuf.Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("line\n"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	// THEN every line is there, whole (run with -race for the rest)
	if got := strings.Count(b.String(), "line\n"); got != 800 {
		t.Fatalf("%d lines, want 800", got)
	}
}
