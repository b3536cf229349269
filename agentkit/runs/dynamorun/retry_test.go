package dynamorun_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/agentcdk/agentcdk/agentkit/runs"
	"github.com/agentcdk/agentcdk/agentkit/runs/dynamorun"
)

// failing is a Client that answers the next calls of an operation with an
// error of its own instead of passing them to the real client, and counts
// the calls.
type failing struct {
	dynamorun.Client

	mu    sync.Mutex
	fail  map[string][]error
	calls map[string]int
	page  int32 // when set, a Query returns at most page items, as DynamoDB stops a page at 1 MB
}

func (f *failing) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if err := f.next("Query"); err != nil {
		return nil, err
	}
	if f.page > 0 {
		cp := *in
		cp.Limit = aws.Int32(min(aws.ToInt32(in.Limit), f.page))
		if in.Limit == nil {
			cp.Limit = aws.Int32(f.page)
		}
		in = &cp
	}
	return f.Client.Query(ctx, in, opts...)
}

func newFailing(c dynamorun.Client) *failing {
	return &failing{Client: c, fail: map[string][]error{}, calls: map[string]int{}}
}

func (f *failing) next(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	if len(f.fail[op]) == 0 {
		return nil
	}
	err := f.fail[op][0]
	f.fail[op] = f.fail[op][1:]
	return err
}

func (f *failing) failNext(op string, errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[op], f.calls[op] = errs, 0
}

func (f *failing) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *failing) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if err := f.next("UpdateItem"); err != nil {
		return nil, err
	}
	return f.Client.UpdateItem(ctx, in, opts...)
}

func (f *failing) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if err := f.next("TransactWriteItems"); err != nil {
		return nil, err
	}
	return f.Client.TransactWriteItems(ctx, in, opts...)
}

// cancelled is a TransactionCanceledException of an append (event, run)
// with these reason codes.
func cancelled(event, run string) error {
	return &types.TransactionCanceledException{
		Message: aws.String("Transaction cancelled"),
		CancellationReasons: []types.CancellationReason{
			{Code: aws.String(event)}, {Code: aws.String(run)},
		},
	}
}

// TestTransactionConflictsAreRetriedByTheStore: DynamoDB refuses a write
// that meets a transaction in progress on the same item with
// TransactionConflictException, and cancels a transaction that meets
// another with the reason TransactionConflict (or ThrottlingError); the
// SDK's retryer retries neither, the store does
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-conflict-handling).
func TestTransactionConflictsAreRetriedByTheStore(t *testing.T) {
	// GIVEN a store on moto whose client first answers with conflicts
	_, client, table := motoStore(t)
	f := newFailing(client)
	s := mustNew(t, f, table)
	r := newRun()
	if _, _, err := s.Create(ctx(t), r); err != nil {
		t.Fatal(err)
	}

	// WHEN a claim meets two conflicts, and an append three cancellations
	// for a conflict or throttling of one of its items
	f.failNext("UpdateItem", &types.TransactionConflictException{Message: aws.String("conflict")},
		&types.TransactionConflictException{Message: aws.String("conflict")})
	_, claimErr := s.Claim(ctx(t), r.ID, "w1", epoch, time.Minute)
	f.failNext("TransactWriteItems", cancelled("None", "TransactionConflict"),
		cancelled("TransactionConflict", "None"), cancelled("None", "ThrottlingError"))
	appendErr := s.Append(ctx(t), r.ID, "w1", runs.Event{Seq: 1, Data: "x", At: epoch})

	// THEN both succeed on the next try
	if claimErr != nil || appendErr != nil {
		t.Fatalf("Claim: %v; Append: %v", claimErr, appendErr)
	}
	if f.count("UpdateItem") != 3 || f.count("TransactWriteItems") != 4 {
		t.Fatalf("%d UpdateItem, %d TransactWriteItems calls; want 3 and 4", f.count("UpdateItem"), f.count("TransactWriteItems"))
	}

	// AND conflicts that do not end fail the call after 4 tries, naming
	// the run, with nothing written
	f.failNext("TransactWriteItems", cancelled("None", "TransactionConflict"), cancelled("None", "TransactionConflict"),
		cancelled("None", "TransactionConflict"), cancelled("None", "TransactionConflict"), cancelled("None", "TransactionConflict"))
	err := s.Append(ctx(t), r.ID, "w1", runs.Event{Seq: 2, Data: "y", At: epoch})
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) || errors.Is(err, runs.ErrLeaseLost) || !strings.Contains(err.Error(), "append event 2 to run "+r.ID) {
		t.Fatalf("Append under endless conflicts: %v", err)
	}
	if n := f.count("TransactWriteItems"); n != 4 {
		t.Fatalf("%d tries, want 4", n)
	}
	if got, _ := s.Get(ctx(t), r.ID); got.Events != 1 {
		t.Fatalf("the run counts %d events, want 1", got.Events)
	}
}

// TestThrottlingTheSDKGaveUpOnIsNotRetriedAgain: the SDK's retryer has
// retried a throttled request already; the store returns its error rather
// than multiply the attempts.
func TestThrottlingTheSDKGaveUpOnIsNotRetriedAgain(t *testing.T) {
	_, client, table := motoStore(t)
	f := newFailing(client)
	s := mustNew(t, f, table)
	r := newRun()
	if _, _, err := s.Create(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	throttled := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	f.failNext("UpdateItem", throttled, throttled)
	_, err := s.Claim(ctx(t), r.ID, "w1", epoch, time.Minute)
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ThrottlingException" || errors.Is(err, runs.ErrNotClaimable) ||
		!strings.Contains(err.Error(), "claim run "+r.ID) {
		t.Fatalf("Claim: %v", err)
	}
	if n := f.count("UpdateItem"); n != 1 {
		t.Fatalf("%d UpdateItem calls, want 1", n)
	}
}
