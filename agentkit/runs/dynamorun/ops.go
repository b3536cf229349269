package dynamorun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agentcdk/agentcdk/agentkit/runs"
)

// The conditions of the writes. Every write names its run item by key and
// requires that it exists, so a write to a missing run fails its condition
// (and ALL_OLD, empty, says it is missing) instead of making an item.
const (
	condNew      = "attribute_not_exists(#pk)"
	condHeld     = "attribute_exists(#pk) AND #status = :running AND #owner = :owner"
	condClaim    = "attribute_exists(#pk) AND (#status = :queued OR (#status = :running AND #leaseUntil < :now))"
	condQueued   = "attribute_exists(#pk) AND #status = :queued"
	condRunning  = "attribute_exists(#pk) AND #status = :running"
	condAppend   = condHeld + " AND #events = :prev"
	updClaim     = "SET #status = :running, #owner = :owner, #leaseUntil = :lease, #started = :now ADD #attempt :one"
	updRenew     = "SET #leaseUntil = :lease"
	updRelease   = "SET #status = :queued, #lastOwner = :owner REMOVE #owner, #leaseUntil"
	updAppend    = "SET #events = :next"
	updCancelled = "SET #status = :cancelled, #ended = :now, #error = :error"
	updRequest   = "SET #cancelRequested = :true"
)

func vals(kv ...any) map[string]types.AttributeValue {
	m := map[string]types.AttributeValue{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(types.AttributeValue)
	}
	return m
}

var (
	vRunning   = str(string(runs.Running))
	vQueued    = str(string(runs.Queued))
	vCancelled = str(string(runs.Cancelled))
)

// state is a run item as a write found or left it.
type state struct {
	run       runs.Run
	found     bool   // the item exists
	lastOwner string // who released or finished it last
}

// update sends one conditional UpdateItem on run id's item and returns the
// run after it (ALL_NEW), or, when the condition failed, the run before it
// (ALL_OLD; found false when there is none) and errCondition.
func (s *Store) update(ctx context.Context, id, cond, upd string, values map[string]types.AttributeValue) (state, error) {
	in := &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 runKey(id),
		ConditionExpression:                 aws.String(cond),
		UpdateExpression:                    aws.String(upd),
		ExpressionAttributeNames:            only(cond, upd),
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	var out *dynamodb.UpdateItemOutput
	err := s.retryConflicts(ctx, func(ctx context.Context) (err error) {
		out, err = s.client.UpdateItem(ctx, in)
		return err
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf) && len(ccf.Item) == 0:
		return state{}, errCondition
	case errors.As(err, &ccf):
		st, err := decodeState(ccf.Item)
		if err != nil {
			return st, err
		}
		return st, errCondition
	case err != nil:
		return state{}, err
	}
	return decodeState(out.Attributes)
}

func decodeState(item map[string]types.AttributeValue) (state, error) {
	r, err := decodeRun(item)
	d := decoder{item: item}
	return state{run: r, found: true, lastOwner: d.s(attrLastOwner)}, err
}

// checkID answers ErrNotFound, without a request, for an ID that no run
// can have (runs.ValidID): a key DynamoDB would refuse (past 2048 bytes)
// reads as a missing run, as it does in the memory store.
func checkID(id string) error {
	if !runs.ValidID(id) {
		return fmt.Errorf("run %q: %w", id, runs.ErrNotFound)
	}
	return nil
}

// errCondition is update's answer when the write's condition failed.
var errCondition = errors.New("condition failed")

// retryConflicts calls f, and again after a backoff while DynamoDB refuses
// it for a conflict with a concurrent transaction on the same item, which
// the SDK's retryer does not retry (it retries throttling itself).
func (s *Store) retryConflicts(ctx context.Context, f func(context.Context) error) error {
	backoff := conflictBackoff
	for attempt := 1; ; attempt++ {
		err := f(ctx)
		if err == nil || attempt == conflictAttempts || !retryable(err) {
			return err
		}
		t := time.NewTimer(rand.N(backoff) + 1)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (after %d tries: %w)", context.Cause(ctx), attempt, err)
		case <-t.C:
		}
		backoff *= 2
	}
}

// retryable reports whether err is a conflict with another transaction, or
// a transaction cancelled only for conflicts or throttling of its items
// (no condition failed): sent again, it may succeed.
func retryable(err error) bool {
	var conflict *types.TransactionConflictException
	if errors.As(err, &conflict) {
		return true
	}
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return false
	}
	again := false
	for _, r := range tc.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "", "None":
		case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded":
			again = true
		default:
			return false
		}
	}
	return again
}

