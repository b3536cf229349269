package sqsworker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/internal/stopsignal"

	"github.com/agentcdk/agentcdk/agentkit/internal/meter"
)

// Timing of the receive loop.
const (
	// Backoff of failed receives: from receiveRetryBase doubling to
	// receiveRetryMax. The cap is the recovery bound: once SQS answers
	// again, the next receive goes out within it. Half of each wait is
	// jitter, so an outage costs a worker one receive every 1 to 2s, and
	// workers that failed together do not retry together.
	receiveRetryBase = 200 * time.Millisecond
	receiveRetryMax  = 2 * time.Second

	// receiveSlack is how long past its long-poll wait a receive may take
	// before it is abandoned: an answer that late was lost on the way (a
	// stalled connection, an answer dropped), and waiting on it would
	// stop the worker for good while ECS sees a healthy task.
	receiveSlack = 5 * time.Second

	// receiveGrace is how long a receive under way when the stop comes may
	// still run (at most half the time to the cancel point): long enough
	// for an answer already on its way, whose messages are then released
	// at once. Cancelling the receive at once would lose that answer, and
	// SQS would keep its messages hidden for the visibility timeout.
	receiveGrace = time.Second

	// receiveGather is how long, at most, the receive loop waits for more
	// job slots once one is free and others are busy, so that one receive
	// fetches several messages instead of one each time a job ends.
	receiveGather = 50 * time.Millisecond
)

// Run receives and runs jobs until SIGTERM or SIGINT arrives or ctx is done,
// then drains on the timeline of the package documentation's "Stopping" and
// returns. It handles SIGTERM and SIGINT (signal.Notify) only while it runs,
// as agentkit.Server.Serve does; both may run in one process.
//
// Run returns a *ConfigError at once when a field, or a variable of the
// contract read for a zero field, is invalid. After
// a stop it returns nil when every job either finished or returned once its
// context was cancelled; an error when some handlers ignored that
// cancellation (Run released their messages anyway, and a late result of
// those handlers is dropped), or when a second signal ended the drain. SQS
// errors never end Run; they are logged and retried. By the time Run
// returns, every SQS call it made has ended and been logged.
func (c *Consumer) Run(ctx context.Context) error {
	s, err := c.settings()
	if err != nil {
		return &ConfigError{Err: err}
	}
	stop := stopsignal.Watch(ctx)
	defer stop.Release()
	base := context.WithoutCancel(ctx)
	jobCtx, cancelJobs := context.WithCancelCause(meter.With(base, s.meter))
	defer cancelJobs(context.Canceled)
	var drainStart time.Time
	if m := s.meter; m != nil {
		metricsStop, metricsDone := make(chan struct{}), make(chan struct{})
		go m.Run(meter.Gauges{Jobs: c.inFlight.Load}, metricsStop, func() map[string]float64 {
			return map[string]float64{
				meter.DrainSeconds: math.Round(time.Since(drainStart).Seconds()*1000) / 1000,
				meter.DrainCut:     float64(c.inFlight.Load()),
			}
		}, metricsDone)
		// The last line, with the drain's outcome, is written before Run
		// returns: the process may exit right after.
		defer func() { close(metricsStop); <-metricsDone }()
	}
	r := &run{
		c:          c,
		s:          s,
		base:       base,
		jobCtx:     jobCtx,
		cancelJobs: cancelJobs,
		slots:      make(chan struct{}, s.concurrency),
		settle:     newSettler(base, s),
	}
	r.settle.released = r.poke
	go r.settle.loop()

	protDone := make(chan struct{})
	protCtx, protCancel := context.WithCancel(base)
	defer protCancel()
	if p := s.protection; p != nil {
		go func() {
			defer close(protDone)
			p.run(protCtx, func() bool { return r.settle.holding() > 0 }, r.settle.finalContext)
		}()
	} else {
		close(protDone)
	}

	stopCtx := stop.Context()
	var stoppedAt atomic.Int64
	defer context.AfterFunc(stopCtx, func() { stoppedAt.Store(time.Now().UnixNano()) })()
	r.receive(stopCtx)
	since := time.Now()
	if t := stoppedAt.Load(); t != 0 {
		since = time.Unix(0, t)
	}
	drainStart = since
	s.log.Info("sqsworker: stopping", "reason", stop.Reason(), "in_flight", c.InFlight(),
		"cancel_at", s.cancelAt.String(), "close_at", s.closeAt.String())
	err = r.drain(since, stop.Second(), func() {
		protCancel()
		<-protDone
	})
	return err
}

