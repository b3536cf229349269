package sqsworker

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// Timing of the calls that settle messages and keep them hidden.
const (
	// callTimeout bounds one batch call: SQS answers in milliseconds, so a
	// call this slow met a stalled connection, and is retried on a new one.
	callTimeout = 5 * time.Second

	// Backoff after a failed settling call, from settleRetryBase doubling
	// to settleRetryMax; a message is retried for as long as it is still
	// hidden from other workers.
	settleRetryBase = 200 * time.Millisecond
	settleRetryMax  = 3 * time.Second

	// heartbeatRetry is the first backoff after a failed heartbeat.
	heartbeatRetry = 500 * time.Millisecond

	// drainCoalesce replaces SettleDelay during the drain: the jobs
	// cancelled at the cancel point return together, and share one call.
	drainCoalesce = 5 * time.Millisecond
)

type opKind int

const (
	opDelete     opKind = iota // the job is done
	opVisibility               // the job failed (a retry delay) or is released (0)
)

// op is one message to settle.
type op struct {
	j      *job
	kind   opKind
	d      time.Duration // opVisibility: the new visibility timeout
	note   string        // for the log: how long the job took, or why
	queued time.Time
}

// settler makes every SQS call that settles a message or keeps it hidden,
// one call at a time, ten messages per call: deletes and visibility changes
// wait up to SettleDelay to share a call (5ms during the drain), and one
// heartbeat round extends every running job. Calls for one message go out
// in the order they were asked for, so no heartbeat can hide a message
// again after its release. (One goroutine also keeps a process's deletes
// from racing each other in emulators that lose concurrent ones.)
type settler struct {
	s    *settings
	base context.Context

	mu        sync.Mutex
	running   map[*job]struct{} // started and not yet handed over
	deletes   []*op
	changes   []*op
	urgent    bool      // the drain has begun: no call waits for a fuller batch
	final     time.Time // when urgent: the close point, which bounds every call
	finishing bool      // nothing runs any more: end once nothing is pending
	retryAt   time.Time // after a failed call, nothing goes out before then
	failures  int       // failed settling calls in a row
	// beatFailures counts failed heartbeat rounds in a row; only the
	// loop's goroutine uses it, as it does the jobs' heartbeat fields.
	beatFailures int
	// held is len(running), for readers that must not take mu.
	held atomic.Int64
	// released, when set, is called whenever a job leaves running.
	released func()
	wake     chan struct{}
	done     chan struct{}
}

func newSettler(base context.Context, s *settings) *settler {
	return &settler{
		s:       s,
		base:    base,
		running: make(map[*job]struct{}),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
}

func (st *settler) poke() {
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// start registers a started job for heartbeats.
func (st *settler) start(j *job) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.running[j] = struct{}{}
	st.held.Add(1)
}

// holding returns how many running jobs' messages the worker holds: the
// jobs that keep the task's scale-in protection on.
func (st *settler) holding() int64 { return st.held.Load() }

// dropLocked takes j out of running.
func (st *settler) dropLocked(j *job) {
	delete(st.running, j)
	st.held.Add(-1)
	if st.released != nil {
		st.released()
	}
}

// settle hands a running job's message over, unless the drain has already
// released it, the job was abandoned, or its message was lost; it reports
// whether it did.
func (st *settler) settle(j *job, kind opKind, d time.Duration, note string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.running[j]; !ok {
		return false
	}
	st.dropLocked(j)
	st.enqueueLocked(&op{j: j, kind: kind, d: d, note: note})
	return true
}

// loseLocked lets go of a running job whose message other workers may
// receive: settling it could only undo their hold, and the job's context
// is cancelled so that it stops running beside theirs.
func (st *settler) loseLocked(j *job, why string, err error) {
	st.dropLocked(j)
	st.s.log.Error("sqsworker: a running job lost its message; another worker may run this job too, so its context is cancelled",
		"message_id", j.msg.ID, "receive_count", j.msg.ReceiveCount, "reason", why, "error", err)
	j.lose(ErrLeaseLost)
}

// releaseUnstarted releases the message of a job that never started.
func (st *settler) releaseUnstarted(j *job, why string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.enqueueLocked(&op{j: j, kind: opVisibility, note: why})
}

// releaseRunning releases, on their handlers' behalf, the messages of the
// jobs still running, and returns how many there were.
func (st *settler) releaseRunning(why string) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := len(st.running)
	for j := range st.running {
		st.dropLocked(j)
		st.enqueueLocked(&op{j: j, kind: opVisibility, note: why})
	}
	return n
}

