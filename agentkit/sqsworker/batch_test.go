package sqsworker_test

import (
	"context"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit/sqsworker"
)

func TestJobsEndingTogetherShareReceivesAndDeletes(t *testing.T) {
	t.Parallel()
	// GIVEN 100 quick jobs and a worker that runs ten at once
	q := &fakeQueue{}
	for range 100 {
		q.send("job")
	}
	c := &sqsworker.Consumer{Client: q, QueueURL: "q", Concurrency: 10, WaitTime: time.Second,
		Logger: quietLogger(&logBuffer{}), Handler: func(context.Context, sqsworker.Message) error { return nil }}

	// WHEN it runs them all
	stop := start(t, c)
	if !eventually(20*time.Second, func() bool { d, _, _ := q.state(); return len(d) == 100 }) {
		t.Fatal("the jobs were not all deleted")
	}
	if err := stop(); err != nil {
		t.Fatalf("Run() = %v", err)
	}

	// THEN receives fetch several messages each and deletes go ten to a
	// call: well under half an SQS request per job (one call per job
	// would be 2)
	calls := q.callCount()
	total := calls["ReceiveMessage"] + calls["DeleteMessageBatch"] + calls["ChangeMessageVisibilityBatch"]
	perJob := float64(total) / 100
	t.Logf("SQS calls: %v, %.2f per job; delete batches %v", calls, perJob, q.batchSizes("DeleteMessageBatch"))
	if perJob > 0.4 {
		t.Errorf("%.2f SQS calls per job (%v), want at most 0.4", perJob, calls)
	}
	if n := calls["DeleteMessageBatch"]; n > 20 {
		t.Errorf("%d delete calls for 100 jobs, want batches of about ten", n)
	}
}

func TestHeartbeatExtendsTheRunningJobsTenToACall(t *testing.T) {
	t.Parallel()
	// GIVEN twelve long jobs running at once, with a 3s visibility timeout
	// renewed every 500ms
	q := &fakeQueue{}
	for range 12 {
		q.send("job")
	}
	release := make(chan struct{})
	c := &sqsworker.Consumer{Client: q, QueueURL: "q", Concurrency: 12, WaitTime: time.Second,
		VisibilityTimeout: 3 * time.Second, HeartbeatInterval: 500 * time.Millisecond,
		Logger:  quietLogger(&logBuffer{}),
		Handler: func(context.Context, sqsworker.Message) error { <-release; return nil }}
	stop := start(t, c)

	// WHEN three heartbeat rounds have extended every job
	extended := eventually(20*time.Second, func() bool {
		_, vis, _ := q.state()
		return len(vis) >= 36
	})
	close(release)
	if err := stop(); err != nil {
		t.Fatalf("Run() = %v", err)
	}

	// THEN each round took two calls, one of ten jobs and one of two
	if !extended {
		t.Fatal("the heartbeat did not extend the running jobs three times")
	}
	sizes := q.batchSizes("ChangeMessageVisibilityBatch")
	for i := 0; i+1 < 6; i += 2 {
		if sizes[i]+sizes[i+1] != 12 || max(sizes[i], sizes[i+1]) != 10 {
			t.Fatalf("heartbeat calls carried %v jobs, want rounds of 10 + 2", sizes)
		}
	}
}
