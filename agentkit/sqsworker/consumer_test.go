package sqsworker_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/sqsworker"
)

// start runs c in the background and returns a stop function that cancels
// Run's context and returns Run's result; the test's end stops it too.
func start(t *testing.T, c *sqsworker.Consumer) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("Run did not return within 30s of the stop")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func quietLogger(buf *logBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestRunRejectsBadInput(t *testing.T) {
	ok := func(context.Context, sqsworker.Message) error { return nil }
	valid := func() *sqsworker.Consumer {
		return &sqsworker.Consumer{Client: &fakeQueue{}, QueueURL: "https://sqs/q", Handler: ok}
	}
	tests := []struct {
		name   string
		change func(c *sqsworker.Consumer)
		env    map[string]string
		want   string
	}{
		{"no client", func(c *sqsworker.Consumer) { c.Client = nil }, nil, "sqsworker: Client is nil; use an *sqs.Client"},
		{"no queue", func(c *sqsworker.Consumer) { c.QueueURL = "" }, nil, "sqsworker: QueueURL is empty and AGENTKIT_QUEUE_URL is not set; set either to the URL of the queue to consume"},
		{"no handler", func(c *sqsworker.Consumer) { c.Handler = nil }, nil, "sqsworker: Handler is nil; set it to the function that runs a job"},
		{"negative concurrency", func(c *sqsworker.Consumer) { c.Concurrency = -1 }, nil, "sqsworker: Concurrency -1 is out of range; use 1 to 1000"},
		{"huge concurrency", func(c *sqsworker.Consumer) { c.Concurrency = 5000 }, nil, "sqsworker: Concurrency 5000 is out of range; use 1 to 1000"},
		{"bad concurrency in the environment", func(*sqsworker.Consumer) {}, map[string]string{"AGENTKIT_WORKER_CONCURRENCY": "lots"},
			`sqsworker: AGENTKIT_WORKER_CONCURRENCY "lots" is not a job count; use a number from 1 to 1000`},
		{"sub-second visibility", func(c *sqsworker.Consumer) { c.VisibilityTimeout = 500 * time.Millisecond }, nil, "sqsworker: VisibilityTimeout 500ms is not whole seconds from 1s to 12h0m0s"},
		{"fractional visibility", func(c *sqsworker.Consumer) { c.VisibilityTimeout = 1500 * time.Millisecond }, nil, "sqsworker: VisibilityTimeout 1.5s is not whole seconds from 1s to 12h0m0s"},
		{"visibility over 12h", func(c *sqsworker.Consumer) { c.VisibilityTimeout = 13 * time.Hour }, nil, "sqsworker: VisibilityTimeout 13h0m0s is not whole seconds from 1s to 12h0m0s"},
		{"heartbeat not shorter", func(c *sqsworker.Consumer) { c.HeartbeatInterval = time.Minute }, nil, "sqsworker: HeartbeatInterval 1m0s is out of range; use more than 0 and less than VisibilityTimeout 1m0s"},
		{"negative heartbeat", func(c *sqsworker.Consumer) { c.HeartbeatInterval = -time.Second }, nil, "sqsworker: HeartbeatInterval -1s is out of range; use more than 0 and less than VisibilityTimeout 1m0s"},
		{"wait over 20s", func(c *sqsworker.Consumer) { c.WaitTime = 21 * time.Second }, nil, "sqsworker: WaitTime 21s is not whole seconds from 1s to 20s"},
		{"negative backoff", func(c *sqsworker.Consumer) { c.RetryBackoff = -time.Second }, nil, "sqsworker: RetryBackoff -1s is out of range; use 0 (the default, 10s) to 15m0s"},
		{"stop timeout under agentkit's minimum", func(c *sqsworker.Consumer) { c.StopTimeout = time.Second }, nil, "sqsworker: StopTimeout 1s is out of range; use 2s to 2m0s"},
		{"bad stop timeout in the environment", func(*sqsworker.Consumer) {}, map[string]string{"AGENTKIT_STOP_TIMEOUT": "forever"},
			`agentkit: AGENTKIT_STOP_TIMEOUT "forever" is not a Go duration`},
		{"stop timeout over Fargate's", func(*sqsworker.Consumer) {}, map[string]string{"AGENTKIT_STOP_TIMEOUT": "5m"},
			"agentkit: AGENTKIT_STOP_TIMEOUT 5m0s is out of range; use 2s to 2m0s"},
		// ECS protects a task for ExpiresInMinutes, "a minimum of 1 minute to
		// up to 2,880 minutes (48 hours)"
		// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-scale-in-protection-endpoint.html).
		{"short protection", func(c *sqsworker.Consumer) { c.Protection.Expiry = time.Second }, nil, "sqsworker: Protection.Expiry 1s is out of range; use 1m0s to 48h0m0s"},
		{"protection past ECS's 48 hours", func(c *sqsworker.Consumer) { c.Protection.Expiry = 48*time.Hour + time.Minute }, nil,
			"sqsworker: Protection.Expiry 48h1m0s is out of range; use 1m0s to 48h0m0s"},
		{"sub-second job timeout", func(c *sqsworker.Consumer) { c.JobTimeout = 500 * time.Millisecond }, nil,
			"sqsworker: JobTimeout 500ms is out of range; use 1s to 11h59m0s (MaxVisibilityTimeout less VisibilityTimeout)"},
		{"negative job timeout", func(c *sqsworker.Consumer) { c.JobTimeout = -time.Minute }, nil,
			"sqsworker: JobTimeout -1m0s is out of range; use 1s to 11h59m0s (MaxVisibilityTimeout less VisibilityTimeout)"},
		// SQS refuses to hide a message longer than 12 hours from its
		// receipt: "If you try to extend the visibility timeout beyond the
		// maximum, your request is rejected"
		// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html).
		{"job timeout of 12h", func(c *sqsworker.Consumer) { c.JobTimeout = 12 * time.Hour }, nil,
			"sqsworker: JobTimeout 12h0m0s is out of range; use 1s to 11h59m0s (MaxVisibilityTimeout less VisibilityTimeout)"},
		{"job timeout and a long visibility", func(c *sqsworker.Consumer) { c.JobTimeout, c.VisibilityTimeout = 11*time.Hour, 2*time.Hour }, nil,
			"sqsworker: JobTimeout 11h0m0s is out of range; use 1s to 10h0m0s (MaxVisibilityTimeout less VisibilityTimeout)"},
		{"bad job timeout in the environment", func(*sqsworker.Consumer) {}, map[string]string{"AGENTKIT_JOB_TIMEOUT": "a while"},
			`sqsworker: AGENTKIT_JOB_TIMEOUT "a while" is not a Go duration (for example "900s")`},
		{"job timeout in the environment over SQS's", func(*sqsworker.Consumer) {}, map[string]string{"AGENTKIT_JOB_TIMEOUT": "12h"},
			"sqsworker: AGENTKIT_JOB_TIMEOUT 12h0m0s is out of range; use 1s to 11h59m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a consumer with one bad field (or a bad environment)
			for _, name := range []string{agentkit.EnvQueueURL, agentkit.EnvWorkerConcurrency, agentkit.EnvStopTimeout, agentkit.EnvJobTimeout} {
				t.Setenv(name, tt.env[name])
			}
			c := valid()
			tt.change(c)

			// WHEN it runs
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := c.Run(ctx)

			// THEN it fails at once, naming the field and what is allowed
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Run() = %v, want an error starting %q", err, tt.want)
			}
		})
	}
}

