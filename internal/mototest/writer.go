package mototest

import (
	"bytes"
	"sync"
)

// logLimit caps how much of the emulator's output is kept: the start-up
// errors come first, the request log after them is not needed.
const logLimit = 64 << 10

// headWriter keeps the first logLimit bytes written to it and drops the
// rest. It is safe for the two goroutines exec uses to copy stdout and stderr.
type headWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (h *headWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if room := logLimit - h.buf.Len(); room > 0 {
		h.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (h *headWriter) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.buf.String()
}
