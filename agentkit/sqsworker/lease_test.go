package sqsworker_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/agentcdk/agentcdk/agentkit/sqsworker"
)

// failingEntries is a queue whose batch calls succeed while SQS fails
// every entry on its side, as it may: the call answers 200, and each entry
// comes back in Failed with InternalError and SenderFault false
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_BatchResultErrorEntry.html).
// visibility and deletes are how many calls of each kind fail so (-1: all
// of them); ok counts the visibility calls that went through.
type failingEntries struct {
	*fakeQueue
	visibility, deletes atomic.Int32
	ok                  atomic.Int32
}

func (f *failingEntries) ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	if failNext(&f.visibility) {
		out := &sqs.ChangeMessageVisibilityBatchOutput{}
		for _, e := range in.Entries {
			out.Failed = append(out.Failed, internalError(e.Id))
		}
		return out, nil
	}
	f.ok.Add(1)
	return f.fakeQueue.ChangeMessageVisibilityBatch(ctx, in, opts...)
}

func (f *failingEntries) DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	if failNext(&f.deletes) {
		out := &sqs.DeleteMessageBatchOutput{}
		for _, e := range in.Entries {
			out.Failed = append(out.Failed, internalError(e.Id))
		}
		return out, nil
	}
	return f.fakeQueue.DeleteMessageBatch(ctx, in, opts...)
}

// failNext reports whether the next call fails, and counts it.
func failNext(left *atomic.Int32) bool {
	for {
		n := left.Load()
		switch {
		case n < 0:
			return true
		case n == 0:
			return false
		case left.CompareAndSwap(n, n-1):
			return true
		}
	}
}

func internalError(id *string) types.BatchResultErrorEntry {
	return types.BatchResultErrorEntry{Id: id, Code: aws.String("InternalError"),
		Message: aws.String("We encountered an internal error. Please try again."), SenderFault: false}
}

func TestHeartbeatEntriesSQSFailsAreRetriedBeforeTheMessageShows(t *testing.T) {
	t.Parallel()
	// GIVEN worker A running a long job with a 6s visibility timeout
	// renewed every 2s, worker B polling the same queue, and an SQS that
	// fails each entry of A's first two heartbeat calls, the calls
	// themselves succeeding (where A, ignoring them, would let the message
	// show at 6s)
	q := &failingEntries{fakeQueue: &fakeQueue{}}
	q.visibility.Store(2)
	id := q.send("long")
	var runs deliveries
	var logs logBuffer
	running, release := make(chan struct{}, 1), make(chan struct{})
	stopA := start(t, &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second,
		VisibilityTimeout: 6 * time.Second, HeartbeatInterval: 2 * time.Second, Logger: quietLogger(&logs),
		Handler: func(_ context.Context, m sqsworker.Message) error {
			runs.add("A", m)
			running <- struct{}{}
			<-release
			return nil
		}})
	<-running
	stopB := start(t, &sqsworker.Consumer{Client: q.fakeQueue, QueueURL: "q", WaitTime: time.Second, Logger: quietLogger(&logs),
		Handler: func(_ context.Context, m sqsworker.Message) error { runs.add("B", m); return nil }})

	// WHEN the job runs until three heartbeats have gone through after the
	// failures (the last past 6s): past the moment its message would have
	// shown had the failed entries not been retried
	extended := eventually(30*time.Second, func() bool { return q.ok.Load() >= 3 })
	close(release)
	done := eventually(10*time.Second, func() bool { d, _, _ := q.state(); return len(d) == 1 })
	errA, errB := stopA(), stopB()

	// THEN A retried each failed heartbeat and said so, the message never
	// showed, and only A ran the job
	if !extended || !done || errA != nil || errB != nil {
		t.Fatalf("heartbeats through: %d, deleted: %t, Run() = %v, %v; logs:\n%s", q.ok.Load(), done, errA, errB, logs.String())
	}
	if got := runs.of(id); !slices.Equal(got, []string{"A#1"}) {
		t.Errorf("deliveries = %v, want [A#1]; logs:\n%s", got, logs.String())
	}
	if n := logs.count(`"msg":"sqsworker: heartbeat failed; retrying","messages":1,"error":"InternalError: We encountered an internal error. Please try again."`); n != 2 {
		t.Errorf("logged %d failed heartbeats, want 2:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s", logs.String())
	}
}

// leaseJob returns a handler that, on a message's first delivery, waits
// for its context to end and reports when and why on lost; later
// deliveries succeed at once.
func leaseJob(started chan<- time.Time, lost chan<- error) sqsworker.Handler {
	return func(ctx context.Context, m sqsworker.Message) error {
		if m.ReceiveCount > 1 {
			return nil
		}
		started <- time.Now()
		<-ctx.Done()
		lost <- context.Cause(ctx)
		return ctx.Err()
	}
}

