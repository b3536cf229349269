package runs

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/internal/meter"
)

// ErrHeld is returned by Executor.Execute for a run that another holder
// runs under a lease that has not ended: that holder executes it, and
// brings it back if it dies (sqsworker.Runs deletes a first delivery of
// such a duplicate message). It wraps ErrNotClaimable.
var ErrHeld = fmt.Errorf("%w: running under another holder's lease", ErrNotClaimable)

// ErrTimeLimit, as the cause of the context given to Execute, ends the run
// Failed ("the run ran past its time limit") instead of releasing it for
// another attempt. The queue worker's adapter gives it when the job's time
// limit passes.
var ErrTimeLimit = errors.New("runs: the run ran past its time limit")

// A Handler executes one run: it reads r.Input, reports progress with
// emit, and returns the run's result, a JSON value of at most
// MaxResultBytes, or an error, which ends the run Failed with the error's
// text (a failed run is not retried: retrying a step is the handler's
// business).
//
// r.Attempt is 1 unless the run was taken over from a holder that stopped
// without ending it (see Executor); then r.Events events of the earlier
// attempts are stored, and the handler may read them (Store.Events) to
// resume, or start again: its own events follow them either way.
//
// ctx ends when the run must stop: its cause is ErrCancelled when its
// caller cancelled it, ErrLeaseLost when this holder lost it, or the cause
// of Execute's context (the drain, a time limit). The handler returns soon
// after; what it returns then is not stored, but for a cancel.
type Handler func(ctx context.Context, r Run, emit Emit) (json.RawMessage, error)

// Emit stores one event of the run, in order, before it returns: an event
// that Emit accepted is one every reader of the run will see. eventType
// may be empty ("message"). It fails when the run has stopped (the
// handler's context ended), when the event is out of bounds (MaxEventBytes,
// MaxEventType, MaxEvents: ErrTooLarge), or when the store failed for as
// long as the lease allows retrying.
type Emit func(eventType, data string) error

// An Executor executes runs one claim at a time: it claims the run in the
// Store, renews its lease every third of Lease while the Handler runs,
// stores the events the handler emits, and ends the run with what the
// handler returns. Every write is conditional on holding the run, so a
// run is executed by one holder at a time, its events are stored once and
// in order, and it ends once:
//
//   - a run that is ended already is left alone (Execute returns nil);
//   - a run that another holds under a lease that has not ended is left
//     alone (ErrHeld);
//   - a run whose holder stopped renewing (its process was killed) is taken
//     over once its lease has ended: Attempt counts one more, and the
//     handler runs again with the events stored so far (the takeover rule:
//     resume from the stored events, or start again after them);
//   - a holder whose renewals fail until its lease ends, or that finds the
//     run taken over, cancels its handler (cause ErrLeaseLost) and writes
//     nothing more;
//   - a cancel reaches the handler at the next renewal (cause ErrCancelled),
//     and the run ends Cancelled;
//   - when Execute's context ends (the drain's cancel point), the run is
//     released, queued again for the next claim, which need not wait for the
//     lease; a time limit (cause ErrTimeLimit) ends it Failed instead.
//
// The zero Executor is not usable: Store and Handler are required.
type Executor struct {
	// Store keeps the runs.
	Store Store
	// Handler executes a run.
	Handler Handler
	// Owner names this holder in the store. Default: the host name, the
	// process ID and a random suffix.
	Owner string
	// Lease is how long a claim lasts unless renewed. Default: the
	// AGENTKIT_RUN_LEASE environment variable (set by the construct), or
	// agentkit.DefaultRunLease.
	Lease time.Duration
	// Logger receives the executor's warnings. Default: slog.Default().
	Logger *slog.Logger
	// Ended, when set, is called with each run this Executor ended, once
	// the store has taken the end, which happens once per run whatever its
	// deliveries and takeovers (a place for a log line or a notification).
	// It runs on Execute's goroutine before Execute returns, at most once
	// per run: not when the process dies between the end and the call, nor
	// when the store's answers were lost until past the lease and a last
	// read could not tell that the end was stored. A caller that must hear
	// of every end reads the run (GET /runs/{id}, or its stream's "end").
	Ended func(Run)

	once    sync.Once
	initErr error
	now     func() time.Time
}

