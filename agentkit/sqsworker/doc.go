// Package sqsworker runs agent jobs from an Amazon SQS queue so that no job
// is lost, and no running job is handed to a second worker, when ECS deploys,
// scales in or stops a worker task, or the network to SQS fails.
//
// SQS delivers at least once, and a job cut off by a stop runs again from
// the start on another worker, so a Handler must be safe to run twice.
//
// A Consumer long-polls its queue, runs up to Concurrency jobs at once
// through a Handler, and settles every message it took exactly one way:
//
//   - the handler returned nil: the message is deleted;
//   - the handler failed (or panicked), or the job ran past its time
//     limit: the message becomes visible again after a backoff that doubles
//     with each receive, so that after the queue's maxReceiveCount the
//     redrive policy moves it to the dead-letter queue;
//   - the worker is stopping and the job did not finish in time, or the
//     message came with a receive under way at the stop: the message is
//     released at once (visibility 0) for another worker;
//   - the message became visible to other workers while the job ran (see
//     "Time limits and lost messages"): it is left to its next delivery.
//
// While a job runs, a heartbeat extends its message's visibility every
// HeartbeatInterval, so a job longer than the queue's visibility timeout is
// never handed to a second worker. While any running job holds its
// message, the consumer holds ECS task scale-in protection through the ECS
// agent endpoint, so that scale-in and deployments pick idle tasks; outside
// ECS that is a no-op.
//
// # Time limits and lost messages
//
// Every job has a time limit, JobTimeout (from the worker construct's
// JobTimeout prop, through AGENTKIT_JOB_TIMEOUT), so that a job that hangs
// holds neither its message nor the task's protection forever. At the
// limit the job's context is cancelled with ErrJobTimeout as its cause
// (ctx.Deadline reports the limit from the start), and the job counts as
// failed whatever its handler returns: its message comes back after the
// retry backoff, so a job that always runs too long reaches the dead-letter
// queue after the queue's maxReceiveCount deliveries, as a failing one does.
// A handler that ignores its context gets one HeartbeatInterval more (20s
// by default); then the consumer abandons it: it releases the message on
// the handler's behalf as above, stops its heartbeats, no longer counts it
// towards the task's protection, and logs an error. Go cannot stop a
// goroutine, so the handler runs on and keeps its job slot until it
// returns (InFlight counts it): hung handlers never outnumber Concurrency,
// and a worker whose every slot hangs takes no job and holds no
// protection, so the next deployment or scale-in may replace it. No
// heartbeat hides a message beyond its job's time limit plus the visibility
// timeout, which JobTimeout's range (at most MaxVisibilityTimeout less
// VisibilityTimeout) keeps within the 12 hours from its receipt that SQS
// allows.
//
// A message whose visibility timeout runs out while heartbeats fail, or
// whose heartbeat SQS refuses for good (its receipt handle is stale:
// another worker received it since), may be running on another worker: the
// lease is lost. The consumer logs an error, cancels the job's context with
// ErrLeaseLost as its cause, so that the two runs overlap as little as
// possible, and leaves the message alone (a delete or a release with a
// stale receipt could only undo the other worker's hold); the job runs
// again on its next delivery. Heartbeats, like the calls that settle
// messages, retry both a failed call and the entries of a batch call that
// SQS failed on its side (InternalError, throttling), with backoff, and
// log each failure; a failed heartbeat is retried within one
// HeartbeatInterval and before the message would become visible, so a
// lease is lost only when SQS has failed for the rest of the visibility
// timeout: 40s of failures in a row, with the defaults.
//
// # The contract with the CDK worker construct
//
// Every zero field that the construct sets through the environment reads
// it, as agentkit.Server does: QueueURL reads AGENTKIT_QUEUE_URL,
// Concurrency reads AGENTKIT_WORKER_CONCURRENCY (the figure the construct's
// backlog-per-task scaling is sized on), StopTimeout reads
// AGENTKIT_STOP_TIMEOUT, and JobTimeout reads AGENTKIT_JOB_TIMEOUT (the
// construct's JobTimeout, by default ten times its JobDuration and at least
// 15 minutes); the names and defaults are agentkit's contract constants.
// The construct also sets the queue's visibility timeout to
// agentkit.DefaultQueueVisibilityTimeout and lets the task role call
// ecs:UpdateTaskProtection for its own task.
//
// # Stopping
//
// Run stops as agentkit.Server.Serve does, on the same timeline (see "The
// drain" in package agentkit, and agentkit.DrainDeadlines): the first
// SIGTERM or SIGINT, or the end of Run's context, begins the drain. Run then
// stops receiving; a receive under way gets up to a second to bring its
// answer, whose messages are released at once. Running jobs go on until the
// cancel point (24s into the drain for a 30s stop timeout, 110s for the
// worker construct's 120s), when their contexts are cancelled with
// agentkit.ErrDrainTimeout as the cause; the messages of the jobs that then
// return are released, and half the cancel-to-close time after the
// cancellation (counted from it, so that a late timer on a busy machine
// still leaves handlers that window) Run releases, on their behalf, those
// of the handlers that ignore their context. Every SQS
// call, and the call that turns task protection off, ends by the close
// point (a release that a busy machine made late keeps, likewise, half the
// cancel-to-close time for its calls), and Run returns, before ECS sends
// SIGKILL. A second signal releases
// every running job's message at once.
//
// Each delivery counts towards the queue's maxReceiveCount, released ones
// too: a job cut off by several stops in a row can reach the dead-letter
// queue, so the redrive policy's count should leave room for deployments
// as well as for failures.
//
// # SQS calls, faults and cost
//
// Each receive asks for as many messages as there are free job slots (up to
// ten); once one slot frees while others are busy, the receive waits up to
// 50ms for more, so that jobs ending together share one receive. A receive
// that has no answer 5s past its long-poll wait is abandoned and retried: a
// stalled connection cannot stop a worker for good. Deletes and visibility
// changes wait up to SettleDelay (5ms during the drain) to go out ten per
// batch call, one call at a time, and each heartbeat round extends every
// running job's message in one call per ten jobs. Every call has a
// deadline; failed calls, and failed entries of batch calls, are logged
// and retried with exponential backoff and jitter for as long as the
// message stays hidden from other workers, and Run never returns because
// of them, so a worker with a broken queue logs and waits instead of
// crash-looping.
//
// A failed receive is retried after a wait that doubles from 200ms up to
// 2s, half of it jitter: an outage costs each worker one receive (and one
// logged warning) every 1 to 2s, and once SQS answers again the worker
// receives within 2s. The SDK's own retries come on top, inside a call:
// the default retryer makes up to 3 attempts, with backoffs of up to 20s
// (https://docs.aws.amazon.com/sdk-for-go/v2/developer-guide/configure-retries-timeouts.html).
//
// A receive answer lost in transit (the connection reset or stalled after
// SQS answered) cannot be asked for again: ReceiveRequestAttemptId, which
// lets a retried receive get the same messages back, applies only to FIFO
// queues
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html).
// Its messages stay hidden for the visibility timeout the receive asked for
// (60s by default) and then come back, each with one delivery spent
// towards maxReceiveCount. The consumer accepts that: receiving with a
// short visibility and extending it at once would cost one more call per
// received batch for every job longer than a few seconds (the first
// heartbeat comes up to one and a half HeartbeatIntervals after the
// receive), to shorten a delay that takes a network fault at the moment of
// an answer; with the construct's maxReceiveCount of 5, such a message
// still has four deliveries left.
//
// With trivial jobs and a full queue, that is about 0.2 SQS requests per job
// at a concurrency of ten (one receive and one delete call per ten jobs),
// plus, for a job longer than HeartbeatInterval, a tenth of a call per
// heartbeat interval; docs/performance.md gives the figures measured against a local
// emulator with the command that produced them.
package sqsworker
