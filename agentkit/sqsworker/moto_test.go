package sqsworker_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/agentcdk/agentcdk/agentkit/sqsworker"
	"github.com/agentcdk/agentcdk/internal/mototest"
)

// queuePair is a queue with a redrive policy to its own dead-letter queue,
// made on the emulator.
type queuePair struct {
	client   *sqs.Client
	url, dlq string
}

func newQueuePair(t testing.TB, client *sqs.Client, name string, maxReceiveCount int) queuePair {
	t.Helper()
	url, dlq, err := mototest.CreateQueues(context.Background(), client, name, maxReceiveCount, 0)
	if err != nil {
		t.Fatal(err)
	}
	return queuePair{client: client, url: url, dlq: dlq}
}

// send enqueues bodies in batches of ten and returns their message IDs.
func (p queuePair) send(t testing.TB, bodies ...string) []string {
	t.Helper()
	var ids []string
	for start := 0; start < len(bodies); start += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for i, b := range bodies[start:min(start+10, len(bodies))] {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)})
		}
		out, err := p.client.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(p.url), Entries: entries})
		if err != nil || len(out.Failed) > 0 {
			t.Fatalf("send batch: %v %v", err, out)
		}
		for _, s := range out.Successful {
			ids = append(ids, aws.ToString(s.MessageId))
		}
	}
	return ids
}

// count returns the messages a queue holds, visible or not.
func (p queuePair) count(t testing.TB, url string) int {
	t.Helper()
	out, err := p.client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		t.Fatalf("queue attributes: %v", err)
	}
	n := 0
	for _, v := range out.Attributes {
		i, _ := strconv.Atoi(v)
		n += i
	}
	return n
}

// deliveries records which consumer ran which message, and with which
// receive count.
type deliveries struct {
	mu  sync.Mutex
	log map[string][]string // message ID -> "consumer#receiveCount"
}

func (d *deliveries) add(consumer string, m sqsworker.Message) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.log == nil {
		d.log = map[string][]string{}
	}
	d.log[m.ID] = append(d.log[m.ID], fmt.Sprintf("%s#%d", consumer, m.ReceiveCount))
}

func (d *deliveries) of(id string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.log[id]...)
}

func (d *deliveries) distinct() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.log)
}

// serialMoto works around two races in moto 5.2.1's SQS, whose queue state
// has no lock: it lets one ReceiveMessage at a time, and one
// DeleteMessageBatch at a time, reach moto across the consumers of one test.
//   - Its receive checks that a message is visible and then marks it
//     received, so two receives at the same instant can both take it: with
//     20 raw SDK receivers and a 60s visibility timeout, 2 of 1,200 messages
//     were delivered twice, each the second time with receive count 2 while
//     the first delivery was still running.
//   - Its delete rebuilds the queue's message list from a snapshot, so
//     concurrent deletes undo each other: 30 goroutines deleting 300
//     messages left 5 or 6 in the queue, with no error.
//
// Real SQS has neither race (a standard queue may still deliver twice, which
// is why Handler must be idempotent). The two kinds of call are serialised
// apart, so that a delete never waits behind a long poll, and heartbeats and
// releases not at all, so a test's timing stays its own. (A receive that
// moves a message to the dead-letter queue also rebuilds the list; the test
// that does that has no deletes.)
type serialMoto struct {
	*sqs.Client
	receive, delete chan struct{} // one token each: the right to call
}

func newSerialMoto(c *sqs.Client) serialMoto {
	return serialMoto{Client: c, receive: make(chan struct{}, 1), delete: make(chan struct{}, 1)}
}

func take(ctx context.Context, turn chan struct{}) error {
	select {
	case turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s serialMoto) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	if err := take(ctx, s.receive); err != nil {
		return nil, err
	}
	defer func() { <-s.receive }()
	return s.Client.ReceiveMessage(ctx, in, opts...)
}

func (s serialMoto) DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	if err := take(ctx, s.delete); err != nil {
		return nil, err
	}
	defer func() { <-s.delete }()
	return s.Client.DeleteMessageBatch(ctx, in, opts...)
}

