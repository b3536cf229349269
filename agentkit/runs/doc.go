// Package runs gives an agent durable runs: a caller submits a run and gets
// its ID at once, reads its status and result later, follows its events as
// a server-sent event stream that resumes from Last-Event-ID on any task,
// and may cancel it. A run executes on a queue worker (long) or in the web
// task (short) through the same API and store, so a caller does not care
// where.
//
// # The pieces
//
//   - Store keeps runs and their events; every task of the web service and
//     the worker shares one. Package agentkit/runs/dynamorun is the
//     DynamoDB store the CDK constructs make a table for (agentservice's
//     RunStore, AGENTKIT_RUNS_TABLE); MemoryStore is one process's.
//   - API serves POST /runs, GET /runs/{id}, GET /runs/{id}/events and
//     POST /runs/{id}/cancel behind agentkit.Server's caller check: a
//     caller sees only its own runs.
//   - Executor executes one run under a lease; sqsworker.Runs makes it a
//     queue worker's Handler (the message body is the run's ID), and Local
//     runs it in the web task's background.
//
// # One holder, events once and in order, one end
//
// A run is Queued, then Running under one holder's lease, then Succeeded,
// Failed or Cancelled for good. Every change is a conditional write: a
// claim succeeds only on a queued run or one whose lease has ended, and a
// holder's renewals, events and end succeed only while it holds the run.
// So a message SQS delivers twice executes the run once (the second claim
// finds it held or ended), a holder that lost its lease can write nothing,
// and each event number is stored once, in order, with no gap.
//
// Takeover rule: a holder renews its lease (AGENTKIT_RUN_LEASE, 60 s by
// default, the queue's visibility timeout) every third of it. A holder that
// was killed stops renewing; once the lease has ended, the next claim (the
// run's message comes back after its visibility timeout) takes the run
// over with Attempt one more. The events of the earlier attempts stay; the
// handler gets Run.Events and may read them to resume, or start again, and
// its events follow them. A run's effect, its end, happens once: a stale
// holder's Finish is refused.
//
// A drain releases the runs a task holds at the cancel point (queued
// again, for the next claim at once); the job time limit of a worker ends
// a run Failed. A web run (OnWeb) whose task was killed has no message to
// bring it back: the first request that reads it after its lease ends it
// Failed, "the task running it stopped".
//
// # Bounds
//
// An input is at most MaxInputBytes (64 KiB), a result MaxResultBytes
// (256 KiB), an event's data MaxEventBytes (32 KiB), a run at most
// MaxEvents (10,000) events, so that a run's item and each event's item fit
// DynamoDB's 400 KB; larger results belong in S3, with their key in the
// result. Past a bound, the call fails with ErrTooLarge and the API answers
// 413.
//
// # Cost
//
// Each open event stream reads the store about twice per PollInterval
// (500 ms) while its run has no new event, and once per 100 events
// otherwise; docs/performance.md gives the store requests per run and per
// event and what they cost.
//
// # Metrics
//
// With agentkit's metrics on, the service's line counts RunsCreated (by the
// API), RunsStarted (claims), RunsSucceeded, RunsFailed, RunsCancelled (on
// the task that ended the run) and RunsRunning (the runs the task holds),
// from the task's first run on.
package runs
