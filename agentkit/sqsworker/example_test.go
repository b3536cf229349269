package sqsworker_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/agentcdk/agentcdk/agentkit/sqsworker"
)

// A worker's main: the queue URL, the concurrency and the stop timeout come
// from the environment the worker construct sets; Run drains on SIGTERM.
func ExampleConsumer() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	c := &sqsworker.Consumer{
		Client: sqs.NewFromConfig(cfg),
		Handler: func(ctx context.Context, m sqsworker.Message) error {
			// Run the agent on m.Body; return an error to retry later.
			return nil
		},
	}
	if err := c.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

// Run settles every message: done jobs are deleted, failed ones come back
// after a backoff. Here an in-memory queue stands in for SQS.
func ExampleConsumer_Run() {
	q := &memQueue{bodies: []string{"summarise report.pdf", "translate notes.txt"}}
	ctx, cancel := context.WithCancel(context.Background())
	c := &sqsworker.Consumer{
		Client:      q,
		QueueURL:    "https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
		Concurrency: 1,
		StopTimeout: 2 * time.Second,
		Logger:      slog.New(slog.DiscardHandler),
		Handler: func(_ context.Context, m sqsworker.Message) error {
			fmt.Printf("job %s (delivery %d): %s\n", m.ID, m.ReceiveCount, m.Body)
			if m.ID == "m2" {
				cancel() // the last job: stop as SIGTERM would; Run still deletes it
			}
			return nil
		},
	}
	if err := c.Run(ctx); err != nil {
		fmt.Println(err)
	}
	fmt.Println("deleted:", q.deletedCount())
	// Output:
	// job m1 (delivery 1): summarise report.pdf
	// job m2 (delivery 1): translate notes.txt
	// deleted: 2
}

// memQueue hands out its bodies once each, then long-polls until cancelled.
type memQueue struct {
	mu      sync.Mutex
	bodies  []string
	next    int
	deleted int
}

func (q *memQueue) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	q.mu.Lock()
	if q.next < len(q.bodies) {
		defer q.mu.Unlock()
		q.next++
		id := fmt.Sprintf("m%d", q.next)
		return &sqs.ReceiveMessageOutput{Messages: []types.Message{{
			MessageId: aws.String(id), ReceiptHandle: aws.String(id), Body: aws.String(q.bodies[q.next-1]),
			Attributes: map[string]string{"ApproximateReceiveCount": "1"},
		}}}, nil
	}
	q.mu.Unlock()
	<-ctx.Done()
	return nil, ctx.Err()
}

func (q *memQueue) DeleteMessageBatch(_ context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := &sqs.DeleteMessageBatchOutput{}
	for _, e := range in.Entries {
		q.deleted++
		out.Successful = append(out.Successful, types.DeleteMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

func (q *memQueue) ChangeMessageVisibilityBatch(_ context.Context, in *sqs.ChangeMessageVisibilityBatchInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	out := &sqs.ChangeMessageVisibilityBatchOutput{}
	for _, e := range in.Entries {
		out.Successful = append(out.Successful, types.ChangeMessageVisibilityBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

func (q *memQueue) deletedCount() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.deleted
}