// TestMoto runs the consumer against a real SQS-protocol server. The
// subtests share one moto_server, each with its own queues, and run in
// parallel to keep the wall time down.
func TestMoto(t *testing.T) {
	t.Parallel()
	client := sqs.NewFromConfig(mototest.Config(mototest.Start(t)))

	t.Run("120 jobs through 4 consumers all finish once and none reaches the DLQ", func(t *testing.T) {
		t.Parallel()
		// GIVEN 120 jobs on a queue with a dead-letter queue
		q := newQueuePair(t, client, "jobs-120", 3)
		bodies := make([]string, 120)
		for i := range bodies {
			bodies[i] = fmt.Sprintf(`{"job":%d}`, i)
		}
		ids := q.send(t, bodies...)
		var runs deliveries
		var logs logBuffer
		shared := newSerialMoto(client)

		// WHEN four consumers of five jobs each run them
		var stops []func() error
		for i := range 4 {
			name := fmt.Sprintf("c%d", i)
			stops = append(stops, start(t, &sqsworker.Consumer{
				Client: shared, QueueURL: q.url, Concurrency: 5, WaitTime: time.Second,
				Logger: quietLogger(&logs),
				Handler: func(_ context.Context, m sqsworker.Message) error {
					runs.add(name, m)
					time.Sleep(time.Duration(len(m.Body)%7) * time.Millisecond)
					return nil
				},
			}))
		}
		finished := eventually(60*time.Second, func() bool { return runs.distinct() == 120 && q.count(t, q.url) == 0 })
		for _, stop := range stops {
			if err := stop(); err != nil {
				t.Errorf("Run() = %v", err)
			}
		}

		// THEN every job ran exactly once, more than one consumer worked,
		// and both queues are empty
		if !finished {
			t.Fatalf("%d of 120 jobs ran, %d messages left; logs:\n%s", runs.distinct(), q.count(t, q.url), logs.String())
		}
		workers := map[string]int{}
		for _, id := range ids {
			got := runs.of(id)
			if len(got) != 1 {
				t.Errorf("message %s ran %d times: %v", id, len(got), got)
				continue
			}
			workers[got[0][:2]]++
		}
		if len(workers) < 2 {
			t.Errorf("jobs per consumer = %v, want the work spread over several", workers)
		}
		if n := q.count(t, q.dlq); n != 0 {
			t.Errorf("dead-letter queue holds %d messages, want 0", n)
		}
		if l := logs.String(); strings.Contains(l, `"level":"WARN"`) || strings.Contains(l, `"level":"ERROR"`) {
			t.Errorf("the consumers logged warnings or errors:\n%s", l)
		}
	})

	t.Run("moto hides a received message for the visibility timeout, then delivers it again", func(t *testing.T) {
		t.Parallel()
		// GIVEN a message received once with a 1s visibility timeout and
		// neither deleted nor extended
		q := newQueuePair(t, client, "control", 5)
		q.send(t, "job")
		receive := func() []types.Message {
			out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
				QueueUrl: aws.String(q.url), VisibilityTimeout: 1,
				MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
			})
			if err != nil {
				t.Fatalf("receive: %v", err)
			}
			return out.Messages
		}
		if got := receive(); len(got) != 1 {
			t.Fatalf("first receive got %d messages", len(got))
		}

		// WHEN it is received at once, and again after the timeout
		hidden := receive()
		time.Sleep(1500 * time.Millisecond)
		again := receive()

		// THEN it was hidden, then delivered a second time: what the
		// heartbeat must prevent for a long job
		if len(hidden) != 0 || len(again) != 1 || again[0].Attributes["ApproximateReceiveCount"] != "2" {
			t.Errorf("while hidden got %d messages; after the timeout got %v", len(hidden), again)
		}
	})

	t.Run("a job longer than the visibility timeout is not delivered twice", func(t *testing.T) {
		t.Parallel()
		// GIVEN a 3s visibility timeout, renewed every second (a call to
		// moto on a loaded machine can take most of a second), a 5s job,
		// and two idle consumers
		q := newQueuePair(t, client, "long-job", 5)
		id := q.send(t, "long")[0]
		var runs deliveries
		var logs logBuffer
		shared := newSerialMoto(client)
		var stops []func() error
		for _, name := range []string{"c1", "c2"} {
			stops = append(stops, start(t, &sqsworker.Consumer{
				Client: shared, QueueURL: q.url, Concurrency: 1, WaitTime: time.Second,
				VisibilityTimeout: 3 * time.Second, Logger: quietLogger(&logs),
				Handler: func(_ context.Context, m sqsworker.Message) error {
					runs.add(name, m)
					time.Sleep(5 * time.Second)
					return nil
				},
			}))
		}

		// WHEN the job runs to its end
		done := eventually(30*time.Second, func() bool { return runs.distinct() == 1 && q.count(t, q.url) == 0 })
		for _, stop := range stops {
			if err := stop(); err != nil {
				t.Errorf("Run() = %v", err)
			}
		}

		// THEN the heartbeat kept it from the other consumer: one delivery
		if got := runs.of(id); !done || len(got) != 1 || got[0][3:] != "1" {
			t.Errorf("deliveries = %v (done %t), want one, with receive count 1; logs:\n%s", got, done, logs.String())
		}
	})

	t.Run("a failing job lands in the DLQ after the receive count", func(t *testing.T) {
		t.Parallel()
		// GIVEN a job that always fails, maxReceiveCount 2, a 1s backoff
		q := newQueuePair(t, client, "failing", 2)
		id := q.send(t, "poison")[0]
		var runs deliveries
		var logs logBuffer
		stop := start(t, &sqsworker.Consumer{
			Client: client, QueueURL: q.url, WaitTime: time.Second, RetryBackoff: time.Second,
			Logger: quietLogger(&logs),
			Handler: func(_ context.Context, m sqsworker.Message) error {
				runs.add("c", m)
				return errors.New("the model refused")
			},
		})

		// WHEN the consumer keeps failing it (backoffs of 1s, then 2s)
		moved := eventually(30*time.Second, func() bool { return q.count(t, q.dlq) == 1 })
		if err := stop(); err != nil {
			t.Errorf("Run() = %v", err)
		}

		// THEN it ran twice and then moved to the dead-letter queue
		got := runs.of(id)
		if !moved || fmt.Sprint(got) != "[c#1 c#2]" {
			t.Fatalf("moved %t after deliveries %v, want [c#1 c#2]; logs:\n%s", moved, got, logs.String())
		}
		if n := q.count(t, q.url); n != 0 {
			t.Errorf("source queue holds %d messages, want 0", n)
		}
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.dlq)})
		if err != nil || len(out.Messages) != 1 || aws.ToString(out.Messages[0].MessageId) != id {
			t.Errorf("dead-letter queue receive = %v, %v; want message %s", out, err, id)
		}
	})

	t.Run("a job that always runs past its time limit lands in the DLQ after the receive count", func(t *testing.T) {
		t.Parallel()
		// GIVEN a job that runs until its context ends, a 1s time limit,
		// maxReceiveCount 1 and a 1s backoff
		q := newQueuePair(t, client, "too-long", 1)
		id := q.send(t, "endless")[0]
		var runs deliveries
		var logs logBuffer
		stop := start(t, &sqsworker.Consumer{
			Client: client, QueueURL: q.url, WaitTime: time.Second, JobTimeout: time.Second, RetryBackoff: time.Second,
			Logger: quietLogger(&logs),
			Handler: func(ctx context.Context, m sqsworker.Message) error {
				runs.add("c", m)
				<-ctx.Done()
				return ctx.Err()
			},
		})

		// WHEN the consumer runs it (a limit of 1s, then a backoff of 1s)
		moved := eventually(30*time.Second, func() bool { return q.count(t, q.dlq) == 1 })
		if err := stop(); err != nil {
			t.Errorf("Run() = %v", err)
		}

		// THEN it ran once and then moved to the dead-letter queue, as a
		// failing job does
		if got := runs.of(id); !moved || fmt.Sprint(got) != "[c#1]" {
			t.Fatalf("moved %t after deliveries %v, want [c#1]; logs:\n%s", moved, got, logs.String())
		}
		if n := logs.count(`"msg":"sqsworker: job ran past its time limit; it will be retried"`); n != 1 {
			t.Errorf("logged %d time limits, want 1:\n%s", n, logs.String())
		}
	})

	t.Run("a stop releases unfinished jobs at once for another consumer", func(t *testing.T) {
		t.Parallel()
		// GIVEN consumer A running two jobs that outlast its drain (a 2s
		// stop timeout: cancel point 500ms),
		// on a queue whose messages would otherwise hide for 60s
		q := newQueuePair(t, client, "released", 5)
		ids := q.send(t, "a", "b")
		var runs deliveries
		var logs logBuffer
		started := make(chan struct{}, 2)
		stopA := start(t, &sqsworker.Consumer{
			Client: client, QueueURL: q.url, Concurrency: 2, WaitTime: time.Second,
			StopTimeout: 2 * time.Second, Logger: quietLogger(&logs),
			Handler: func(ctx context.Context, m sqsworker.Message) error {
				started <- struct{}{}
				<-ctx.Done()
				return ctx.Err()
			},
		})
		<-started
		<-started

		// WHEN A stops, and consumer B starts
		if err := stopA(); err != nil {
			t.Fatalf("Run() = %v", err)
		}
		stopB := start(t, &sqsworker.Consumer{
			Client: client, QueueURL: q.url, WaitTime: time.Second, Logger: quietLogger(&logs),
			Handler: func(_ context.Context, m sqsworker.Message) error { runs.add("B", m); return nil },
		})
		done := eventually(20*time.Second, func() bool { return runs.distinct() == 2 && q.count(t, q.url) == 0 })
		if err := stopB(); err != nil {
			t.Errorf("Run() = %v", err)
		}

		// THEN B ran both at once, on their second delivery
		for _, id := range ids {
			if got := runs.of(id); !done || fmt.Sprint(got) != "[B#2]" {
				t.Errorf("message %s deliveries = %v, want [B#2]; logs:\n%s", id, got, logs.String())
			}
		}
	})
}