func TestAJobWhoseMessageShowsAgainIsCancelled(t *testing.T) {
	t.Parallel()
	// GIVEN a job running with a 2s visibility timeout renewed every
	// 500ms, and an SQS that fails every entry of every heartbeat call
	q := &failingEntries{fakeQueue: &fakeQueue{}}
	q.visibility.Store(-1)
	id := q.send("job")
	started, lost := make(chan time.Time, 1), make(chan error, 1)
	var logs logBuffer
	stop := start(t, &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second,
		VisibilityTimeout: 2 * time.Second, HeartbeatInterval: 500 * time.Millisecond, Logger: quietLogger(&logs),
		Handler: leaseJob(started, lost)})
	began := <-started

	// WHEN the heartbeats keep failing until the message's visibility
	// timeout has run out
	var cause error
	select {
	case cause = <-lost:
	case <-time.After(15 * time.Second):
		t.Fatalf("the job's context was not cancelled 15s into a 2s visibility timeout that no heartbeat extended; logs:\n%s", logs.String())
	}
	took := time.Since(began)

	// THEN the job's context is cancelled with ErrLeaseLost once the
	// timeout has run out, not before, after heartbeat retries that were
	// each logged, and the loss is logged as an error
	if !errors.Is(cause, sqsworker.ErrLeaseLost) {
		t.Errorf("cause = %v, want ErrLeaseLost", cause)
	}
	if took < 1900*time.Millisecond || took > 3500*time.Millisecond {
		t.Errorf("cancelled %s into the job, want when its 2s visibility timeout ran out", took)
	}
	if n := logs.count(`"msg":"sqsworker: heartbeat failed; retrying"`); n < 2 {
		t.Errorf("logged %d failed heartbeats in 2s, want a retry within each 500ms interval:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"sqsworker: a running job lost its message; another worker may run this job too, so its context is cancelled","message_id":"`+id) {
		t.Errorf("the loss was not logged:\n%s", logs.String())
	}

	// AND the worker leaves the message to its next delivery: no release
	// and no delete with the stale receipt, and the next delivery runs
	done := eventually(10*time.Second, func() bool { d, _, _ := q.state(); return len(d) == 1 })
	if err := stop(); err != nil || !done {
		t.Fatalf("Run() = %v; the next delivery was deleted: %t; logs:\n%s", err, done, logs.String())
	}
	if _, vis, _ := q.state(); len(vis) != 0 {
		t.Errorf("visibility changes = %v, want none (every heartbeat failed, and nothing was released)", vis)
	}
}

func TestAJobWhoseHeartbeatSQSRefusesIsCancelled(t *testing.T) {
	t.Parallel()
	// GIVEN a job running with a 3s visibility timeout renewed every 500ms
	q := &fakeQueue{}
	id := q.send("job")
	started, lost := make(chan time.Time, 1), make(chan error, 1)
	var logs logBuffer
	start(t, &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second,
		VisibilityTimeout: 3 * time.Second, HeartbeatInterval: 500 * time.Millisecond, Logger: quietLogger(&logs),
		Handler: leaseJob(started, lost)})
	<-started

	// WHEN another worker receives its message, so that SQS refuses the
	// next heartbeat's receipt handle as stale
	q.redeliver(id)

	// THEN the job's context is cancelled with ErrLeaseLost at that
	// heartbeat, without waiting for the visibility timeout
	select {
	case cause := <-lost:
		if !errors.Is(cause, sqsworker.ErrLeaseLost) {
			t.Errorf("cause = %v, want ErrLeaseLost", cause)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the job's context was not cancelled after SQS refused its heartbeat; logs:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"reason":"SQS refused its heartbeat","error":"ReceiptHandleIsInvalid: `) {
		t.Errorf("the refusal was not logged:\n%s", logs.String())
	}
}

func TestBatchEntriesSQSFailsAreRetriedAndLogged(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fail    func(q *failingEntries)
		job     func(m sqsworker.Message) error
		op      string
		settled func(deleted, vis []string, id string) bool
	}{
		{"a done job's delete", func(q *failingEntries) { q.deletes.Store(2) },
			func(sqsworker.Message) error { return nil }, "delete",
			func(deleted, _ []string, id string) bool { return slices.Equal(deleted, []string{id}) }},
		{"a failed job's retry delay", func(q *failingEntries) { q.visibility.Store(2) },
			func(m sqsworker.Message) error {
				if m.ReceiveCount == 1 {
					return errors.New("the model refused")
				}
				return nil
			}, "change visibility",
			func(deleted, vis []string, id string) bool {
				return len(vis) > 0 && vis[0] == id+"=1" && slices.Equal(deleted, []string{id})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// GIVEN an SQS that fails each entry of the first two calls
			// that settle a job
			q := &failingEntries{fakeQueue: &fakeQueue{}}
			tt.fail(q)
			id := q.send("job")
			var logs logBuffer
			stop := start(t, &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second, RetryBackoff: time.Second,
				Logger: quietLogger(&logs), Handler: func(_ context.Context, m sqsworker.Message) error { return tt.job(m) }})

			// WHEN the job runs
			settled := eventually(20*time.Second, func() bool { d, v, _ := q.state(); return tt.settled(d, v, id) })
			err := stop()

			// THEN the call is retried with its failed entry until SQS takes
			// it, each failure logged, and nothing is logged as lost
			if !settled || err != nil {
				d, v, _ := q.state()
				t.Fatalf("Run() = %v; deleted %v, visibility changes %v; logs:\n%s", err, d, v, logs.String())
			}
			if n := logs.count(`"msg":"sqsworker: SQS failed some entries of a batch call; retrying them","op":"` + tt.op + `","messages":1,"error":"InternalError: `); n != 2 {
				t.Errorf("logged %d failed %s entries, want 2:\n%s", n, tt.op, logs.String())
			}
			if strings.Contains(logs.String(), `"level":"ERROR"`) {
				t.Errorf("errors logged:\n%s", logs.String())
			}
		})
	}
}