func TestZeroFieldsReadTheContractTheConstructSets(t *testing.T) {
	// GIVEN the environment the worker construct sets: a queue URL and a
	// concurrency of 6, and a consumer that sets neither field
	q := &fakeQueue{}
	for range 12 {
		q.send("job")
	}
	t.Setenv(agentkit.EnvQueueURL, "https://sqs.us-east-1.amazonaws.com/123456789012/jobs")
	t.Setenv(agentkit.EnvWorkerConcurrency, "6")
	var running, most atomic.Int32
	release := make(chan struct{})
	c := &sqsworker.Consumer{Client: q, WaitTime: time.Second, Logger: quietLogger(&logBuffer{}),
		Handler: func(context.Context, sqsworker.Message) error {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			<-release
			running.Add(-1)
			return nil
		}}

	// WHEN it runs the queue
	stop := start(t, c)
	full := eventually(10*time.Second, func() bool { return c.InFlight() == 6 && running.Load() == 6 })
	close(release)
	emptied := eventually(10*time.Second, func() bool { d, _, _ := q.state(); return len(d) == 12 })
	if err := stop(); err != nil {
		t.Fatalf("Run() = %v", err)
	}

	// THEN it consumed that queue, six jobs at once and never more
	if !full || !emptied || most.Load() != 6 {
		t.Fatalf("reached 6 in flight: %t, emptied the queue: %t, most at once: %d", full, emptied, most.Load())
	}
}

