// Package meter aggregates the metrics of agentkit's Server and of
// sqsworker's Consumer and writes them as CloudWatch embedded metric format
// (EMF) lines: one implementation for the one family of metrics both write.
// agentkit re-exports its names and documents the whole ("Metrics" in the
// package documentation).
package meter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The contract's names, re-exported by agentkit (see agentkit/contract.go
// for what each means).
const (
	EnvService   = "AGENTKIT_METRICS_SERVICE"
	EnvNamespace = "AGENTKIT_METRICS_NAMESPACE"
	EnvPrices    = "AGENTKIT_MODEL_PRICES"

	DefaultNamespace = "AgentCDK"
	Interval         = 10 * time.Second
	DimensionService = "Service"
	DimensionModel   = "Model"
	MaxModels        = 20
	ModelOther       = "other"
	MaxModelName     = 255
	MaxLineBytes     = 16 * 1024
	MaxPrice         = 1_000_000

	RequestsInFlight    = "RequestsInFlight"
	RequestsInFlightMax = "RequestsInFlightMax"
	OpenStreams         = "OpenStreams"
	RunningJobs         = "RunningJobs"
	Requests            = "Requests"
	ServerErrors        = "ServerErrors"
	RequestsRefused     = "RequestsRefused"
	RequestsTooLarge    = "RequestsTooLarge"
	RequestsOverBudget  = "RequestsOverBudget"
	Latency             = "Latency"
	JobsCompleted       = "JobsCompleted"
	JobsFailed          = "JobsFailed"
	DrainSeconds        = "DrainSeconds"
	DrainCut            = "DrainCut"
	ModelCalls          = "ModelCalls"
	ModelErrors         = "ModelErrors"
	InputTokens         = "InputTokens"
	OutputTokens        = "OutputTokens"
	ModelLatency        = "ModelLatency"
	ModelCost           = "EstimatedCostUSD"

	RunsCreated   = "RunsCreated"
	RunsStarted   = "RunsStarted"
	RunsSucceeded = "RunsSucceeded"
	RunsFailed    = "RunsFailed"
	RunsCancelled = "RunsCancelled"
	RunsRunning   = "RunsRunning"
)

// Config is agentkit.Metrics.
type Config struct {
	Service, Namespace string
	Output             io.Writer
	Prices             map[string]Price
	Interval           time.Duration
}

// Price is agentkit.ModelPrice.
type Price struct {
	Input  float64 `json:"input"`
	Output float64 `json:"output"`
}

// Call is agentkit.ModelCall.
type Call struct {
	Model                     string
	InputTokens, OutputTokens int
	Latency                   time.Duration
	Err                       error
}

// FromContext returns the meter ctx carries, or nil.
func FromContext(ctx context.Context) *Meter {
	m, _ := ctx.Value(meterKey{}).(*Meter)
	return m
}

type meterKey struct{}

// With makes ctx carry m for RecordModelCall; a nil m leaves ctx.
func With(ctx context.Context, m *Meter) context.Context {
	if m == nil {
		return ctx
	}
	return context.WithValue(ctx, meterKey{}, m)
}

// The clock that requests read: ticks of clockTick since the meter began,
// stored by its sampler, so that timing a request costs an atomic load
// rather than a time.Now (about 70ns on a loaded 2-core VM). Latencies
// are therefore whole multiples of 10ms, which agents, whose answers take
// seconds, do not notice.
const (
	clockTick = 10 * time.Millisecond
	// maxLatencyMs caps a recorded latency (4.6 hours), which keeps the
	// histogram within the 100 values EMF allows per metric.
	maxLatencyMs = 1<<24 - 1
)

// Meter aggregates the metrics of a Server or a worker between two EMF lines.
type Meter struct {
	namespace, service string
	out                io.Writer
	prices             Prices
	interval           time.Duration
	web                bool // a Server: the request metrics are written

	clock       atomic.Int64 // ms since start, in clockTick steps
	requests    atomic.Int64
	serverErrs  atomic.Int64
	refused     atomic.Int64
	tooLarge    atomic.Int64
	overBudget  atomic.Int64
	inflightMax atomic.Int64
	Streams     atomic.Int64 // open streams, counted by their owner
	jobsDone    atomic.Int64
	jobsFailed  atomic.Int64
	latency     histogram

	// The runs' counts (package agentkit/runs), written from the first
	// run on, so that a service without runs writes none of them.
	runsUsed      atomic.Bool
	runsCreated   atomic.Int64
	runsStarted   atomic.Int64
	runsSucceeded atomic.Int64
	runsFailed    atomic.Int64
	runsCancelled atomic.Int64
	runsRunning   atomic.Int64

	outMu sync.Mutex

	modelMu  sync.Mutex
	admitted map[string]bool // the Model values admitted, for the life of the meter
	models   map[string]*modelStats
}

