package mototest_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agentcdk/agentcdk/internal/mototest"
)

func TestCreateRunsTableMakesTheConstructsTable(t *testing.T) {
	// GIVEN a moto_server
	client := dynamodb.NewFromConfig(mototest.Config(mototest.Start(t)))
	ctx := context.Background()

	// WHEN a runs table is made
	if err := mototest.CreateRunsTable(ctx, client, "runs"); err != nil {
		t.Fatal(err)
	}

	// THEN it has the string keys pk and sk, is on demand, and expires
	// items by expires
	d, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("runs")})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]types.KeyType{}
	for _, k := range d.Table.KeySchema {
		keys[aws.ToString(k.AttributeName)] = k.KeyType
	}
	if keys["pk"] != types.KeyTypeHash || keys["sk"] != types.KeyTypeRange || len(d.Table.AttributeDefinitions) != 2 {
		t.Errorf("keys %v", keys)
	}
	for _, a := range d.Table.AttributeDefinitions {
		if a.AttributeType != types.ScalarAttributeTypeS {
			t.Errorf("key %s has type %s", aws.ToString(a.AttributeName), a.AttributeType)
		}
	}
	if d.Table.BillingModeSummary == nil || d.Table.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing %+v", d.Table.BillingModeSummary)
	}
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("runs")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(ttl.TimeToLiveDescription.AttributeName) != "expires" || ttl.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Errorf("time to live %+v", ttl.TimeToLiveDescription)
	}
}