func (st *settler) enqueueLocked(o *op) {
	o.queued = time.Now()
	if o.kind == opDelete {
		st.deletes = append(st.deletes, o)
	} else {
		st.changes = append(st.changes, o)
	}
	st.poke()
}

// hurry tells the settler that the drain has begun: nothing waits for a
// fuller batch from now on, and no call outlasts final.
func (st *settler) hurry(final time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.urgent, st.final = true, final
	st.poke()
}

// finish waits for the settler to make its last calls, which end by the
// final deadline given to hurry. Call it once no job is running.
func (st *settler) finish() {
	st.mu.Lock()
	st.finishing = true
	st.mu.Unlock()
	st.poke()
	<-st.done
}

// finalContext is the context of a last call outside the settler (task
// protection off): bounded by the final deadline once the drain has begun.
func (st *settler) finalContext() (context.Context, context.CancelFunc) {
	return st.callContext(callTimeout)
}

func (st *settler) callContext(limit time.Duration) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(limit)
	st.mu.Lock()
	if st.urgent && st.final.Before(deadline) {
		deadline = st.final
	}
	st.mu.Unlock()
	return context.WithDeadline(st.base, deadline)
}

// loop makes the calls until finish and nothing is left, or the final
// deadline passes.
func (st *settler) loop() {
	defer close(st.done)
	beat := time.NewTimer(st.s.heartbeat)
	defer beat.Stop()
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	for {
		batch, wait, exit := st.next(time.Now())
		switch {
		case exit:
			return
		case batch != nil:
			st.send(batch)
			continue
		}
		idle.Stop()
		var timer <-chan time.Time
		if wait > 0 {
			idle.Reset(wait)
			timer = idle.C
		}
		select {
		case <-st.wake:
		case <-timer:
		case <-beat.C:
			beat.Reset(st.heartbeat())
		}
	}
}

// next returns the batch to send now, or how long to wait for the next one
// to be due (0: until woken), or exit.
func (st *settler) next(now time.Time) (batch []*op, wait time.Duration, exit bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.deletes = st.dropExpiredLocked(st.deletes, now)
	st.changes = st.dropExpiredLocked(st.changes, now)
	pending := len(st.deletes) + len(st.changes)
	switch {
	case st.urgent && !now.Before(st.final):
		st.abandonLocked()
		return nil, 0, st.finishing
	case pending == 0:
		return nil, 0, st.finishing
	case now.Before(st.retryAt):
		return nil, st.retryAt.Sub(now), false
	}
	// Releases and retry delays first: during the drain they are what
	// another worker waits for.
	for _, q := range []*[]*op{&st.changes, &st.deletes} {
		if len(*q) == 0 {
			continue
		}
		delay := SettleDelay
		if st.urgent {
			delay = drainCoalesce
		}
		due := (*q)[0].queued.Add(delay)
		if len(*q) >= maxBatch || !now.Before(due) {
			n := min(len(*q), maxBatch)
			batch = (*q)[:n:n]
			*q = (*q)[n:]
			return batch, 0, false
		}
		if wait == 0 || due.Sub(now) < wait {
			wait = due.Sub(now)
		}
	}
	return nil, wait, false
}

// dropExpiredLocked drops the ops whose message is visible again: settling
// it now would be too late, or pointless.
func (st *settler) dropExpiredLocked(q []*op, now time.Time) []*op {
	kept := q[:0]
	for _, o := range q {
		if now.Before(o.j.hiddenUntil) {
			kept = append(kept, o)
			continue
		}
		st.logGiveUp(o, errors.New("the message is visible again"))
	}
	return kept
}

// abandonLocked gives up every pending op at the final deadline.
func (st *settler) abandonLocked() {
	for _, o := range append(st.changes, st.deletes...) {
		st.logGiveUp(o, errors.New("no time left before the stop timeout"))
	}
	st.changes, st.deletes = nil, nil
}

