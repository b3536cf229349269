package sqsworker_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/agentcdk/agentcdk/agentkit/sqsworker"
	"github.com/agentcdk/agentcdk/internal/mototest"
)

// BenchmarkMoto measures, against a local moto_server, the consumer's
// throughput with trivial jobs, and the SQS requests it makes per job,
// beside the same work done with raw SDK calls: a loop of ReceiveMessage
// (asking for the same attributes) and one DeleteMessage per message
// (batch=1), or one DeleteMessageBatch per receive of ten (batch=10). One op
// is one message; msgs/s is b.N over the timed part, which ends once Run has
// returned (its last deletes made). moto's receive and delete scan the whole
// queue, so compare runs with the same -benchtime=Nx, and keep N small:
//
//	go test -run '^$' -bench Moto -benchtime 200x -count 3 ./agentkit/sqsworker
//
// BenchmarkConsumerOverhead isolates the consumer's own cost.
func BenchmarkMoto(b *testing.B) {
	client := sqs.NewFromConfig(mototest.Config(mototest.Start(b)))
	var queues atomic.Int32
	newQueue := func(b *testing.B) string {
		b.Helper()
		out, err := client.CreateQueue(context.Background(), &sqs.CreateQueueInput{
			QueueName: aws.String(fmt.Sprintf("bench-%d", queues.Add(1))),
		})
		if err != nil {
			b.Fatalf("create queue: %v", err)
		}
		url := aws.ToString(out.QueueUrl)
		bodies := make([]string, b.N)
		for i := range bodies {
			bodies[i] = "{}"
		}
		queuePair{client: client, url: url}.send(b, bodies...)
		return url
	}

	for _, concurrency := range []int{1, 10} {
		b.Run(fmt.Sprintf("consumer/concurrency=%d", concurrency), func(b *testing.B) {
			url := newQueue(b)
			calls := &countingClient{Client: client}
			var handled atomic.Int64
			all := make(chan struct{})
			c := &sqsworker.Consumer{
				Client: calls, QueueURL: url, Concurrency: concurrency, WaitTime: time.Second,
				Logger: slog.New(slog.DiscardHandler),
				Handler: func(context.Context, sqsworker.Message) error {
					if handled.Add(1) == int64(b.N) {
						close(all)
					}
					return nil
				},
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			b.ReportAllocs()
			b.ResetTimer()
			go func() { done <- c.Run(ctx) }()
			<-all
			cancel() // Run flushes the last deletes before it returns
			if err := <-done; err != nil {
				b.Fatalf("Run() = %v", err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(calls.total())/float64(b.N), "sqs-calls/job")
		})
	}

	for _, batch := range []int32{1, 10} {
		b.Run(fmt.Sprintf("raw/batch=%d", batch), func(b *testing.B) {
			url := newQueue(b)
			ctx := context.Background()
			calls := 0
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; {
				out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
					QueueUrl: aws.String(url), MaxNumberOfMessages: batch, VisibilityTimeout: 60, WaitTimeSeconds: 1,
					// The same data the consumer asks for, so that only the
					// client side differs.
					MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
					MessageAttributeNames:       []string{"All"},
				})
				calls++
				if err != nil {
					b.Fatalf("receive: %v", err)
				}
				if len(out.Messages) == 0 {
					continue
				}
				if batch == 1 {
					if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{
						QueueUrl: aws.String(url), ReceiptHandle: out.Messages[0].ReceiptHandle,
					}); err != nil {
						b.Fatalf("delete: %v", err)
					}
				} else {
					entries := make([]types.DeleteMessageBatchRequestEntry, len(out.Messages))
					for i, m := range out.Messages {
						entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
					}
					if _, err := client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil {
						b.Fatalf("delete: %v", err)
					}
				}
				calls++
				n += len(out.Messages)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(calls)/float64(b.N), "sqs-calls/job")
		})
	}
}

// countingClient counts the SQS calls a consumer makes.
type countingClient struct {
	sqsworker.Client
	receives, deletes, changes atomic.Int64
}

func (c *countingClient) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	c.receives.Add(1)
	return c.Client.ReceiveMessage(ctx, in, opts...)
}

func (c *countingClient) DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	c.deletes.Add(1)
	return c.Client.DeleteMessageBatch(ctx, in, opts...)
}

func (c *countingClient) ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	c.changes.Add(1)
	return c.Client.ChangeMessageVisibilityBatch(ctx, in, opts...)
}

func (c *countingClient) total() int64 {
	return c.receives.Load() + c.deletes.Load() + c.changes.Load()
}

// BenchmarkConsumerOverhead measures the consumer's own cost per message,
// without a network: an in-memory client answers every receive at once with
// as many messages as asked for, and the jobs do nothing. ns/op is the time
// the consumer adds to each message on top of its SQS calls.
//
//	go test -run '^$' -bench ConsumerOverhead ./agentkit/sqsworker
func BenchmarkConsumerOverhead(b *testing.B) {
	for _, concurrency := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("concurrency=%d", concurrency), func(b *testing.B) {
			var handled atomic.Int64
			all := make(chan struct{})
			c := &sqsworker.Consumer{
				Client: &endlessQueue{}, QueueURL: "q", Concurrency: concurrency,
				Logger: slog.New(slog.DiscardHandler),
				Handler: func(context.Context, sqsworker.Message) error {
					if handled.Add(1) == int64(b.N) {
						close(all)
					}
					return nil
				},
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			b.ReportAllocs()
			b.ResetTimer()
			go func() { done <- c.Run(ctx) }()
			<-all
			cancel()
			if err := <-done; err != nil {
				b.Fatalf("Run() = %v", err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// endlessQueue never runs dry and costs next to nothing.
type endlessQueue struct{ seq atomic.Int64 }

func (q *endlessQueue) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := &sqs.ReceiveMessageOutput{Messages: make([]types.Message, in.MaxNumberOfMessages)}
	for i := range out.Messages {
		id := strconv.FormatInt(q.seq.Add(1), 10)
		out.Messages[i] = types.Message{MessageId: aws.String(id), ReceiptHandle: aws.String(id), Body: aws.String("{}"),
			Attributes: map[string]string{"ApproximateReceiveCount": "1"}}
	}
	return out, nil
}

func (q *endlessQueue) DeleteMessageBatch(_ context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	out := &sqs.DeleteMessageBatchOutput{}
	for _, e := range in.Entries {
		out.Successful = append(out.Successful, types.DeleteMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

func (q *endlessQueue) ChangeMessageVisibilityBatch(_ context.Context, in *sqs.ChangeMessageVisibilityBatchInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	out := &sqs.ChangeMessageVisibilityBatchOutput{}
	for _, e := range in.Entries {
		out.Successful = append(out.Successful, types.ChangeMessageVisibilityBatchResultEntry{Id: e.Id})
	}
	return out, nil
}