// Create implements runs.Store. The run's item expires at r.Expires, or at
// r.Created plus the retention when r.Expires is zero. A Create sent again
// after its answer was lost finds its own run and reports it created.
func (s *Store) Create(ctx context.Context, r runs.Run) (runs.Run, bool, error) {
	if err := runs.CheckNew(r); err != nil {
		return runs.Run{}, false, err
	}
	if r.Created.IsZero() {
		return runs.Run{}, false, fmt.Errorf("dynamorun: run %s has no Created time", r.ID)
	}
	if r.Expires.IsZero() {
		r.Expires = r.Created.Add(s.retention)
	}
	r.Expires = time.Unix(r.Expires.Unix(), 0).UTC() // as the item keeps it
	in := &dynamodb.PutItemInput{
		TableName:                           aws.String(s.table),
		Item:                                runItem(r),
		ConditionExpression:                 aws.String(condNew),
		ExpressionAttributeNames:            only(condNew),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	err := s.call(ctx, func(ctx context.Context) error {
		return s.retryConflicts(ctx, func(ctx context.Context) error {
			_, err := s.client.PutItem(ctx, in)
			return err
		})
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) && len(ccf.Item) > 0 {
		old, derr := decodeRun(ccf.Item)
		if derr != nil {
			return runs.Run{}, false, fmt.Errorf("dynamorun: create run %s: %w", r.ID, derr)
		}
		return old, sameRun(old, r), nil
	}
	if err != nil {
		return runs.Run{}, false, fmt.Errorf("dynamorun: create run %s: %w", r.ID, err)
	}
	return r, true, nil
}

// Get implements runs.Store. It reads consistently: a run just claimed or
// ended on another task reads as it now is.
func (s *Store) Get(ctx context.Context, id string) (runs.Run, error) {
	if err := checkID(id); err != nil {
		return runs.Run{}, err
	}
	var out *dynamodb.GetItemOutput
	err := s.call(ctx, func(ctx context.Context) (err error) {
		out, err = s.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(s.table), Key: runKey(id), ConsistentRead: aws.Bool(true),
		})
		return err
	})
	if err != nil {
		return runs.Run{}, fmt.Errorf("dynamorun: get run %s: %w", id, err)
	}
	if len(out.Item) == 0 {
		return runs.Run{}, fmt.Errorf("run %s: %w", id, runs.ErrNotFound)
	}
	r, err := decodeRun(out.Item)
	if err != nil {
		return runs.Run{}, fmt.Errorf("dynamorun: get run %s: %w", id, err)
	}
	return r, nil
}

