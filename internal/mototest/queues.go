package mototest

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// CreateQueues makes the queue name and its dead-letter queue name-dlq, as
// the worker construct does: a redrive to the dead-letter queue after
// maxReceiveCount receives, and the given visibility timeout in seconds (0
// keeps SQS's 30s). It returns both URLs.
func CreateQueues(ctx context.Context, client *sqs.Client, name string, maxReceiveCount, visibilitySeconds int) (queue, dlq string, err error) {
	d, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		return "", "", fmt.Errorf("create queue %s-dlq: %w", name, err)
	}
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: d.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", "", fmt.Errorf("get the ARN of %s-dlq: %w", name, err)
	}
	queueAttrs := map[string]string{
		string(types.QueueAttributeNameRedrivePolicy): fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`,
			attrs.Attributes[string(types.QueueAttributeNameQueueArn)], maxReceiveCount),
	}
	if visibilitySeconds > 0 {
		queueAttrs[string(types.QueueAttributeNameVisibilityTimeout)] = strconv.Itoa(visibilitySeconds)
	}
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: queueAttrs})
	if err != nil {
		return "", "", fmt.Errorf("create queue %s: %w", name, err)
	}
	return aws.ToString(q.QueueUrl), aws.ToString(d.QueueUrl), nil
}
