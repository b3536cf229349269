package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/agentcdk/agentcdk/internal/mototest"
)

// queuePair is a job queue and its dead-letter queue.
type queuePair struct {
	url, dlq string
}

// createQueues makes name and name-dlq as the worker construct does: a 60s
// visibility timeout and a redrive to the dead-letter queue after five
// receives.
func createQueues(ctx context.Context, client *sqs.Client, name string) (queuePair, error) {
	url, dlq, err := mototest.CreateQueues(ctx, client, name, 5, 60)
	return queuePair{url: url, dlq: dlq}, err
}

// sendJobs sends n jobs, ten per call, and returns their message IDs.
func sendJobs(ctx context.Context, client *sqs.Client, queue string, n int) ([]string, error) {
	var ids []string
	for first := 0; first < n; first += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for i := first; i < min(first+10, n); i++ {
			entries = append(entries, types.SendMessageBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(fmt.Sprintf(`{"job":%d}`, i)),
			})
		}
		out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queue), Entries: entries})
		if err != nil {
			return nil, fmt.Errorf("send jobs %d to %d: %w", first, first+len(entries)-1, err)
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			return nil, fmt.Errorf("send jobs %d to %d: %d failed, the first with %s: %s",
				first, first+len(entries)-1, len(out.Failed), aws.ToString(f.Code), aws.ToString(f.Message))
		}
		for _, s := range out.Successful {
			ids = append(ids, aws.ToString(s.MessageId))
		}
	}
	return ids, nil
}

// messagesIn returns how many messages queue holds, visible, in flight or
// delayed.
func messagesIn(ctx context.Context, client *sqs.Client, queue string) (int, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queue),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return 0, fmt.Errorf("count the messages in %s: %w", queue, err)
	}
	n := 0
	for name, v := range out.Attributes {
		i, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("count the messages in %s: %s is %q, not a number", queue, name, v)
		}
		n += i
	}
	return n, nil
}