// Claim implements runs.Store. A Claim sent again after its answer was lost
// finds the run held by owner since now until now+lease, as it left it,
// and returns it as claimed.
func (s *Store) Claim(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (runs.Run, error) {
	if err := checkID(id); err != nil {
		return runs.Run{}, err
	}
	var st state
	err := s.call(ctx, func(ctx context.Context) (err error) {
		st, err = s.update(ctx, id, condClaim, updClaim, vals(
			":running", vRunning, ":queued", vQueued, ":owner", str(owner),
			":now", nanos(now), ":lease", nanos(now.Add(lease)), ":one", num(1)))
		return err
	})
	r := st.run
	switch {
	case errors.Is(err, errCondition) && !st.found:
		return runs.Run{}, fmt.Errorf("run %s: %w", id, runs.ErrNotFound)
	case errors.Is(err, errCondition) && r.Status == runs.Running && r.Owner == owner &&
		r.Started.Equal(now) && r.LeaseUntil.Equal(now.Add(lease)):
		return r, nil // this very claim, sent again
	case errors.Is(err, errCondition):
		return r, fmt.Errorf("run %s is %s (holder %q, lease until %s): %w", id, r.Status, r.Owner, r.LeaseUntil.Format(time.RFC3339), runs.ErrNotClaimable)
	case err != nil:
		return runs.Run{}, fmt.Errorf("dynamorun: claim run %s: %w", id, err)
	}
	return r, nil
}

// lost is the error of a write by owner whose condition found the run not
// held by owner.
func lost(id, owner string, st state) error {
	if !st.found {
		return fmt.Errorf("run %s: %w", id, runs.ErrNotFound)
	}
	return fmt.Errorf("run %s is %s, held by %q, not %q: %w", id, st.run.Status, st.run.Owner, owner, runs.ErrLeaseLost)
}

// Renew implements runs.Store.
func (s *Store) Renew(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (runs.Run, error) {
	if err := checkID(id); err != nil {
		return runs.Run{}, err
	}
	var st state
	err := s.call(ctx, func(ctx context.Context) (err error) {
		st, err = s.update(ctx, id, condHeld, updRenew, vals(
			":running", vRunning, ":owner", str(owner), ":lease", nanos(now.Add(lease))))
		return err
	})
	switch {
	case errors.Is(err, errCondition):
		return runs.Run{}, lost(id, owner, st)
	case err != nil:
		return runs.Run{}, fmt.Errorf("dynamorun: renew run %s: %w", id, err)
	}
	return st.run, nil
}

// Release implements runs.Store. A Release sent again after its answer was
// lost succeeds while the run is still queued as owner left it.
func (s *Store) Release(ctx context.Context, id, owner string) error {
	if err := checkID(id); err != nil {
		return err
	}
	var st state
	err := s.call(ctx, func(ctx context.Context) (err error) {
		st, err = s.update(ctx, id, condHeld, updRelease, vals(
			":running", vRunning, ":queued", vQueued, ":owner", str(owner)))
		return err
	})
	switch {
	case errors.Is(err, errCondition) && st.run.Status == runs.Queued && st.run.Owner == "" && st.lastOwner == owner:
		return nil // this very release, sent again
	case errors.Is(err, errCondition):
		return lost(id, owner, st)
	case err != nil:
		return fmt.Errorf("dynamorun: release run %s: %w", id, err)
	}
	return nil
}

// Append implements runs.Store: one transaction puts the event's item (if
// there is none for its Seq) and counts it on the run's item (if owner holds
// the run and ev.Seq is Events+1). The event expires at ev.At plus the
// retention. An Append sent again after its answer was lost finds its own
// event (same Seq, owner, type, data and time) and succeeds without writing
// it twice.
func (s *Store) Append(ctx context.Context, id, owner string, ev runs.Event) error {
	if err := checkID(id); err != nil {
		return err
	}
	if err := runs.CheckEvent(ev); err != nil {
		return err
	}
	if !utf8.ValidString(ev.Type) {
		return fmt.Errorf("runs: event type %q is not UTF-8", ev.Type)
	}
	if ev.At.IsZero() {
		return fmt.Errorf("dynamorun: event %d of run %s has no At time", ev.Seq, id)
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                           aws.String(s.table),
			Item:                                eventItem(id, owner, ev, ev.At.Add(s.retention)),
			ConditionExpression:                 aws.String(condNew),
			ExpressionAttributeNames:            only(condNew),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		{Update: &types.Update{
			TableName:                           aws.String(s.table),
			Key:                                 runKey(id),
			ConditionExpression:                 aws.String(condAppend),
			UpdateExpression:                    aws.String(updAppend),
			ExpressionAttributeNames:            only(condAppend, updAppend),
			ExpressionAttributeValues:           vals(":running", vRunning, ":owner", str(owner), ":prev", num(ev.Seq-1), ":next", num(ev.Seq)),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
	}}
	err := s.call(ctx, func(ctx context.Context) error {
		return s.retryConflicts(ctx, func(ctx context.Context) error {
			_, err := s.client.TransactWriteItems(ctx, in)
			return err
		})
	})
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) && len(tc.CancellationReasons) == 2 && !retryable(err) {
		if mapped := appendRefused(id, owner, ev, tc.CancellationReasons); mapped != errUnmapped {
			return mapped
		}
	}
	if err != nil {
		return fmt.Errorf("dynamorun: append event %d to run %s: %w", ev.Seq, id, err)
	}
	return nil
}

// appendRefused maps the reasons of an append (event, run) whose
// condition failed to its answer, or errUnmapped.
func appendRefused(id, owner string, ev runs.Event, reasons []types.CancellationReason) error {
	evReason, runReason := reasons[0], reasons[1]
	if aws.ToString(evReason.Code) == "ConditionalCheckFailed" && sameEvent(evReason.Item, owner, ev) {
		return nil // this very append, sent again
	}
	if aws.ToString(runReason.Code) == "ConditionalCheckFailed" {
		if len(runReason.Item) == 0 {
			return fmt.Errorf("run %s: %w", id, runs.ErrNotFound)
		}
		r, err := decodeRun(runReason.Item)
		if err != nil {
			return fmt.Errorf("dynamorun: append event %d to run %s: %w", ev.Seq, id, err)
		}
		if r.Status == runs.Running && r.Owner == owner {
			return fmt.Errorf("run %s has %d events; event %d is not the next: %w", id, r.Events, ev.Seq, runs.ErrLeaseLost)
		}
		return lost(id, owner, state{run: r, found: true})
	}
	if aws.ToString(evReason.Code) == "ConditionalCheckFailed" {
		return fmt.Errorf("run %s already has an event %d: %w", id, ev.Seq, runs.ErrLeaseLost)
	}
	return errUnmapped
}

// errUnmapped is appendRefused's answer to reasons that are no condition
// of the store's: the caller returns the error as it came.
var errUnmapped = errors.New("unmapped")

// Events implements runs.Store with one Query (or more, past 1 MB) on the
// run's partition, from event after+1 to the run item, which proves the run
// exists. It reads consistently, so that a reader that saw the run count n
// events gets all n: an eventually consistent read could miss the latest,
// and a stream would end without them.
func (s *Store) Events(ctx context.Context, id string, after int64, limit int) ([]runs.Event, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	after = max(after, 0)
	var evs []runs.Event
	found := false
	err := s.call(ctx, func(ctx context.Context) error {
		in := &dynamodb.QueryInput{
			TableName:                aws.String(s.table),
			KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :from AND :run"),
			ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
			ExpressionAttributeValues: vals(":pk", str(pkPrefix+id), ":from", str(eventSK(after+1)),
				":run", str(runSK)),
			ConsistentRead: aws.Bool(true),
		}
		for {
			if limit > 0 {
				in.Limit = aws.Int32(int32(min(limit-len(evs), runs.MaxEvents) + 1)) // +1: the run item
			}
			out, err := s.client.Query(ctx, in)
			if err != nil {
				return err
			}
			for _, item := range out.Items {
				if sk, ok := item[attrSK].(*types.AttributeValueMemberS); ok && sk.Value == runSK {
					found = true
					continue
				}
				ev, err := decodeEvent(item)
				if err != nil {
					return err
				}
				if limit <= 0 || len(evs) < limit {
					evs = append(evs, ev)
				}
			}
			if len(out.LastEvaluatedKey) == 0 || limit > 0 && len(evs) >= limit {
				return nil
			}
			in.ExclusiveStartKey = out.LastEvaluatedKey
		}
	})
	if err != nil {
		return nil, fmt.Errorf("dynamorun: events of run %s: %w", id, err)
	}
	if len(evs) == 0 && !found {
		return nil, fmt.Errorf("run %s: %w", id, runs.ErrNotFound)
	}
	return evs, nil
}

// Finish implements runs.Store. A Finish sent again after its answer was
// lost finds the run ended by owner as it asked, and returns it.
func (s *Store) Finish(ctx context.Context, id, owner string, status runs.Status, result json.RawMessage, errText string, now time.Time) (runs.Run, error) {
	if err := checkID(id); err != nil {
		return runs.Run{}, err
	}
	errText, err := runs.CheckEnd(status, result, errText)
	if err != nil {
		return runs.Run{}, err
	}
	upd := "SET #status = :status, #ended = :now, #lastOwner = :owner"
	values := vals(":running", vRunning, ":owner", str(owner), ":status", str(string(status)), ":now", nanos(now))
	if len(result) > 0 {
		upd += ", #result = :result"
		values[":result"] = bin(result)
	}
	if errText != "" {
		upd += ", #error = :error"
		values[":error"] = str(errText)
	}
	upd += " REMOVE #owner, #leaseUntil"
	var st state
	err = s.call(ctx, func(ctx context.Context) (err error) {
		st, err = s.update(ctx, id, condHeld, upd, values)
		return err
	})
	r := st.run
	switch {
	case errors.Is(err, errCondition) && r.Status == status && r.Ended.Equal(now) && string(r.Result) == string(result) &&
		r.Error == errText && st.lastOwner == owner:
		return r, nil // this very finish, sent again
	case errors.Is(err, errCondition):
		return runs.Run{}, lost(id, owner, st)
	case err != nil:
		return runs.Run{}, fmt.Errorf("dynamorun: finish run %s: %w", id, err)
	}
	return r, nil
}

// Cancel implements runs.Store: a conditional write ends a queued run; when
// the run is running, a second one marks it; when the run changed between
// the two, it starts over (a few times).
func (s *Store) Cancel(ctx context.Context, id string, now time.Time) (runs.Run, error) {
	if err := checkID(id); err != nil {
		return runs.Run{}, err
	}
	var st state
	err := s.call(ctx, func(ctx context.Context) error {
		for range 4 {
			var err error
			st, err = s.update(ctx, id, condQueued, updCancelled, vals(
				":queued", vQueued, ":cancelled", vCancelled, ":now", nanos(now), ":error", str(runs.ErrCancelled.Error())))
			switch {
			case err == nil:
				return nil // it was queued: now cancelled
			case !errors.Is(err, errCondition):
				return err
			case !st.found:
				return fmt.Errorf("run %s: %w", id, runs.ErrNotFound)
			case st.run.Status.Ended():
				return nil // ended: left as it is
			case st.run.Status == runs.Running:
				st, err = s.update(ctx, id, condRunning, updRequest, vals(":running", vRunning, ":true", &types.AttributeValueMemberBOOL{Value: true}))
				if !errors.Is(err, errCondition) {
					return err
				}
			}
			// It changed between the two writes (released, or ended): again.
		}
		return fmt.Errorf("run %s changed under every try", id)
	})
	if errors.Is(err, runs.ErrNotFound) {
		return runs.Run{}, err
	}
	if err != nil {
		return runs.Run{}, fmt.Errorf("dynamorun: cancel run %s: %w", id, err)
	}
	return st.run, nil
}
