package sqsworker

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff returns the wait before retry number attempt (0 for the first
// retry): it doubles from base up to ceiling, and a random half of it is
// jitter so that workers that failed together do not retry together.
func backoff(attempt int, base, ceiling time.Duration) time.Duration {
	d := ceiling
	if attempt < 32 {
		if e := base << attempt; e > 0 && e < ceiling {
			d = e
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits for d or until ctx is done, and reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
