package sqsworker

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/agentcdk/agentcdk/agentkit"
)

// Client is the part of the SQS API a Consumer calls. *sqs.Client satisfies
// it; tests may pass a fake. Messages are settled and kept hidden with the
// batch calls only, ten at a time.
type Client interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

var _ Client = (*sqs.Client)(nil)

// Handler runs one job. Returning nil deletes the message; returning an error
// (or panicking) makes it visible again after a backoff, so the job is retried
// until the queue's redrive policy moves it to the dead-letter queue.
//
// ctx is cancelled, and a job that sees ctx.Done should stop and return,
// in three cases, each with its cause (context.Cause):
//
//   - agentkit.ErrDrainTimeout: the drain's cancel point, when the worker
//     stops; the message is released to another worker at once;
//   - ErrJobTimeout: the job's time limit (Consumer.JobTimeout, whose time
//     ctx.Deadline reports); the job counts as failed, and its message comes
//     back after the retry backoff;
//   - ErrLeaseLost: the message became visible to other workers, which may
//     run the job too; this worker leaves the message alone.
//
// In each case the handler's result is dropped: what happens to the message
// does not depend on it. A handler must be safe to run again for the same
// message: SQS delivers at least once, and a job cut off runs again from
// the start.
type Handler func(ctx context.Context, m Message) error

// Causes of a job's cancelled context, besides agentkit.ErrDrainTimeout.
var (
	// ErrJobTimeout is the cause when the job ran for Consumer.JobTimeout.
	ErrJobTimeout = errors.New("sqsworker: the job ran past its time limit")

	// ErrLeaseLost is the cause when the job's message became visible to
	// other workers: its visibility timeout lapsed while heartbeats failed,
	// or SQS refused a heartbeat for it (another worker received it since).
	ErrLeaseLost = errors.New("sqsworker: the job's message became visible to other workers")
)

// Message is one SQS message handed to a Handler.
type Message struct {
	// ID is the SQS message ID; it stays the same on every delivery.
	ID string
	// Body is the message body.
	Body string
	// ReceiveCount is how many times SQS has delivered the message, this
	// delivery included (1 the first time).
	ReceiveCount int
	// Attributes holds the message attributes of type String and Number.
	Attributes map[string]string
	// Raw is the message as the SDK returned it, for binary attributes and
	// system attributes.
	Raw types.Message
}

// Defaults and limits of the Consumer's fields.
const (
	// MaxVisibilityTimeout is SQS's limit on a message's visibility timeout.
	// It is also SQS's limit on the time since a message was first received,
	// so no heartbeat can hold one job longer than this.
	MaxVisibilityTimeout = 12 * time.Hour

	// MaxWaitTime is SQS's longest long-poll wait, and the default WaitTime.
	MaxWaitTime = 20 * time.Second

	// DefaultRetryBackoff is how long a failed job's message stays invisible
	// after its first delivery when RetryBackoff is zero.
	DefaultRetryBackoff = 10 * time.Second

	// MaxRetryBackoff caps the doubling retry backoff.
	MaxRetryBackoff = 15 * time.Minute

	// SettleDelay bounds how long a finished job's delete (or a failed
	// job's retry delay) waits to share one SQS batch call with others.
	// During the drain nothing waits.
	SettleDelay = 100 * time.Millisecond
)

// maxBatch is SQS's limit on messages per receive and entries per batch call.
const maxBatch = 10