// run is the state of one call to Run.
type run struct {
	c    *Consumer
	s    *settings
	base context.Context // lives as long as Run
	// jobCtx is the jobs' context, cancelled at the drain's cancel point.
	jobCtx     context.Context
	cancelJobs context.CancelCauseFunc
	// slots holds a token per running job (and per message being received).
	slots  chan struct{}
	wg     sync.WaitGroup // the jobs' goroutines
	settle *settler
	// hung counts the abandoned handlers that have not returned.
	hung atomic.Int64
}

// receive long-polls the queue and starts jobs while ctx lasts.
func (r *run) receive(ctx context.Context) {
	failures := 0
	timeout := time.Duration(r.s.wait)*time.Second + receiveSlack
	for {
		n, ok := r.acquire(ctx)
		if !ok {
			return
		}
		if ctx.Err() != nil { // acquire may win its select against the stop
			r.free(n)
			return
		}
		callCtx, cancelCall := context.WithTimeout(r.base, timeout)
		afterStop := context.AfterFunc(ctx, func() { time.AfterFunc(min(receiveGrace, r.s.cancelAt/2), cancelCall) })
		out, err := r.s.client.ReceiveMessage(callCtx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(r.s.queueURL),
			MaxNumberOfMessages:         int32(n),
			VisibilityTimeout:           r.s.visibility,
			WaitTimeSeconds:             r.s.wait,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
			MessageAttributeNames:       []string{"All"},
		})
		afterStop()
		cancelCall()
		if err != nil {
			r.free(n)
			if ctx.Err() != nil {
				return
			}
			d := backoff(failures, receiveRetryBase, receiveRetryMax)
			failures++
			msg := "sqsworker: receive failed; retrying"
			if errors.Is(err, context.DeadlineExceeded) {
				msg = "sqsworker: receive got no answer in time (a stalled connection?); abandoned it, retrying"
			}
			r.s.log.Warn(msg, "error", err, "timeout", timeout.String(), "attempt", failures, "retry_in", d.String())
			if !sleep(ctx, d) {
				return
			}
			continue
		}
		if failures > 0 {
			r.s.log.Info("sqsworker: receive works again", "after_failures", failures)
			failures = 0
		}
		received := time.Now()
		msgs := out.Messages
		if len(msgs) > n { // not SQS, but a server that ignores the limit
			for _, m := range msgs[n:] {
				r.settle.releaseUnstarted(newJob(m, received, r.s), "more messages than asked for")
			}
			msgs = msgs[:n]
		}
		r.free(n - len(msgs))
		for _, m := range msgs {
			r.start(ctx, newJob(m, received, r.s))
		}
	}
}

// acquire blocks until a job slot is free, then takes up to a receive's
// worth of free slots, waiting up to receiveGather for busy ones to free
// up. It reports false when ctx ends first.
func (r *run) acquire(ctx context.Context) (int, bool) {
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, false
	}
	n, most := 1, min(r.s.concurrency, maxBatch)
	var gather <-chan time.Time
	for n < most {
		select {
		case r.slots <- struct{}{}:
			n++
			continue
		default:
		}
		if gather == nil {
			t := time.NewTimer(receiveGather)
			defer t.Stop()
			gather = t.C
		}
		select {
		case r.slots <- struct{}{}:
			n++
		case <-gather:
			return n, true
		case <-ctx.Done():
			return n, true // the caller sees the stop
		}
	}
	return n, true
}

func (r *run) free(n int) {
	for range n {
		<-r.slots
	}
}

