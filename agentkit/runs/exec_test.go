package runs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/runs"
)

// lease is the shortest lease an Executor takes: tests that wait for one
// to end wait a second.
const lease = time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func queued(t *testing.T, s runs.Store, where string) runs.Run {
	t.Helper()
	now := time.Now().UTC()
	r, _, err := s.Create(context.Background(), runs.Run{ID: runs.NewID(), Caller: "alice", Where: where,
		Status: runs.Queued, Input: json.RawMessage(`{"n":3}`), Created: now, Expires: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func executor(s runs.Store, owner string, h runs.Handler) *runs.Executor {
	return &runs.Executor{Store: s, Handler: h, Owner: owner, Lease: lease, Logger: quiet}
}

func stored(t *testing.T, s runs.Store, id string) (runs.Run, []runs.Event) {
	t.Helper()
	r, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(context.Background(), id, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return r, evs
}

func within(t *testing.T, d time.Duration, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("%s did not happen within %s", what, d)
	}
}

func TestExecuteRunsTheHandlerOnceAndEndsTheRun(t *testing.T) {
	t.Parallel()
	// GIVEN a queued run and a handler that emits three events
	s := &runs.MemoryStore{}
	r := queued(t, s, runs.OnWorker)
	var calls atomic.Int32
	var ended []runs.Run
	e := executor(s, "w1", func(ctx context.Context, r runs.Run, emit runs.Emit) (json.RawMessage, error) {
		calls.Add(1)
		for i := range 3 {
			if err := emit("step", fmt.Sprint(i)); err != nil {
				return nil, err
			}
		}
		return json.RawMessage(`{"answer":42}`), nil
	})
	e.Ended = func(r runs.Run) { ended = append(ended, r) }

	// WHEN it is executed twice (a redelivered message)
	first := e.Execute(context.Background(), r.ID)
	second := e.Execute(context.Background(), r.ID)

	// THEN the run succeeded once, with its events in order, and the
	// second execution did nothing
	if first != nil || second != nil || calls.Load() != 1 {
		t.Fatalf("Execute: %v, then %v; handler called %d times", first, second, calls.Load())
	}
	got, evs := stored(t, s, r.ID)
	if len(ended) != 1 || ended[0].Status != runs.Succeeded || ended[0].ID != r.ID {
		t.Fatalf("Ended called with %+v, want the run once", ended)
	}
	if got.Status != runs.Succeeded || string(got.Result) != `{"answer":42}` || got.Attempt != 1 || len(evs) != 3 {
		t.Fatalf("run %+v, events %+v", got, evs)
	}
	for i, ev := range evs {
		if ev.Seq != int64(i+1) || ev.Data != fmt.Sprint(i) || ev.Type != "step" {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
}

func TestExecuteLeavesARunHeldByAnotherAlone(t *testing.T) {
	t.Parallel()
	// GIVEN a run another worker holds under a live lease
	s := &runs.MemoryStore{}
	r := queued(t, s, runs.OnWorker)
	if _, err := s.Claim(context.Background(), r.ID, "other", time.Now(), time.Hour); err != nil {
		t.Fatal(err)
	}
	called := false
	e := executor(s, "w1", func(context.Context, runs.Run, runs.Emit) (json.RawMessage, error) {
		called = true
		return nil, nil
	})

	// WHEN it is executed
	err := e.Execute(context.Background(), r.ID)

	// THEN Execute says it is held, for a retry later, and runs nothing
	if !errors.Is(err, runs.ErrHeld) || !errors.Is(err, runs.ErrNotClaimable) || called {
		t.Fatalf("Execute: %v, handler called %v", err, called)
	}
}

func TestEndings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		handler   runs.Handler
		cause     error // of Execute's context, once the handler runs
		wantErr   error // of Execute, nil for none
		status    runs.Status
		errorText string
	}{
		{"an error fails the run", func(context.Context, runs.Run, runs.Emit) (json.RawMessage, error) {
			return nil, errors.New("the model refused")
		}, nil, nil, runs.Failed, "the model refused"},
		{"a panic fails the run", func(context.Context, runs.Run, runs.Emit) (json.RawMessage, error) {
			panic("boom")
		}, nil, nil, runs.Failed, "the handler panicked: boom"},
		{"a result past MaxResultBytes fails the run", func(context.Context, runs.Run, runs.Emit) (json.RawMessage, error) {
			return json.RawMessage(`"` + strings.Repeat("x", runs.MaxResultBytes) + `"`), nil
		}, nil, nil, runs.Failed, fmt.Sprintf("runs: the result of %d bytes is larger than %d", runs.MaxResultBytes+2, runs.MaxResultBytes)},
		{"a result that is not JSON fails the run", func(context.Context, runs.Run, runs.Emit) (json.RawMessage, error) {
			return json.RawMessage(`{oops`), nil
		}, nil, nil, runs.Failed, "runs: the handler's result is not a JSON value"},
		{"the time limit fails the run", waitForEnd, runs.ErrTimeLimit, nil, runs.Failed, runs.ErrTimeLimit.Error()},
		{"the drain releases the run", waitForEnd, agentkit.ErrDrainTimeout, agentkit.ErrDrainTimeout, runs.Queued, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// GIVEN a queued run
			s := &runs.MemoryStore{}
			r := queued(t, s, runs.OnWorker)
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			started := make(chan struct{})
			h := func(c context.Context, r runs.Run, emit runs.Emit) (json.RawMessage, error) {
				close(started)
				return tc.handler(c, r, emit)
			}
			if tc.cause != nil {
				go func() { <-started; cancel(tc.cause) }()
			}

			// WHEN it is executed
			err := executor(s, "w1", h).Execute(ctx, r.ID)

			// THEN it ends (or not) as the table says
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Execute: %v, want %v", err, tc.wantErr)
			}
			got, _ := stored(t, s, r.ID)
			if got.Status != tc.status || got.Error != tc.errorText || got.Result != nil {
				t.Fatalf("run %s %q %s, want %s %q", got.Status, got.Error, got.Result, tc.status, tc.errorText)
			}
			if tc.status == runs.Queued {
				// AND a released run is claimed again at once
				if again, err := s.Claim(context.Background(), r.ID, "w2", time.Now(), lease); err != nil || again.Attempt != 2 {
					t.Fatalf("claim after the release: %+v, %v", again, err)
				}
			}
		})
	}
}

func waitForEnd(ctx context.Context, _ runs.Run, _ runs.Emit) (json.RawMessage, error) {
	<-ctx.Done()
	return nil, context.Cause(ctx)
}

func TestACancelReachesTheHandlerAtTheNextRenewal(t *testing.T) {
	t.Parallel()
	// GIVEN a running run whose handler waits for its context
	s := &runs.MemoryStore{}
	r := queued(t, s, runs.OnWorker)
	started, cause := make(chan struct{}), make(chan error, 1)
	e := executor(s, "w1", func(ctx context.Context, _ runs.Run, emit runs.Emit) (json.RawMessage, error) {
		close(started)
		<-ctx.Done()
		cause <- context.Cause(ctx)
		return nil, ctx.Err()
	})
	done := make(chan error, 1)
	go func() { done <- e.Execute(context.Background(), r.ID) }()
	within(t, 5*time.Second, "the handler's start", started)

	// WHEN its caller cancels it
	if _, err := s.Cancel(context.Background(), r.ID, time.Now()); err != nil {
		t.Fatal(err)
	}

	// THEN the handler's context ends with ErrCancelled within a renewal
	// (a third of the lease), and the run ends Cancelled
	select {
	case c := <-cause:
		if !errors.Is(c, runs.ErrCancelled) {
			t.Fatalf("cause %v", c)
		}
	case <-time.After(lease + 5*time.Second):
		t.Fatal("the cancel did not reach the handler")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, _ := stored(t, s, r.ID); got.Status != runs.Cancelled || got.Error != runs.ErrCancelled.Error() {
		t.Fatalf("run %+v", got)
	}
}

// faulty wraps a store; calls by the owners in failFor fail (or, with
// stall, wait for their context), as a network or a store outage does for
// one process.
type faulty struct {
	runs.Store
	mu      sync.Mutex
	failFor map[string]bool
	stall   bool
	// appendFailures makes the next n Appends and Finishes fail once each.
	appendFailures, finishFailures int
	// finishLost makes the next n Finishes take effect and fail, as a
	// call whose answer is lost does.
	finishLost int
}

var errOutage = errors.New("store unavailable")

func (f *faulty) fail(ctx context.Context, owner string) error {
	f.mu.Lock()
	failing, stall := f.failFor[owner], f.stall
	f.mu.Unlock()
	if !failing {
		return nil
	}
	if stall {
		<-ctx.Done()
		return ctx.Err()
	}
	return errOutage
}

func (f *faulty) Renew(ctx context.Context, id, owner string, now time.Time, l time.Duration) (runs.Run, error) {
	if err := f.fail(ctx, owner); err != nil {
		return runs.Run{}, err
	}
	return f.Store.Renew(ctx, id, owner, now, l)
}

func (f *faulty) Append(ctx context.Context, id, owner string, ev runs.Event) error {
	if err := f.fail(ctx, owner); err != nil {
		return err
	}
	f.mu.Lock()
	failOnce := f.appendFailures > 0
	f.appendFailures--
	f.mu.Unlock()
	if failOnce {
		return errOutage
	}
	return f.Store.Append(ctx, id, owner, ev)
}

func (f *faulty) Finish(ctx context.Context, id, owner string, st runs.Status, res json.RawMessage, e string, now time.Time) (runs.Run, error) {
	if err := f.fail(ctx, owner); err != nil {
		return runs.Run{}, err
	}
	f.mu.Lock()
	failOnce := f.finishFailures > 0
	f.finishFailures--
	f.mu.Unlock()
	if failOnce {
		return runs.Run{}, errOutage
	}
	f.mu.Lock()
	lose := f.finishLost > 0
	f.finishLost--
	f.mu.Unlock()
	r, err := f.Store.Finish(ctx, id, owner, st, res, e, now)
	if lose {
		return runs.Run{}, errOutage
	}
	return r, err
}

func TestARunWhoseHolderCannotRenewIsTakenOverAndTheOldHolderWritesNothing(t *testing.T) {
	for _, stall := range []bool{false, true} {
		t.Run(fmt.Sprintf("stall=%v", stall), func(t *testing.T) {
			t.Parallel()
			// GIVEN a run executed by w1, which emits one event and then
			// loses the store (refused, or stalled) for every call
			s := &faulty{Store: &runs.MemoryStore{}, failFor: map[string]bool{}, stall: stall}
			r := queued(t, s, runs.OnWorker)
			emitted, lost := make(chan struct{}), make(chan error, 1)
			var lateEmit error
			w1 := executor(s, "w1", func(ctx context.Context, _ runs.Run, emit runs.Emit) (json.RawMessage, error) {
				if err := emit("step", "w1's first"); err != nil {
					return nil, err
				}
				close(emitted)
				<-ctx.Done()
				lost <- context.Cause(ctx)
				lateEmit = emit("step", "w1 after its loss")
				return json.RawMessage(`"w1"`), nil
			})
			first := make(chan error, 1)
			go func() { first <- w1.Execute(context.Background(), r.ID) }()
			within(t, 5*time.Second, "w1's first event", emitted)
			s.mu.Lock()
			s.failFor["w1"] = true
			s.mu.Unlock()

			// WHEN its lease ends
			select {
			case c := <-lost:
				if !errors.Is(c, runs.ErrLeaseLost) {
					t.Fatalf("w1's cause %v", c)
				}
			case <-time.After(lease + 5*time.Second):
				t.Fatal("w1's handler was not cancelled after its lease")
			}
			if err := <-first; !errors.Is(err, runs.ErrLeaseLost) {
				t.Fatalf("w1's Execute: %v", err)
			}

			// THEN w2 takes the run over on attempt 2, after w1's event
			var seen runs.Run
			w2 := executor(s, "w2", func(ctx context.Context, r runs.Run, emit runs.Emit) (json.RawMessage, error) {
				seen = r
				return json.RawMessage(`"w2"`), emit("step", "w2's")
			})
			if err := w2.Execute(context.Background(), r.ID); err != nil {
				t.Fatal(err)
			}
			got, evs := stored(t, s, r.ID)
			if seen.Attempt != 2 || seen.Events != 1 || got.Status != runs.Succeeded || string(got.Result) != `"w2"` {
				t.Fatalf("w2 saw %+v; the run is %+v", seen, got)
			}
			if len(evs) != 2 || evs[0].Data != "w1's first" || evs[1].Data != "w2's" || lateEmit == nil {
				t.Fatalf("events %+v; w1's late emit: %v", evs, lateEmit)
			}
		})
	}
}

func TestStoreFailuresAreRetriedWithinTheLease(t *testing.T) {
	t.Parallel()
	// GIVEN a store whose first two Appends and first Finish fail
	s := &faulty{Store: &runs.MemoryStore{}, appendFailures: 2, finishFailures: 1}
	r := queued(t, s, runs.OnWorker)
	e := executor(s, "w1", func(ctx context.Context, _ runs.Run, emit runs.Emit) (json.RawMessage, error) {
		return json.RawMessage(`1`), emit("", "once")
	})

	// WHEN the run executes
	err := e.Execute(context.Background(), r.ID)

	// THEN the event is stored once and the run ends
	got, evs := stored(t, s, r.ID)
	if err != nil || got.Status != runs.Succeeded || len(evs) != 1 || evs[0].Data != "once" {
		t.Fatalf("Execute %v; run %+v; events %+v", err, got, evs)
	}
}

func TestARunCancelledBeforeItsClaimEndsWithoutRunning(t *testing.T) {
	t.Parallel()
	// GIVEN a running run whose caller cancelled it, released at a drain
	s := &runs.MemoryStore{}
	r := queued(t, s, runs.OnWorker)
	if _, err := s.Claim(context.Background(), r.ID, "w0", time.Now(), lease); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Cancel(context.Background(), r.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(context.Background(), r.ID, "w0"); err != nil {
		t.Fatal(err)
	}

	// WHEN the next worker claims it
	var cause error
	err := executor(s, "w1", func(ctx context.Context, _ runs.Run, _ runs.Emit) (json.RawMessage, error) {
		cause = context.Cause(ctx)
		return nil, ctx.Err()
	}).Execute(context.Background(), r.ID)

	// THEN the handler starts cancelled and the run ends Cancelled
	if got, _ := stored(t, s, r.ID); err != nil || !errors.Is(cause, runs.ErrCancelled) || got.Status != runs.Cancelled {
		t.Fatalf("Execute %v, cause %v, run %+v", err, cause, got)
	}
}

func TestExecutorRefusesABadConfiguration(t *testing.T) {
	t.Setenv(agentkit.EnvRunLease, "2h")
	s := &runs.MemoryStore{}
	h := func(context.Context, runs.Run, runs.Emit) (json.RawMessage, error) { return nil, nil }
	for _, c := range []struct {
		e    *runs.Executor
		want string
	}{
		{&runs.Executor{Handler: h}, "runs: an Executor needs a Store and a Handler"},
		{&runs.Executor{Store: s, Handler: h, Lease: time.Millisecond}, "runs: Executor.Lease 1ms is not from 1s to 15m0s"},
		{&runs.Executor{Store: s, Handler: h}, `runs: AGENTKIT_RUN_LEASE "2h" is not a duration from 1s to 15m0s`},
	} {
		if err := c.e.Execute(context.Background(), runs.NewID()); err == nil || err.Error() != c.want {
			t.Errorf("Execute: %v, want %q", err, c.want)
		}
	}
}

func TestAFinishWhoseAnswerWasLostEndsTheRunOnce(t *testing.T) {
	t.Parallel()
	// GIVEN a store that takes the first Finish and loses its answer
	s := &faulty{Store: &runs.MemoryStore{}, finishLost: 1}
	r := queued(t, s, runs.OnWorker)
	var ended []runs.Run
	e := executor(s, "w1", func(context.Context, runs.Run, runs.Emit) (json.RawMessage, error) {
		return json.RawMessage(`"ok"`), nil
	})
	e.Ended = func(r runs.Run) { ended = append(ended, r) }

	// WHEN the run executes
	err := e.Execute(context.Background(), r.ID)

	// THEN the retried Finish finds the run ended as it asked: that is its
	// end, reported once
	if got, _ := stored(t, s, r.ID); err != nil || len(ended) != 1 || got.Status != runs.Succeeded {
		t.Fatalf("Execute %v; Ended %d times; run %+v", err, len(ended), got)
	}
}

func TestAnEventTheStoreRefusesUntilTheLeaseEndsLosesTheRunInsteadOfFailingIt(t *testing.T) {
	t.Parallel()
	// GIVEN a store whose Appends fail for longer than the lease
	s := &faulty{Store: &runs.MemoryStore{}, appendFailures: 1 << 20}
	r := queued(t, s, runs.OnWorker)
	var cause error
	e := executor(s, "w1", func(ctx context.Context, _ runs.Run, emit runs.Emit) (json.RawMessage, error) {
		err := emit("step", "x")
		cause = context.Cause(ctx)
		return nil, err
	})

	// WHEN the run executes
	err := e.Execute(context.Background(), r.ID)

	// THEN the handler is cancelled as for a lost lease, the run is not
	// ended Failed for the store's fault, and a later holder takes it over
	if !errors.Is(err, runs.ErrLeaseLost) || !errors.Is(cause, runs.ErrLeaseLost) {
		t.Fatalf("Execute %v, cause %v", err, cause)
	}
	if got, _ := stored(t, s, r.ID); got.Status != runs.Running {
		t.Fatalf("run %+v, want it still running, for a takeover", got)
	}
}
