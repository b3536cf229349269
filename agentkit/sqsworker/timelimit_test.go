package sqsworker_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/sqsworker"
	"github.com/agentcdk/agentcdk/internal/emfcheck"
)

// limitSeen is what a handler saw of its context's end.
type limitSeen struct {
	cause            error
	deadline, cutAt  time.Time
	started          time.Time
	deadlineReported bool
}

// honoursLimit returns a handler that, on a message's first delivery, waits
// for its context to end, reports what it saw, and returns; later
// deliveries succeed at once.
func honoursLimit(seen chan<- limitSeen) sqsworker.Handler {
	return func(ctx context.Context, m sqsworker.Message) error {
		if m.ReceiveCount > 1 {
			return nil
		}
		s := limitSeen{started: time.Now()}
		s.deadline, s.deadlineReported = ctx.Deadline()
		<-ctx.Done()
		s.cutAt, s.cause = time.Now(), context.Cause(ctx)
		seen <- s
		return nil // dropped: the job ran out of time whatever it returns
	}
}

func TestAJobPastItsTimeLimitIsCancelledAndRetried(t *testing.T) {
	t.Parallel()
	// GIVEN a 1s job time limit, a 1s retry backoff, and a job that runs
	// until its context ends the first time it is delivered
	q := &fakeQueue{}
	id := q.send("job")
	seen := make(chan limitSeen, 1)
	var logs, metrics logBuffer
	stop := start(t, &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second,
		JobTimeout: time.Second, RetryBackoff: time.Second, Logger: quietLogger(&logs), Handler: honoursLimit(seen),
		Metrics: &agentkit.Metrics{Service: "agents/worker", Output: &metrics, Interval: 50 * time.Millisecond}})

	// WHEN it runs
	var s limitSeen
	select {
	case s = <-seen:
	case <-time.After(10 * time.Second):
		t.Fatalf("the job's context was not cancelled 10s into its 1s time limit; logs:\n%s", logs.String())
	}

	// THEN its context carries the limit as its deadline and ends there,
	// with ErrJobTimeout as the cause
	if !errors.Is(s.cause, sqsworker.ErrJobTimeout) {
		t.Errorf("cause = %v, want ErrJobTimeout", s.cause)
	}
	if limit := s.deadline.Sub(s.started); !s.deadlineReported || limit > time.Second || limit < 900*time.Millisecond {
		t.Errorf("ctx.Deadline() = %v, %t: %s after the start, want the 1s limit", s.deadline, s.deadlineReported, limit)
	}
	if took := s.cutAt.Sub(s.started); took < 900*time.Millisecond {
		t.Errorf("cancelled %s into the job, before its 1s limit", took)
	}

	// AND the job counts as failed although its handler returned nil: its
	// message comes back after the retry backoff, and the next delivery runs
	done := eventually(10*time.Second, func() bool { d, _, _ := q.state(); return len(d) == 1 })
	if err := stop(); err != nil || !done {
		t.Fatalf("Run() = %v; the retry was deleted: %t; logs:\n%s", err, done, logs.String())
	}
	if _, vis, _ := q.state(); !slices.Equal(vis, []string{id + "=1"}) {
		t.Errorf("visibility changes = %v, want the 1s retry delay [%s=1]", vis, id)
	}
	if !strings.Contains(logs.String(), `"msg":"sqsworker: job ran past its time limit; it will be retried","message_id":"`+id+`","receive_count":1,"time_limit":"1s","retry_in":"1s"`) {
		t.Errorf("the time limit was not logged:\n%s", logs.String())
	}
	// AND the metrics count it failed, and its retry completed
	sums := map[string]float64{}
	for line := range strings.Lines(metrics.String()) {
		doc, err := emfcheck.Check([]byte(line))
		if err != nil {
			t.Fatalf("%v\n%s", err, line)
		}
		for _, name := range []string{agentkit.MetricJobsFailed, agentkit.MetricJobsCompleted} {
			if f, ok := doc.Members[name].(float64); ok {
				sums[name] += f
			}
		}
	}
	if sums[agentkit.MetricJobsFailed] != 1 || sums[agentkit.MetricJobsCompleted] != 1 {
		t.Errorf("jobs failed %v, completed %v; want 1 and 1", sums[agentkit.MetricJobsFailed], sums[agentkit.MetricJobsCompleted])
	}
}

