package mototest_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/mototest"
)

func TestCreateRunsTableAndMessages(t *testing.T) {
	endpoint := mototest.Start(t)
	cfg := mototest.Config(endpoint)
	ctx := context.Background()
	// GIVEN the runs table made by CreateRunsTable
	db := dynamodb.NewFromConfig(cfg)
	if err := mototest.CreateRunsTable(ctx, db, "runs"); err != nil {
		t.Fatal(err)
	}
	// THEN it has the construct's keys and time to live
	d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("runs")})
	if err != nil {
		t.Fatal(err)
	}
	if ks := d.Table.KeySchema; len(ks) != 2 || *ks[0].AttributeName != agentkit.RunsTablePartitionKey || *ks[1].AttributeName != agentkit.RunsTableSortKey {
		t.Fatalf("key schema %+v", ks)
	}
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("runs")})
	if err != nil || *ttl.TimeToLiveDescription.AttributeName != agentkit.RunsTableTTLAttribute {
		t.Fatalf("time to live %+v, %v", ttl, err)
	}
	// AND Messages counts what a queue holds
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
	if n, err := mototest.Messages(ctx, q, queue); err != nil || n != 2 {
		t.Fatalf("Messages: %d, %v; want 2", n, err)
	}
}
