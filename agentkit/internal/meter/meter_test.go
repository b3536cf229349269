package meter

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
	"sync/atomic"
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

func TestEveryLineFitsMaxLineBytesAtWorst(t *testing.T) {
	// GIVEN a meter whose every part is as long as it may be: a service
	// of 1024 quotes (each escaped in JSON to two bytes), a namespace of
	// 255 characters, MaxModels models whose names are MaxModelName
	// quotes, each priced, every counter at its largest, and histograms
	// with every bucket as full as their total allows
	var out bytes.Buffer
	quotes := func(n int) string { return strings.Repeat(`"`, n) }
	prices := map[string]Price{}
	for i := range MaxModels {
		prices[fmt.Sprintf("%03d%s", i, quotes(MaxModelName-3))] = Price{Input: MaxPrice, Output: MaxPrice}
	}
	m, err := New(Config{Service: quotes(1024), Namespace: strings.Repeat("n", 255), Output: &out, Prices: prices}, true)
	if err != nil {
		t.Fatal(err)
	}
	fill := func(h *histogram) {
		hf := &h.halves[h.active.Load()]
		for b := range hf.counts { // as many as Count can sum
			hf.counts[b].Store(math.MaxInt64 / int64(len(hf.counts)))
		}
		hf.sum.Store(math.MaxInt64)
		hf.min.Store(0)
		hf.max.Store(maxLatencyMs)
	}
	for model := range prices {
		m.Record(Call{Model: model, InputTokens: math.MaxInt, OutputTokens: math.MaxInt, Err: io.EOF})
	}
	for _, s := range m.models {
		s.calls, s.errors, s.in, s.out = math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64
		s.cost = float64(math.MaxInt64) * 2 * MaxPrice // every call at its dearest
		fill(&s.latency)
	}
	fill(&m.latency)
	for _, c := range []*atomic.Int64{&m.requests, &m.serverErrs, &m.inflightMax, &m.Streams, &m.jobsDone, &m.jobsFailed} {
		c.Store(math.MaxInt64)
	}
	most := func() int64 { return math.MaxInt64 }

	// WHEN it writes its lines, the drain's outcome included
	m.flush(Gauges{Inflight: most, Jobs: most}, math.MaxInt64, 1,
		map[string]float64{DrainSeconds: math.MaxFloat64, DrainCut: math.MaxFloat64})

	// THEN each line, newline included, is within MaxLineBytes
	lines := strings.SplitAfter(out.String(), "\n")
	if len(lines) != 2+2*MaxModels+1 { // the last is empty, after the last newline
		t.Fatalf("%d lines", len(lines)-1)
	}
	longest := 0
	for _, l := range lines {
		longest = max(longest, len(l))
	}
	if longest > MaxLineBytes {
		t.Fatalf("a line of %d bytes, over %d", longest, MaxLineBytes)
	}
	t.Logf("the longest line: %d bytes", longest)
}
