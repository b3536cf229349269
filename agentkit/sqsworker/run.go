package sqsworker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Backoff of failed receives: from receiveRetryBase doubling to
// receiveRetryMax, so an outage costs a call every half minute, not a loop.
const (
	receiveRetryBase = 200 * time.Millisecond
	receiveRetryMax  = 30 * time.Second
)

// receiveGrace is how long a receive under way when the stop comes may
// still run (at most half the drain timeout): long enough for an answer
// already on its way, whose messages start() then releases at once, and
// short enough not to hold up the drain, which it counts against. Cancelling the receive at once would lose that
// answer, and SQS would keep its messages hidden for the visibility timeout.
const receiveGrace = time.Second

// Run receives and runs jobs until ctx is cancelled, then drains: it stops
// receiving, waits up to DrainTimeout for running jobs, cancels the contexts
// of those still running, releases their messages (visibility 0) and returns.
//
// Run returns an error at once when the Consumer's fields are invalid. After
// a stop it returns nil, or an error when some handlers ignored the
// cancellation of their context: Run released their messages anyway, and a
// late result of those handlers is dropped. SQS errors never end Run; they
// are logged and retried.
//
// A receive under way when the stop comes gets up to a second to return,
// and the messages it brings are released at once. Only a message that SQS
// hands out in the last instant of that second, to a receive then cut short,
// waits out VisibilityTimeout before another worker gets it; it is not lost.
func (c *Consumer) Run(ctx context.Context) error {
	s, err := c.settings()
	if err != nil {
		return err
	}
	base := context.WithoutCancel(ctx)
	r := &run{
		c:     c,
		s:     s,
		slots: make(chan struct{}, s.concurrency),
		jobs:  make(map[*job]struct{}),
	}
	var hardCancel, finalCancel context.CancelFunc
	r.hardCtx, hardCancel = context.WithCancel(base)
	r.finalCtx, finalCancel = context.WithCancel(base)
	defer hardCancel()
	defer finalCancel()

	protDone := make(chan struct{})
	protCtx, protCancel := context.WithCancel(base)
	if p := s.protection; p != nil {
		go func() {
			defer close(protDone)
			p.run(protCtx, func() bool { return c.inFlight.Load() > 0 }, s.release)
		}()
	} else {
		close(protDone)
	}

	var stoppedAt atomic.Int64
	defer context.AfterFunc(ctx, func() { stoppedAt.Store(time.Now().UnixNano()) })()
	r.receive(ctx)
	since := time.Now()
	if t := stoppedAt.Load(); t != 0 {
		since = time.Unix(0, t)
	}
	err = r.drain(hardCancel, since)
	protCancel()
	<-protDone
	return err
}

// run is the state of one call to Run.
type run struct {
	c *Consumer
	s *settings
	// hardCtx is cancelled at the drain deadline: the jobs' contexts.
	hardCtx context.Context
	// finalCtx bounds the SQS calls that settle messages; it ends with Run.
	finalCtx context.Context
	// slots holds a token per running job (and per message being received).
	slots chan struct{}
	wg    sync.WaitGroup

	mu   sync.Mutex
	jobs map[*job]struct{}
}

// receive long-polls the queue and starts jobs while ctx lasts.
func (r *run) receive(ctx context.Context) {
	failures := 0
	for {
		n, ok := r.acquire(ctx)
		if !ok {
			return
		}
		if ctx.Err() != nil { // acquire may win its select against the stop
			r.free(n)
			return
		}
		callCtx, cancelCall := context.WithCancel(r.hardCtx)
		afterStop := context.AfterFunc(ctx, func() { time.AfterFunc(min(receiveGrace, r.s.drain/2), cancelCall) })
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
			r.s.log.Warn("sqsworker: receive failed; retrying", "error", err, "attempt", failures, "retry_in", d.String())
			if !sleep(ctx, d) {
				return
			}
			continue
		}
		failures = 0
		msgs := out.Messages
		if len(msgs) > n { // not SQS, but a server that ignores the limit
			for _, m := range msgs[n:] {
				r.release(r.finalCtx, &job{msg: toMessage(m), receipt: aws.ToString(m.ReceiptHandle)}, "more messages than asked for")
			}
			msgs = msgs[:n]
		}
		r.free(n - len(msgs))
		for _, m := range msgs {
			r.start(ctx, m)
		}
	}
}

// acquire blocks until a job slot is free, then takes up to a receive's
// worth of free slots. It reports false when ctx ends first.
func (r *run) acquire(ctx context.Context) (int, bool) {
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, false
	}
	n := 1
	for n < maxBatch {
		select {
		case r.slots <- struct{}{}:
			n++
		default:
			return n, true
		}
	}
	return n, true
}

func (r *run) free(n int) {
	for range n {
		<-r.slots
	}
}

// job is one received message and who settles it.
type job struct {
	msg     Message
	receipt string
	mu      sync.Mutex
	settled bool
}

// claim reports whether the caller is the one to settle the message: the
// job's own goroutine, or Run when the handler outlives the drain.
func (j *job) claim() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.settled {
		return false
	}
	j.settled = true
	return true
}

// start runs a job for m, or releases m at once when the stop has begun.
func (r *run) start(ctx context.Context, m types.Message) {
	j := &job{msg: toMessage(m), receipt: aws.ToString(m.ReceiptHandle)}
	if ctx.Err() != nil {
		r.release(r.finalCtx, j, "the worker is stopping")
		r.free(1)
		return
	}
	r.mu.Lock()
	r.jobs[j] = struct{}{}
	r.mu.Unlock()
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

// drain waits for the running jobs after the receive loop ended, and
// releases those that outlive the drain deadline, DrainTimeout after the
// stop began at since.
func (r *run) drain(hardCancel context.CancelFunc, since time.Time) error {
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	n := r.c.InFlight()
	if n == 0 {
		r.s.log.Info("sqsworker: stopped; no job was running")
		return nil
	}
	r.s.log.Info("sqsworker: stopping; waiting for running jobs", "in_flight", n, "drain_timeout", r.s.drain.String())
	if waitFor(done, max(0, r.s.drain-time.Since(since))) {
		r.s.log.Info("sqsworker: stopped; every running job finished")
		return nil
	}
	r.s.log.Warn("sqsworker: drain deadline reached; cancelling running jobs and releasing their messages",
		"in_flight", r.c.InFlight())
	hardCancel()
	if waitFor(done, r.s.release/2) {
		r.s.log.Info("sqsworker: stopped; unfinished jobs released")
		return nil
	}
	stuck := r.releaseStuck()
	if stuck == 0 {
		return nil
	}
	return fmt.Errorf("sqsworker: %d jobs ignored the cancellation of their context at the drain deadline; their messages were released", stuck)
}

// releaseStuck settles, on behalf of handlers that have not returned, the
// messages nobody settled yet, and returns how many it released.
func (r *run) releaseStuck() int {
	r.mu.Lock()
	var stuck []*job
	for j := range r.jobs {
		if j.claim() {
			stuck = append(stuck, j)
		}
	}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.finalCtx, r.s.release/2)
	defer cancel()
	var wg sync.WaitGroup
	for _, j := range stuck {
		wg.Go(func() { r.release(ctx, j, "the handler ignored the drain deadline") })
	}
	wg.Wait()
	return len(stuck)
}

// waitFor reports whether done closed within d (or already had).
func waitFor(done <-chan struct{}, d time.Duration) bool {
	select {
	case <-done:
		return true
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
