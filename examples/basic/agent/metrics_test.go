package main_test

import (
	"bufio"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/emfcheck"
)

// TestAgentMetricsAreValidEMFAndCountWhatWasSent runs the agent binary with
// metrics on, as the construct configures it, sends 200 runs at 50 in
// flight, stops it with SIGTERM, and checks every line it wrote to stdout
// against the EMF specification and the numbers against what was sent.
func TestAgentMetricsAreValidEMFAndCountWhatWasSent(t *testing.T) {
	t.Parallel()
	const workers, each = 50, 4
	p := ready(t, "AGENT_SIMULATED_LATENCY=1s", "AGENTKIT_METRICS_SERVICE=agents/web",
		"AGENTKIT_METRICS_NAMESPACE=AgentTest", "AGENT_MODEL=stand-in",
		`AGENTKIT_MODEL_PRICES={"stand-in": {"input": 3, "output": 15}}`)
	c := newClient(t)

	// GIVEN 50 clients sending 4 runs each, one after the other
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if got := post(c, p.base+"/run", `{"input":"plan my trip"}`); !strings.HasPrefix(got, "200 ") {
					t.Errorf("run: %s", got)
				}
			}
		})
	}
	wg.Wait()

	// WHEN the agent stops
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}

	// THEN every stdout line is valid EMF in the namespace and service given
	sums := map[string]float64{}
	peak := 0.0
	sc := bufio.NewScanner(strings.NewReader(p.stdout.String()))
	lines := 0
	for sc.Scan() {
		doc, err := emfcheck.Check(sc.Bytes())
		if err != nil {
			t.Fatalf("%v\n%s", err, sc.Text())
		}
		lines++
		if doc.Directives[0].Namespace != "AgentTest" || doc.Members["Service"] != "agents/web" {
			t.Fatalf("namespace %s, service %v", doc.Directives[0].Namespace, doc.Members["Service"])
		}
		for name, v := range doc.Members {
			switch v := v.(type) {
			case float64:
				sums[name] += v
			case map[string]any:
				d, _ := emfcheck.DistributionOf(v)
				sums[name] += d.Count
				// Latency is read from a clock ticked every 10ms, which a
				// loaded machine may tick late: the unit and the scale are
				// what this checks, not the precision.
				if name == agentkit.MetricLatency && (d.Min < 500 || d.Max > 5000) {
					t.Errorf("latency %v..%v ms for runs of 1s", d.Min, d.Max)
				}
			}
		}
		if v, ok := doc.Members[agentkit.MetricRequestsInFlightMax].(float64); ok {
			peak = max(peak, v)
		}
	}
	// AND the numbers are what was sent: 200 runs, at most 50 in flight,
	// each a model call of 3 words in ("plan my trip") and 5 out ("You
	// said: plan my trip")
	want := map[string]float64{
		agentkit.MetricRequests:     200,
		agentkit.MetricServerErrors: 0,
		agentkit.MetricLatency:      200,
		agentkit.MetricModelCalls:   200,
		agentkit.MetricModelErrors:  0,
		agentkit.MetricInputTokens:  200 * 3,
		agentkit.MetricOutputTokens: 200 * 5,
		agentkit.MetricModelLatency: 200,
		agentkit.MetricDrainCut:     0,
	}
	for name, w := range want {
		if sums[name] != w {
			t.Errorf("%s: %v, want %v", name, sums[name], w)
		}
	}
	// 200 × (3 × $3 + 5 × $15) per million tokens = $0.0168
	if got := sums[agentkit.MetricModelCost]; got < 0.01679 || got > 0.01681 {
		t.Errorf("cost %v, want 0.0168", got)
	}
	if peak != workers {
		t.Errorf("RequestsInFlightMax peaked at %v, want %d", peak, workers)
	}
	if lines < 2 {
		t.Errorf("%d lines: want the service's and the model's", lines)
	}
}
