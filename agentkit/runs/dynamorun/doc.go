// Package dynamorun keeps runs (package agentkit/runs) in one Amazon
// DynamoDB table: the runs.Store that the web service and the worker
// share. The AWS SDK lives here, so that agentkit and agentkit/runs need
// only the standard library.
//
// FromEnv makes the store the agentservice construct describes: the table
// named by AGENTKIT_RUNS_TABLE, runs kept for AGENTKIT_RUN_RETENTION. New
// takes a client and a table of your own.
//
// # The table
//
// The table has the string keys pk and sk (the construct makes it on
// demand, with the time-to-live attribute expires). A run and its events
// share a partition:
//
//	pk = "run#<id>", sk = "run"                  the run: caller, where, status, input, result,
//	                                             error, attempt, events (the count), owner,
//	                                             leaseUntil, cancelRequested, created, started,
//	                                             ended, lastOwner, expires
//	pk = "run#<id>", sk = "ev#" + 16 digits      event n: type, data, at, owner (its writer), expires
//
// Times are Unix nanoseconds, so a lease compares in a condition and a run
// reads back the instant it was given; input, result and event data are
// binary, kept byte for byte. expires is Unix seconds: a run's is its
// Run.Expires, or Created plus the retention; an event's is its At plus the
// retention, so a run's events outlive it by at most the run's own length.
// DynamoDB deletes an expired item within a few days, and until then reads
// still return it.
//
// # The conditions
//
// Every change is one conditional write, so that two holders, two cancels,
// or a cancel and a finish never both take effect:
//
//   - Create puts the run if no item has its key.
//   - Claim updates it if it is queued, or running under a lease that ended
//     before now: running, owner, leaseUntil = now+lease, started = now,
//     attempt + 1.
//   - Renew, Release and Finish update it if it is running and owner holds
//     it.
//   - Append is one TransactWriteItems: put the event's item if none has its
//     key, and set the run's events to Seq if owner holds the run, it is
//     running and its events are Seq-1. Each Seq is written once, by the
//     holder, in order; a holder whose lease was taken over writes nothing.
//   - Cancel ends a queued run (error runs.ErrCancelled's text); if the run
//     is running, a second write sets cancelRequested; an ended run is
//     returned as it is.
//
// A write whose condition fails returns the run as it was
// (ReturnValuesOnConditionCheckFailure ALL_OLD), so ErrNotClaimable and
// ErrLeaseLost carry the run, or its holder, without a second read.
//
// Get and Events read consistently: a run claimed or ended on another task
// reads as it now is, and a reader that saw a run count n events gets all
// n (an eventually consistent read may miss the latest, and a stream would
// end without them). Events is one Query from event after+1 to the run
// item, which proves the run exists without another read; it follows pages
// past 1 MB.
//
// # Retries
//
// The SDK's retryer retries throttling (ThrottlingException,
// ProvisionedThroughputExceededException), 5xx answers and broken
// connections: DynamoDB's client makes 4 attempts. The store retries, with
// a jittered backoff from 25 ms, 4 tries in all, what the SDK does not: a
// TransactionConflictException, and a transaction cancelled only for a
// conflict or throttling of one of its items. Every method is bounded by
// the call timeout (DefaultCallTimeout, 10 s; WithCallTimeout), the SDK's
// retries included.
//
// A write sent twice takes effect once. The SDK sends a request again when
// its answer is lost, and a caller may retry a call that failed: Create
// finds its own run (same fields) and reports it created; Claim finds the
// run held by owner since now until now+lease; Append finds its own event
// (same Seq, owner, type, data and time), and DynamoDB also honours the
// transaction's client request token for 10 minutes; Finish finds the run
// ended as it asked by owner; Release finds it queued, last held by owner;
// Renew is idempotent. Each returns success without writing again. An
// Append of a Seq that holds another event is refused with ErrLeaseLost.
//
// # Bounds
//
// The store checks runs' bounds before it calls AWS (runs.CheckNew,
// CheckEvent, CheckEnd): an input of at most runs.MaxInputBytes (64 KiB), a
// result of runs.MaxResultBytes (256 KiB), an event of runs.MaxEventBytes
// (32 KiB), runs.MaxEvents events; so a run item stays within DynamoDB's
// 400 KB. It also refuses a run without Created, an event without At, and
// an event type that is not UTF-8, and answers runs.ErrNotFound, sending
// nothing, for an ID that no run can have (runs.ValidID).
//
// # Cost
//
// On demand, DynamoDB bills a write by the larger of the item before and
// after it, one write request unit (WRU) per KB, and a transactional write
// twice that per item; a strongly consistent read, one read request unit
// per 4 KB (https://aws.amazon.com/dynamodb/pricing/on-demand/). A run of n
// events costs Create, Claim, Finish and a renewal per lease/3 (one write
// of the run item each) and 2 x (event KB + run item KB) per event: with
// an input under 1 KB, 4 + 4n WRU (44 for 10 events). The run item holds
// the input, so a large input makes every write of the run dearer: with a
// 64 KiB input, 65 WRU per write and 132 per event (1,580 for 10 events).
// docs/performance.md has the figures and the benchmark that measures them.
package dynamorun
