package runs

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Status is where a run is in its life. A run is created Queued, becomes
// Running when a worker (or the web task) claims it, and ends Succeeded,
// Failed or Cancelled; an ended run never changes again.
type Status string

// The statuses a run passes through.
const (
	Queued    Status = "queued"
	Running   Status = "running"
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
	Cancelled Status = "cancelled"
)

// Ended reports whether s is a final status: Succeeded, Failed or Cancelled.
func (s Status) Ended() bool {
	return s == Succeeded || s == Failed || s == Cancelled
}

// Where a run executes.
const (
	// OnWorker runs execute on a queue worker (agentkit/sqsworker): the
	// web task enqueues the run's ID and a worker claims it.
	OnWorker = "worker"
	// OnWeb runs execute in the web task that accepted them, in the
	// background of agentkit.Server (Server.Go).
	OnWeb = "web"
)

// The bounds on what a run holds, so that a run and its events always fit a
// store's item (DynamoDB's is 400 KB) with room for the run's own fields.
const (
	// MaxInputBytes is the largest input a run accepts, in bytes.
	MaxInputBytes = 64 * 1024
	// MaxResultBytes is the largest result a run may end with, in bytes.
	MaxResultBytes = 256 * 1024
	// MaxErrorBytes is the longest error text a run keeps; a longer one
	// is cut to it.
	MaxErrorBytes = 1024
	// MaxEventBytes is the largest data one event may carry, in bytes.
	MaxEventBytes = 32 * 1024
	// MaxEventType is the longest event type, in bytes.
	MaxEventType = 64
	// MaxEvents is the most events one run may append.
	MaxEvents = 10_000
	// MaxIDBytes is the longest run ID a store accepts.
	MaxIDBytes = 64
)

// A Run is one agent run as its store holds it.
type Run struct {
	// ID names the run: "run_" followed by lowercase base32.
	ID string `json:"id"`
	// Caller is the name of the caller that created the run
	// (agentkit.Caller.Name); only that caller may read or cancel it.
	Caller string `json:"-"`
	// Where is OnWorker or OnWeb.
	Where string `json:"where"`
	// Status is where the run is in its life.
	Status Status `json:"status"`
	// Input is what the caller sent, a JSON value of at most
	// MaxInputBytes.
	Input json.RawMessage `json:"input,omitempty"`
	// Result is what the run produced, a JSON value of at most
	// MaxResultBytes; set only when Status is Succeeded.
	Result json.RawMessage `json:"result,omitempty"`
	// Error says why the run failed or was cancelled.
	Error string `json:"error,omitempty"`
	// Attempt counts the claims: 1 for the first execution, more when a
	// run whose holder stopped was taken over.
	Attempt int `json:"attempt"`
	// Events is how many events the run has appended: the next event's
	// Seq is Events+1.
	Events int64 `json:"events"`
	// Owner names the holder of the run's lease while it is Running.
	Owner string `json:"-"`
	// LeaseUntil is when the holder's lease ends unless renewed.
	LeaseUntil time.Time `json:"-"`
	// CancelRequested is set by a cancel while the run is Running: its
	// holder sees it at its next renewal and ends the run Cancelled.
	CancelRequested bool `json:"cancelRequested,omitempty"`
	// Created, Started and Ended are when the run was created, last
	// claimed and ended (zero until then).
	Created time.Time `json:"created"`
	Started time.Time `json:"started,omitzero"`
	Ended   time.Time `json:"ended,omitzero"`
	// Expires is when the store may forget the run and its events (a
	// DynamoDB TTL attribute).
	Expires time.Time `json:"-"`
}

// An Event is one step a run reports, in order.
type Event struct {
	// Seq numbers the run's events from 1, with no gaps: a stream sends it
	// as the SSE id, and a client that reconnects sends the last one it
	// saw as Last-Event-ID.
	Seq int64 `json:"seq"`
	// Type is the event's type (the SSE event name), at most MaxEventType
	// bytes with no line break; empty means "message".
	Type string `json:"type,omitempty"`
	// Data is the event's data, at most MaxEventBytes.
	Data string `json:"data"`
	// At is when the event was appended.
	At time.Time `json:"at"`
}

// The errors a Store returns. Callers test for them with errors.Is; a store
// wraps them with context.
var (
	// ErrNotFound: no run has that ID (or the store has forgotten it).
	ErrNotFound = errors.New("runs: no such run")
	// ErrNotClaimable: the run is ended, or running under a lease that has
	// not ended.
	ErrNotClaimable = errors.New("runs: run is not claimable")
	// ErrLeaseLost: the caller no longer holds the run (its lease ended and
	// another took it over, or the run ended).
	ErrLeaseLost = errors.New("runs: lease lost")
	// ErrTooLarge: an input, result, event or event count beyond its bound.
	ErrTooLarge = errors.New("runs: too large")
)

// A Store keeps runs and their events. Every method is safe for concurrent
// use by many processes: each change is one conditional write (or one
// transaction), so that two holders, two cancels or a cancel and a finish
// never both take effect. Times come from the caller's clock; the store
// compares leases with the now it is given.
type Store interface {
	// Create stores r, which must be Queued with Attempt 0 and Events 0,
	// unless a run with r.ID exists: then it returns that run and false.
	// Idempotency keys rely on it: the run's ID is derived from the caller
	// and the key (see IDFor).
	Create(ctx context.Context, r Run) (Run, bool, error)

	// Get returns the run with that ID, or ErrNotFound.
	Get(ctx context.Context, id string) (Run, error)

	// Claim makes owner the run's holder until now+lease, counting one
	// more Attempt and setting Started, if the run is Queued, or Running
	// under a lease that ended before now. Otherwise it returns the run as
	// it is and ErrNotClaimable.
	Claim(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (Run, error)

	// Renew extends owner's lease to now+lease and returns the run, whose
	// CancelRequested tells the holder to stop. It returns ErrLeaseLost
	// when owner no longer holds the run.
	Renew(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (Run, error)

	// Release gives the run back: Queued again with no holder, its
	// Attempt, events and CancelRequested kept, so that the next claim
	// need not wait for the lease to end. It returns ErrLeaseLost when
	// owner no longer holds the run.
	Release(ctx context.Context, id, owner string) error

	// Append stores ev as the run's next event, if owner holds the run and
	// ev.Seq is the run's Events+1; it returns ErrLeaseLost otherwise (a
	// holder whose lease was taken over must not write), and ErrTooLarge
	// past MaxEvents or MaxEventBytes. The event and the run's count change
	// together or not at all.
	Append(ctx context.Context, id, owner string, ev Event) error

	// Events returns up to limit of the run's events with Seq greater than
	// after, in order.
	Events(ctx context.Context, id string, after int64, limit int) ([]Event, error)

	// Finish ends the run with status (Succeeded, Failed or Cancelled),
	// result (Succeeded only) and errText, at now, if owner holds it; it
	// returns the ended run, or ErrLeaseLost.
	Finish(ctx context.Context, id, owner string, status Status, result json.RawMessage, errText string, now time.Time) (Run, error)

	// Cancel ends a Queued run Cancelled at now, marks a Running one
	// CancelRequested for its holder, and leaves an ended one as it is; it
	// returns the run as it then is, or ErrNotFound.
	Cancel(ctx context.Context, id string, now time.Time) (Run, error)
}

// ErrCancelled is the cause of a run's context when its caller cancelled
// it, and the error text of a run that ended Cancelled.
var ErrCancelled = errors.New("runs: cancelled by its caller")