// start runs j, or releases its message at once when the stop has begun.
func (r *run) start(ctx context.Context, j *job) {
	if ctx.Err() != nil {
		r.settle.releaseUnstarted(j, "the worker is stopping")
		r.free(1)
		return
	}
	r.begin(j)
	r.settle.start(j)
	r.c.inFlight.Add(1)
	r.poke()
	r.wg.Add(1)
	go r.process(j)
}

func (r *run) poke() {
	if r.s.protection != nil {
		r.s.protection.poke()
	}
}

// drain follows the drain's timeline from its start at since: it waits for
// the running jobs until the cancel point, cancels them, gives them half of
// the time from the cancel point to the close point to return, releases
// the messages of those that did not, and waits for the last SQS calls,
// which end by the close point (or, after a late release, half the
// cancel-to-close time after it). A signal on
// second jumps to the release at once. stopProtection turns task protection
// off; it runs beside the last SQS calls.
func (r *run) drain(since time.Time, second <-chan os.Signal, stopProtection func()) error {
	cancelAt, closeAt := since.Add(r.s.cancelAt), since.Add(r.s.closeAt)
	r.settle.hurry(closeAt)
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()

	outcome, interrupted := waitUntil(done, cancelAt, second)
	if outcome == deadlinePassed {
		r.s.log.Warn("sqsworker: cancel point reached; cancelling the running jobs", "in_flight", r.c.InFlight())
		r.cancelJobs(agentkit.ErrDrainTimeout)
		// The handlers' window counts from the cancellation, not from the
		// cancel point: a timer that fires late on a busy machine must not
		// leave them no time at all. What it takes from the close point
		// comes out of the margin before SIGKILL, which is there for it.
		outcome, interrupted = waitUntil(done, time.Now().Add(closeAt.Sub(cancelAt)/2), second)
	}
	stuck := 0
	switch outcome {
	case signalled:
		// Released before they are cancelled, so that the count is of the
		// jobs running at the signal, not of those slow to return.
		stuck = r.settle.releaseRunning(fmt.Sprintf("a second signal (%s) stopped the worker at once", interrupted))
		r.cancelJobs(agentkit.ErrDrainTimeout)
	case deadlinePassed:
		// Abandoned handlers count too: their messages went back at their
		// time limits.
		stuck = r.settle.releaseRunning("the handler ignored the cancellation of its context") + int(r.hung.Load())
	}
	// The last calls get the other half of the cancel-to-close time from
	// the release, as the handlers got theirs from the cancellation: on a
	// busy machine a late release must not find the close point passed and
	// its messages abandoned to their visibility timeout. The close point
	// moves only when it would leave less, and then out of the margin
	// before SIGKILL.
	if last := time.Now().Add(closeAt.Sub(cancelAt) / 2); last.After(closeAt) {
		r.settle.hurry(last)
	}

	protectionOff := make(chan struct{})
	go func() {
		defer close(protectionOff)
		stopProtection()
	}()
	r.settle.finish()
	<-protectionOff

	switch {
	case interrupted != nil:
		return fmt.Errorf("sqsworker: second signal %s during the drain; stopped at once, releasing the messages of %d running job(s)", interrupted, stuck)
	case stuck > 0:
		return fmt.Errorf("sqsworker: %d job(s) ignored the cancellation of their context at the cancel point; their messages were released", stuck)
	}
	r.s.log.Info("sqsworker: stopped", "took", time.Since(since).Round(time.Millisecond).String())
	return nil
}

type waitOutcome int

const (
	allDone waitOutcome = iota
	deadlinePassed
	signalled
)

// waitUntil waits for done, the deadline or a signal, and returns which came
// first (and the signal).
func waitUntil(done <-chan struct{}, deadline time.Time, second <-chan os.Signal) (waitOutcome, os.Signal) {
	select {
	case <-done:
		return allDone, nil
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-done:
		return allDone, nil
	case <-t.C:
		return deadlinePassed, nil
	case sig := <-second:
		return signalled, sig
	}
}