func TestAHandlerThatIgnoresItsTimeLimitIsAbandoned(t *testing.T) {
	t.Parallel()
	// GIVEN a worker in an ECS task running one job at a time, with a 1s
	// job time limit and heartbeats every 2s (so a 2s grace), a handler
	// that ignores its context on the first job, and a second job queued
	agent := newFakeAgent(t)
	q := &fakeQueue{}
	hung := q.send("hang")
	quick := q.send("quick")
	cancelled, unblock := make(chan error, 1), make(chan struct{})
	var ranQuick atomic.Bool
	var logs logBuffer
	c := &sqsworker.Consumer{Client: q, QueueURL: "q", Concurrency: 1, WaitTime: time.Second,
		VisibilityTimeout: 6 * time.Second, HeartbeatInterval: 2 * time.Second, JobTimeout: time.Second,
		Protection: sqsworker.TaskProtection{AgentURI: agent.uri()}, Logger: quietLogger(&logs),
		Handler: func(ctx context.Context, m sqsworker.Message) error {
			if m.Body == "quick" {
				ranQuick.Store(true)
				return nil
			}
			<-ctx.Done()
			cancelled <- context.Cause(ctx)
			<-unblock // a call that takes no context
			return nil
		}}
	stop := start(t, c)
	defer func() {
		select {
		case <-unblock:
		default:
			close(unblock)
		}
	}()

	// WHEN the first job runs past its limit and goes on ignoring it
	select {
	case cause := <-cancelled:
		if !errors.Is(cause, sqsworker.ErrJobTimeout) {
			t.Errorf("cause = %v, want ErrJobTimeout", cause)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the job's context was not cancelled 10s into its 1s time limit; logs:\n%s", logs.String())
	}

	// THEN one heartbeat interval later its message comes back after the
	// default 10s retry backoff, and the task's protection is dropped,
	// while the handler still runs
	released := eventually(10*time.Second, func() bool {
		_, vis, _ := q.state()
		return slices.Contains(vis, hung+"=10")
	})
	unprotected := eventually(10*time.Second, func() bool { return agent.last() == "off" })
	if !released || !unprotected {
		_, vis, _ := q.state()
		t.Fatalf("visibility changes %v, protection calls %v, want %s=10 and off; logs:\n%s", vis, agent.log(), hung, logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"sqsworker: the handler ignored its time limit; its message comes back for a retry, and its goroutine keeps a job slot until it returns","message_id":"`+hung+`"`) {
		t.Errorf("the abandonment was not logged:\n%s", logs.String())
	}
	// AND no heartbeat hid the message past the time limit plus the
	// visibility timeout (7s into the job): the first comes 2s in, and
	// asks for 5s at most, not the full 6s
	_, vis, _ := q.state()
	for _, v := range vis[:len(vis)-1] {
		if n, _ := strconv.Atoi(strings.TrimPrefix(v, hung+"=")); n > 5 {
			t.Errorf("a heartbeat asked for %s, past the time limit plus the visibility timeout", v)
		}
	}
	// AND the hung handler keeps its job slot: the second job waits
	if n := c.InFlight(); n != 1 || ranQuick.Load() {
		t.Errorf("InFlight() = %d, second job ran: %t; want the hung handler to hold the only slot", n, ranQuick.Load())
	}

	// WHEN the handler returns at last
	close(unblock)

	// THEN its slot frees, the second job runs, and the worker stops cleanly
	done := eventually(10*time.Second, func() bool { d, _, _ := q.state(); return slices.Equal(d, []string{quick}) })
	if err := stop(); err != nil || !done {
		d, _, _ := q.state()
		t.Fatalf("Run() = %v; deleted %v, want [%s]; logs:\n%s", err, d, quick, logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"sqsworker: an abandoned job's handler returned at last","message_id":"`+hung+`"`) {
		t.Errorf("the late return was not logged:\n%s", logs.String())
	}
}

func TestRunReportsAnAbandonedHandlerStillRunningAtTheStop(t *testing.T) {
	t.Parallel()
	// GIVEN a job abandoned at its 1s time limit (grace 1s), whose handler
	// never returns, and a 2s stop timeout
	q := &fakeQueue{}
	q.send("hang")
	unblock := make(chan struct{})
	defer close(unblock)
	var logs logBuffer
	stop := start(t, &sqsworker.Consumer{Client: q, QueueURL: "q", Concurrency: 1, WaitTime: time.Second, StopTimeout: 2 * time.Second,
		VisibilityTimeout: 3 * time.Second, HeartbeatInterval: time.Second, JobTimeout: time.Second, Logger: quietLogger(&logs),
		Handler: func(context.Context, sqsworker.Message) error { <-unblock; return nil }})
	if !eventually(10*time.Second, func() bool { return logs.count("sqsworker: the handler ignored its time limit") == 1 }) {
		t.Fatalf("the handler was not abandoned; logs:\n%s", logs.String())
	}

	// WHEN the worker stops
	err := stop()

	// THEN Run says a handler ignored its cancellation
	if want := "sqsworker: 1 job(s) ignored the cancellation of their context at the cancel point; their messages were released"; err == nil || err.Error() != want {
		t.Errorf("Run() = %v, want %q", err, want)
	}
}

func TestJobTimeoutReadsTheContractTheConstructSets(t *testing.T) {
	// GIVEN AGENTKIT_JOB_TIMEOUT set to 1s, as the worker construct sets it
	// from its JobTimeout prop, and a consumer that leaves JobTimeout zero
	t.Setenv("AGENTKIT_JOB_TIMEOUT", "1s")
	q := &fakeQueue{}
	q.send("job")
	seen := make(chan limitSeen, 1)
	start(t, &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second, Logger: quietLogger(&logBuffer{}),
		Handler: honoursLimit(seen)})

	// WHEN a job runs
	// THEN its time limit is that one
	select {
	case s := <-seen:
		if limit := s.deadline.Sub(s.started); !errors.Is(s.cause, sqsworker.ErrJobTimeout) || limit > time.Second || limit < 900*time.Millisecond {
			t.Errorf("cause %v, deadline %s after the start; want ErrJobTimeout at 1s", s.cause, limit)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the job's context was not cancelled 10s into its 1s time limit")
	}
}
