package sqsworker

import (
	"fmt"
	"os"
	"strconv"

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