// New resolves cfg against the environment; it returns nil, and no
// error, when there is no service to report for.
func New(cfg Config, web bool) (*Meter, error) {
	c := cfg
	if c.Service == "" {
		c.Service = os.Getenv(EnvService)
	}
	if c.Service == "" || c.Service == "off" {
		return nil, nil
	}
	if c.Namespace == "" {
		c.Namespace = os.Getenv(EnvNamespace)
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.Output == nil {
		c.Output = os.Stdout
	}
	if c.Interval == 0 {
		c.Interval = Interval
	}
	if c.Interval < clockTick {
		return nil, fmt.Errorf("agentkit: Metrics.Interval %s is below %s", c.Interval, clockTick)
	}
	if !DimensionValue(c.Service) {
		return nil, fmt.Errorf("agentkit: metrics service %.60q is not a CloudWatch dimension value; use 1 to 1024 printable ASCII characters, not all spaces", c.Service)
	}
	if !Namespace(c.Namespace) {
		return nil, fmt.Errorf("agentkit: metrics namespace %.60q is not a CloudWatch namespace of yours; use 1 to 255 letters, digits, spaces and . - _ / # :, not all spaces, not starting with \"AWS/\"", c.Namespace)
	}
	prices, err := ResolvePrices(c.Prices)
	if err != nil {
		return nil, err
	}
	m := &Meter{namespace: c.Namespace, service: c.Service, out: c.Output, prices: prices,
		interval: c.Interval, web: web, admitted: map[string]bool{}, models: map[string]*modelStats{}}
	m.latency.reset()
	return m, nil
}

// Prices is a price table keyed by Model values (ModelDimension).
type Prices map[string]Price

// ResolvePrices checks the price table p, or AGENTKIT_MODEL_PRICES' when p
// is nil, and keys it by Model values: the table the meter and a caller
// budget price calls by.
func ResolvePrices(p map[string]Price) (Prices, error) {
	if p == nil {
		var err error
		if p, err = pricesFromEnv(); err != nil {
			return nil, err
		}
	}
	prices := make(Prices, len(p))
	named := make(map[string]string, len(p)) // Model value to the name in the table
	for _, model := range sortedNames(p) {
		pr := p[model]
		dim := ModelDimension(model)
		if dim == ModelOther || !(pr.Input >= 0 && pr.Input <= MaxPrice && pr.Output >= 0 && pr.Output <= MaxPrice) {
			return nil, fmt.Errorf("agentkit: model price %q {input %v, output %v} is not a price; use a model name and dollars per million tokens from 0 to %d", model, pr.Input, pr.Output, MaxPrice)
		}
		if other, ok := named[dim]; ok && prices[dim] != pr {
			return nil, fmt.Errorf("agentkit: model prices %q and %q name one model (Model %q) at two prices", other, model, dim)
		}
		prices[dim], named[dim] = pr, model
	}
	return prices, nil
}

// Cost is what a call of in and out tokens to the model whose Model value
// is dim costs, in US dollars; ok is false when the table has no price
// for it. Negative counts count as 0.
func (p Prices) Cost(dim string, in, out int) (usd float64, ok bool) {
	pr, ok := p[dim]
	if !ok {
		return 0, false
	}
	return (float64(max(in, 0))*pr.Input + float64(max(out, 0))*pr.Output) / 1e6, true
}

func pricesFromEnv() (map[string]Price, error) {
	v := os.Getenv(EnvPrices)
	if v == "" {
		return nil, nil
	}
	var p map[string]Price
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("agentkit: %s is not {\"model\": {\"input\": USD per million tokens, \"output\": ...}}: %w", EnvPrices, err)
	}
	return p, nil
}

// now is the meter's clock, in milliseconds.
func (m *Meter) Now() int64 { return m.clock.Load() }

