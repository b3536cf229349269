package sqsworker

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
)

// queueURLFromEnv returns the queue URL in AGENTKIT_QUEUE_URL, or "" when it
// is unset.
func queueURLFromEnv() string {
	return os.Getenv(agentkit.EnvQueueURL)
}

// concurrencyFromEnv returns the number in AGENTKIT_WORKER_CONCURRENCY, or
// agentkit.DefaultWorkerConcurrency when it is unset.
func concurrencyFromEnv() (int, error) {
	v, ok := os.LookupEnv(agentkit.EnvWorkerConcurrency)
	if !ok || v == "" {
		return agentkit.DefaultWorkerConcurrency, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > agentkit.MaxWorkerConcurrency {
		return 0, fmt.Errorf("sqsworker: %s %q is not a job count; use a number from 1 to %d", agentkit.EnvWorkerConcurrency, v, agentkit.MaxWorkerConcurrency)
	}
	return n, nil
}

// jobTimeoutFromEnv returns the duration in AGENTKIT_JOB_TIMEOUT, or most
// when it is unset; a value outside 1s to most is an error.
func jobTimeoutFromEnv(most time.Duration) (time.Duration, error) {
	v, ok := os.LookupEnv(agentkit.EnvJobTimeout)
	if !ok || v == "" {
		return most, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("sqsworker: %s %q is not a Go duration (for example \"900s\"): %w", agentkit.EnvJobTimeout, v, err)
	}
	if d < time.Second || d > most {
		return 0, fmt.Errorf("sqsworker: %s %s is out of range; use 1s to %s", agentkit.EnvJobTimeout, d, most)
	}
	return d, nil
}