// RunLeaseFromEnv returns the lease in AGENTKIT_RUN_LEASE, or
// agentkit.DefaultRunLease when it is unset; an error names the variable
// when it is not a duration from agentkit.MinRunLease to
// agentkit.MaxRunLease.
func RunLeaseFromEnv() (time.Duration, error) {
	return durationFromEnv(agentkit.EnvRunLease, agentkit.DefaultRunLease, agentkit.MinRunLease, agentkit.MaxRunLease)
}

// RetentionFromEnv returns how long a store keeps a run, from
// AGENTKIT_RUN_RETENTION, or agentkit.DefaultRunRetention when it is
// unset; an error names the variable when it is not a positive duration.
func RetentionFromEnv() (time.Duration, error) {
	return durationFromEnv(agentkit.EnvRunRetention, agentkit.DefaultRunRetention, time.Second, 100*365*24*time.Hour)
}

func durationFromEnv(name string, def, lo, hi time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		return 0, fmt.Errorf("runs: %s %q is not a duration from %s to %s", name, v, lo, hi)
	}
	return d, nil
}

func (e *Executor) init() error {
	e.once.Do(func() {
		if e.Store == nil || e.Handler == nil {
			e.initErr = errors.New("runs: an Executor needs a Store and a Handler")
			return
		}
		if e.Lease == 0 {
			e.Lease, e.initErr = RunLeaseFromEnv()
		} else if e.Lease < agentkit.MinRunLease || e.Lease > agentkit.MaxRunLease {
			e.initErr = fmt.Errorf("runs: Executor.Lease %s is not from %s to %s", e.Lease, agentkit.MinRunLease, agentkit.MaxRunLease)
		}
		if e.Owner == "" {
			e.Owner = defaultOwner()
		}
		if e.Logger == nil {
			e.Logger = slog.Default()
		}
		if e.now == nil {
			e.now = time.Now
		}
	})
	return e.initErr
}

func defaultOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Execute claims the run with that ID and executes it, as the Executor's
// doc says. It returns nil when the run is ended (by this call or before
// it), ErrHeld when another holds it, and otherwise an error saying why the
// run is not ended: released at the end of ctx, lost, or the store failing.
// A queue worker deletes the run's message on nil and on a first
// delivery's ErrHeld, and lets it come back otherwise.
func (e *Executor) Execute(ctx context.Context, id string) error {
	if err := e.init(); err != nil {
		return err
	}
	r, err := e.call(ctx, func(c context.Context) (Run, error) {
		return e.Store.Claim(c, id, e.Owner, e.now(), e.Lease)
	})
	switch {
	case errors.Is(err, ErrNotClaimable) && r.Status.Ended():
		return nil
	case errors.Is(err, ErrNotClaimable):
		return fmt.Errorf("run %s: %w", id, ErrHeld)
	case err != nil:
		return fmt.Errorf("runs: claim run %s: %w", id, err)
	}
	m := meter.FromContext(ctx)
	if m != nil {
		m.RunStarted()
	}
	status, err := e.hold(ctx, r)
	if m != nil {
		m.RunStopped(string(status))
	}
	return err
}

// hold executes the run it claimed and ends or releases it; it returns the
// run's final status, or "" when it did not end it.
func (e *Executor) hold(ctx context.Context, r Run) (Status, error) {
	h := &holding{e: e, r: r, until: r.Started.Add(e.Lease)}
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	h.stop = stop
	if r.CancelRequested {
		stop(ErrCancelled)
	}
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		h.renew(runCtx, stop)
	}()
	result, herr := e.run(runCtx, r, h.emit(runCtx))
	stop(context.Canceled)
	<-renewed

	cause := context.Cause(runCtx)
	switch {
	case errors.Is(cause, ErrLeaseLost):
		return "", fmt.Errorf("run %s: %w", r.ID, ErrLeaseLost)
	case errors.Is(cause, ErrCancelled):
		return h.finish(ctx, Cancelled, nil, ErrCancelled.Error())
	case errors.Is(cause, ErrTimeLimit):
		return h.finish(ctx, Failed, nil, ErrTimeLimit.Error())
	case ctx.Err() != nil:
		return "", h.release(ctx, context.Cause(ctx))
	case herr != nil:
		return h.finish(ctx, Failed, nil, herr.Error())
	case len(result) > MaxResultBytes:
		return h.finish(ctx, Failed, nil, fmt.Sprintf("runs: the result of %d bytes is larger than %d", len(result), MaxResultBytes))
	case len(result) > 0 && !json.Valid(result):
		return h.finish(ctx, Failed, nil, "runs: the handler's result is not a JSON value")
	}
	return h.finish(ctx, Succeeded, result, "")
}

