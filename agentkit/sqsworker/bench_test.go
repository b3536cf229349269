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
// throughput with trivial jobs and the same work done with raw SDK calls: a
// loop of ReceiveMessage (asking for the same attributes) and one
// DeleteMessage per message. One op is one
// message; msgs/s is b.N over the timed part. consumer/concurrency=1 and
// raw/batch=1 make the same SQS calls one message at a time, so their ns/op
// difference is the consumer's own overhead per message (goroutine, heartbeat
// timer, bookkeeping), within the noise of moto's own time. moto's receive
// and delete scan the whole queue (11ms a message at a depth of 100, 65ms at
// 1,000 on a loaded two-core machine), so compare runs with the same
// -benchtime=Nx, and keep N small:
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
			var handled atomic.Int64
			all := make(chan struct{})
			c := &sqsworker.Consumer{
				Client: client, QueueURL: url, Concurrency: concurrency, WaitTime: time.Second,
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
			for c.InFlight() > 0 { // the last deletes
				time.Sleep(100 * time.Microsecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			cancel()
			if err := <-done; err != nil {
				b.Fatalf("Run() = %v", err)
			}
		})
	}

	for _, batch := range []int32{1, 10} {
		b.Run(fmt.Sprintf("raw/batch=%d", batch), func(b *testing.B) {
			url := newQueue(b)
			ctx := context.Background()
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
				if err != nil {
					b.Fatalf("receive: %v", err)
				}
				for _, m := range out.Messages {
					if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{
						QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle,
					}); err != nil {
						b.Fatalf("delete: %v", err)
					}
					n++
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
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
			for c.InFlight() > 0 {
				time.Sleep(10 * time.Microsecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			cancel()
			if err := <-done; err != nil {
				b.Fatalf("Run() = %v", err)
			}
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

func (q *endlessQueue) DeleteMessage(context.Context, *sqs.DeleteMessageInput, ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	return &sqs.DeleteMessageOutput{}, nil
}

func (q *endlessQueue) ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}
