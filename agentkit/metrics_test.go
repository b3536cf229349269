package agentkit_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/emfcheck"
)

// emfLines checks every line of out against the EMF specification and
// returns the documents.
func emfLines(t *testing.T, out string) []emfcheck.Doc {
	t.Helper()
	var docs []emfcheck.Doc
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		doc, err := emfcheck.Check(sc.Bytes())
		if err != nil {
			t.Fatalf("%v\n%s", err, sc.Text())
		}
		docs = append(docs, doc)
	}
	return docs
}

// total sums metric over the documents whose Model member is model ("" for
// the service's own lines); a distribution counts its Count.
func total(docs []emfcheck.Doc, metric, model string) (sum float64, seen int) {
	for _, d := range docs {
		if m, _ := d.Members["Model"].(string); m != model {
			continue
		}
		switch v := d.Members[metric].(type) {
		case float64:
			sum += v
			seen++
		case map[string]any:
			dist, _ := emfcheck.DistributionOf(v)
			sum += dist.Count
			seen++
		}
	}
	return sum, seen
}

func maxOf(docs []emfcheck.Doc, metric string) float64 {
	var m float64
	for _, d := range docs {
		if v, ok := d.Members[metric].(float64); ok {
			m = max(m, v)
		}
	}
	return m
}

func TestMetricsCountRequestsConcurrencyErrorsAndModelCalls(t *testing.T) {
	t.Parallel()
	// GIVEN a metered server whose handler holds each request until 50 are
	// in flight, records a model call each, and answers 503 when the call
	// failed (one in ten)
	const batch, batches = 50, 4
	out := &notifyingBuffer{wrote: make(chan struct{}, 1)}
	var arrived atomic.Int64
	var gates [batches]chan struct{}
	for i := range gates {
		gates[i] = make(chan struct{})
	}
	var n atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		b := (i - 1) / batch
		// The first batch is held until a line has sampled it, so that
		// the average in flight is seen; the others go at once.
		if arrived.Add(1)%batch == 0 && b > 0 {
			close(gates[b])
		}
		<-gates[b]
		model := []string{"claude-sonnet", "gpt-small"}[i%2]
		var err error
		if i%20 == 0 || i%20 == 5 { // ten calls of each model
			err = errors.New("overloaded")
		}
		agentkit.RecordModelCall(r.Context(), agentkit.ModelCall{Model: model, InputTokens: 100, OutputTokens: 20, Latency: 1500 * time.Millisecond, Err: err})
		if err != nil {
			http.Error(w, "model overloaded", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	})
	srv := &agentkit.Server{
		HTTP:   &http.Server{Handler: h},
		Logger: quiet,
		Metrics: &agentkit.Metrics{Service: "web", Namespace: "Test", Output: out, Interval: 50 * time.Millisecond,
			Prices: map[string]agentkit.ModelPrice{"claude-sonnet": {Input: 3, Output: 15}}},
	}
	addr, stop := serveInProcess(t, srv)

	// WHEN 200 requests arrive, 50 at a time, and the server stops
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: batch, MaxIdleConnsPerHost: batch}}
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range batch * batches {
		wg.Go(func() {
			resp, err := client.Get("http://" + addr + "/run")
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				failed.Add(1)
			}
		})
	}
	for !sampled(t, out.String()) {
		<-out.wrote
	}
	close(gates[0])
	wg.Wait()
	client.CloseIdleConnections()
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// THEN every line is valid EMF, and the numbers are what was sent
	docs := emfLines(t, out.String())
	for _, d := range docs {
		dir := d.Directives[0]
		if dir.Namespace != "Test" || d.Members["Service"] != "web" {
			t.Fatalf("namespace %s service %v", dir.Namespace, d.Members["Service"])
		}
	}
	check := func(metric, model string, want float64) {
		t.Helper()
		if got, _ := total(docs, metric, model); got != want {
			t.Errorf("%s %s: got %v, want %v", metric, model, got, want)
		}
	}
	check(agentkit.MetricRequests, "", 200)
	check(agentkit.MetricServerErrors, "", float64(failed.Load()))
	check(agentkit.MetricLatency, "", 200)
	if failed.Load() != 20 {
		t.Errorf("%d requests failed, want 20", failed.Load())
	}
	if got := maxOf(docs, agentkit.MetricRequestsInFlightMax); got != batch {
		t.Errorf("RequestsInFlightMax peaked at %v, want %d", got, batch)
	}
	if got := maxOf(docs, agentkit.MetricRequestsInFlight); got <= 0 || got > batch {
		t.Errorf("RequestsInFlight peaked at %v, want within (0, %d]", got, batch)
	}
	for _, model := range []string{"claude-sonnet", "gpt-small"} {
		check(agentkit.MetricModelCalls, model, 100)
		check(agentkit.MetricModelErrors, model, 10)
		check(agentkit.MetricInputTokens, model, 100*100)
		check(agentkit.MetricOutputTokens, model, 100*20)
		check(agentkit.MetricModelLatency, model, 100)
	}
	// AND the cost is estimated for the priced model only:
	// 100 calls × (100 × $3 + 20 × $15) per million tokens = $0.06
	if got, _ := total(docs, agentkit.MetricModelCost, "claude-sonnet"); fmt.Sprintf("%.6f", got) != "0.060000" {
		t.Errorf("cost %v, want 0.06", got)
	}
	if _, seen := total(docs, agentkit.MetricModelCost, "gpt-small"); seen != 0 {
		t.Errorf("a cost for an unpriced model")
	}
	// AND the last line of the service tells the drain's outcome
	var last emfcheck.Doc
	for _, d := range docs {
		if _, ok := d.Members["Model"]; !ok {
			last = d
		}
	}
	if _, ok := last.Members[agentkit.MetricDrainSeconds].(float64); !ok || last.Members[agentkit.MetricDrainCut] != 0.0 {
		t.Errorf("last line %v", last.Members)
	}
}