func TestRunDeletesDoneJobsAndDelaysFailedOnes(t *testing.T) {
	t.Parallel()
	// GIVEN a queue with a job that succeeds and one that always fails
	q := &fakeQueue{}
	good, bad := q.send("good"), q.send("bad")
	var logs logBuffer
	c := &sqsworker.Consumer{
		Client: q, QueueURL: "q", WaitTime: time.Second, Logger: quietLogger(&logs),
		RetryBackoff: time.Second,
		Handler: func(_ context.Context, m sqsworker.Message) error {
			if m.Body == "bad" {
				return errors.New("model API said no")
			}
			return nil
		},
	}

	// WHEN the consumer runs until the failing job was delivered twice
	stop := start(t, c)
	settled := eventually(10*time.Second, func() bool {
		_, vis, _ := q.state()
		return len(vis) >= 2
	})
	if err := stop(); err != nil {
		t.Fatalf("Run() = %v", err)
	}

	// THEN the good job's message is deleted and the bad one's retry is
	// delayed by the backoff, doubled on the second delivery
	deleted, vis, left := q.state()
	if !settled {
		t.Fatalf("the failing job was not retried; visibility changes: %v", vis)
	}
	if !slices.Equal(deleted, []string{good}) {
		t.Errorf("deleted = %v, want [%s]", deleted, good)
	}
	if want := []string{bad + "=1", bad + "=2"}; !slices.Equal(vis[:2], want) {
		t.Errorf("visibility changes = %v, want %v first", vis, want)
	}
	if left != 1 {
		t.Errorf("%d messages left, want the failing one", left)
	}
	if n := logs.count(`"msg":"sqsworker: job failed; it will be retried"`); n < 2 {
		t.Errorf("logged %d failures, want 2 or more:\n%s", n, logs.String())
	}
}

func TestRunPassesTheMessageToTheHandler(t *testing.T) {
	t.Parallel()
	// GIVEN a queue with one job
	q := &fakeQueue{}
	id := q.send(`{"prompt":"hi"}`)
	got := make(chan sqsworker.Message, 1)
	c := &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second, Logger: quietLogger(&logBuffer{}),
		Handler: func(_ context.Context, m sqsworker.Message) error { got <- m; return nil }}

	// WHEN the consumer runs it
	start(t, c)
	var m sqsworker.Message
	select {
	case m = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler never ran")
	}

	// THEN the handler sees the ID, body, receive count and attributes
	if m.ID != id || m.Body != `{"prompt":"hi"}` || m.ReceiveCount != 1 || m.Attributes["kind"] != "test" {
		t.Errorf("message = %+v, want ID %s, the body, receive count 1 and kind=test", m, id)
	}
}