// logGiveUp says what an op that could not be made means for its job.
func (st *settler) logGiveUp(o *op, err error) {
	id := o.j.msg.ID
	switch {
	case o.kind == opDelete:
		st.s.log.Error("sqsworker: job done but its message could not be deleted; it will run again",
			"message_id", id, "error", err)
	case o.d == 0:
		st.s.log.Error("sqsworker: could not release the message; it returns after its visibility timeout",
			"message_id", id, "reason", o.note, "error", err)
	default:
		st.s.log.Warn("sqsworker: could not delay the failed job's retry; it returns after its visibility timeout",
			"message_id", id, "error", err)
	}
}

// entryFailure is one failed entry of a batch answer.
type entryFailure struct {
	code, message string
	senderFault   bool
}

func (f entryFailure) permanent() bool {
	return permanentCode(f.code) || f.code == "" && f.senderFault
}

func (f entryFailure) Error() string { return f.code + ": " + f.message }

// send makes one batch call and settles its ops: done, given up, or queued
// again for a retry.
func (st *settler) send(batch []*op) {
	ctx, cancel := st.callContext(callTimeout)
	defer cancel()
	kind := batch[0].kind
	failed, err := st.call(ctx, kind, batch)

	st.mu.Lock()
	defer st.mu.Unlock()
	if err != nil {
		if permanent(err) {
			for _, o := range batch {
				st.logGiveUp(o, err)
			}
			return
		}
		d := backoff(st.failures, settleRetryBase, settleRetryMax)
		st.failures++
		st.retryAt = time.Now().Add(d)
		st.requeueLocked(kind, batch)
		st.s.log.Warn("sqsworker: SQS call failed; retrying", "op", kind.String(), "messages", len(batch),
			"error", err, "attempt", st.failures, "retry_in", d.String())
		return
	}
	var again []*op
	var refusal entryFailure
	for i, o := range batch {
		f, bad := failed[strconv.Itoa(i)]
		switch {
		case !bad:
			st.logDone(o)
		case f.permanent():
			st.logGiveUp(o, f)
		default:
			again, refusal = append(again, o), f
		}
	}
	if len(again) == 0 {
		st.failures = 0
		return
	}
	// Entries SQS failed on its side are retried as a failed call is.
	d := backoff(st.failures, settleRetryBase, settleRetryMax)
	st.failures++
	st.retryAt = time.Now().Add(d)
	st.requeueLocked(kind, again)
	st.s.log.Warn("sqsworker: SQS failed some entries of a batch call; retrying them", "op", kind.String(), "messages", len(again),
		"error", refusal, "attempt", st.failures, "retry_in", d.String())
}

func (k opKind) String() string {
	if k == opDelete {
		return "delete"
	}
	return "change visibility"
}

// requeueLocked puts ops back at the head of their queue, in order.
func (st *settler) requeueLocked(kind opKind, ops []*op) {
	if kind == opDelete {
		st.deletes = append(ops[:len(ops):len(ops)], st.deletes...)
	} else {
		st.changes = append(ops[:len(ops):len(ops)], st.changes...)
	}
}

func (st *settler) logDone(o *op) {
	switch {
	case o.kind == opDelete:
		st.s.log.Debug("sqsworker: job done", "message_id", o.j.msg.ID, "receive_count", o.j.msg.ReceiveCount, "took", o.note)
	case o.d == 0:
		st.s.log.Info("sqsworker: message released for another worker", "message_id", o.j.msg.ID, "reason", o.note)
	}
}

// call makes the batch call for ops of one kind and returns its failed
// entries by ID (the op's index).
func (st *settler) call(ctx context.Context, kind opKind, ops []*op) (map[string]entryFailure, error) {
	if kind == opDelete {
		entries := make([]types.DeleteMessageBatchRequestEntry, len(ops))
		for i, o := range ops {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(o.j.receipt)}
		}
		out, err := st.s.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(st.s.queueURL), Entries: entries})
		if err != nil {
			return nil, err
		}
		return failures(out.Failed), nil
	}
	entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(ops))
	for i, o := range ops {
		entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{
			Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(o.j.receipt), VisibilityTimeout: int32(o.d / time.Second),
		}
	}
	return st.changeVisibility(ctx, entries)
}

func (st *settler) changeVisibility(ctx context.Context, entries []types.ChangeMessageVisibilityBatchRequestEntry) (map[string]entryFailure, error) {
	out, err := st.s.client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{
		QueueUrl: aws.String(st.s.queueURL), Entries: entries,
	})
	if err != nil {
		return nil, err
	}
	return failures(out.Failed), nil
}