// A Consumer runs jobs from one SQS queue. Set its fields, then call Run.
// The zero value of every optional field is a sensible default, and the
// fields the worker construct sets through the environment read it when
// zero. A Consumer must not be copied once used, and Run must not be called
// on it twice at the same time.
type Consumer struct {
	// Client sends the SQS requests: an *sqs.Client. Required.
	Client Client

	// QueueURL is the URL of the queue to consume.
	// Default: AGENTKIT_QUEUE_URL; Run fails when both are empty.
	QueueURL string

	// Handler runs each job. Required.
	Handler Handler

	// Concurrency is the most jobs run at once, from 1 to
	// agentkit.MaxWorkerConcurrency.
	// Default: AGENTKIT_WORKER_CONCURRENCY, the figure the construct sizes
	// its scaling on, or agentkit.DefaultWorkerConcurrency (4) when unset.
	Concurrency int

	// VisibilityTimeout is how long a received message stays hidden from
	// other workers, renewed by the heartbeat while its job runs; whole
	// seconds from 1s to MaxVisibilityTimeout.
	// Default: agentkit.DefaultQueueVisibilityTimeout (60s), the queue's
	// own, as the worker construct makes it.
	VisibilityTimeout time.Duration

	// HeartbeatInterval is how often the running jobs' messages have their
	// visibility extended back to VisibilityTimeout, in one batch call per
	// ten jobs; shorter than VisibilityTimeout. A failed heartbeat is
	// retried sooner, with backoff.
	// Default: a third of VisibilityTimeout (20s), so two heartbeats in a
	// row may fail before another worker could see a message.
	HeartbeatInterval time.Duration

	// WaitTime is the long-poll wait of each receive, whole seconds up to
	// MaxWaitTime. Default: MaxWaitTime (20s), the cheapest polling.
	WaitTime time.Duration

	// JobTimeout is the longest one job may run, from 1s to
	// MaxVisibilityTimeout less VisibilityTimeout: SQS hides a message at
	// most 12 hours from its receipt. At it the job's context is cancelled
	// with ErrJobTimeout as its cause and the job counts as failed: its
	// message comes back after the retry backoff, whatever the handler
	// returns, so a job that always runs too long reaches the dead-letter
	// queue after the queue's maxReceiveCount deliveries. A handler that
	// has not returned one HeartbeatInterval later is abandoned (see "Time
	// limits and lost messages" in the package documentation).
	// Default: AGENTKIT_JOB_TIMEOUT, which the worker construct sets from
	// its JobTimeout prop, or, when unset, the most SQS allows (11h59m0s
	// with the default VisibilityTimeout).
	JobTimeout time.Duration

	// RetryBackoff is how long a failed job's message stays invisible after
	// its first delivery; it doubles with each further delivery, up to
	// MaxRetryBackoff, and is rounded up to whole seconds.
	// Default: DefaultRetryBackoff (10s, then 20s, 40s ...).
	RetryBackoff time.Duration

	// StopTimeout is the container's stop timeout, from which the drain's
	// deadlines come (agentkit.DrainDeadlines), as for agentkit.Server.
	// Default: AGENTKIT_STOP_TIMEOUT, or agentkit.DefaultStopTimeout (30s)
	// when unset.
	StopTimeout time.Duration

	// Protection holds ECS task scale-in protection while jobs run.
	// Default: through the ECS agent in $ECS_AGENT_URI, or none outside ECS.
	Protection TaskProtection

	// Metrics configures the CloudWatch metrics Run writes, the worker's
	// members of agentkit's family (see "Metrics" in agentkit): running
	// jobs, jobs completed and failed, model calls recorded with
	// agentkit.RecordModelCall from a job's context, and the drain's
	// outcome.
	// Default: from the environment; none unless AGENTKIT_METRICS_SERVICE
	// is set.
	Metrics *agentkit.Metrics

	// Logger receives the consumer's logs: failures and retries at Warn,
	// lost work at Error, shutdown at Info, each job's outcome at Debug.
	// Default: slog.Default().
	Logger *slog.Logger

	inFlight atomic.Int64
}

// ConfigError is the error Run returns, before it starts, when a field or an
// environment variable of the contract is invalid.
type ConfigError struct {
	Err error
}

func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns the error that says what is invalid.
func (e *ConfigError) Unwrap() error { return e.Err }

// InFlight returns the number of jobs running now: handlers that have not
// returned, abandoned ones included.
func (c *Consumer) InFlight() int {
	return int(c.inFlight.Load())
}

// toMessage converts an SDK message for the Handler.
func toMessage(m types.Message) Message {
	msg := Message{
		ID:   deref(m.MessageId),
		Body: deref(m.Body),
		Raw:  m,
	}
	if n, err := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil {
		msg.ReceiveCount = n
	}
	for k, v := range m.MessageAttributes {
		if v.StringValue != nil {
			if msg.Attributes == nil {
				msg.Attributes = make(map[string]string, len(m.MessageAttributes))
			}
			msg.Attributes[k] = *v.StringValue
		}
	}
	return msg
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