func TestRunRetriesReceiveErrors(t *testing.T) {
	t.Parallel()
	// GIVEN a queue whose first three receives fail
	q := &fakeQueue{receiveErrs: 3}
	q.send("job")
	var logs logBuffer
	c := &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second, Logger: quietLogger(&logs),
		Handler: func(context.Context, sqsworker.Message) error { return nil }}

	// WHEN the consumer runs
	stop := start(t, c)
	done := eventually(20*time.Second, func() bool { d, _, _ := q.state(); return len(d) == 1 })
	err := stop()

	// THEN it logged each failure, kept going, and ran the job
	if !done || err != nil {
		t.Fatalf("job done = %t, Run() = %v; logs:\n%s", done, err, logs.String())
	}
	if n := logs.count(`"msg":"sqsworker: receive failed; retrying"`); n != 3 {
		t.Errorf("logged %d receive failures, want 3:\n%s", n, logs.String())
	}
}

// outage is a queue whose receives fail, as with SQS out of reach, from
// the first one until length has passed; it records when each was made.
type outage struct {
	*fakeQueue
	length time.Duration
	mu     sync.Mutex
	until  time.Time
	calls  []time.Time
}

func (o *outage) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	o.mu.Lock()
	now := time.Now()
	if o.until.IsZero() {
		o.until = now.Add(o.length)
	}
	o.calls = append(o.calls, now)
	down := now.Before(o.until)
	o.mu.Unlock()
	if down {
		return nil, errors.New("dial tcp: connect: connection refused")
	}
	return o.fakeQueue.ReceiveMessage(ctx, in, opts...)
}

// record returns when the outage ends and the times of the receives.
func (o *outage) record() (until time.Time, calls []time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.until, slices.Clone(o.calls)
}

func TestReceivingResumesWithinTwoSecondsOfAnOutage(t *testing.T) {
	t.Parallel()
	// GIVEN a job queued, and SQS out of reach for the first 7s: long
	// enough for a doubling backoff from 200ms to reach 3.2s
	q := &outage{fakeQueue: &fakeQueue{}, length: 7 * time.Second}
	q.send("job")
	var logs logBuffer
	stop := start(t, &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second, Logger: quietLogger(&logs),
		Handler: func(context.Context, sqsworker.Message) error { return nil }})

	// WHEN the worker keeps trying until the outage ends
	done := eventually(30*time.Second, func() bool { d, _, _ := q.state(); return len(d) == 1 })
	if err := stop(); err != nil || !done {
		t.Fatalf("Run() = %v; job done: %t; logs:\n%s", err, done, logs.String())
	}

	// THEN it never waited more than the 2s backoff cap (with a margin for
	// a busy machine) between receives, so the first receive after the
	// outage came within that bound of its end
	until, calls := q.record()
	var resumed time.Time
	for i, at := range calls {
		if i > 0 {
			if gap := at.Sub(calls[i-1]); gap > 3*time.Second && calls[i-1].Before(until) {
				t.Errorf("receive %d came %s after the failed one before it, want at most the 2s cap", i, gap.Round(time.Millisecond))
			}
		}
		if resumed.IsZero() && !at.Before(until) {
			resumed = at
		}
	}
	if late := resumed.Sub(until); late > 3*time.Second {
		t.Errorf("receiving resumed %s after the outage ended, want within the 2s cap", late.Round(time.Millisecond))
	}
	if n := logs.count(`"msg":"sqsworker: receive failed; retrying"`); n < 5 {
		t.Errorf("logged %d failed receives in a 7s outage, want one every 2s or less:\n%s", n, logs.String())
	}
}

