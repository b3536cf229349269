package dynamorun_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync"
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
// them (so that its goroutines are not taken for leaks); each test makes
// tables of its own.
var moto struct {
	srv *mototest.Server
	err error
}

func TestMain(m *testing.M) {
	if _, err := exec.LookPath(mototest.Binary); err == nil {
		moto.srv, moto.err = mototest.Launch()
	}
	code := leakcheck.Run(m)
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
	return moto.srv.Endpoint
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
	cfg.HTTPClient = &http.Client{Transport: serial{rt}}
	return dynamodb.NewFromConfig(cfg)
}

// motoMu makes moto serve one request at a time. DynamoDB serializes the
// writes to an item, and a transaction is isolated from every other write
// ("Isolation levels for DynamoDB transactions",
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-isolation).
// moto 5.2.1 is not: TransactWriteItems copies the whole table before it
// starts and, when a condition fails, puts that copy back, erasing any
// write another request made meanwhile (a live holder's event lost to a
// stale holder's refused append, seen in ConcurrentAppendsOfAStaleAndALiveHolder).
// The concurrent tests still race their requests; moto just takes them in
// turn, as DynamoDB's serialization would order them.
var motoMu sync.Mutex

type serial struct{ next http.RoundTripper }

func (s serial) RoundTrip(req *http.Request) (*http.Response, error) {
	motoMu.Lock()
	defer motoMu.Unlock()
	resp, err := s.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	// The answer is read within the lock, so that the next request does
	// not start before this one is complete.
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, err
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
