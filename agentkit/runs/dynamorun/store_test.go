package dynamorun_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit/runs"
	"github.com/agentcdk/agentcdk/agentkit/runs/dynamorun"
)

func TestTheTableHoldsARunAndItsEventsAsDocumented(t *testing.T) {
	// GIVEN a store that keeps runs 48 hours
	s, client, table := motoStore(t, dynamorun.WithRetention(48*time.Hour))

	// WHEN a run is created without Expires, claimed, and appends two
	// events
	r := newRun()
	created, _, err := s.Create(ctx(t), r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx(t), r.ID, "w1", epoch, time.Minute); err != nil {
		t.Fatal(err)
	}
	for seq := int64(1); seq <= 2; seq++ {
		if err := s.Append(ctx(t), r.ID, "w1", runs.Event{Seq: seq, Data: "d", At: epoch.Add(time.Duration(seq) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}

	// THEN its partition holds the events in order, then the run; every
	// item carries expires in epoch seconds: the run's created + 48h, an
	// event's at + 48h
	got := items(t, client, table, r.ID)
	want := []struct{ sk, expires string }{
		{"ev#0000000000000001", strconv.FormatInt(epoch.Add(time.Second+48*time.Hour).Unix(), 10)},
		{"ev#0000000000000002", strconv.FormatInt(epoch.Add(2*time.Second+48*time.Hour).Unix(), 10)},
		{"run", strconv.FormatInt(epoch.Add(48*time.Hour).Unix(), 10)},
	}
	if len(got) != len(want) {
		t.Fatalf("%d items in the run's partition, want %d: %v", len(got), len(want), got)
	}
	for i, w := range want {
		if sk, exp := attrS(got[i], "sk"), attrN(got[i], "expires"); sk != w.sk || exp != w.expires {
			t.Errorf("item %d: sk %q expires %q, want %q %q", i, sk, exp, w.sk, w.expires)
		}
	}
	if n := attrN(got[2], "events"); n != "2" {
		t.Errorf("the run item counts %q events, want 2", n)
	}
	if !created.Expires.Equal(epoch.Add(48 * time.Hour)) {
		t.Errorf("Create returned Expires %s", created.Expires)
	}
}

func TestMotoEvaluatesTheConditions(t *testing.T) {
	// GIVEN a run that w1 claimed and w2 took over after w1's lease
	s, client, table := motoStore(t)
	r := newRun()
	if _, _, err := s.Create(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx(t), r.ID, "w1", epoch, time.Minute); err != nil {
		t.Fatal(err)
	}
	taken, err := s.Claim(ctx(t), r.ID, "w2", epoch.Add(2*time.Minute), time.Minute)
	if err != nil || taken.Attempt != 2 {
		t.Fatalf("takeover: %+v, %v", taken, err)
	}

	// WHEN the stale holder w1 appends event 1
	err = s.Append(ctx(t), r.ID, "w1", runs.Event{Seq: 1, Data: "stale", At: epoch})

	// THEN moto refused the transaction: the answer is ErrLeaseLost and
	// the table holds no event, the run still counts none
	if !errors.Is(err, runs.ErrLeaseLost) {
		t.Fatalf("stale Append: %v, want ErrLeaseLost", err)
	}
	got := items(t, client, table, r.ID)
	if len(got) != 1 || attrS(got[0], "sk") != "run" || attrN(got[0], "events") != "0" || attrS(got[0], "owner") != "w2" {
		t.Fatalf("after the stale Append the partition holds %v", got)
	}

	// AND a claim of the held run is refused with the run as it is, read
	// from the failed write itself (ReturnValuesOnConditionCheckFailure)
	held, err := s.Claim(ctx(t), r.ID, "w3", epoch.Add(2*time.Minute+time.Second), time.Minute)
	if !errors.Is(err, runs.ErrNotClaimable) || held.Owner != "w2" || held.Attempt != 2 {
		t.Fatalf("Claim of a held run: %+v, %v", held, err)
	}
}

func TestAWriteWhoseAnswerWasLostTakesEffectOnce(t *testing.T) {
	// GIVEN a store whose network loses the answer to the next request of
	// each operation after moto carried it out, so that the SDK's retryer
	// sends it again (moto ignores TransactWriteItems' ClientRequestToken,
	// which DynamoDB would honour: the store must see its own write)
	var w *wire
	client := newClient(t, motoEndpoint(t), func(next http.RoundTripper) http.RoundTripper { w = newWire(next); return w })
	table := newTable(t, client)
	s := mustNew(t, client, table)
	for _, o := range []string{"PutItem", "UpdateItem", "TransactWriteItems"} {
		w.loseNext(o, 1)
	}

	// WHEN a run is created, claimed, appends an event and finishes, each
	// answer lost once
	r := newRun()
	_, created, err := s.Create(ctx(t), r)
	if err != nil || !created {
		t.Fatalf("Create: created %v, %v", created, err)
	}
	claimed, err := s.Claim(ctx(t), r.ID, "w1", epoch, time.Minute)
	if err != nil || claimed.Attempt != 1 || claimed.Owner != "w1" {
		t.Fatalf("Claim: %+v, %v", claimed, err)
	}
	ev := runs.Event{Seq: 1, Type: "step", Data: "once", At: epoch.Add(time.Second)}
	if err := s.Append(ctx(t), r.ID, "w1", ev); err != nil {
		t.Fatalf("Append: %v", err)
	}
	w.loseNext("UpdateItem", 1)
	ended, err := s.Finish(ctx(t), r.ID, "w1", runs.Succeeded, json.RawMessage(`{"ok":true}`), "", epoch.Add(2*time.Second))
	if err != nil || ended.Status != runs.Succeeded {
		t.Fatalf("Finish: %+v, %v", ended, err)
	}

	// THEN every request went twice, and each took effect once
	for o, n := range map[string]int{"PutItem": 2, "UpdateItem": 4, "TransactWriteItems": 2} {
		if got := w.count(o); got != n {
			t.Errorf("%s sent %d times, want %d", o, got, n)
		}
	}
	evs, err := s.Events(ctx(t), r.ID, 0, 10)
	if err != nil || len(evs) != 1 || evs[0].Data != "once" {
		t.Fatalf("Events: %+v, %v", evs, err)
	}
	// The append went twice with one ClientRequestToken, which DynamoDB
	// (not moto) honours for 10 minutes: "If the original
	// TransactWriteItems call was successful, the subsequent
	// TransactWriteItems calls with the same client token return
	// successfully without making any changes"
	// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html).
	if tx := w.requests("TransactWriteItems"); len(tx) != 2 || tokenOf(tx[0]) == "" || tokenOf(tx[0]) != tokenOf(tx[1]) {
		t.Errorf("the append's %d requests carry different tokens or none: %q", len(tx), tx)
	}
	if got, _ := s.Get(ctx(t), r.ID); got.Attempt != 1 || got.Events != 1 || got.Status != runs.Succeeded {
		t.Fatalf("the run is %+v", got)
	}

	// AND a renewal and a release whose answers were lost succeed too
	r2 := newRun()
	if _, _, err := s.Create(ctx(t), r2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx(t), r2.ID, "w1", epoch, time.Minute); err != nil {
		t.Fatal(err)
	}
	w.loseNext("UpdateItem", 1)
	if renewed, err := s.Renew(ctx(t), r2.ID, "w1", epoch.Add(time.Second), time.Minute); err != nil || !renewed.LeaseUntil.Equal(epoch.Add(time.Second+time.Minute)) {
		t.Fatalf("Renew: %+v, %v", renewed, err)
	}
	w.loseNext("UpdateItem", 1)
	if err := s.Release(ctx(t), r2.ID, "w1"); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if got, _ := s.Get(ctx(t), r2.ID); got.Status != runs.Queued || got.Attempt != 1 {
		t.Fatalf("after Release the run is %+v", got)
	}
}

func TestAnAppendSentAgainWithOtherContentIsRefused(t *testing.T) {
	// GIVEN a run with event 1
	s, _, _ := motoStore(t)
	r := newRun()
	if _, _, err := s.Create(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx(t), r.ID, "w1", epoch, time.Minute); err != nil {
		t.Fatal(err)
	}
	ev := runs.Event{Seq: 1, Data: "first", At: epoch}
	if err := s.Append(ctx(t), r.ID, "w1", ev); err != nil {
		t.Fatal(err)
	}

	// WHEN the same holder appends event 1 again, once as it was and once
	// with other data
	same := s.Append(ctx(t), r.ID, "w1", ev)
	ev.Data = "other"
	other := s.Append(ctx(t), r.ID, "w1", ev)

	// THEN the first is taken for a retry of the stored one, the second is
	// refused, and the run holds one event
	if same != nil || !errors.Is(other, runs.ErrLeaseLost) {
		t.Fatalf("the same event again: %v; other data: %v", same, other)
	}
	if evs, _ := s.Events(ctx(t), r.ID, 0, 10); len(evs) != 1 || evs[0].Data != "first" {
		t.Fatalf("events %+v", evs)
	}
}

func TestThrottlingIsRetriedByTheSDK(t *testing.T) {
	// GIVEN a store whose client is the SDK's, whose retryer for DynamoDB
	// makes 4 attempts and waits up to 1 s, 2 s, 4 s after a throttling
	// error (aws/retry's standard retryer), and a throttled network
	var w *wire
	client := newClient(t, motoEndpoint(t), func(next http.RoundTripper) http.RoundTripper { w = newWire(next); return w })
	s := mustNew(t, client, newTable(t, client))
	r := newRun()
	if _, _, err := s.Create(ctx(t), r); err != nil {
		t.Fatal(err)
	}

	// WHEN the first attempt of a claim and the first 3 of an append are
	// throttled (ProvisionedThroughputExceededException,
	// ThrottlingException)
	w.throttleNext("UpdateItem", "ProvisionedThroughputExceededException", 1)
	_, claimErr := s.Claim(ctx(t), r.ID, "w1", epoch, time.Minute)
	w.throttleNext("TransactWriteItems", "ThrottlingException", 3)
	appendErr := s.Append(ctx(t), r.ID, "w1", runs.Event{Seq: 1, Data: "x", At: epoch})

	// THEN the SDK's next attempt goes through (the store sent each once)
	if claimErr != nil || appendErr != nil {
		t.Fatalf("Claim: %v; Append: %v", claimErr, appendErr)
	}
	if w.count("UpdateItem") != 1 || w.count("TransactWriteItems") != 1 {
		t.Fatalf("sent %d UpdateItem, %d TransactWriteItems, want 1 each", w.count("UpdateItem"), w.count("TransactWriteItems"))
	}

	// AND throttled past its attempts, a call fails with the throttling
	// error, naming the run, and has changed nothing
	w.throttleNext("TransactWriteItems", "ThrottlingException", 4)
	err := s.Append(ctx(t), r.ID, "w1", runs.Event{Seq: 2, Data: "y", At: epoch})
	if err == nil || errors.Is(err, runs.ErrLeaseLost) || !containsAll(err.Error(), "append event 2 to run "+r.ID, "ThrottlingException") {
		t.Fatalf("Append throttled 4 times: %v", err)
	}
	if got, _ := s.Get(ctx(t), r.ID); got.Events != 1 {
		t.Fatalf("the run counts %d events after the failed append, want 1", got.Events)
	}
	if err := s.Append(ctx(t), r.ID, "w1", runs.Event{Seq: 2, Data: "y", At: epoch}); err != nil {
		t.Fatalf("Append after the throttling: %v", err)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

var _ = fmt.Sprint

// tokenOf returns the ClientRequestToken of a TransactWriteItems request.
func tokenOf(body string) string {
	var in struct{ ClientRequestToken string }
	_ = json.Unmarshal([]byte(body), &in)
	return in.ClientRequestToken
}
