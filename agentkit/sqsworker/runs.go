package sqsworker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/agentcdk/agentcdk/agentkit/runs"
)

// Runs returns a Handler that executes durable runs (package
// agentkit/runs): each message's body is a run's ID, which the web
// service's runs.API sent, and e executes it. The message is deleted when
// the run is ended (by this delivery or before it: a redelivered message
// of an ended or cancelled run does nothing), and on its first delivery
// when another worker holds the run under a live lease (runs.ErrHeld: a
// duplicate, such as an idempotent repeat of POST /runs sends; the
// holder's own message was received before, stays in flight until it
// settles, and comes back if the holder dies). It comes back otherwise: a
// run released at the drain or lost is claimed again by its next delivery,
// and a redelivery that finds the run held (the holder's own message, back
// after its death, while the lease has not yet ended) is tried again after
// the retry backoff. The job's time limit (ErrJobTimeout) ends the run
// Failed (runs.ErrTimeLimit) rather than retrying it.
//
// A body that is not a run ID is an error: the message goes to the
// dead-letter queue after the queue's maxReceiveCount deliveries.
func Runs(e *runs.Executor) Handler {
	return func(ctx context.Context, m Message) error {
		id := strings.TrimSpace(m.Body)
		if !runs.ValidID(id) {
			return fmt.Errorf("sqsworker: message %s: body %.80q is not a run ID", m.ID, m.Body)
		}
		rctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
		defer cancel(nil)
		stop := context.AfterFunc(ctx, func() {
			cause := context.Cause(ctx)
			if errors.Is(cause, ErrJobTimeout) {
				cause = runs.ErrTimeLimit
			}
			cancel(cause)
		})
		defer stop()
		err := e.Execute(rctx, id)
		if errors.Is(err, runs.ErrHeld) && m.ReceiveCount == 1 {
			// A first delivery cannot be the holder's own message, which
			// it received before: a duplicate, which the holder's covers.
			return nil
		}
		return err
	}
}
