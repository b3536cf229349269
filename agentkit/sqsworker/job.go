package sqsworker

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// job is one received message. Its fields below msg belong to the settler.
type job struct {
	msg     Message
	receipt string
	// hiddenUntil is when the message becomes visible to other workers
	// unless a heartbeat extends it: after that, settling it is pointless.
	hiddenUntil time.Time
	// extended is when the last heartbeat (or the receive) set it.
	extended time.Time
	// lost: SQS refused a heartbeat for it; another worker may have it.
	lost bool
}

func newJob(m types.Message, received time.Time, s *settings) *job {
	return &job{
		msg:         toMessage(m),
		receipt:     aws.ToString(m.ReceiptHandle),
		hiddenUntil: received.Add(time.Duration(s.visibility) * time.Second),
		extended:    received,
	}
}

// process runs one job and hands its message to the settler.
func (r *run) process(j *job) {
	defer r.wg.Done()
	defer r.end()
	started := time.Now()
	err := r.call(j.msg)
	took := time.Since(started)
	if m := r.s.meter; m != nil {
		m.JobEnded(err)
	}
	switch {
	case err == nil:
		r.settle.settle(j, opDelete, 0, took.String())
	case r.jobCtx.Err() != nil:
		r.settle.settle(j, opVisibility, 0, "the job did not finish by the drain's cancel point")
	default:
		d := r.retryDelay(j.msg.ReceiveCount)
		if r.settle.settle(j, opVisibility, d, "retry delay") {
			r.s.log.Warn("sqsworker: job failed; it will be retried", "message_id", j.msg.ID,
				"receive_count", j.msg.ReceiveCount, "error", err, "retry_in", d.String(), "took", took.String())
		}
	}
}

// end frees the job's slot.
func (r *run) end() {
	r.c.inFlight.Add(-1)
	r.poke()
	r.free(1)
}

// call runs the handler, turning a panic into an error so that one bad job
// does not take the worker, and every other running job, down with it.
func (r *run) call(m Message) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.s.log.Error("sqsworker: handler panicked", "message_id", m.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return r.s.handler(r.jobCtx, m)
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
