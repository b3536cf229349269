// Package runstest holds the conformance suite every runs.Store must pass:
// the contract of runs.Store's doc comments, checked through its methods
// alone, so that the memory store and the DynamoDB store are held to one
// standard.
package runstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit/runs"
)

// lease is the lease the suite claims with; times are passed in, so
// nothing waits for it.
const lease = time.Minute

// epoch is the suite's clock: every time is epoch plus something.
var epoch = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// TestStore runs the conformance suite against stores newStore makes: one
// per subtest, empty or not (every subtest makes runs of its own IDs).
func TestStore(t *testing.T, newStore func(t *testing.T) runs.Store) {
	for _, tc := range []struct {
		name string
		f    func(*testing.T, runs.Store)
	}{
		{"CreateThenGet", createThenGet},
		{"CreateIsIdempotent", createIsIdempotent},
		{"CreateRefusesWhatIsNotANewRun", createRefuses},
		{"GetOfAMissingRunIsNotFound", getMissing},
		{"ClaimTakesAQueuedRun", claimQueued},
		{"ClaimRefusesAHeldRun", claimHeld},
		{"ClaimTakesOverAfterTheLease", claimAfterLease},
		{"AStaleHolderCannotWrite", staleHolder},
		{"RenewExtendsTheLease", renewExtends},
		{"ReleaseQueuesTheRunAgain", release},
		{"AppendKeepsOrderWithoutGaps", appendOrder},
		{"AppendRefusesWhatIsTooLarge", appendTooLarge},
		{"EventsPage", eventsPage},
		{"FinishEndsTheRunForGood", finishEnds},
		{"FinishRefusesABadEnd", finishRefuses},
		{"CancelAQueuedRun", cancelQueued},
		{"CancelARunningRun", cancelRunning},
		{"CancelAnEndedRunChangesNothing", cancelEnded},
		{"ConcurrentClaimsHaveOneWinner", concurrentClaims},
		{"ConcurrentAppendsOfAStaleAndALiveHolder", concurrentAppends},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, newStore(t)) })
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func newRun(where string) runs.Run {
	return runs.Run{
		ID: runs.NewID(), Caller: "alice", Where: where, Status: runs.Queued,
		Input:   json.RawMessage(`{"input":"hello"}`),
		Created: epoch, Expires: epoch.Add(7 * 24 * time.Hour),
	}
}

func create(t *testing.T, s runs.Store) runs.Run {
	t.Helper()
	r, created, err := s.Create(ctx(t), newRun(runs.OnWorker))
	if err != nil || !created {
		t.Fatalf("Create: created %v, %v", created, err)
	}
	return r
}

