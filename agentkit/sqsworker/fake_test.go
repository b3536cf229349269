package sqsworker_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/agentcdk/agentcdk/internal/syncbuf"
)

// fakeQueue is an in-memory SQS queue for the tests that need no emulator:
// visibility timeouts, receive counts, receipt handles and long polls, plus
// injected receive errors.
type fakeQueue struct {
	mu          sync.Mutex
	msgs        []*fakeMsg
	seq         int
	receiveErrs int      // fail this many receives first
	deleted     []string // message IDs
	visibility  []string // "ID=seconds" per visibility change
	calls       map[string]int
	batches     map[string][]int // entries per batch call
}

type fakeMsg struct {
	id, body, receipt string
	visibleAt         time.Time
	receives          int
}

func (q *fakeQueue) send(body string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seq++
	id := fmt.Sprintf("m%d", q.seq)
	q.msgs = append(q.msgs, &fakeMsg{id: id, body: body})
	return id
}

func (q *fakeQueue) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	q.mu.Lock()
	q.count("ReceiveMessage")
	q.mu.Unlock()
	until := time.Now().Add(time.Duration(in.WaitTimeSeconds) * time.Second)
	for {
		out, err := q.receiveNow(in)
		if err != nil || len(out.Messages) > 0 || !time.Now().Before(until) {
			return out, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (q *fakeQueue) receiveNow(in *sqs.ReceiveMessageInput) (*sqs.ReceiveMessageOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.receiveErrs > 0 {
		q.receiveErrs--
		return nil, errors.New("connection reset by peer")
	}
	out := &sqs.ReceiveMessageOutput{}
	now := time.Now()
	for _, m := range q.msgs {
		if len(out.Messages) == int(in.MaxNumberOfMessages) {
			break
		}
		if now.Before(m.visibleAt) {
			continue
		}
		m.receives++
		m.receipt = fmt.Sprintf("%s-r%d", m.id, m.receives)
		m.visibleAt = now.Add(time.Duration(in.VisibilityTimeout) * time.Second)
		out.Messages = append(out.Messages, types.Message{
			MessageId:     aws.String(m.id),
			Body:          aws.String(m.body),
			ReceiptHandle: aws.String(m.receipt),
			Attributes:    map[string]string{"ApproximateReceiveCount": fmt.Sprint(m.receives)},
			MessageAttributes: map[string]types.MessageAttributeValue{
				"kind": {DataType: aws.String("String"), StringValue: aws.String("test")},
			},
		})
	}
	return out, nil
}

// redeliver hands a message to another worker, as SQS does once its
// visibility timeout has run out: the receipt handle the first worker holds
// becomes stale.
func (q *fakeQueue) redeliver(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range q.msgs {
		if m.id == id {
			m.receives++
			m.receipt = fmt.Sprintf("%s-r%d", m.id, m.receives)
		}
	}
}

func (q *fakeQueue) find(receipt string) (int, error) {
	for i, m := range q.msgs {
		if m.receipt == receipt {
			return i, nil
		}
	}
	return 0, &types.ReceiptHandleIsInvalid{Message: aws.String("stale receipt handle " + receipt)}
}

func (q *fakeQueue) DeleteMessageBatch(_ context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.count("DeleteMessageBatch")
	q.batch("DeleteMessageBatch", len(in.Entries))
	out := &sqs.DeleteMessageBatchOutput{}
	for _, e := range in.Entries {
		i, err := q.find(aws.ToString(e.ReceiptHandle))
		if err != nil {
			out.Failed = append(out.Failed, invalidEntry(e.Id, err))
			continue
		}
		q.deleted = append(q.deleted, q.msgs[i].id)
		q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
		out.Successful = append(out.Successful, types.DeleteMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

func (q *fakeQueue) ChangeMessageVisibilityBatch(_ context.Context, in *sqs.ChangeMessageVisibilityBatchInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.count("ChangeMessageVisibilityBatch")
	q.batch("ChangeMessageVisibilityBatch", len(in.Entries))
	out := &sqs.ChangeMessageVisibilityBatchOutput{}
	for _, e := range in.Entries {
		i, err := q.find(aws.ToString(e.ReceiptHandle))
		if err != nil {
			out.Failed = append(out.Failed, invalidEntry(e.Id, err))
			continue
		}
		m := q.msgs[i]
		m.visibleAt = time.Now().Add(time.Duration(e.VisibilityTimeout) * time.Second)
		q.visibility = append(q.visibility, fmt.Sprintf("%s=%d", m.id, e.VisibilityTimeout))
		out.Successful = append(out.Successful, types.ChangeMessageVisibilityBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

// invalidEntry is SQS's answer for a stale receipt handle in a batch.
func invalidEntry(id *string, err error) types.BatchResultErrorEntry {
	return types.BatchResultErrorEntry{Id: id, Code: aws.String("ReceiptHandleIsInvalid"), Message: aws.String(err.Error()), SenderFault: true}
}

func (q *fakeQueue) count(call string) {
	if q.calls == nil {
		q.calls = map[string]int{}
	}
	q.calls[call]++
}

func (q *fakeQueue) batch(call string, entries int) {
	if q.batches == nil {
		q.batches = map[string][]int{}
	}
	q.batches[call] = append(q.batches[call], entries)
}

// batchSizes returns the entries of each batch call of an API, in order.
func (q *fakeQueue) batchSizes(call string) []int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.batches[call])
}

// callCount returns how many calls of each API the queue answered.
func (q *fakeQueue) callCount() map[string]int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return maps.Clone(q.calls)
}

// state returns copies of what the queue recorded.
func (q *fakeQueue) state() (deleted, visibility []string, left int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.deleted...), append([]string(nil), q.visibility...), len(q.msgs)
}

// logBuffer collects log output from several goroutines.
type logBuffer struct{ syncbuf.Buffer }

func (b *logBuffer) count(substr string) int {
	return strings.Count(b.String(), substr)
}

// eventually polls cond every 10ms for up to d and reports whether it held.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}