func failures(entries []types.BatchResultErrorEntry) map[string]entryFailure {
	m := make(map[string]entryFailure, len(entries))
	for _, e := range entries {
		m[aws.ToString(e.Id)] = entryFailure{code: aws.ToString(e.Code), message: aws.ToString(e.Message), senderFault: e.SenderFault}
	}
	return m
}

// heartbeat extends the visibility of the running jobs' messages that were
// not extended in the last half interval, ten per call, and returns when
// the next round is due: sooner after a failure, and no later than the
// moment a message would become visible. A message that became visible
// before an extension reached it is lost (see loseLocked). Failed calls and
// failed entries are retried alike, with backoff, for as long as their
// messages stay hidden.
func (st *settler) heartbeat() time.Duration {
	now := time.Now()
	var due []*job
	st.mu.Lock()
	for j := range st.running {
		switch {
		case !now.Before(j.hiddenUntil):
			st.loseLocked(j, "its visibility timeout ran out before a heartbeat could extend it", nil)
		case !now.Before(j.abandonAt):
			// Abandoned as soon as its timer fires: no more heartbeats.
		case now.Sub(j.extended) >= st.s.heartbeat/2:
			due = append(due, j)
		}
	}
	st.mu.Unlock()
	var failure error
	retry := 0
	for start := 0; start < len(due); start += maxBatch {
		chunk := due[start:min(start+maxBatch, len(due))]
		failed, err := st.extend(chunk)
		if err != nil {
			failure, retry = err, len(due)-start
			break
		}
		if len(failed) > 0 {
			failure, retry = failed[0], retry+len(failed)
		}
	}
	wait := st.s.heartbeat
	if failure != nil {
		wait = min(backoff(st.beatFailures, heartbeatRetry, st.s.heartbeat), st.s.heartbeat)
		st.beatFailures++
		st.s.log.Warn("sqsworker: heartbeat failed; retrying", "messages", retry, "error", failure,
			"attempt", st.beatFailures, "retry_in", wait.String())
	} else {
		st.beatFailures = 0
	}
	return min(wait, st.untilFirstLapse())
}

// untilFirstLapse returns the time until the first running job's message
// becomes visible, or MaxVisibilityTimeout when nothing runs.
func (st *settler) untilFirstLapse() time.Duration {
	st.mu.Lock()
	defer st.mu.Unlock()
	d := MaxVisibilityTimeout
	for j := range st.running {
		d = min(d, time.Until(j.hiddenUntil))
	}
	return max(d, 0)
}

// extend makes one heartbeat call for jobs and returns the errors of the
// entries that SQS failed on its side, to retry, or the call's error. It
// hides no message beyond its job's time limit plus the visibility
// timeout, which JobTimeout's range keeps within SQS's 12 hours from the
// receipt, and which leaves the release of an abandoned job time to go out
// while the message is still hidden. The jobs SQS refused for good are
// lost.
func (st *settler) extend(jobs []*job) ([]error, error) {
	sent := time.Now()
	entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(jobs))
	for i, j := range jobs {
		v := max(1, min(st.s.visibility, int32(j.hideLimit.Sub(sent)/time.Second)))
		entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{
			Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(j.receipt), VisibilityTimeout: v,
		}
	}
	ctx, cancel := st.callContext(min(callTimeout, st.s.heartbeat))
	defer cancel()
	failed, err := st.changeVisibility(ctx, entries)
	if err != nil {
		return nil, err
	}
	var retry []error
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, j := range jobs {
		f, bad := failed[strconv.Itoa(i)]
		switch {
		case !bad:
			j.extended = sent
			j.hiddenUntil = sent.Add(time.Duration(entries[i].VisibilityTimeout) * time.Second)
		case f.permanent():
			if _, ok := st.running[j]; ok {
				st.loseLocked(j, "SQS refused its heartbeat", f)
			}
		default:
			retry = append(retry, f)
		}
	}
	return retry, nil
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
		return permanentCode(api.ErrorCode())
	}
	return false
}

// permanentCode reports whether an SQS error code is one a retry cannot
// mend.
func permanentCode(code string) bool {
	c := strings.ToLower(code)
	return c != "" && !strings.Contains(c, "throttl") && !strings.Contains(c, "overlimit") &&
		!strings.Contains(c, "internal") && !strings.Contains(c, "unavailable")
}
