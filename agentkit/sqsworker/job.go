package sqsworker

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/agentcdk/agentcdk/agentkit"
)

// job is one received message. The fields from hiddenUntil on belong to
// the settler's goroutine; the others are set before the job starts.
type job struct {
	msg     Message
	receipt string

	// ctx is the handler's context: the run's jobs' context, cancelled
	// by lose (ErrLeaseLost) and at the time limit (ErrJobTimeout).
	ctx      context.Context
	lose     context.CancelCauseFunc
	deadline context.CancelFunc
	// abandonAt is the time limit plus one heartbeat interval: a handler
	// still running then is abandoned. hideLimit is the time limit plus
	// the visibility timeout: no heartbeat hides the message beyond it.
	abandonAt, hideLimit time.Time
	// abandonTimer abandons the job at abandonAt; abandonDone is closed
	// once its function has run, after which abandoned is safe to read.
	abandonTimer *time.Timer
	abandonDone  chan struct{}
	abandoned    bool

	// hiddenUntil is when the message becomes visible to other workers
	// unless a heartbeat extends it: after that, settling it is pointless.
	hiddenUntil time.Time
	// extended is when the last heartbeat (or the receive) set it.
	extended time.Time
}

func newJob(m types.Message, received time.Time, s *settings) *job {
	return &job{
		msg:         toMessage(m),
		receipt:     aws.ToString(m.ReceiptHandle),
		hiddenUntil: received.Add(time.Duration(s.visibility) * time.Second),
		extended:    received,
	}
}

// begin gives j its context and its time limit, from now.
func (r *run) begin(j *job) {
	now := time.Now()
	leased, lose := context.WithCancelCause(r.jobCtx)
	j.ctx, j.deadline = context.WithDeadlineCause(leased, now.Add(r.s.jobTimeout), ErrJobTimeout)
	j.lose = lose
	j.abandonAt = now.Add(r.s.jobTimeout + r.s.heartbeat)
	j.hideLimit = now.Add(r.s.jobTimeout + time.Duration(r.s.visibility)*time.Second)
	j.abandonDone = make(chan struct{})
	j.abandonTimer = time.AfterFunc(j.abandonAt.Sub(now), func() { r.abandon(j) })
}

// process runs one job and hands its message to the settler.
func (r *run) process(j *job) {
	defer r.wg.Done()
	defer r.end()
	started := time.Now()
	err := r.call(j)
	took := time.Since(started)
	// Ending the context now fixes its cause: a limit or a loss that came
	// after the handler returned is not one the job met.
	j.deadline()
	j.lose(context.Canceled)
	cause := context.Cause(j.ctx)
	if m := r.s.meter; m != nil {
		if !errors.Is(cause, context.Canceled) && err == nil {
			err = cause // cut off, whatever the handler says: a failed job
		}
		m.JobEnded(err)
	}
	if r.stopAbandon(j) {
		r.hung.Add(-1)
		r.s.log.Warn("sqsworker: an abandoned job's handler returned at last", "message_id", j.msg.ID,
			"error", err, "took", took.String())
		return
	}
	switch {
	case errors.Is(cause, agentkit.ErrDrainTimeout):
		r.settle.settle(j, opVisibility, 0, "the job did not finish by the drain's cancel point")
	case errors.Is(cause, ErrLeaseLost):
		// The settler let go of the message when it saw the loss, and
		// said so; another delivery owns it now.
	case errors.Is(cause, ErrJobTimeout):
		d := r.retryDelay(j.msg.ReceiveCount)
		if r.settle.settle(j, opVisibility, d, "retry delay") {
			r.s.log.Warn("sqsworker: job ran past its time limit; it will be retried", "message_id", j.msg.ID,
				"receive_count", j.msg.ReceiveCount, "time_limit", r.s.jobTimeout.String(), "retry_in", d.String(), "took", took.String())
		}
	case err == nil:
		r.settle.settle(j, opDelete, 0, took.String())
	default:
		d := r.retryDelay(j.msg.ReceiveCount)
		if r.settle.settle(j, opVisibility, d, "retry delay") {
			r.s.log.Warn("sqsworker: job failed; it will be retried", "message_id", j.msg.ID,
				"receive_count", j.msg.ReceiveCount, "error", err, "retry_in", d.String(), "took", took.String())
		}
	}
}

// abandon gives up on a handler still running one heartbeat interval past
// its time limit: its message comes back after the retry backoff, as for a
// job that returned at its limit, and the job no longer holds the task's
// scale-in protection. Go cannot stop the handler's goroutine, which keeps
// its job slot until it returns, so that hung handlers never outnumber
// Concurrency.
func (r *run) abandon(j *job) {
	defer close(j.abandonDone)
	d := r.retryDelay(j.msg.ReceiveCount)
	if !r.settle.settle(j, opVisibility, d, "retry delay") {
		return // settled already, or released by the drain
	}
	j.abandoned = true
	r.hung.Add(1)
	r.s.log.Error("sqsworker: the handler ignored its time limit; its message comes back for a retry, and its goroutine keeps a job slot until it returns",
		"message_id", j.msg.ID, "receive_count", j.msg.ReceiveCount, "time_limit", r.s.jobTimeout.String(),
		"grace", r.s.heartbeat.String(), "retry_in", d.String())
}

// stopAbandon stops j's abandon timer and reports whether j was abandoned.
func (r *run) stopAbandon(j *job) bool {
	if j.abandonTimer.Stop() {
		return false
	}
	<-j.abandonDone
	return j.abandoned
}

// end frees the job's slot.
func (r *run) end() {
	r.c.inFlight.Add(-1)
	r.free(1)
}

// call runs the handler, turning a panic into an error so that one bad job
// does not take the worker, and every other running job, down with it.
func (r *run) call(j *job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.s.log.Error("sqsworker: handler panicked", "message_id", j.msg.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return r.s.handler(j.ctx, j.msg)
}

// retryDelay is the failed job's backoff after its receiveCount-th delivery:
// RetryBackoff doubled per earlier delivery, whole seconds, at most
// MaxRetryBackoff.
func (r *run) retryDelay(receiveCount int) time.Duration {
	d := MaxRetryBackoff
	if n := max(receiveCount-1, 0); n < 32 {
		if e := r.s.retryBase << n; e >= 0 && e < d {
			d = e
		}
	}
	return (d + time.Second - 1).Truncate(time.Second)
}
