package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/agentcdk/agentcdk/agentkit"
)

// createRunsTable makes the runs table as agentservice's RunStore does:
// string keys pk and sk, on-demand.
func createRunsTable(ctx context.Context, client *dynamodb.Client, name string) error {
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(agentkit.RunsTablePartitionKey), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(agentkit.RunsTableSortKey), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(agentkit.RunsTablePartitionKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(agentkit.RunsTableSortKey), KeyType: types.KeyTypeRange},
		},
	})
	if err != nil {
		return fmt.Errorf("create the runs table: %w", err)
	}
	return nil
}

// messages counts a queue's messages, visible and in flight.
func messages(t *testing.T, client *sqs.Client, queue string) int {
	t.Helper()
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queue),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		t.Fatalf("queue attributes: %v", err)
	}
	n := 0
	for _, v := range out.Attributes {
		i, _ := strconv.Atoi(v)
		n += i
	}
	return n
}

// serialDynamoDB starts a proxy in front of moto that passes DynamoDB's
// requests one at a time, and every other request as it comes; it returns
// the proxy's endpoint. DynamoDB isolates a transaction from every other
// write ("Isolation levels for DynamoDB transactions",
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-isolation);
// moto 5.2.1 does not: its TransactWriteItems copies the whole table and,
// when a condition fails, puts the copy back, erasing the writes other
// requests made meanwhile. SQS's long polls must not wait in that line.
func serialDynamoDB(t *testing.T, moto string) string {
	t.Helper()
	target, err := url.Parse(moto)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_") {
			mu.Lock()
			defer mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
