package sqsworker

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Client is the part of the SQS API a Consumer calls. *sqs.Client satisfies
// it; tests may pass a fake.
type Client interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

var _ Client = (*sqs.Client)(nil)

// Handler runs one job. Returning nil deletes the message; returning an error
// (or panicking) makes it visible again after a backoff, so the job is retried
// until the queue's redrive policy moves it to the dead-letter queue.
//
// ctx is cancelled at the drain deadline when the worker stops, and not
// before: a job that sees ctx.Done should stop and return; its message is then
// released to another worker, whatever the handler returns. A handler must be
// safe to run again for the same message: SQS delivers at least once, and a
// job cut off by a stop runs again from the start.
type Handler func(ctx context.Context, m Message) error

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
	// DefaultConcurrency is the number of jobs a worker runs at once when
	// Concurrency is zero. Agent jobs mostly wait on model APIs, so a task
	// runs a few at once; it stays small because scale-in protection is per
	// task, and a task that is never idle can never be scaled in.
	DefaultConcurrency = 4

	// DefaultVisibilityTimeout is the visibility timeout the consumer asks
	// for on each receive and renews with each heartbeat. It bounds how long
	// a job waits for another worker when its worker dies without a drain
	// (SIGKILL, a crash). The worker construct sets the queue's own
	// visibility timeout to the same value.
	DefaultVisibilityTimeout = 60 * time.Second

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

	// DrainMargin is the part of the stop timeout kept for the work after
	// the drain deadline: cancelling the jobs, releasing their messages,
	// turning task protection off, and exiting before ECS sends SIGKILL.
	// A stop timeout shorter than twice the margin is split in half.
	DrainMargin = 5 * time.Second
)

// maxBatch is SQS's limit on messages per receive.
const maxBatch = 10

// A Consumer runs jobs from one SQS queue. Set its fields, then call Run.
// The zero value of every optional field is a sensible default. A Consumer
// must not be copied once used, and Run must not be called on it twice at the
// same time.
type Consumer struct {
	// Client sends the SQS requests: an *sqs.Client. Required.
	Client Client

	// QueueURL is the URL of the queue to consume (see QueueURLFromEnv).
	// Required.
	QueueURL string

	// Handler runs each job. Required.
	Handler Handler

	// Concurrency is the most jobs run at once, from 1 to MaxConcurrency.
	// Default: DefaultConcurrency (4).
	Concurrency int

	// VisibilityTimeout is how long a received message stays hidden from
	// other workers, renewed by the heartbeat while its job runs; whole
	// seconds from 1s to MaxVisibilityTimeout.
	// Default: DefaultVisibilityTimeout (60s).
	VisibilityTimeout time.Duration

	// HeartbeatInterval is how often a running job's visibility is extended
	// back to VisibilityTimeout; shorter than VisibilityTimeout. A failed
	// heartbeat is retried sooner, with backoff.
	// Default: a third of VisibilityTimeout (20s), so two heartbeats in a
	// row may fail before another worker could see the message.
	HeartbeatInterval time.Duration

	// WaitTime is the long-poll wait of each receive, whole seconds up to
	// MaxWaitTime. Default: MaxWaitTime (20s), the cheapest polling.
	WaitTime time.Duration

	// RetryBackoff is how long a failed job's message stays invisible after
	// its first delivery; it doubles with each further delivery, up to
	// MaxRetryBackoff, and is rounded up to whole seconds.
	// Default: DefaultRetryBackoff (10s, then 20s, 40s ...).
	RetryBackoff time.Duration

	// DrainTimeout is how long running jobs may go on after Run's context
	// is cancelled. Jobs still running then have their contexts cancelled
	// and their messages released at once; Run returns at most DrainMargin/2
	// later. Default: the stop timeout in AGENTKIT_STOP_TIMEOUT (agentkit's
	// default 30s when unset) minus DrainMargin (5s), or half of it when it
	// is shorter than 10s: 25s for 30s, 115s for 120s, 1s for 2s.
	DrainTimeout time.Duration

	// Protection holds ECS task scale-in protection while jobs run.
	// Default: through the ECS agent in $ECS_AGENT_URI, or none outside ECS.
	Protection TaskProtection

	// Logger receives the consumer's logs: failures and retries at Warn,
	// lost work at Error, shutdown at Info, each job's outcome at Debug.
	// Default: slog.Default().
	Logger *slog.Logger

	inFlight atomic.Int64
}

// InFlight returns the number of jobs running now, including those whose
// messages are being deleted or released.
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
