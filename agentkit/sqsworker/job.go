package sqsworker

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// Settling a message (delete, retry backoff, release) is retried a few times
// within settleAttempts; each call is bounded by callTimeout.
const (
	settleAttempts  = 5
	settleRetryBase = 200 * time.Millisecond
	settleRetryMax  = 3 * time.Second
	callTimeout     = 10 * time.Second
	heartbeatRetry  = 500 * time.Millisecond
)

// process runs one job with its heartbeat and settles its message.
func (r *run) process(j *job) {
	defer r.wg.Done()
	defer r.end(j)

	jobCtx, cancel := context.WithCancel(r.hardCtx)
	beating := make(chan struct{})
	go func() {
		defer close(beating)
		r.heartbeat(jobCtx, j)
	}()
	started := time.Now()
	err := r.call(jobCtx, j.msg)
	cancel()
	<-beating // no heartbeat may follow the settling call

	if !j.claim() {
		return // Run released the message at the drain deadline
	}
	took := time.Since(started)
	switch {
	case err == nil:
		if e := r.retry(r.finalCtx, "delete", j, func(ctx context.Context) error {
			_, err := r.s.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{
				QueueUrl: aws.String(r.s.queueURL), ReceiptHandle: aws.String(j.receipt),
			})
			return err
		}); e != nil {
			r.s.log.Error("sqsworker: job done but its message could not be deleted; it will run again",
				"message_id", j.msg.ID, "error", e)
			return
		}
		r.s.log.Debug("sqsworker: job done", "message_id", j.msg.ID, "receive_count", j.msg.ReceiveCount, "took", took.String())
	case r.hardCtx.Err() != nil:
		r.release(r.finalCtx, j, "the job did not finish by the drain deadline")
	default:
		d := r.retryDelay(j.msg.ReceiveCount)
		r.s.log.Warn("sqsworker: job failed; it will be retried", "message_id", j.msg.ID,
			"receive_count", j.msg.ReceiveCount, "error", err, "retry_in", d.String(), "took", took.String())
		if e := r.setVisibility(r.finalCtx, j, d); e != nil {
			r.s.log.Warn("sqsworker: could not delay the failed job's retry; it returns after its visibility timeout",
				"message_id", j.msg.ID, "error", e)
		}
	}
}

// end forgets a finished job and frees its slot.
func (r *run) end(j *job) {
	r.mu.Lock()
	delete(r.jobs, j)
	r.mu.Unlock()
	r.c.inFlight.Add(-1)
	r.poke()
	r.free(1)
}

// call runs the handler, turning a panic into an error so that one bad job
// does not take the worker, and every other running job, down with it.
func (r *run) call(ctx context.Context, m Message) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.s.log.Error("sqsworker: handler panicked", "message_id", m.ID, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return r.s.handler(ctx, m)
}

// heartbeat extends the message's visibility every HeartbeatInterval until
// ctx ends, retrying a failed extension sooner.
func (r *run) heartbeat(ctx context.Context, j *job) {
	next := r.s.heartbeat
	for failures := 0; ; {
		if !sleep(ctx, next) {
			return
		}
		callCtx, cancel := context.WithTimeout(ctx, r.s.heartbeat)
		_, err := r.s.client.ChangeMessageVisibility(callCtx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl:          aws.String(r.s.queueURL),
			ReceiptHandle:     aws.String(j.receipt),
			VisibilityTimeout: r.s.visibility,
		})
		cancel()
		switch {
		case err == nil:
			failures, next = 0, r.s.heartbeat
		case ctx.Err() != nil:
			return
		case permanent(err):
			r.s.log.Error("sqsworker: heartbeat refused; another worker may run this job too",
				"message_id", j.msg.ID, "error", err)
			return
		default:
			next = min(backoff(failures, heartbeatRetry, r.s.heartbeat), r.s.heartbeat)
			failures++
			r.s.log.Warn("sqsworker: heartbeat failed; retrying", "message_id", j.msg.ID,
				"error", err, "attempt", failures, "retry_in", next.String())
		}
	}
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

// release makes the message visible to other workers at once.
func (r *run) release(ctx context.Context, j *job, why string) {
	if err := r.setVisibility(ctx, j, 0); err != nil {
		r.s.log.Error("sqsworker: could not release the message; it returns after its visibility timeout",
			"message_id", j.msg.ID, "reason", why, "error", err)
		return
	}
	r.s.log.Info("sqsworker: message released for another worker", "message_id", j.msg.ID, "reason", why)
}

func (r *run) setVisibility(ctx context.Context, j *job, d time.Duration) error {
	return r.retry(ctx, "change visibility", j, func(ctx context.Context) error {
		_, err := r.s.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl:          aws.String(r.s.queueURL),
			ReceiptHandle:     aws.String(j.receipt),
			VisibilityTimeout: int32(d / time.Second),
		})
		return err
	})
}

// retry runs an SQS call that settles a message, retrying transient errors
// with backoff, at most settleAttempts times, while ctx lasts.
func (r *run) retry(ctx context.Context, op string, j *job, call func(context.Context) error) error {
	for attempt := 0; ; attempt++ {
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		err := call(callCtx)
		cancel()
		if err == nil {
			return nil
		}
		if attempt+1 >= settleAttempts || ctx.Err() != nil || permanent(err) {
			return fmt.Errorf("%s: %w", op, err)
		}
		d := backoff(attempt, settleRetryBase, settleRetryMax)
		r.s.log.Warn("sqsworker: SQS call failed; retrying", "op", op, "message_id", j.msg.ID,
			"error", err, "attempt", attempt+1, "retry_in", d.String())
		if !sleep(ctx, d) {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
}

// permanent reports whether retrying err cannot help: the receipt handle is
// stale or the request is invalid. Throttling is a client fault too, but a
// transient one.
func permanent(err error) bool {
	var invalid *types.ReceiptHandleIsInvalid
	var notInflight *types.MessageNotInflight
	if errors.As(err, &invalid) || errors.As(err, &notInflight) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorFault() == smithy.FaultClient {
		code := strings.ToLower(api.ErrorCode())
		return !strings.Contains(code, "throttl") && !strings.Contains(code, "overlimit")
	}
	return false
}