// began notes a request that raised the in-flight count to n.
func (m *Meter) Began(n int64) {
	for {
		cur := m.inflightMax.Load()
		if n <= cur || m.inflightMax.CompareAndSwap(cur, n) {
			return
		}
	}
}

// answered records one answered request.
func (m *Meter) Answered(status int, startMs int64) {
	m.requests.Add(1)
	if status >= 500 {
		m.serverErrs.Add(1)
	}
	m.latency.observe(m.Now() - startMs)
}

// Refused records one request the in-flight cap refused.
func (m *Meter) Refused() { m.refused.Add(1) }

// TooLarge records one request answered 413 for its body's size.
func (m *Meter) TooLarge() { m.tooLarge.Add(1) }

// OverBudget records one request answered 429 for its caller's budget.
func (m *Meter) OverBudget() { m.overBudget.Add(1) }

// jobEnded records one finished background job.
func (m *Meter) JobEnded(err error) {
	if err != nil {
		m.jobsFailed.Add(1)
	} else {
		m.jobsDone.Add(1)
	}
}

// RunCreated records one run created by the web service.
func (m *Meter) RunCreated() {
	m.runsUsed.Store(true)
	m.runsCreated.Add(1)
}

// RunStarted records one claim of a run, which the task now holds until
// RunStopped.
func (m *Meter) RunStarted() {
	m.runsUsed.Store(true)
	m.runsStarted.Add(1)
	m.runsRunning.Add(1)
}

// RunStopped records that the task no longer holds a run it claimed, and
// how the run ended: "succeeded", "failed" or "cancelled", or "" when the
// task let it go without ending it (released, or its lease lost).
func (m *Meter) RunStopped(status string) {
	m.runsRunning.Add(-1)
	m.ended(status)
}

// RunEnded records a run ended by a task that did not hold it: a run
// cancelled while queued, or a web run whose task stopped, failed by the
// reader that found it.
func (m *Meter) RunEnded(status string) {
	m.runsUsed.Store(true)
	m.ended(status)
}

func (m *Meter) ended(status string) {
	switch status {
	case "succeeded":
		m.runsSucceeded.Add(1)
	case "failed":
		m.runsFailed.Add(1)
	case "cancelled":
		m.runsCancelled.Add(1)
	}
}

// Record adds one model call to the next line of its model. The model's
// name becomes its Model value by ModelDimension; the first MaxModels
// values are admitted for the life of the meter, and every value after them
// is ModelOther, so that one model's calls never split between its own
// value and ModelOther, and the Model values stay bounded however many names
// callers use.
func (m *Meter) Record(c Call) {
	name := ModelDimension(c.Model)
	cost, priced := m.prices.Cost(name, c.InputTokens, c.OutputTokens)
	m.modelMu.Lock()
	defer m.modelMu.Unlock()
	if !m.admitted[name] && name != ModelOther {
		if len(m.admitted) < MaxModels {
			m.admitted[name] = true
		} else {
			name = ModelOther
		}
	}
	s := m.models[name]
	if s == nil {
		s = &modelStats{}
		s.latency.reset()
		m.models[name] = s
	}
	s.calls++
	if c.Err != nil {
		s.errors++
	}
	s.in += int64(max(c.InputTokens, 0))
	s.out += int64(max(c.OutputTokens, 0))
	if priced {
		s.cost += cost
		s.priced = true
	}
	s.latency.observe(c.Latency.Milliseconds())
}

// modelStats are one model's calls since the last line.
type modelStats struct {
	calls, errors, in, out int64
	cost                   float64 // of the calls whose model has a price
	priced                 bool    // some call had a price
	latency                histogram
}

// gauges are what the sampler reads from its owner.
type Gauges struct {
	Inflight func() int64 // nil: not a web server
	Jobs     func() int64
}

// run ticks the clock, samples the in-flight requests and writes a line
// every interval, until stop is closed; then it writes a last line with
// final (the drain's outcome) and returns.
func (m *Meter) Run(g Gauges, stop <-chan struct{}, final func() map[string]float64, done chan<- struct{}) {
	defer close(done)
	start := time.Now()
	t := time.NewTicker(clockTick)
	defer t.Stop()
	var sum, n int64
	next := m.interval
	for {
		select {
		case <-stop:
			m.flush(g, sum, n, final())
			return
		case <-t.C:
		}
		el := time.Since(start)
		m.clock.Store(el.Milliseconds())
		if g.Inflight != nil {
			sum += g.Inflight()
			n++
		}
		if el >= next {
			m.flush(g, sum, n, nil)
			sum, n = 0, 0
			next += m.interval
		}
	}
}