// run calls the handler, turning a panic into an error.
func (e *Executor) run(ctx context.Context, r Run, emit Emit) (result json.RawMessage, err error) {
	defer func() {
		if p := recover(); p != nil {
			e.Logger.Error("runs: handler panicked", "run", r.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			result, err = nil, fmt.Errorf("the handler panicked: %v", p)
		}
	}()
	return e.Handler(ctx, r, emit)
}

// callTimeout bounds one store call: a third of the lease, so that a
// stalled call leaves time for a retry before the lease ends.
func (e *Executor) callTimeout() time.Duration { return e.Lease / 3 }

// call makes one store call under callTimeout.
func (e *Executor) call(ctx context.Context, f func(context.Context) (Run, error)) (Run, error) {
	c, cancel := context.WithTimeout(ctx, e.callTimeout())
	defer cancel()
	return f(c)
}

// errLeaseEnded: the store failed for as long as the lease lasted.
var errLeaseEnded = errors.New("the store failed until the lease's end")

// holding is one claim of a run.
type holding struct {
	e *Executor
	r Run

	mu    sync.Mutex
	until time.Time // the lease's end, as far as this holder knows
	seq   int64     // the last event stored
	ended Run       // the run as Finish ended it
	stop  context.CancelCauseFunc
}

// lost stops the run: this holder no longer holds it, or cannot show it.
func (h *holding) lost(why error) {
	h.e.Logger.Error("runs: this holder lost the run; its handler is cancelled, and it writes nothing more", "run", h.r.ID, "error", why)
	h.stop(ErrLeaseLost)
}

func (h *holding) leaseEnd() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.until
}

// renew extends the lease every third of it until ctx ends; it stops the
// run when the lease is lost or a cancel is asked for.
func (h *holding) renew(ctx context.Context, stop context.CancelCauseFunc) {
	e := h.e
	every := e.Lease / 3
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := e.now()
		r, err := e.call(ctx, func(c context.Context) (Run, error) {
			return e.Store.Renew(c, h.r.ID, e.Owner, now, e.Lease)
		})
		switch {
		case err == nil:
			h.mu.Lock()
			h.until = now.Add(e.Lease)
			h.mu.Unlock()
			if r.CancelRequested {
				stop(ErrCancelled)
				return
			}
		case errors.Is(err, ErrLeaseLost), errors.Is(err, ErrNotFound):
			e.Logger.Error("runs: the run was taken from this holder; its handler is cancelled", "run", h.r.ID, "error", err)
			stop(ErrLeaseLost)
			return
		case ctx.Err() != nil:
			return
		default:
			if !e.now().Before(h.leaseEnd()) {
				e.Logger.Error("runs: the lease ended while renewals failed; the run may be taken over, and its handler is cancelled", "run", h.r.ID, "error", err)
				stop(ErrLeaseLost)
				return
			}
			e.Logger.Warn("runs: lease renewal failed; retrying", "run", h.r.ID, "error", err)
		}
		t.Reset(min(every, max(h.leaseEnd().Sub(e.now())/2, 10*time.Millisecond)))
	}
}

