package sqsworker_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/agentcdk/agentcdk/agentkit/sqsworker"
)

// lateAnswers is a queue whose answers to ReceiveMessage take delay to come
// back, like a response still on the network: the queue has already handed
// the messages out when the call can still be cancelled and the answer lost.
type lateAnswers struct {
	*fakeQueue
	delay    time.Duration
	answered chan struct{} // closed once the queue handed out a message
	once     sync.Once
}

func (l *lateAnswers) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	out, err := l.fakeQueue.ReceiveMessage(ctx, in, opts...)
	if err == nil && len(out.Messages) > 0 {
		l.once.Do(func() { close(l.answered) })
	}
	select {
	case <-time.After(l.delay):
		return out, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestStopReleasesWhatAReceiveUnderWayBrings(t *testing.T) {
	t.Parallel()
	// GIVEN a queue whose answer is on its way when the consumer stops
	q := &lateAnswers{fakeQueue: &fakeQueue{}, delay: 200 * time.Millisecond, answered: make(chan struct{})}
	id := q.send("job")
	var logs logBuffer
	ran := make(chan struct{}, 1)
	c := &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second, StopTimeout: 4 * time.Second,
		Logger: quietLogger(&logs),
		Handler: func(context.Context, sqsworker.Message) error {
			ran <- struct{}{}
			return nil
		}}
	stop := start(t, c)
	<-q.answered

	// WHEN the consumer stops before the answer arrives
	if err := stop(); err != nil {
		t.Fatalf("Run() = %v", err)
	}

	// THEN the message it brings is released at once for another worker,
	// not left hidden for the visibility timeout, and no job starts
	_, vis, _ := q.state()
	if !slices.Equal(vis, []string{id + "=0"}) {
		t.Errorf("visibility changes = %v, want [%s=0]\nlogs:\n%s", vis, id, logs.String())
	}
	select {
	case <-ran:
		t.Error("a job started after the stop")
	default:
	}
}