// A metric as an EMF directive names it.
type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// flush writes the lines of the interval that ends now: for the service,
// and then for each model with calls in it, a line of plain numbers and a
// line of its own for each distribution. The format is CloudWatch's
// embedded metric format; a distribution is written as {"Values",
// "Counts", "Max", "Min", "Count", "Sum"}, the form the CloudWatch agent's
// EMF exporter (opentelemetry-collector-contrib awsemfexporter) writes for
// histograms, which the EMF specification does not list (it lists a number
// and an array of numbers). Should CloudWatch refuse that form, it refuses
// the distribution's own line only: the service's numbers, which scaling
// reads (RequestsInFlight), never share a line with one. The service's
// numbers are written last, so the last line of all holds the drain's
// outcome.
func (m *Meter) flush(g Gauges, sum, n int64, extra map[string]float64) {
	now := time.Now().UnixMilli()
	l := newLine(DimensionService)
	if g.Inflight != nil {
		cur := g.Inflight()
		avg := float64(cur)
		if n > 0 {
			avg = math.Round(float64(sum)/float64(n)*100) / 100
		}
		l.add(RequestsInFlight, "Count", avg)
		l.add(RequestsInFlightMax, "Count", max(m.inflightMax.Swap(cur), cur))
		l.add(OpenStreams, "Count", m.Streams.Load())
		l.add(Requests, "Count", m.requests.Swap(0))
		l.add(ServerErrors, "Count", m.serverErrs.Swap(0))
		l.add(RequestsRefused, "Count", m.refused.Swap(0))
		l.add(RequestsTooLarge, "Count", m.tooLarge.Swap(0))
		l.add(RequestsOverBudget, "Count", m.overBudget.Swap(0))
		if d, ok := m.latency.take(); ok {
			m.write(now, newLine(DimensionService).with(Latency, "Milliseconds", d))
		}
	}
	l.add(RunningJobs, "Count", g.Jobs())
	l.add(JobsCompleted, "Count", m.jobsDone.Swap(0))
	l.add(JobsFailed, "Count", m.jobsFailed.Swap(0))
	if m.runsUsed.Load() {
		l.add(RunsCreated, "Count", m.runsCreated.Swap(0))
		l.add(RunsStarted, "Count", m.runsStarted.Swap(0))
		l.add(RunsSucceeded, "Count", m.runsSucceeded.Swap(0))
		l.add(RunsFailed, "Count", m.runsFailed.Swap(0))
		l.add(RunsCancelled, "Count", m.runsCancelled.Swap(0))
		l.add(RunsRunning, "Count", m.runsRunning.Load())
	}
	for _, name := range sortedNames(extra) {
		unit := "Count"
		if name == DrainSeconds {
			unit = "Seconds"
		}
		l.add(name, unit, extra[name])
	}
	m.write(now, l)

	m.modelMu.Lock()
	models := m.models
	m.models = map[string]*modelStats{}
	m.modelMu.Unlock()
	for _, name := range sortedNames(models) {
		s := models[name]
		l := newLine(DimensionService, DimensionModel)
		l.members[DimensionModel] = name
		l.add(ModelCalls, "Count", s.calls)
		l.add(ModelErrors, "Count", s.errors)
		l.add(InputTokens, "Count", s.in)
		l.add(OutputTokens, "Count", s.out)
		if s.priced {
			l.add(ModelCost, "None", math.Round(s.cost*1e6)/1e6)
		}
		m.write(now, l)
		if d, ok := s.latency.take(); ok {
			dl := newLine(DimensionService, DimensionModel)
			dl.members[DimensionModel] = name
			m.write(now, dl.with(ModelLatency, "Milliseconds", d))
		}
	}
}

// emfLine is one EMF document being built: its dimension set, and its
// metrics with their root members.
type emfLine struct {
	dims    []string
	members map[string]any
	metrics []emfMetric
}

func newLine(dims ...string) *emfLine {
	return &emfLine{dims: dims, members: map[string]any{}}
}

func (l *emfLine) add(name, unit string, v any) {
	l.metrics = append(l.metrics, emfMetric{name, unit})
	l.members[name] = v
}

