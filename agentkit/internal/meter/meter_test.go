package meter

import (
	"math"
	"testing"
)

func TestEveryLatencyFallsInABucketThatStandsWithinAnEighthOfIt(t *testing.T) {
	// GIVEN every latency from 0 to the cap (sampled densely at the low end)
	last := -1
	for ms := int64(0); ms <= maxLatencyMs; ms = max(ms+1, ms+ms/97) {
		// WHEN it is bucketed
		i := bucketOf(ms)
		// THEN buckets only grow, stay within the array, and the bucket's
		// value is within 12.5 % of the latency (exact below 8ms)
		if i < last || i >= 92 {
			t.Fatalf("bucketOf(%d) = %d after %d", ms, i, last)
		}
		last = i
		if mid := bucketMid(i); math.Abs(mid-float64(ms)) > float64(ms)/8 {
			t.Fatalf("bucketOf(%d) stands for %v", ms, mid)
		}
	}
	if bucketOf(maxLatencyMs) != 91 {
		t.Fatalf("the cap lands in bucket %d, want the last, 91", bucketOf(maxLatencyMs))
	}
}

func TestTakeReturnsWhatWasObservedOnce(t *testing.T) {
	var h histogram
	h.reset()
	for _, ms := range []int64{3, 3, 100, 2000, -5} {
		h.observe(ms)
	}
	d, ok := h.take()
	if !ok || d.Count != 5 || d.Sum != 2106 || d.Min != 0 || d.Max != 2000 || len(d.Values) != 4 {
		t.Fatalf("%+v", d)
	}
	if _, ok := h.take(); ok {
		t.Fatal("a second take found observations")
	}
}

func TestTakeNeverSplitsAnObservation(t *testing.T) {
	// GIVEN two observers recording 5000 observations each
	var h histogram
	h.reset()
	const each = 5000
	done := make(chan struct{})
	for range 2 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range each {
				h.observe(20)
			}
		}()
	}
	// WHEN takes run meanwhile THEN each is consistent (every observation
	// counted is in the sum, min and max are its value) and, once the
	// observers are done, all were taken exactly once
	var total int64
	check := func() {
		if d, ok := h.take(); ok {
			if d.Sum != 20*float64(d.Count) || d.Min != 20 || d.Max != 20 {
				t.Fatalf("inconsistent take: %+v", d)
			}
			total += d.Count
		}
	}
	for finished := 0; finished < 2; {
		select {
		case <-done:
			finished++
		default:
			check()
		}
	}
	check()
	if total != 2*each {
		t.Fatalf("took %d observations, want %d", total, 2*each)
	}
}
