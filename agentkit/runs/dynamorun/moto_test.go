package dynamorun_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/runs"
	"github.com/agentcdk/agentcdk/agentkit/runs/dynamorun"
	"github.com/agentcdk/agentcdk/agentkit/runs/runstest"
	"github.com/agentcdk/agentcdk/internal/mototest"
)

var tables atomic.Int64

// newTable creates a runs table as the agentservice construct makes it
// (string keys pk and sk, on demand, TTL on expires) and returns its name.
func newTable(t testing.TB, client *dynamodb.Client) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := fmt.Sprintf("runs-%d", tables.Add(1))
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(agentkit.RunsTablePartitionKey), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(agentkit.RunsTableSortKey), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(agentkit.RunsTablePartitionKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(agentkit.RunsTableSortKey), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(agentkit.RunsTableTTLAttribute), Enabled: aws.Bool(true),
		},
	})
	if err != nil {
		t.Fatalf("enable TTL on %s: %v", name, err)
	}
	return name
}

func TestConformanceAgainstMoto(t *testing.T) {
	endpoint := mototest.Start(t)
	client := dynamodb.NewFromConfig(mototest.Config(endpoint))
	table := newTable(t, client)
	runstest.TestStore(t, func(t *testing.T) runs.Store {
		s, err := dynamorun.New(client, table)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
