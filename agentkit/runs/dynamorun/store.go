package dynamorun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/runs"
)

// Client is the part of *dynamodb.Client the store calls: a test may give a
// fake, and a program the SDK's client (whose retryer retries throttling).
type Client interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ Client = (*dynamodb.Client)(nil)

// DefaultCallTimeout bounds one store method (every request it sends and
// the SDK's retries of them) unless WithCallTimeout says otherwise. It
// covers the SDK's retries of a throttled request (DynamoDB's client makes 4
// attempts and waits up to 1 s, 2 s and 4 s between them when throttled)
// and is half the renewal interval at agentkit.DefaultRunLease (renewed
// every 20 s), so a renewal that meets a stalled network gives up in time to
// try once more before the lease ends.
const DefaultCallTimeout = 10 * time.Second

// conflictAttempts is how many times a method tries a write that
// DynamoDB refused for a conflict with another transaction on the same
// item (which the SDK does not retry), and conflictBackoff the first wait
// between tries, doubled each time, with full jitter.
const (
	conflictAttempts = 4
	conflictBackoff  = 25 * time.Millisecond
)

// Store is a runs.Store in one DynamoDB table. Make one with New or
// FromEnv; it is safe for concurrent use.
type Store struct {
	client    Client
	table     string
	retention time.Duration
	timeout   time.Duration
}

var _ runs.Store = (*Store)(nil)

// An Option changes a Store made by New or FromEnv.
type Option func(*Store) error

// WithRetention sets how long the store keeps a run and its events: a run
// created without Run.Expires expires at Created plus d, an event at its At
// plus d. Default: agentkit.DefaultRunRetention (7 days), or
// AGENTKIT_RUN_RETENTION with FromEnv.
func WithRetention(d time.Duration) Option {
	return func(s *Store) error {
		if d <= 0 {
			return fmt.Errorf("dynamorun: retention %s is not positive; use a duration of 1h or more", d)
		}
		s.retention = d
		return nil
	}
}

// WithCallTimeout bounds each store method, with every request it sends
// and their retries, to d (a context with an earlier deadline wins).
// Default: DefaultCallTimeout.
func WithCallTimeout(d time.Duration) Option {
	return func(s *Store) error {
		if d <= 0 {
			return fmt.Errorf("dynamorun: call timeout %s is not positive", d)
		}
		s.timeout = d
		return nil
	}
}

// New returns a Store that keeps runs in table through client. The table
// must have the string keys pk and sk (agentkit.RunsTablePartitionKey and
// RunsTableSortKey), as the agentservice construct makes it.
func New(client Client, table string, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("dynamorun: client is nil")
	}
	if table == "" {
		return nil, errors.New("dynamorun: table name is empty")
	}
	s := &Store{client: client, table: table, retention: agentkit.DefaultRunRetention, timeout: DefaultCallTimeout}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// FromEnv returns a Store on the table named by AGENTKIT_RUNS_TABLE, through
// a DynamoDB client made from cfg, keeping runs for AGENTKIT_RUN_RETENTION
// (a Go duration; default agentkit.DefaultRunRetention); opts apply after
// the environment. An unset table or a bad retention is an error naming
// the variable.
func FromEnv(cfg aws.Config, opts ...Option) (*Store, error) {
	table := os.Getenv(agentkit.EnvRunsTable)
	if table == "" {
		return nil, fmt.Errorf("dynamorun: %s is not set; it names the runs table (the agentservice construct sets it with Runs)", agentkit.EnvRunsTable)
	}
	retention := agentkit.DefaultRunRetention
	if v := os.Getenv(agentkit.EnvRunRetention); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("dynamorun: %s %q is not a positive Go duration (for example \"604800s\")", agentkit.EnvRunRetention, v)
		}
		retention = d
	}
	return New(dynamodb.NewFromConfig(cfg), table, append([]Option{WithRetention(retention)}, opts...)...)
}

// call runs one store method's requests under the call timeout.
func (s *Store) call(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return f(ctx)
}