func TestMetricsCountJobsStreamsAndBoundTheModels(t *testing.T) {
	t.Parallel()
	// GIVEN a metered server with a stream open, two jobs run (one fails)
	// and calls to more models than MaxModels
	out := &notifyingBuffer{wrote: make(chan struct{}, 1)}
	streamOpen, release := make(chan struct{}), make(chan struct{})
	var srv *agentkit.Server
	srv = &agentkit.Server{
		Logger:  quiet,
		Metrics: &agentkit.Metrics{Service: "web", Output: out, Interval: 20 * time.Millisecond},
		HTTP: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := w.(http.Flusher); !ok {
				t.Error("the metered writer hides http.Flusher")
			}
			st, err := srv.Stream(w, r)
			if err != nil {
				t.Error(err)
				return
			}
			defer st.Close()
			close(streamOpen)
			<-release
		})},
	}
	addr, stop := serveInProcess(t, srv)
	go func() {
		resp, err := newClient(t).Get("http://" + addr + "/stream")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	<-streamOpen
	jobs := make(chan struct{}, 2)
	srv.Go(func(ctx context.Context) error {
		for i := range agentkit.MaxModels + 5 {
			agentkit.RecordModelCall(ctx, agentkit.ModelCall{Model: fmt.Sprint("model-", i), InputTokens: 1})
		}
		jobs <- struct{}{}
		return nil
	})
	srv.Go(func(context.Context) error { jobs <- struct{}{}; return errors.New("job failed") })
	<-jobs
	<-jobs

	// WHEN a line is written with the stream still open, and the server stops
	for !strings.Contains(out.String(), `"OpenStreams":1`) {
		<-out.wrote
	}
	close(release)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// THEN the jobs are counted, the stream was seen, and the models beyond
	// MaxModels were reported as "other"
	docs := emfLines(t, out.String())
	if got, _ := total(docs, agentkit.MetricJobsCompleted, ""); got != 1 {
		t.Errorf("JobsCompleted %v", got)
	}
	if got, _ := total(docs, agentkit.MetricJobsFailed, ""); got != 1 {
		t.Errorf("JobsFailed %v", got)
	}
	models := map[string]bool{}
	for _, d := range docs {
		if m, ok := d.Members["Model"].(string); ok {
			models[m] = true
		}
	}
	if len(models) != agentkit.MaxModels+1 || !models[agentkit.ModelOther] {
		t.Errorf("%d models reported: %v", len(models), models)
	}
	if got, _ := total(docs, agentkit.MetricModelCalls, agentkit.ModelOther); got != 5 {
		t.Errorf("other: %v calls, want 5", got)
	}
}

func TestMetricsAreOffWithoutAServiceAndCheckTheirConfiguration(t *testing.T) {
	// GIVEN no service: WHEN a server serves THEN nothing is written
	var out lockedBuffer
	srv := &agentkit.Server{Logger: quiet, Metrics: &agentkit.Metrics{Output: &out}, HTTP: &http.Server{Handler: noop}}
	addr, stop := serveInProcess(t, srv)
	get(t, newClient(t), "http://"+addr+"/run")
	if err := stop(); err != nil || out.String() != "" {
		t.Fatalf("%v %q", err, out.String())
	}
	// GIVEN a malformed price table: THEN the server refuses to start
	t.Setenv(agentkit.EnvMetricsService, "web")
	t.Setenv(agentkit.EnvModelPrices, `{"m": {"input": "three"}}`)
	err := (&agentkit.Server{Logger: quiet}).ListenAndServe(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), `agentkit: AGENTKIT_MODEL_PRICES is not {"model": {"input": USD per million tokens, "output": ...}}`) {
		t.Fatalf("got %v", err)
	}
	t.Setenv(agentkit.EnvModelPrices, `{"m": {"input": -1, "output": 2}}`)
	err = (&agentkit.Server{Logger: quiet}).ListenAndServe(context.Background())
	if want := `agentkit: model price "m" {input -1, output 2} is not a price; use a model name and finite dollars per million tokens of 0 or more`; err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

// sampled reports whether a line of out saw requests in flight on average.
func sampled(t *testing.T, out string) bool {
	for _, d := range emfLines(t, out) {
		if v, _ := d.Members[agentkit.MetricRequestsInFlight].(float64); v > 0 {
			return true
		}
	}
	return false
}

// notifyingBuffer is a lockedBuffer that signals each write.
type notifyingBuffer struct {
	lockedBuffer
	wrote chan struct{}
}

func (n *notifyingBuffer) Write(p []byte) (int, error) {
	defer func() {
		select {
		case n.wrote <- struct{}{}:
		default:
		}
	}()
	return n.lockedBuffer.Write(p)
}
