package sqsworker_test

import (
	"bufio"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/sqsworker"
	"github.com/agentcdk/agentcdk/internal/emfcheck"
)

func TestWorkerMetricsAreTheWebServicesFamily(t *testing.T) {
	t.Parallel()
	// GIVEN 30 jobs, one in three failing, each recording a model call
	q := &fakeQueue{}
	for range 30 {
		q.send("job")
	}
	var out logBuffer
	var n sync.Mutex
	count := 0
	c := &sqsworker.Consumer{Client: q, QueueURL: "q", Concurrency: 5, WaitTime: time.Second,
		Logger:  quietLogger(&logBuffer{}),
		Metrics: &agentkit.Metrics{Service: "agents/worker", Output: &out, Interval: 50 * time.Millisecond},
		Handler: func(ctx context.Context, _ sqsworker.Message) error {
			n.Lock()
			count++
			i := count
			n.Unlock()
			agentkit.RecordModelCall(ctx, agentkit.ModelCall{Model: "planner", InputTokens: 10, OutputTokens: 2})
			if i%3 == 0 {
				return errors.New("model refused")
			}
			return nil
		}}

	// WHEN the worker runs them and stops
	stop := start(t, c)
	if !eventually(20*time.Second, func() bool { d, v, _ := q.state(); return len(d) == 20 && len(v) == 10 }) {
		t.Fatal("the jobs were not all settled")
	}
	if err := stop(); err != nil {
		t.Fatalf("Run() = %v", err)
	}

	// THEN its lines are valid EMF with the web service's names: jobs
	// completed and failed, running jobs, the model calls from the jobs'
	// context, the drain's outcome; and no request metrics
	sums := map[string]float64{}
	var last map[string]any
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		doc, err := emfcheck.Check(sc.Bytes())
		if err != nil {
			t.Fatalf("%v\n%s", err, sc.Text())
		}
		if doc.Members["Service"] != "agents/worker" || doc.Directives[0].Namespace != agentkit.DefaultMetricsNamespace {
			t.Fatalf("service %v namespace %s", doc.Members["Service"], doc.Directives[0].Namespace)
		}
		if _, ok := doc.Members[agentkit.MetricRequests]; ok {
			t.Fatalf("a worker wrote request metrics: %s", sc.Text())
		}
		for k, v := range doc.Members {
			if f, ok := v.(float64); ok {
				sums[k] += f
			}
		}
		if _, ok := doc.Members["Model"]; !ok {
			last = doc.Members
		}
	}
	for name, want := range map[string]float64{
		agentkit.MetricJobsCompleted: 20, agentkit.MetricJobsFailed: 10,
		agentkit.MetricModelCalls: 30, agentkit.MetricInputTokens: 300, agentkit.MetricDrainCut: 0,
	} {
		if sums[name] != want {
			t.Errorf("%s: %v, want %v", name, sums[name], want)
		}
	}
	if _, ok := last[agentkit.MetricDrainSeconds]; !ok {
		t.Errorf("the last line lacks the drain: %v", last)
	}
	if _, ok := last[agentkit.MetricRunningJobs]; !ok {
		t.Errorf("no RunningJobs: %v", last)
	}
}
