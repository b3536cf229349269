package sqsworker

import (
	"fmt"
	"os"
	"strconv"
)

// Environment variables the worker construct sets on the container.
const (
	// EnvQueueURL names the environment variable that holds the URL of the
	// queue the worker consumes.
	EnvQueueURL = "AGENTKIT_QUEUE_URL"

	// EnvConcurrency names the environment variable that holds the most
	// jobs one worker task runs at once (Consumer.Concurrency).
	EnvConcurrency = "AGENTKIT_WORKER_CONCURRENCY"
)

// MaxConcurrency is the largest Concurrency accepted: a guard against a typo
// such as 10000, not a limit of SQS.
const MaxConcurrency = 1000

// QueueURLFromEnv returns the queue URL in AGENTKIT_QUEUE_URL, or an error
// when it is unset or empty.
func QueueURLFromEnv() (string, error) {
	v := os.Getenv(EnvQueueURL)
	if v == "" {
		return "", fmt.Errorf("sqsworker: %s is not set; set it to the URL of the queue to consume", EnvQueueURL)
	}
	return v, nil
}

// ConcurrencyFromEnv returns the number in AGENTKIT_WORKER_CONCURRENCY, or
// DefaultConcurrency when it is unset.
func ConcurrencyFromEnv() (int, error) {
	v, ok := os.LookupEnv(EnvConcurrency)
	if !ok || v == "" {
		return DefaultConcurrency, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxConcurrency {
		return 0, fmt.Errorf("sqsworker: %s %q is not a job count; use a number from 1 to %d", EnvConcurrency, v, MaxConcurrency)
	}
	return n, nil
}