func TestRunTurnsAHandlerPanicIntoARetry(t *testing.T) {
	t.Parallel()
	// GIVEN a job whose handler panics on its first delivery only
	q := &fakeQueue{}
	q.send("job")
	var logs logBuffer
	var calls atomic.Int32
	c := &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second, RetryBackoff: time.Second,
		Logger: quietLogger(&logs),
		Handler: func(context.Context, sqsworker.Message) error {
			if calls.Add(1) == 1 {
				panic("nil map")
			}
			return nil
		}}

	// WHEN the consumer runs
	stop := start(t, c)
	done := eventually(10*time.Second, func() bool { d, _, _ := q.state(); return len(d) == 1 })
	err := stop()

	// THEN the worker survived, logged the panic, and the retry succeeded
	if !done || err != nil {
		t.Fatalf("job done = %t, Run() = %v; logs:\n%s", done, err, logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"sqsworker: handler panicked"`) || calls.Load() != 2 {
		t.Errorf("calls = %d, logs:\n%s", calls.Load(), logs.String())
	}
}

func TestRunCountsJobsInFlight(t *testing.T) {
	t.Parallel()
	// GIVEN three jobs that block until released, and concurrency 2
	q := &fakeQueue{}
	for range 3 {
		q.send("job")
	}
	release := make(chan struct{})
	c := &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second, Concurrency: 2,
		Logger:  quietLogger(&logBuffer{}),
		Handler: func(context.Context, sqsworker.Message) error { <-release; return nil }}

	// WHEN the consumer runs
	start(t, c)

	// THEN two jobs run at once, and none once all are done
	if !eventually(10*time.Second, func() bool { return c.InFlight() == 2 }) {
		t.Fatalf("InFlight() = %d, want 2", c.InFlight())
	}
	time.Sleep(100 * time.Millisecond)
	if n := c.InFlight(); n != 2 {
		t.Errorf("InFlight() = %d with concurrency 2", n)
	}
	close(release)
	if !eventually(10*time.Second, func() bool { d, _, _ := q.state(); return len(d) == 3 && c.InFlight() == 0 }) {
		t.Errorf("InFlight() = %d after the jobs ended", c.InFlight())
	}
}

func TestRunDrainsOnStop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		job         func(ctx context.Context) error
		wantDeleted bool
		wantErr     string
		wantLog     string
	}{
		{
			name:        "a job that ends before the cancel point finishes",
			job:         func(context.Context) error { time.Sleep(200 * time.Millisecond); return nil },
			wantDeleted: true,
			wantLog:     "sqsworker: stopped",
		},
		{
			name: "a job past the cancel point is cancelled and released",
			job: func(ctx context.Context) error {
				<-ctx.Done()
				if !errors.Is(context.Cause(ctx), agentkit.ErrDrainTimeout) {
					return errors.New("cancelled without agentkit.ErrDrainTimeout as the cause")
				}
				return ctx.Err()
			},
			wantLog: "the job did not finish by the drain's cancel point",
		},
		{
			name:    "a job that ignores cancellation is released by Run",
			job:     func(context.Context) error { time.Sleep(4 * time.Second); return nil },
			wantErr: "sqsworker: 1 job(s) ignored the cancellation of their context at the cancel point; their messages were released",
			wantLog: "the handler ignored the cancellation of its context",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// GIVEN a consumer running one job, with a 2s stop timeout
			// (cancel point 500ms, close point 1s)
			q := &fakeQueue{}
			id := q.send("job")
			var logs logBuffer
			running := make(chan struct{})
			c := &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second,
				StopTimeout: 2 * time.Second, Logger: quietLogger(&logs),
				Handler: func(ctx context.Context, _ sqsworker.Message) error {
					close(running)
					return tt.job(ctx)
				}}
			stop := start(t, c)
			<-running

			// WHEN the consumer is stopped
			began := time.Now()
			err := stop()
			took := time.Since(began)

			// THEN the job either finished and was deleted, or its message
			// was made visible again at once; either way before the close
			// point
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Errorf("Run() = %v, want %q", err, tt.wantErr)
			}
			deleted, vis, _ := q.state()
			if tt.wantDeleted && !slices.Equal(deleted, []string{id}) {
				t.Errorf("deleted = %v, want [%s]", deleted, id)
			}
			if !tt.wantDeleted && !slices.Equal(vis, []string{id + "=0"}) {
				t.Errorf("visibility changes = %v, want [%s=0]", vis, id)
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("logs lack %q:\n%s", tt.wantLog, logs.String())
			}
			if took > 2*time.Second {
				t.Errorf("Run returned %s after the stop, past the 2s stop timeout", took)
			}
		})
	}
}
