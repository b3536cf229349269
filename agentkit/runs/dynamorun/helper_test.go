package dynamorun_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/runs"
	"github.com/agentcdk/agentcdk/agentkit/runs/dynamorun"
	"github.com/agentcdk/agentcdk/internal/leakcheck"
	"github.com/agentcdk/agentcdk/internal/mototest"
)

// moto is the one moto_server the package's tests share, launched before
// them (so that its goroutines are not taken for leaks), behind a
// mototest.Serializer: moto 5.2.1 loses writes under concurrent
// transactions, which DynamoDB isolates (see Serializer; without it
// ConcurrentAppendsOfAStaleAndALiveHolder lost a live holder's event to a
// stale holder's refused append). Each test makes tables of its own.
var moto struct {
	srv    *mototest.Server
	serial *mototest.Serializer
	err    error
}

func TestMain(m *testing.M) {
	if _, err := exec.LookPath(mototest.Binary); err == nil {
		moto.srv, moto.err = mototest.Launch()
		if moto.err == nil {
			moto.serial, moto.err = mototest.NewSerializer(moto.srv.Endpoint)
		}
	}
	code := leakcheck.Run(m)
	if moto.serial != nil {
		moto.serial.Close()
	}
	if moto.srv != nil {
		moto.srv.Stop()
	}
	os.Exit(code)
}

// motoEndpoint returns the shared moto_server's endpoint; it skips t when
// moto_server is missing (fails it under CI=true).
func motoEndpoint(t testing.TB) string {
	t.Helper()
	mototest.Require(t)
	if moto.err != nil {
		t.Fatalf("moto_server: %v", moto.err)
	}
	return moto.serial.URL
}

// newClient returns a DynamoDB client for endpoint with a transport of its
// own, wrapped by wrap unless it is nil, and closes the transport's idle
// connections when t ends.
func newClient(t testing.TB, endpoint string, wrap func(http.RoundTripper) http.RoundTripper) *dynamodb.Client {
	tr := awshttp.NewBuildableClient().GetTransport()
	var rt http.RoundTripper = tr
	if wrap != nil {
		rt = wrap(tr)
	}
	t.Cleanup(tr.CloseIdleConnections)
	cfg := mototest.Config(endpoint)
	cfg.HTTPClient = &http.Client{Transport: rt}
	return dynamodb.NewFromConfig(cfg)
}

var tables atomic.Int64

// newTable creates a runs table as the agentservice construct makes it
// (string keys pk and sk, on demand, TTL on expires) and returns its name.
func newTable(t testing.TB, client *dynamodb.Client) string {
	t.Helper()
	c := ctx(t)
	name := fmt.Sprintf("runs-%d", tables.Add(1))
	_, err := client.CreateTable(c, &dynamodb.CreateTableInput{
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
	_, err = client.UpdateTimeToLive(c, &dynamodb.UpdateTimeToLiveInput{
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

// motoStore returns a store on a new table of the shared moto_server, and
// the plain client the test may read the table with.
func motoStore(t testing.TB, opts ...dynamorun.Option) (*dynamorun.Store, *dynamodb.Client, string) {
	t.Helper()
	client := newClient(t, motoEndpoint(t), nil)
	table := newTable(t, client)
	return mustNew(t, client, table, opts...), client, table
}

func mustNew(t testing.TB, client dynamorun.Client, table string, opts ...dynamorun.Option) *dynamorun.Store {
	t.Helper()
	s, err := dynamorun.New(client, table, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// epoch is the tests' clock.
var epoch = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func newRun() runs.Run {
	return runs.Run{ID: runs.NewID(), Caller: "alice", Where: runs.OnWorker, Status: runs.Queued,
		Input: []byte(`{"q":1}`), Created: epoch}
}

// items returns every item of run id's partition, read directly.
func items(t testing.TB, client *dynamodb.Client, table, id string) []map[string]types.AttributeValue {
	t.Helper()
	out, err := client.Query(ctx(t), &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "run#" + id}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Items
}

func attrS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func attrN(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		return v.Value
	}
	return ""
}
