package mototest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/agentcdk/agentcdk/internal/mototest"
)

// A test starts one emulator and points an SDK client at it.
func ExampleStart() {
	test := func(t *testing.T) {
		endpoint := mototest.Start(t) // skips without moto_server, unless CI=true
		client := sqs.NewFromConfig(mototest.Config(endpoint))
		out, err := client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println(aws.ToString(out.QueueUrl))
	}
	_ = test
}
