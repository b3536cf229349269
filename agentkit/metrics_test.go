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
	"unicode"

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

	// THEN every line is valid EMF, the scaling metric's line holds plain
	// numbers only, and the numbers are what was sent
	docs := emfLines(t, out.String())
	for _, d := range docs {
		dir := d.Directives[0]
		if dir.Namespace != "Test" || d.Members["Service"] != "web" {
			t.Fatalf("namespace %s service %v", dir.Namespace, d.Members["Service"])
		}
	}
	checkLineShapes(t, docs)
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
	if want := `agentkit: model price "m" {input -1, output 2} is not a price; use a model name and dollars per million tokens from 0 to 1000000`; err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

// checkLineShapes checks that no line mixes a distribution with anything:
// a line that holds one holds that metric only, and the lines that hold the
// scaling metric (MetricRequestsInFlight) hold only what the EMF
// specification lists, numbers and arrays of numbers
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
// so that a reader refusing the distribution form cannot take the scaling
// metric down with it. It fails when no line holds a distribution or the
// scaling metric, which would prove nothing.
func checkLineShapes(t *testing.T, docs []emfcheck.Doc) {
	t.Helper()
	var scaling, distributions int
	for _, d := range docs {
		if _, ok := d.Members[agentkit.MetricRequestsInFlight]; ok {
			scaling++
			if !d.Plain {
				t.Errorf("the scaling metric shares a line with a distribution: %v", d.Members)
			}
		}
		if !d.Plain {
			distributions++
			if n := len(d.Directives[0].Metrics); len(d.Directives) != 1 || n != 1 {
				t.Errorf("a line with a distribution holds %d metrics: %v", n, d.Members)
			}
		}
	}
	if scaling == 0 || distributions == 0 {
		t.Fatalf("%d lines with the scaling metric, %d with a distribution", scaling, distributions)
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

// meteredJob runs a Server with metrics written to out every interval, and
// returns the context of a job it runs for the test's length, through which
// the test records model calls as agent code does.
func meteredJob(t *testing.T, m *agentkit.Metrics) context.Context {
	t.Helper()
	srv := &agentkit.Server{Logger: quiet, Metrics: m, HTTP: &http.Server{Handler: noop}}
	addr, stop := serveInProcess(t, srv)
	get(t, newClient(t), "http://"+addr+"/") // Serve has begun: jobs are metered
	ctxs, release := make(chan context.Context), make(chan struct{})
	if err := srv.Go(func(ctx context.Context) error {
		ctxs <- ctx
		<-release
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(release)
		stop()
	})
	return <-ctxs
}

// nextFlush waits until every call recorded so far has been written: until
// two more lines of the service (each interval writes one, before its
// models' lines) follow those seen now.
func nextFlush(out *notifyingBuffer) {
	count := func() int { return strings.Count(out.String(), `"`+agentkit.MetricRunningJobs+`":`) } // the member, once a line
	for want := count() + 2; count() < want; {
		<-out.wrote
	}
}

func TestTheModelsAdmittedStayForTheLifeOfTheProcess(t *testing.T) {
	t.Parallel()
	// GIVEN a metered process, and 25 model names (5 more than MaxModels)
	out := &notifyingBuffer{wrote: make(chan struct{}, 1)}
	ctx := meteredJob(t, &agentkit.Metrics{Service: "web", Output: out, Interval: 20 * time.Millisecond})
	model := func(i int) string { return fmt.Sprint("model-", i) }
	calls := map[string]float64{}
	call := func(i int) {
		agentkit.RecordModelCall(ctx, agentkit.ModelCall{Model: model(i), InputTokens: 1})
		calls[model(i)]++
	}

	// WHEN, over four intervals, the first 10 models are called; then all
	// 25, the 15 new ones first; then all 25 again; then the last 5 only
	for i := range 10 {
		call(i)
	}
	nextFlush(out)
	for i := range 25 {
		call((i + 10) % 25)
	}
	nextFlush(out)
	for i := range 25 {
		call(i)
	}
	nextFlush(out)
	for i := 20; i < 25; i++ {
		call(i)
	}
	nextFlush(out)

	// THEN the first MaxModels names ever called are reported as
	// themselves, every call of theirs under their own name in every
	// interval; the rest only ever as ModelOther; so 21 Model values in all
	docs := emfLines(t, out.String())
	values := map[string]bool{}
	for _, d := range docs {
		if m, ok := d.Members["Model"].(string); ok {
			values[m] = true
		}
	}
	if len(values) != agentkit.MaxModels+1 {
		t.Errorf("%d Model values written, want %d: %v", len(values), agentkit.MaxModels+1, values)
	}
	var other float64
	for i := range 25 {
		got, _ := total(docs, agentkit.MetricModelCalls, model(i))
		if i >= agentkit.MaxModels {
			other += calls[model(i)]
			calls[model(i)] = 0
		}
		if got != calls[model(i)] {
			t.Errorf("%s: %v calls under its own name, want %v", model(i), got, calls[model(i)])
		}
	}
	if got, _ := total(docs, agentkit.MetricModelCalls, agentkit.ModelOther); got != other {
		t.Errorf("%s: %v calls, want %v", agentkit.ModelOther, got, other)
	}
}

// hugeName is the 307 KB name that once made a line over CloudWatch Logs'
// 256 KB event limit.
var hugeName = strings.Repeat("m", 307*1024)

func TestModelNamesCloudWatchRefusesAreWrittenAsValidOnes(t *testing.T) {
	t.Parallel()
	// GIVEN a metered process with a price for "modèle"
	out := &notifyingBuffer{wrote: make(chan struct{}, 1)}
	ctx := meteredJob(t, &agentkit.Metrics{Service: "web", Output: out, Interval: 20 * time.Millisecond,
		Prices: map[string]agentkit.ModelPrice{"modèle": {Input: 1e6}}})

	// WHEN calls name models with names CloudWatch refuses as dimension
	// values: 2,000 characters, 307 KB, non-ASCII, blank, control
	// characters
	names := []string{strings.Repeat("x", 2000), hugeName, "modèle", "模型", "", "   ", "\t\n", "gpt\x00-4", "gpt-4o\n", "\xff\xfe"}
	for _, name := range names {
		agentkit.RecordModelCall(ctx, agentkit.ModelCall{Model: name, InputTokens: 1})
	}
	nextFlush(out)

	// THEN every line is valid EMF (whose dimension values CloudWatch
	// takes) and within MaxMetricsLineBytes; each name is written as its
	// ModelDimension; the blank ones as ModelOther; and "modèle" has its
	// price
	for line := range strings.Lines(out.String()) {
		if len(line) > agentkit.MaxMetricsLineBytes {
			t.Errorf("a line of %d bytes", len(line))
		}
	}
	docs := emfLines(t, out.String())
	want := map[string]float64{agentkit.ModelOther: 3}
	for _, name := range names {
		if v := agentkit.ModelDimension(name); v != agentkit.ModelOther {
			want[v]++
		}
	}
	for value, n := range want {
		if got, _ := total(docs, agentkit.MetricModelCalls, value); got != n {
			t.Errorf("Model %q: %v calls, want %v", value, got, n)
		}
	}
	if got, _ := total(docs, agentkit.MetricModelCost, "mod_le~209b459b"); got != 1 {
		t.Errorf("modèle's cost %v, want $1", got)
	}
}

func TestModelDimensionMakesEveryNameAValidDimensionValue(t *testing.T) {
	long := strings.Repeat("x", 2000)
	cases := []struct{ name, want string }{
		{"claude-sonnet-4-5", "claude-sonnet-4-5"},
		{"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0", "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"},
		{"my model (beta)", "my model (beta)"},
		{" gpt-4o\n", "gpt-4o"},
		{"\tgpt-4o\r\n\x00", "gpt-4o"},
		{"", agentkit.ModelOther},
		{"   ", agentkit.ModelOther},
		{"\x00\x1f\u00a0", agentkit.ModelOther},
		{"modèle", "mod_le~209b459b"},
		{"模型", "__~c7a28aea"},
		{"gpt\x00-4", "gpt_-4~"},
		{"\xff\xfe", "__~"},
		{long, long[:agentkit.MaxModelNameLength-9] + "~"},
		{strings.Repeat("y", agentkit.MaxModelNameLength), strings.Repeat("y", agentkit.MaxModelNameLength)},
		{strings.Repeat("y", agentkit.MaxModelNameLength+1), strings.Repeat("y", agentkit.MaxModelNameLength-9) + "~"},
	}
	for _, c := range cases {
		got := agentkit.ModelDimension(c.name)
		if !strings.HasPrefix(got, c.want) || (!strings.HasSuffix(c.want, "~") && got != c.want) {
			t.Errorf("ModelDimension(%.40q) = %q, want %q", c.name, got, c.want)
		}
		checkDimensionValue(t, c.name, got)
	}
	// Names rewritten alike stay apart.
	if a, b := agentkit.ModelDimension(long+"a"), agentkit.ModelDimension(long+"b"); a == b {
		t.Errorf("two long names share %q", a)
	}
	if a, b := agentkit.ModelDimension("modèle"), agentkit.ModelDimension("modéle"); a == b {
		t.Errorf("two non-ASCII names share %q", a)
	}
}

// checkDimensionValue fails unless v, the Model value of name, is a valid
// CloudWatch dimension value
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html:
// ASCII only, no control characters, at least one character that is not
// whitespace, 1 to 1024 characters) within MaxModelNameLength, with no
// space at either end, that maps to itself.
func checkDimensionValue(t *testing.T, name, v string) {
	t.Helper()
	if len(v) == 0 || len(v) > agentkit.MaxModelNameLength || strings.TrimSpace(v) != v {
		t.Fatalf("ModelDimension(%.40q) = %q: length %d or spaces at an end", name, v, len(v))
	}
	for i := 0; i < len(v); i++ {
		if v[i] < ' ' || v[i] > '~' {
			t.Fatalf("ModelDimension(%.40q) = %q holds byte %#x", name, v, v[i])
		}
	}
	if again := agentkit.ModelDimension(v); again != v {
		t.Fatalf("ModelDimension(%q) = %q: a Model value does not map to itself", v, again)
	}
}

func FuzzModelDimension(f *testing.F) {
	for _, seed := range []string{"claude-sonnet-4-5", "", " ", "modèle", "模型", "gpt\x00-4", "\xff", strings.Repeat("x", 300), " a ", "a~0000ffff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		v := agentkit.ModelDimension(name)
		checkDimensionValue(t, name, v)
		// A name that is already a valid value, with nothing to drop at
		// its ends, is kept; any other that is not blank is rewritten with
		// its hash.
		trimmed := strings.TrimFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
		switch {
		case trimmed == "":
			if v != agentkit.ModelOther {
				t.Fatalf("blank %q is %q", name, v)
			}
		case v != trimmed:
			if len(v) < 9 || v[len(v)-9] != '~' {
				t.Fatalf("%q rewritten as %q, without its hash", name, v)
			}
		}
		if agentkit.ModelDimension(name) != v {
			t.Fatal("not deterministic")
		}
	})
}

func TestMetricsRefuseAServiceNamespaceOrPriceCloudWatchWouldDrop(t *testing.T) {
	// Service is a dimension value
	// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html);
	// the namespace follows CloudWatch's rule
	// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Namespace).
	cases := []struct {
		name string
		m    agentkit.Metrics
		want string
	}{
		{"non-ASCII service", agentkit.Metrics{Service: "wéb"},
			`agentkit: metrics service "wéb" is not a CloudWatch dimension value; use 1 to 1024 printable ASCII characters, not all spaces`},
		{"long service", agentkit.Metrics{Service: strings.Repeat("s", 1025)},
			`agentkit: metrics service "` + strings.Repeat("s", 60) + `" is not a CloudWatch dimension value`},
		{"blank service", agentkit.Metrics{Service: "  "},
			`agentkit: metrics service "  " is not a CloudWatch dimension value`},
		{"AWS namespace", agentkit.Metrics{Service: "web", Namespace: "AWS/ECS"},
			`agentkit: metrics namespace "AWS/ECS" is not a CloudWatch namespace of yours; use 1 to 255 letters, digits, spaces and . - _ / # :, not all spaces, not starting with "AWS/"`},
		{"bad namespace", agentkit.Metrics{Service: "web", Namespace: "my*metrics"},
			`agentkit: metrics namespace "my*metrics" is not a CloudWatch namespace of yours`},
		{"price out of range", agentkit.Metrics{Service: "web", Prices: map[string]agentkit.ModelPrice{"m": {Input: 2e6}}},
			`agentkit: model price "m" {input 2e+06, output 0} is not a price; use a model name and dollars per million tokens from 0 to 1000000`},
		{"blank priced model", agentkit.Metrics{Service: "web", Prices: map[string]agentkit.ModelPrice{" ": {Input: 1}}},
			`agentkit: model price " " {input 1, output 0} is not a price`},
		{"one model at two prices", agentkit.Metrics{Service: "web", Prices: map[string]agentkit.ModelPrice{"gpt-4o": {Input: 1}, "gpt-4o\n": {Input: 2}}},
			`agentkit: model prices "gpt-4o" and "gpt-4o\n" name one model (Model "gpt-4o") at two prices`},
	}
	// Were one accepted, the server would listen on a free loopback port
	// and, its context done, drain at once.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := &agentkit.Server{Logger: quiet, Metrics: &c.m, HTTP: &http.Server{Addr: "127.0.0.1:0"}}
			err := srv.ListenAndServe(done)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("got  %v\nwant %s", err, c.want)
			}
		})
	}
}