func claim(t *testing.T, s runs.Store, id, owner string, at time.Duration) runs.Run {
	t.Helper()
	r, err := s.Claim(ctx(t), id, owner, epoch.Add(at), lease)
	if err != nil {
		t.Fatalf("Claim by %s: %v", owner, err)
	}
	return r
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func get(t *testing.T, s runs.Store, id string) runs.Run {
	t.Helper()
	r, err := s.Get(ctx(t), id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return r
}

func createThenGet(t *testing.T, s runs.Store) {
	want := create(t, s)
	got := get(t, s, want.ID)
	if got.ID != want.ID || got.Caller != "alice" || got.Where != runs.OnWorker || got.Status != runs.Queued ||
		string(got.Input) != `{"input":"hello"}` || !got.Created.Equal(epoch) || got.Attempt != 0 || got.Events != 0 {
		t.Fatalf("Get returned %+v after creating %+v", got, want)
	}
}

func createIsIdempotent(t *testing.T, s runs.Store) {
	first := create(t, s)
	again := newRun(runs.OnWeb)
	again.ID, again.Input = first.ID, json.RawMessage(`{"input":"other"}`)
	got, created, err := s.Create(ctx(t), again)
	if err != nil || created {
		t.Fatalf("second Create: created %v, %v", created, err)
	}
	if got.Where != runs.OnWorker || string(got.Input) != `{"input":"hello"}` {
		t.Fatalf("second Create returned %+v, want the first run", got)
	}
}

func createRefuses(t *testing.T, s runs.Store) {
	for name, change := range map[string]func(*runs.Run){
		"bad ID":      func(r *runs.Run) { r.ID = "run/../x" },
		"running":     func(r *runs.Run) { r.Status = runs.Running },
		"attempted":   func(r *runs.Run) { r.Attempt = 1 },
		"where":       func(r *runs.Run) { r.Where = "moon" },
		"large input": func(r *runs.Run) { r.Input = json.RawMessage(`"` + strings.Repeat("x", runs.MaxInputBytes) + `"`) },
	} {
		r := newRun(runs.OnWorker)
		change(&r)
		if _, _, err := s.Create(ctx(t), r); err == nil {
			t.Errorf("Create of a run with a %s succeeded", name)
		}
	}
}

func getMissing(t *testing.T, s runs.Store) {
	_, err := s.Get(ctx(t), runs.NewID())
	wantErr(t, "Get of a missing run", err, runs.ErrNotFound)
	_, err = s.Events(ctx(t), runs.NewID(), 0, 10)
	wantErr(t, "Events of a missing run", err, runs.ErrNotFound)
	_, err = s.Cancel(ctx(t), runs.NewID(), epoch)
	wantErr(t, "Cancel of a missing run", err, runs.ErrNotFound)
}

func claimQueued(t *testing.T, s runs.Store) {
	r := create(t, s)
	got := claim(t, s, r.ID, "w1", time.Second)
	if got.Status != runs.Running || got.Owner != "w1" || got.Attempt != 1 ||
		!got.LeaseUntil.Equal(epoch.Add(time.Second+lease)) || !got.Started.Equal(epoch.Add(time.Second)) {
		t.Fatalf("Claim returned %+v", got)
	}
	if stored := get(t, s, r.ID); stored.Owner != "w1" || stored.Status != runs.Running || stored.Attempt != 1 {
		t.Fatalf("after Claim the store holds %+v", stored)
	}
}

func claimHeld(t *testing.T, s runs.Store) {
	r := create(t, s)
	claim(t, s, r.ID, "w1", 0)
	got, err := s.Claim(ctx(t), r.ID, "w2", epoch.Add(lease-time.Second), lease)
	wantErr(t, "Claim of a held run", err, runs.ErrNotClaimable)
	if got.Owner != "w1" || got.Status != runs.Running {
		t.Fatalf("refused Claim returned %+v, want the run as it is", got)
	}
}

func claimAfterLease(t *testing.T, s runs.Store) {
	r := create(t, s)
	claim(t, s, r.ID, "w1", 0)
	got := claim(t, s, r.ID, "w2", lease+time.Second)
	if got.Owner != "w2" || got.Attempt != 2 {
		t.Fatalf("takeover returned %+v, want w2 on attempt 2", got)
	}
}

func staleHolder(t *testing.T, s runs.Store) {
	r := create(t, s)
	claim(t, s, r.ID, "w1", 0)
	claim(t, s, r.ID, "w2", lease+time.Second)
	c := ctx(t)
	_, err := s.Renew(c, r.ID, "w1", epoch.Add(lease+2*time.Second), lease)
	wantErr(t, "Renew by the stale holder", err, runs.ErrLeaseLost)
	wantErr(t, "Append by the stale holder", s.Append(c, r.ID, "w1", runs.Event{Seq: 1, Data: "x", At: epoch}), runs.ErrLeaseLost)
	_, err = s.Finish(c, r.ID, "w1", runs.Succeeded, json.RawMessage(`1`), "", epoch.Add(lease+2*time.Second))
	wantErr(t, "Finish by the stale holder", err, runs.ErrLeaseLost)
	wantErr(t, "Release by the stale holder", s.Release(c, r.ID, "w1"), runs.ErrLeaseLost)
	if got := get(t, s, r.ID); got.Owner != "w2" || got.Status != runs.Running || got.Events != 0 {
		t.Fatalf("after the stale holder's writes the store holds %+v", got)
	}
}

func renewExtends(t *testing.T, s runs.Store) {
	r := create(t, s)
	claim(t, s, r.ID, "w1", 0)
	got, err := s.Renew(ctx(t), r.ID, "w1", epoch.Add(50*time.Second), lease)
	if err != nil || !got.LeaseUntil.Equal(epoch.Add(50*time.Second+lease)) {
		t.Fatalf("Renew: %+v, %v", got, err)
	}
	// The first lease has ended, the renewed one has not.
	_, err = s.Claim(ctx(t), r.ID, "w2", epoch.Add(lease+time.Second), lease)
	wantErr(t, "Claim under a renewed lease", err, runs.ErrNotClaimable)
}

func release(t *testing.T, s runs.Store) {
	r := create(t, s)
	claim(t, s, r.ID, "w1", 0)
	if err := s.Append(ctx(t), r.ID, "w1", runs.Event{Seq: 1, Data: "a", At: epoch}); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx(t), r.ID, "w1"); err != nil {
		t.Fatalf("Release: %v", err)
	}
	got := get(t, s, r.ID)
	if got.Status != runs.Queued || got.Owner != "" || got.Attempt != 1 || got.Events != 1 {
		t.Fatalf("after Release the store holds %+v", got)
	}
	// The next claim need not wait for the lease.
	if again := claim(t, s, r.ID, "w2", time.Second); again.Attempt != 2 || again.Events != 1 {
		t.Fatalf("claim after Release returned %+v", again)
	}
}

func appendEvents(t *testing.T, s runs.Store, id, owner string, from, to int64) {
	t.Helper()
	for i := from; i <= to; i++ {
		ev := runs.Event{Seq: i, Type: "step", Data: fmt.Sprintf("event %d", i), At: epoch.Add(time.Duration(i) * time.Millisecond)}
		if err := s.Append(ctx(t), id, owner, ev); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
}

func appendOrder(t *testing.T, s runs.Store) {
	r := create(t, s)
	claim(t, s, r.ID, "w1", 0)
	appendEvents(t, s, r.ID, "w1", 1, 3)
	c := ctx(t)
	for _, seq := range []int64{3, 5, 1} {
		err := s.Append(c, r.ID, "w1", runs.Event{Seq: seq, Data: "again", At: epoch})
		if err == nil {
			t.Fatalf("Append of event %d after 3 succeeded", seq)
		}
	}
	evs, err := s.Events(c, r.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("Events: %+v, want 3", evs)
	}
	for i, ev := range evs {
		if ev.Seq != int64(i+1) || ev.Type != "step" || ev.Data != fmt.Sprintf("event %d", i+1) || !ev.At.Equal(epoch.Add(time.Duration(i+1)*time.Millisecond)) {
			t.Fatalf("event %d is %+v", i+1, ev)
		}
	}
	if got := get(t, s, r.ID); got.Events != 3 {
		t.Fatalf("the run counts %d events, want 3", got.Events)
	}
}

func appendTooLarge(t *testing.T, s runs.Store) {
	r := create(t, s)
	claim(t, s, r.ID, "w1", 0)
	c := ctx(t)
	wantErr(t, "Append of data past MaxEventBytes",
		s.Append(c, r.ID, "w1", runs.Event{Seq: 1, Data: strings.Repeat("x", runs.MaxEventBytes+1), At: epoch}), runs.ErrTooLarge)
	wantErr(t, "Append past MaxEvents",
		s.Append(c, r.ID, "w1", runs.Event{Seq: runs.MaxEvents + 1, Data: "x", At: epoch}), runs.ErrTooLarge)
	if err := s.Append(c, r.ID, "w1", runs.Event{Seq: 1, Type: "a\nb", Data: "x", At: epoch}); err == nil {
		t.Fatal("Append of an event type with a line break succeeded")
	}
	if err := s.Append(c, r.ID, "w1", runs.Event{Seq: 1, Data: strings.Repeat("x", runs.MaxEventBytes), At: epoch}); err != nil {
		t.Fatalf("Append of MaxEventBytes: %v", err)
	}
}

func eventsPage(t *testing.T, s runs.Store) {
	r := create(t, s)
	claim(t, s, r.ID, "w1", 0)
	appendEvents(t, s, r.ID, "w1", 1, 7)
	c := ctx(t)
	var seen []int64
	for after := int64(0); ; {
		evs, err := s.Events(c, r.ID, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) > 3 {
			t.Fatalf("Events with limit 3 returned %d", len(evs))
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			seen = append(seen, ev.Seq)
		}
		after = evs[len(evs)-1].Seq
	}
	if fmt.Sprint(seen) != "[1 2 3 4 5 6 7]" {
		t.Fatalf("paged events %v", seen)
	}
	if evs, err := s.Events(c, r.ID, 7, 3); err != nil || len(evs) != 0 {
		t.Fatalf("Events after the last: %v, %v", evs, err)
	}
}

func finishEnds(t *testing.T, s runs.Store) {
	r := create(t, s)
	claim(t, s, r.ID, "w1", 0)
	at := epoch.Add(time.Minute / 2)
	got, err := s.Finish(ctx(t), r.ID, "w1", runs.Succeeded, json.RawMessage(`{"output":"hi"}`), "", at)
	if err != nil || got.Status != runs.Succeeded || string(got.Result) != `{"output":"hi"}` || !got.Ended.Equal(at) {
		t.Fatalf("Finish: %+v, %v", got, err)
	}
	c := ctx(t)
	_, err = s.Finish(c, r.ID, "w1", runs.Failed, nil, "again", at)
	wantErr(t, "a second Finish", err, runs.ErrLeaseLost)
	_, err = s.Claim(c, r.ID, "w2", epoch.Add(time.Hour), lease)
	wantErr(t, "Claim of an ended run", err, runs.ErrNotClaimable)
	wantErr(t, "Append to an ended run", s.Append(c, r.ID, "w1", runs.Event{Seq: 1, Data: "x", At: at}), runs.ErrLeaseLost)
	if stored := get(t, s, r.ID); stored.Status != runs.Succeeded || string(stored.Result) != `{"output":"hi"}` {
		t.Fatalf("the store holds %+v", stored)
	}
}

func finishRefuses(t *testing.T, s runs.Store) {
	r := create(t, s)
	claim(t, s, r.ID, "w1", 0)
	c := ctx(t)
	if _, err := s.Finish(c, r.ID, "w1", runs.Running, nil, "", epoch); err == nil {
		t.Error("Finish with a status that is not final succeeded")
	}
	big := json.RawMessage(`"` + strings.Repeat("x", runs.MaxResultBytes) + `"`)
	_, err := s.Finish(c, r.ID, "w1", runs.Succeeded, big, "", epoch)
	wantErr(t, "Finish with a result past MaxResultBytes", err, runs.ErrTooLarge)
	got, err := s.Finish(c, r.ID, "w1", runs.Failed, nil, strings.Repeat("é", runs.MaxErrorBytes), epoch)
	if err != nil || len(got.Error) > runs.MaxErrorBytes || !strings.HasPrefix(got.Error, "éé") {
		t.Fatalf("Finish with a long error: %d bytes, %v", len(got.Error), err)
	}
}

func cancelQueued(t *testing.T, s runs.Store) {
	r := create(t, s)
	got, err := s.Cancel(ctx(t), r.ID, epoch.Add(time.Second))
	if err != nil || got.Status != runs.Cancelled || !got.Ended.Equal(epoch.Add(time.Second)) {
		t.Fatalf("Cancel of a queued run: %+v, %v", got, err)
	}
	_, err = s.Claim(ctx(t), r.ID, "w1", epoch.Add(2*time.Second), lease)
	wantErr(t, "Claim of a cancelled run", err, runs.ErrNotClaimable)
}

func cancelRunning(t *testing.T, s runs.Store) {
	r := create(t, s)
	claim(t, s, r.ID, "w1", 0)
	got, err := s.Cancel(ctx(t), r.ID, epoch.Add(time.Second))
	if err != nil || got.Status != runs.Running || !got.CancelRequested {
		t.Fatalf("Cancel of a running run: %+v, %v", got, err)
	}
	renewed, err := s.Renew(ctx(t), r.ID, "w1", epoch.Add(2*time.Second), lease)
	if err != nil || !renewed.CancelRequested {
		t.Fatalf("Renew after Cancel: %+v, %v", renewed, err)
	}
	ended, err := s.Finish(ctx(t), r.ID, "w1", runs.Cancelled, nil, "cancelled", epoch.Add(3*time.Second))
	if err != nil || ended.Status != runs.Cancelled {
		t.Fatalf("Finish after Cancel: %+v, %v", ended, err)
	}
}

func cancelEnded(t *testing.T, s runs.Store) {
	r := create(t, s)
	claim(t, s, r.ID, "w1", 0)
	if _, err := s.Finish(ctx(t), r.ID, "w1", runs.Succeeded, json.RawMessage(`1`), "", epoch); err != nil {
		t.Fatal(err)
	}
	got, err := s.Cancel(ctx(t), r.ID, epoch.Add(time.Second))
	if err != nil || got.Status != runs.Succeeded || got.CancelRequested {
		t.Fatalf("Cancel of an ended run: %+v, %v", got, err)
	}
}

func concurrentClaims(t *testing.T, s runs.Store) {
	r := create(t, s)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.Claim(ctx(t), r.ID, fmt.Sprintf("w%d", i), epoch, lease)
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, runs.ErrNotClaimable):
			t.Errorf("claim %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d claims won, want 1", won)
	}
}

func concurrentAppends(t *testing.T, s runs.Store) {
	r := create(t, s)
	claim(t, s, r.ID, "stale", 0)
	claim(t, s, r.ID, "live", lease+time.Second)
	const n = 5
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := int64(1); i <= n; i++ {
			_ = s.Append(ctx(t), r.ID, "stale", runs.Event{Seq: i, Data: "stale", At: epoch})
		}
	})
	wg.Go(func() {
		for i := int64(1); i <= n; i++ {
			if err := s.Append(ctx(t), r.ID, "live", runs.Event{Seq: i, Data: "live", At: epoch}); err != nil {
				t.Errorf("live Append %d: %v", i, err)
			}
		}
	})
	wg.Wait()
	evs, err := s.Events(ctx(t), r.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != n {
		t.Fatalf("%d events, want %d", len(evs), n)
	}
	for _, ev := range evs {
		if ev.Data != "live" {
			t.Fatalf("event %d was written by the stale holder", ev.Seq)
		}
	}
}
