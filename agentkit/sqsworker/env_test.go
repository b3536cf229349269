package sqsworker_test

import (
	"testing"

	"github.com/agentcdk/agentcdk/agentkit/sqsworker"
)

func TestQueueURLFromEnv(t *testing.T) {
	tests := []struct {
		name, value, want, wantErr string
	}{
		{"set", "https://sqs.us-east-1.amazonaws.com/123456789012/jobs", "https://sqs.us-east-1.amazonaws.com/123456789012/jobs", ""},
		{"empty", "", "", "sqsworker: AGENTKIT_QUEUE_URL is not set; set it to the URL of the queue to consume"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN AGENTKIT_QUEUE_URL set to the value
			t.Setenv(sqsworker.EnvQueueURL, tt.value)

			// WHEN the worker reads it
			got, err := sqsworker.QueueURLFromEnv()

			// THEN it gets the URL, or an error naming the variable
			if got != tt.want || errString(err) != tt.wantErr {
				t.Errorf("QueueURLFromEnv() = %q, %v; want %q, %q", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestConcurrencyFromEnv(t *testing.T) {
	tests := []struct {
		name, value string
		want        int
		wantErr     string
	}{
		{"unset", "", sqsworker.DefaultConcurrency, ""},
		{"set", "16", 16, ""},
		{"zero", "0", 0, `sqsworker: AGENTKIT_WORKER_CONCURRENCY "0" is not a job count; use a number from 1 to 1000`},
		{"too many", "1001", 0, `sqsworker: AGENTKIT_WORKER_CONCURRENCY "1001" is not a job count; use a number from 1 to 1000`},
		{"not a number", "four", 0, `sqsworker: AGENTKIT_WORKER_CONCURRENCY "four" is not a job count; use a number from 1 to 1000`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN AGENTKIT_WORKER_CONCURRENCY set to the value
			t.Setenv(sqsworker.EnvConcurrency, tt.value)

			// WHEN the worker reads it
			got, err := sqsworker.ConcurrencyFromEnv()

			// THEN it gets the number, the default, or an error naming the variable
			if got != tt.want || errString(err) != tt.wantErr {
				t.Errorf("ConcurrencyFromEnv() = %d, %v; want %d, %q", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