// emit returns the run's Emit: each event is appended with the next seq,
// retried on a store failure while the run goes on.
func (h *holding) emit(ctx context.Context) Emit {
	var mu sync.Mutex
	h.seq = h.r.Events
	return func(eventType, data string) error {
		mu.Lock()
		defer mu.Unlock()
		ev := Event{Seq: h.seq + 1, Type: eventType, Data: data, At: h.e.now().UTC()}
		if err := CheckEvent(ev); err != nil {
			return err
		}
		err := h.retry(ctx, func(c context.Context) error { return h.e.Store.Append(c, h.r.ID, h.e.Owner, ev) })
		if errors.Is(err, errLeaseEnded) || errors.Is(err, ErrLeaseLost) || errors.Is(err, ErrNotFound) {
			// This holder can no longer show that it holds the run: it
			// stops, and writes nothing more; the run is taken over.
			h.lost(err)
		}
		if err != nil {
			return fmt.Errorf("runs: event %d of run %s: %w", ev.Seq, h.r.ID, err)
		}
		h.seq = ev.Seq
		return nil
	}
}

// retry calls f until it succeeds, fails for good (the run is lost or the
// request is bad), ctx ends, or the lease ends.
func (h *holding) retry(ctx context.Context, f func(context.Context) error) error {
	for attempt := 0; ; attempt++ {
		c, cancel := context.WithTimeout(ctx, h.e.callTimeout())
		err := f(c)
		cancel()
		if err == nil || errors.Is(err, ErrLeaseLost) || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrNotFound) {
			return err
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		wait := min(50*time.Millisecond<<min(attempt, 6), time.Second)
		if !h.e.now().Add(wait).Before(h.leaseEnd()) {
			return fmt.Errorf("%w: %w", errLeaseEnded, err)
		}
		h.e.Logger.Warn("runs: store call failed; retrying", "run", h.r.ID, "error", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(wait):
		}
	}
}

// finish ends the run, retrying while the lease lasts; ctx's end does not
// stop it (the drain still lets a run end), the lease does.
func (h *holding) finish(ctx context.Context, status Status, result json.RawMessage, errText string) (Status, error) {
	c, cancel := context.WithDeadline(context.WithoutCancel(ctx), h.leaseEnd())
	defer cancel()
	if cut, err := CheckEnd(status, result, errText); err == nil {
		errText = cut // as the store keeps it
	}
	// endedAsAsked reports whether the store holds the end this holder
	// asked for: an earlier Finish whose answer was lost took effect.
	endedAsAsked := func(base context.Context) bool {
		gc, cancel := context.WithTimeout(base, h.e.callTimeout())
		r, err := h.e.Store.Get(gc, h.r.ID)
		cancel()
		if err != nil || r.Status != status || r.Attempt != h.r.Attempt || r.Error != errText || !bytes.Equal(r.Result, result) {
			return false
		}
		h.ended = r
		return true
	}
	ambiguous := false
	err := h.retry(c, func(cc context.Context) error {
		ended, err := h.e.Store.Finish(cc, h.r.ID, h.e.Owner, status, result, errText, h.e.now())
		switch {
		case err == nil:
			h.ended = ended
		case errors.Is(err, ErrLeaseLost) && ambiguous && endedAsAsked(c):
			err = nil
		}
		ambiguous = ambiguous || err != nil && !errors.Is(err, ErrLeaseLost)
		return err
	})
	if err != nil && ambiguous && endedAsAsked(context.WithoutCancel(ctx)) {
		// The last answers were lost: one more look, past the lease, told
		// that the end this holder asked for was stored.
		err = nil
	}
	if err != nil {
		return "", fmt.Errorf("runs: end run %s %s: %w", h.r.ID, status, err)
	}
	if h.e.Ended != nil {
		h.e.Ended(h.ended)
	}
	return status, nil
}

// release gives the run back at the end of ctx, so that the next claim
// takes it at once.
func (h *holding) release(ctx context.Context, why error) error {
	c, cancel := context.WithDeadline(context.WithoutCancel(ctx), h.leaseEnd())
	defer cancel()
	if err := h.retry(c, func(cc context.Context) error { return h.e.Store.Release(cc, h.r.ID, h.e.Owner) }); err != nil {
		return fmt.Errorf("runs: run %s stopped (%v) and could not be released; it is taken over after its lease: %w", h.r.ID, why, err)
	}
	return fmt.Errorf("runs: run %s released: %w", h.r.ID, why)
}
