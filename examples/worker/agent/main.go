// Command agent is the runnable worker of examples/worker: it takes agent
// jobs from the SQS queue that the worker construct made and runs each one,
// standing in for a real agent run with a fixed simulated latency.
//
// It logs JSON lines to stdout; each finished job logs one line,
//
//	{"level":"INFO","msg":"job finished","message_id":"…",…}
//
// so its work can be checked from outside (CloudWatch Logs Insights, or the
// tests). SIGTERM or SIGINT stops it: it stops taking jobs, lets running ones
// finish until the drain's cancel point, releases the rest to other workers and
// exits 0.
//
// Environment:
//
//	AGENTKIT_QUEUE_URL            the queue to consume (required; set by the construct)
//	AGENTKIT_WORKER_CONCURRENCY   jobs run at once (default 4; set by the construct)
//	AGENTKIT_STOP_TIMEOUT         the container's stop timeout (default 30s; set by the construct)
//	AGENTKIT_JOB_TIMEOUT          a job's time limit (default 11h59m, the most SQS allows; set by the construct)
//	AGENT_SIMULATED_LATENCY       how long one job takes, a Go duration (default 5s)
//	AGENTKIT_RUNS_TABLE           the DynamoDB table of durable runs (set by the construct's RunStore);
//	                              with it each message is a run's ID, executed with agentkit/runs,
//	                              and each run ends with one line {"msg":"run ended","run":"…",…}
//	AGENTKIT_RUN_LEASE            a run's lease (default 60s; set by the construct)
//	AGENT_VISIBILITY_TIMEOUT      the visibility timeout the consumer asks for (default 60s, the queue's)
//	AWS_ENDPOINT_URL              optional; points the SDK at another endpoint (tests use moto)
//
// Exit status: 0 after a stop, 1 when a job ignored the drain's cancel point
// or AWS configuration failed, 2 for bad environment values.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/sqsworker"
)

// EnvSimulatedLatency names the variable that sets how long a job takes.
const EnvSimulatedLatency = "AGENT_SIMULATED_LATENCY"

// defaultLatency is a job's length when AGENT_SIMULATED_LATENCY is unset.
const defaultLatency = 5 * time.Second

func main() {
	os.Exit(run())
}

func run() int {
	// Hook SIGTERM first: a stop during start-up then ends ctx instead of
	// the process; one SIGTERM is still one drain.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	latency, err := latencyFromEnv()
	if err != nil {
		log.Error("agent: bad configuration", "error", err)
		return 2
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("agent: load AWS configuration", "error", err)
		return 1
	}
	// The queue URL, the concurrency, the stop timeout and the job time
	// limit come from the environment the worker construct sets; Run drains
	// on SIGTERM.
	handler := job(latency, log)
	if os.Getenv(agentkit.EnvRunsTable) != "" {
		// Durable runs: each message names a run in the runs table.
		if handler, err = runHandler(awsCfg, latency, log); err != nil {
			log.Error("agent: bad configuration", "error", err)
			return 2
		}
	}
	visibility, err := visibilityFromEnv()
	if err != nil {
		log.Error("agent: bad configuration", "error", err)
		return 2
	}
	c := &sqsworker.Consumer{
		Client:            sqs.NewFromConfig(awsCfg),
		Handler:           handler,
		Logger:            log,
		VisibilityTimeout: visibility,
	}
	log.Info("agent: worker started", "latency", latency.String())
	if err := c.Run(ctx); err != nil {
		var bad *sqsworker.ConfigError
		if errors.As(err, &bad) {
			log.Error("agent: bad configuration", "error", err)
			return 2
		}
		log.Error("agent: worker stopped", "error", err)
		return 1
	}
	log.Info("agent: worker stopped")
	return 0
}

// EnvVisibilityTimeout names the variable that sets the visibility timeout
// the consumer asks for; unset, the queue's as the construct makes it
// (agentkit.DefaultQueueVisibilityTimeout). Tests shorten it, so that the
// message of a worker they kill comes back soon.
const EnvVisibilityTimeout = "AGENT_VISIBILITY_TIMEOUT"

func visibilityFromEnv() (time.Duration, error) {
	v := os.Getenv(EnvVisibilityTimeout)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second || d%time.Second != 0 {
		return 0, fmt.Errorf("agent: %s %q is not whole seconds of 1s or more (for example \"60s\")", EnvVisibilityTimeout, v)
	}
	return d, nil
}

func latencyFromEnv() (time.Duration, error) {
	v := os.Getenv(EnvSimulatedLatency)
	if v == "" {
		return defaultLatency, nil
	}
	latency, err := time.ParseDuration(v)
	if err != nil || latency < 0 {
		return 0, fmt.Errorf("agent: %s %q is not a duration of 0 or more (for example \"30s\")", EnvSimulatedLatency, v)
	}
	return latency, nil
}

// job returns the handler that runs one job: here, waiting for the simulated
// latency; a real agent calls its model and tools. It stops early when ctx
// ends: at the worker's drain deadline, when the consumer hands the job to
// another worker, or at the job's time limit, when the job is retried after
// a backoff and, after the queue's maxReceiveCount deliveries, lands in the
// dead-letter queue.
func job(latency time.Duration, log *slog.Logger) sqsworker.Handler {
	return func(ctx context.Context, m sqsworker.Message) error {
		log.Info("job started", "message_id", m.ID, "receive_count", m.ReceiveCount)
		began := time.Now()
		t := time.NewTimer(latency)
		defer t.Stop()
		var err error
		select {
		case <-t.C:
		case <-ctx.Done():
			err = fmt.Errorf("job %s cut off: %w", m.ID, context.Cause(ctx))
		}
		// The stand-in model's call, recorded as agent code records each
		// call to its model (here a word is a token).
		agentkit.RecordModelCall(ctx, agentkit.ModelCall{Model: "simulated", InputTokens: len(strings.Fields(m.Body)),
			Latency: time.Since(began), Err: err})
		if err != nil {
			return err
		}
		log.Info("job finished", "message_id", m.ID, "receive_count", m.ReceiveCount, "bytes", len(m.Body))
		return nil
	}
}
