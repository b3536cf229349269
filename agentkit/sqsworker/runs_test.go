package sqsworker_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit/runs"
	"github.com/agentcdk/agentcdk/agentkit/sqsworker"
)

func TestRunsExecutesTheRunTheMessageNames(t *testing.T) {
	t.Parallel()
	s := &runs.MemoryStore{}
	newRun := func() string {
		now := time.Now()
		r, _, err := s.Create(context.Background(), runs.Run{ID: runs.NewID(), Where: runs.OnWorker, Status: runs.Queued,
			Input: json.RawMessage(`{}`), Created: now, Expires: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	started := make(chan struct{}, 1)
	h := sqsworker.Runs(&runs.Executor{Store: s, Owner: "w", Lease: time.Minute,
		Handler: func(ctx context.Context, r runs.Run, _ runs.Emit) (json.RawMessage, error) {
			if string(r.Input) == `{}` && ctx.Err() == nil && len(started) == 0 {
				started <- struct{}{}
			}
			<-ctx.Done()
			return nil, ctx.Err()
		}})

	// GIVEN a job whose time limit passes while its run executes
	id := newRun()
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() { <-started; cancel(sqsworker.ErrJobTimeout) }()

	// WHEN the handler runs it
	err := h(ctx, sqsworker.Message{ID: "m1", Body: id + "\n"})

	// THEN the run ends Failed at its time limit, and the message is done with
	r, _ := s.Get(context.Background(), id)
	if err != nil || r.Status != runs.Failed || r.Error != runs.ErrTimeLimit.Error() {
		t.Fatalf("handler: %v; run %s %q", err, r.Status, r.Error)
	}
	// AND a redelivery of the ended run does nothing
	if err := h(context.Background(), sqsworker.Message{ID: "m1", Body: id}); err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	// AND a duplicate message of a run another worker holds is done with
	held := newRun()
	if _, err := s.Claim(context.Background(), held, "other", time.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := h(context.Background(), sqsworker.Message{ID: "m4", Body: held, ReceiveCount: 1}); err != nil {
		t.Fatalf("duplicate of a held run: %v", err)
	}
	// AND a redelivery that finds the run held (the holder's own message,
	// back after the holder died, before its lease ended) comes back later
	if err := h(context.Background(), sqsworker.Message{ID: "m5", Body: held, ReceiveCount: 2}); !errors.Is(err, runs.ErrHeld) {
		t.Fatalf("redelivery of a held run: %v, want ErrHeld so that it is retried", err)
	}
	// AND a body that is not a run ID is an error, for the dead-letter queue
	if err := h(context.Background(), sqsworker.Message{ID: "m2", Body: "hello"}); err == nil {
		t.Fatal("a body that is not a run ID was accepted")
	}
	// AND the drain's cancel releases the run for the next delivery
	id = newRun()
	dctx, dcancel := context.WithCancelCause(context.Background())
	go func() { <-started; dcancel(errors.New("drain")) }()
	if err := h(dctx, sqsworker.Message{ID: "m3", Body: id}); err == nil {
		t.Fatal("a released run's message was settled as done")
	}
	if r, _ := s.Get(context.Background(), id); r.Status != runs.Queued {
		t.Fatalf("run after the drain: %s", r.Status)
	}
}
