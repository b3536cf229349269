package sqsworker_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/agentcdk/agentcdk/agentkit/sqsworker"
	"github.com/agentcdk/agentcdk/internal/faultproxy"
	"github.com/agentcdk/agentcdk/internal/mototest"
)

// TestNetworkFaults runs consumers against moto_server through a
// fault-injecting proxy, while the test itself talks to moto directly. Each
// subtest has its own queue and proxy, and waits for the consumer's own log
// to say it met the fault before it lifts it.
func TestNetworkFaults(t *testing.T) {
	t.Parallel()
	endpoint := mototest.Start(t)
	direct := sqs.NewFromConfig(mototest.Config(endpoint))
	through := func(t *testing.T) (*sqs.Client, *faultproxy.Proxy) {
		p := faultproxy.Start(t, strings.TrimPrefix(endpoint, "http://"))
		return sqs.NewFromConfig(mototest.Config(p.URL())), p
	}
	bodies := func(prefix string, n int) []string {
		b := make([]string, n)
		for i := range b {
			b[i] = fmt.Sprintf("%s-%d", prefix, i)
		}
		return b
	}
	// exactlyOnce checks that every message ran once, on its first delivery.
	exactlyOnce := func(t *testing.T, runs *deliveries, ids []string, logs *logBuffer) {
		t.Helper()
		for _, id := range ids {
			if got := runs.of(id); len(got) != 1 || !strings.HasSuffix(got[0], "#1") {
				t.Errorf("message %s ran %v, want once, on its first delivery", id, got)
			}
		}
		if strings.Contains(logs.String(), `"level":"ERROR"`) {
			t.Errorf("the consumer logged errors:\n%s", logs.String())
		}
	}

	t.Run("a stalled connection does not stop the worker", func(t *testing.T) {
		t.Parallel()
		// GIVEN a worker whose connection to SQS will lose the answer to
		// its long poll, the connection staying open
		client, proxy := through(t)
		q := newQueuePair(t, direct, "stalled", 5)
		var runs deliveries
		var logs logBuffer
		stop := start(t, &sqsworker.Consumer{Client: client, QueueURL: q.url, WaitTime: time.Second,
			Logger:  quietLogger(&logs),
			Handler: func(_ context.Context, m sqsworker.Message) error { runs.add("c", m); return nil }})

		// WHEN the answers are dropped until the worker gives up on its
		// receive, then the network recovers and 20 jobs arrive
		proxy.Set(faultproxy.Fault{Kind: faultproxy.DropAnswers})
		if !eventually(30*time.Second, func() bool { return strings.Contains(logs.String(), "receive got no answer in time") }) {
			t.Fatalf("the worker never abandoned its stalled receive; logs:\n%s", logs.String())
		}
		proxy.Set(faultproxy.Fault{})
		ids := q.send(t, bodies("after", 20)...)

		// THEN it runs every one of them, once
		done := eventually(30*time.Second, func() bool { return runs.distinct() == 20 && q.count(t, q.url) == 0 })
		if err := stop(); err != nil || !done {
			t.Fatalf("Run() = %v; ran %d of 20 after the stall; logs:\n%s", err, runs.distinct(), logs.String())
		}
		exactlyOnce(t, &runs, ids, &logs)
	})

	for _, fault := range []faultproxy.Kind{faultproxy.Refuse, faultproxy.Reset} {
		t.Run(fmt.Sprintf("an SQS outage (%s) loses no job and runs none twice", fault), func(t *testing.T) {
			t.Parallel()
			// GIVEN 10 jobs of 500ms, five running at once
			client, proxy := through(t)
			q := newQueuePair(t, direct, "outage-"+fault.String(), 5)
			ids := q.send(t, bodies("job", 10)...)
			var runs deliveries
			var logs logBuffer
			var finished atomic.Int32
			started := make(chan struct{}, 10)
			stop := start(t, &sqsworker.Consumer{Client: client, QueueURL: q.url, Concurrency: 5, WaitTime: time.Second,
				Logger: quietLogger(&logs),
				Handler: func(_ context.Context, m sqsworker.Message) error {
					runs.add("c", m)
					started <- struct{}{}
					time.Sleep(500 * time.Millisecond)
					finished.Add(1)
					return nil
				}})
			for range 5 {
				<-started
			}

			// WHEN SQS becomes unreachable while they run, until the
			// worker has failed to delete the finished ones
			proxy.Set(faultproxy.Fault{Kind: fault})
			if !eventually(30*time.Second, func() bool {
				return finished.Load() >= 5 && strings.Contains(logs.String(), `"msg":"sqsworker: SQS call failed; retrying","op":"delete"`)
			}) {
				t.Fatalf("the worker did not meet the outage; logs:\n%s", logs.String())
			}
			proxy.Set(faultproxy.Fault{})

			// THEN once it is back, every job has run exactly once and the
			// queue is empty
			done := eventually(30*time.Second, func() bool { return runs.distinct() == 10 && q.count(t, q.url) == 0 })
			if err := stop(); err != nil || !done {
				t.Fatalf("Run() = %v; %d of 10 jobs ran, %d messages left; logs:\n%s", err, runs.distinct(), q.count(t, q.url), logs.String())
			}
			exactlyOnce(t, &runs, ids, &logs)
		})
	}

	t.Run("a slow network only slows the worker", func(t *testing.T) {
		t.Parallel()
		// GIVEN a network that holds every chunk 200ms each way
		client, proxy := through(t)
		proxy.Set(faultproxy.Fault{Kind: faultproxy.Delay, Delay: 200 * time.Millisecond})
		q := newQueuePair(t, direct, "slow", 5)
		ids := q.send(t, bodies("job", 10)...)
		var runs deliveries
		var logs logBuffer

		// WHEN a worker runs the jobs through it
		stop := start(t, &sqsworker.Consumer{Client: client, QueueURL: q.url, Concurrency: 5, WaitTime: time.Second,
			Logger:  quietLogger(&logs),
			Handler: func(_ context.Context, m sqsworker.Message) error { runs.add("c", m); return nil }})
		done := eventually(30*time.Second, func() bool { return runs.distinct() == 10 && q.count(t, q.url) == 0 })
		err := stop()

		// THEN each runs once, with no retry needed
		if err != nil || !done {
			t.Fatalf("Run() = %v; %d of 10 ran; logs:\n%s", err, runs.distinct(), logs.String())
		}
		exactlyOnce(t, &runs, ids, &logs)
		if strings.Contains(logs.String(), `"level":"WARN"`) {
			t.Errorf("a slow but working network caused warnings:\n%s", logs.String())
		}
	})

	t.Run("a heartbeat stalled for a while still keeps the job from other workers", func(t *testing.T) {
		t.Parallel()
		// GIVEN worker A running a long job, with a 6s visibility timeout
		// renewed every second, and worker B polling the same queue
		client, proxy := through(t)
		beats := &heartbeats{Client: client}
		q := newQueuePair(t, direct, "heartbeat-stall", 5)
		id := q.send(t, "long")[0]
		var runs deliveries
		var logs logBuffer
		release, running := make(chan struct{}), make(chan struct{}, 1)
		stopA := start(t, &sqsworker.Consumer{Client: beats, QueueURL: q.url, WaitTime: time.Second,
			VisibilityTimeout: 6 * time.Second, HeartbeatInterval: time.Second, Logger: quietLogger(&logs),
			Handler: func(_ context.Context, m sqsworker.Message) error {
				runs.add("A", m)
				running <- struct{}{}
				<-release
				return nil
			}})
		<-running
		stopB := start(t, &sqsworker.Consumer{Client: direct, QueueURL: q.url, WaitTime: time.Second, Logger: quietLogger(&logs),
			Handler: func(_ context.Context, m sqsworker.Message) error { runs.add("B", m); return nil }})

		// WHEN A's network stalls until a heartbeat has failed, recovers,
		// and the job runs on for six more heartbeats: past the moment its
		// message would have become visible had the heartbeats not resumed
		proxy.Set(faultproxy.Fault{Kind: faultproxy.Stall})
		if !eventually(30*time.Second, func() bool { return strings.Contains(logs.String(), "sqsworker: heartbeat failed; retrying") }) {
			t.Fatalf("no heartbeat failed during the stall; logs:\n%s", logs.String())
		}
		proxy.Set(faultproxy.Fault{})
		after := beats.ok.Load()
		if !eventually(30*time.Second, func() bool { return beats.ok.Load() >= after+6 }) {
			t.Fatalf("the heartbeats did not resume; logs:\n%s", logs.String())
		}
		close(release)
		done := eventually(30*time.Second, func() bool { return q.count(t, q.url) == 0 })
		errA, errB := stopA(), stopB()

		// THEN only A ever ran it
		if errA != nil || errB != nil || !done {
			t.Fatalf("Run() = %v, %v; queue emptied: %t; logs:\n%s", errA, errB, done, logs.String())
		}
		if got := runs.of(id); len(got) != 1 || got[0] != "A#1" {
			t.Errorf("deliveries = %v, want [A#1]; logs:\n%s", got, logs.String())
		}
	})
}

// heartbeats counts the visibility extensions SQS accepted.
type heartbeats struct {
	*sqs.Client
	ok atomic.Int32
}

func (h *heartbeats) ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	out, err := h.Client.ChangeMessageVisibilityBatch(ctx, in, opts...)
	if err == nil && len(out.Failed) == 0 && in.Entries[0].VisibilityTimeout > 0 {
		h.ok.Add(1)
	}
	return out, err
}