// with adds the one distribution a line holds, and returns l.
func (l *emfLine) with(name, unit string, d distribution) *emfLine {
	l.add(name, unit, d)
	return l
}

// write writes l, with the Service dimension and the _aws metadata, as one
// line. HTML escaping is off, so that a dimension value takes at most twice
// its length (a quote or a backslash is escaped), which keeps every line
// within MaxLineBytes (see lineBound in the tests).
func (m *Meter) write(now int64, l *emfLine) {
	l.members[DimensionService] = m.service
	l.members["_aws"] = map[string]any{
		"Timestamp": now,
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  m.namespace,
			"Dimensions": [][]string{l.dims},
			"Metrics":    l.metrics,
		}},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l.members); err != nil { // only numbers, strings and distributions go in
		panic(fmt.Sprintf("agentkit: encode metrics: %v", err))
	}
	m.outMu.Lock()
	defer m.outMu.Unlock()
	m.out.Write(b.Bytes())
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// histogram counts latencies in milliseconds, exactly below 8ms and in
// four buckets per power of two above (a value is off by at most 12.5 %),
// so that at most 92 buckets cover 0 to maxLatencyMs: within EMF's 100
// values per metric. It is safe for concurrent use, and a take never splits
// an observation between two intervals: observers write to the active half,
// and take switches halves, then waits for the writers still in the old
// one, which are at most a few atomic operations from done.
type histogram struct {
	active atomic.Int32
	halves [2]half
}

type half struct {
	writers  atomic.Int32
	counts   [92]atomic.Int64
	sum      atomic.Int64
	min, max atomic.Int64
}

func (h *histogram) reset() {
	for i := range h.halves {
		h.halves[i].min.Store(math.MaxInt64)
		h.halves[i].max.Store(-1)
	}
}

func bucketOf(ms int64) int {
	if ms < 8 {
		return int(ms)
	}
	e := bits.Len64(uint64(ms)) - 1 // 2^e <= ms < 2^(e+1)
	return 8 + (e-3)*4 + int(ms>>(e-2)&3)
}

// bucketMid is the value a bucket stands for: its exact value below 8ms,
// else the middle of its range.
func bucketMid(i int) float64 {
	if i < 8 {
		return float64(i)
	}
	e := (i-8)/4 + 3
	sub := int64((i - 8) % 4)
	width := int64(1) << (e - 2)
	lo := (4 + sub) * width
	return float64(lo) + float64(width-1)/2
}

func (h *histogram) observe(ms int64) {
	ms = min(max(ms, 0), maxLatencyMs)
	for {
		i := h.active.Load()
		hf := &h.halves[i]
		hf.writers.Add(1)
		if h.active.Load() != i { // take switched halves meanwhile: use the new one
			hf.writers.Add(-1)
			continue
		}
		hf.counts[bucketOf(ms)].Add(1)
		hf.sum.Add(ms)
		for cur := hf.min.Load(); ms < cur && !hf.min.CompareAndSwap(cur, ms); cur = hf.min.Load() {
		}
		for cur := hf.max.Load(); ms > cur && !hf.max.CompareAndSwap(cur, ms); cur = hf.max.Load() {
		}
		hf.writers.Add(-1)
		return
	}
}

// distribution is a histogram as EMF takes it.
type distribution struct {
	Values []float64 `json:"Values"`
	Counts []float64 `json:"Counts"`
	Max    float64   `json:"Max"`
	Min    float64   `json:"Min"`
	Count  int64     `json:"Count"`
	Sum    float64   `json:"Sum"`
}

// take returns the observations since the last take and starts afresh;
// ok is false when there were none. It is called by one goroutine at a
// time.
func (h *histogram) take() (d distribution, ok bool) {
	i := h.active.Load()
	h.active.Store(1 - i)
	hf := &h.halves[i]
	for hf.writers.Load() != 0 {
		runtime.Gosched()
	}
	for b := range hf.counts {
		if c := hf.counts[b].Swap(0); c > 0 {
			d.Values = append(d.Values, bucketMid(b))
			d.Counts = append(d.Counts, float64(c))
			d.Count += c
		}
	}
	d.Sum = float64(hf.sum.Swap(0))
	d.Min = float64(hf.min.Swap(math.MaxInt64))
	d.Max = float64(hf.max.Swap(-1))
	return d, d.Count > 0
}
