package mototest_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/agentcdk/agentcdk/internal/mototest"
)

func TestMessagesCountsWhatAQueueHolds(t *testing.T) {
	endpoint := mototest.Start(t)
	cfg := mototest.Config(endpoint)
	ctx := context.Background()
	// GIVEN a queue with two messages
	q := sqs.NewFromConfig(cfg)
	queue, _, err := mototest.CreateQueues(ctx, q, "count", 5, 30)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queue), MessageBody: aws.String("m")}); err != nil {
			t.Fatal(err)
		}
	}
	// THEN Messages counts them
	if n, err := mototest.Messages(ctx, q, queue); err != nil || n != 2 {
		t.Fatalf("Messages: %d, %v; want 2", n, err)
	}
}
