// Package sqsworker runs agent jobs from an Amazon SQS queue so that no job
// is lost, and no running job is handed to a second worker, when ECS deploys,
// scales in or stops a worker task.
//
// SQS delivers at least once, and a job cut off by a stop runs again from
// the start on another worker, so a Handler must be safe to run twice.
//
// A Consumer long-polls its queue, runs up to Concurrency jobs at once
// through a Handler, and settles every message it took exactly one way:
//
//   - the handler returned nil: the message is deleted;
//   - the handler failed (or panicked): the message becomes visible again
//     after a backoff that doubles with each receive, so that after the
//     queue's maxReceiveCount the redrive policy moves it to the dead-letter
//     queue;
//   - the worker is stopping and the job did not finish in time: the message
//     is released at once (visibility 0) for another worker.
//
// While a job runs, a heartbeat extends its message's visibility every
// HeartbeatInterval, so a job longer than the queue's visibility timeout is
// never handed to a second worker. While any job runs, the consumer holds
// ECS task scale-in protection through the ECS agent endpoint, so that
// scale-in and deployments pick idle tasks; outside ECS that is a no-op.
//
// # Stopping
//
// Run stops when its context is cancelled; wire SIGTERM to it with
// signal.NotifyContext. It stops receiving at once, lets running jobs finish
// until the drain deadline (DrainTimeout, by default the container's
// AGENTKIT_STOP_TIMEOUT minus DrainMargin), then cancels the jobs' contexts,
// releases their messages and returns, before ECS sends SIGKILL.
//
// Each delivery counts towards the queue's maxReceiveCount, released ones
// too: a job cut off by several stops in a row can reach the dead-letter
// queue, so the redrive policy's count should leave room for deployments
// as well as for failures.
//
// # Errors
//
// SQS and ECS agent errors are logged with log/slog and retried with
// exponential backoff and jitter; Run never returns because of them, so a
// worker with a broken queue logs and waits instead of crash-looping.
//
// # The contract with the CDK worker construct
//
// The construct passes the queue URL in EnvQueueURL, the job concurrency in
// EnvConcurrency and the stop timeout in agentkit.EnvStopTimeout, sets the
// queue's visibility timeout to DefaultVisibilityTimeout, and lets the task
// role call ecs:UpdateTaskProtection for its own task.
package sqsworker
