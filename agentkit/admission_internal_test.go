package agentkit

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// The line of requests waiting for a slot is bounded by the cap: the
// requests beyond the slots and the line are refused at once, without
// waiting (black-box, a test could not tell them from those refused after
// their wait).
func TestTheLineOfWaitingRequestsIsBounded(t *testing.T) {
	// GIVEN a cap of 2 with both slots taken and an hour's wait
	const slots, extra = 2, 10
	a := newAdmission(slots, time.Hour)
	for range slots {
		if v := a.acquire(context.Background()); v != admitted {
			t.Fatalf("a free slot: %v", v)
		}
	}

	// WHEN 10 more requests come
	ctx, cancel := context.WithCancel(context.Background())
	verdicts := make(chan verdict, extra)
	for range extra {
		go func() { verdicts <- a.acquire(ctx) }()
	}

	// THEN 8 are refused at once, 2 wait
	for range extra - slots {
		if v := <-verdicts; v != refused {
			t.Fatalf("got %v, want refused", v)
		}
	}
	if n := a.waiting.Load(); n != slots {
		t.Fatalf("%d waiting, want %d", n, slots)
	}

	// AND a slot freed goes to one that waits; a client that leaves takes
	// none
	a.release()
	if v := <-verdicts; v != admitted {
		t.Fatalf("after a release: %v, want admitted", v)
	}
	cancel()
	if v := <-verdicts; v != cancelled {
		t.Fatalf("after the client left: %v, want cancelled", v)
	}
	for a.waiting.Load() != 0 { // the deferred decrement runs after the send
		runtime.Gosched()
	}
}
