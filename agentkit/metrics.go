package agentkit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Metrics configures the CloudWatch metrics a Server writes, as "Metrics" in
// the package documentation says. Its zero value reads everything from the
// environment the construct sets.
type Metrics struct {
	// Service is the value of the Service dimension.
	// Default: AGENTKIT_METRICS_SERVICE; with neither, no metrics are
	// written and requests cost what they cost without metrics.
	Service string

	// Namespace is the CloudWatch namespace.
	// Default: AGENTKIT_METRICS_NAMESPACE, or DefaultMetricsNamespace.
	Namespace string

	// Output receives one EMF JSON line per interval (and per model with
	// calls in it). Writes to it are serialised.
	// Default: os.Stdout, which the awslogs driver ships.
	Output io.Writer

	// Prices turns tokens into MetricModelCost for the models it lists.
	// The prices are the caller's, from its providers' price lists; the
	// cost is an estimate.
	// Default: AGENTKIT_MODEL_PRICES, or none.
	Prices map[string]ModelPrice

	// Interval is how often the metrics are written.
	// Default: MetricsInterval.
	Interval time.Duration
}

// ModelPrice is what a model costs, in US dollars per million tokens.
type ModelPrice struct {
	Input  float64 `json:"input"`
	Output float64 `json:"output"`
}

// ModelCall is one call of agent code to a model, for RecordModelCall.
type ModelCall struct {
	// Model names the model, as its provider does ("claude-sonnet-4-5").
	Model string
	// InputTokens and OutputTokens are the tokens the provider billed.
	InputTokens, OutputTokens int
	// Latency is how long the call took.
	Latency time.Duration
	// Err is the call's error, nil when it succeeded.
	Err error
}

// RecordModelCall adds one model call to the metrics of the Server whose
// request or job ctx belongs to, aggregated per model into the next line it
// writes (MetricModelCalls, MetricModelErrors, MetricInputTokens,
// MetricOutputTokens, MetricModelLatency, and MetricModelCost when the
// price table lists the model). Anywhere else, or with metrics off, it
// does nothing. It is safe for concurrent use.
func RecordModelCall(ctx context.Context, c ModelCall) {
	if m, ok := ctx.Value(meterKey{}).(*meter); ok {
		m.recordModel(c)
	}
}

type meterKey struct{}

// withMeter makes ctx carry m for RecordModelCall; a nil m leaves ctx.
func withMeter(ctx context.Context, m *meter) context.Context {
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

// meter aggregates a Server's metrics between two EMF lines.
type meter struct {
	namespace, service string
	out                io.Writer
	prices             map[string]ModelPrice
	interval           time.Duration
	web                bool // a Server: the request metrics are written

	clock       atomic.Int64 // ms since start, in clockTick steps
	requests    atomic.Int64
	serverErrs  atomic.Int64
	inflightMax atomic.Int64
	streams     atomic.Int64
	jobsDone    atomic.Int64
	jobsFailed  atomic.Int64
	latency     histogram

	outMu sync.Mutex

	modelMu sync.Mutex
	models  map[string]*modelStats
}

// newMeter resolves cfg against the environment; it returns nil, and no
// error, when there is no service to report for.
func newMeter(cfg *Metrics, web bool) (*meter, error) {
	var c Metrics
	if cfg != nil {
		c = *cfg
	}
	if c.Service == "" {
		c.Service = os.Getenv(EnvMetricsService)
	}
	if c.Service == "" || c.Service == "off" {
		return nil, nil
	}
	if c.Namespace == "" {
		c.Namespace = os.Getenv(EnvMetricsNamespace)
	}
	if c.Namespace == "" {
		c.Namespace = DefaultMetricsNamespace
	}
	if c.Output == nil {
		c.Output = os.Stdout
	}
	if c.Interval == 0 {
		c.Interval = MetricsInterval
	}
	if c.Interval < clockTick {
		return nil, fmt.Errorf("agentkit: Metrics.Interval %s is below %s", c.Interval, clockTick)
	}
	if len(c.Service) > 1024 {
		return nil, fmt.Errorf("agentkit: metrics service %.40q... is longer than 1024 characters, CloudWatch's limit for a dimension value", c.Service)
	}
	if c.Prices == nil {
		var err error
		if c.Prices, err = pricesFromEnv(); err != nil {
			return nil, err
		}
	}
	for model, p := range c.Prices {
		if model == "" || !(p.Input >= 0 && p.Output >= 0) || math.IsInf(p.Input, 0) || math.IsInf(p.Output, 0) {
			return nil, fmt.Errorf("agentkit: model price %q {input %v, output %v} is not a price; use a model name and finite dollars per million tokens of 0 or more", model, p.Input, p.Output)
		}
	}
	m := &meter{namespace: c.Namespace, service: c.Service, out: c.Output, prices: c.Prices,
		interval: c.Interval, web: web, models: map[string]*modelStats{}}
	m.latency.reset()
	return m, nil
}

func pricesFromEnv() (map[string]ModelPrice, error) {
	v := os.Getenv(EnvModelPrices)
	if v == "" {
		return nil, nil
	}
	var p map[string]ModelPrice
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("agentkit: %s is not {\"model\": {\"input\": USD per million tokens, \"output\": ...}}: %w", EnvModelPrices, err)
	}
	return p, nil
}

// now is the meter's clock, in milliseconds.
func (m *meter) now() int64 { return m.clock.Load() }

// began notes a request that raised the in-flight count to n.
func (m *meter) began(n int64) {
	for {
		cur := m.inflightMax.Load()
		if n <= cur || m.inflightMax.CompareAndSwap(cur, n) {
			return
		}
	}
}

// answered records one answered request.
func (m *meter) answered(status int, startMs int64) {
	m.requests.Add(1)
	if status >= 500 {
		m.serverErrs.Add(1)
	}
	m.latency.observe(m.now() - startMs)
}

// jobEnded records one finished background job.
func (m *meter) jobEnded(err error) {
	if err != nil {
		m.jobsFailed.Add(1)
	} else {
		m.jobsDone.Add(1)
	}
}

func (m *meter) recordModel(c ModelCall) {
	m.modelMu.Lock()
	defer m.modelMu.Unlock()
	name := c.Model
	if name == "" {
		name = ModelOther
	}
	s := m.models[name]
	if s == nil {
		if len(m.models) >= MaxModels {
			name = ModelOther
			s = m.models[name]
		}
		if s == nil {
			s = &modelStats{}
			s.latency.reset()
			m.models[name] = s
		}
	}
	s.calls++
	if c.Err != nil {
		s.errors++
	}
	s.in += int64(max(c.InputTokens, 0))
	s.out += int64(max(c.OutputTokens, 0))
	s.latency.observe(c.Latency.Milliseconds())
}

// modelStats are one model's calls since the last line.
type modelStats struct {
	calls, errors, in, out int64
	latency                histogram
}

// gauges are what the sampler reads from its owner.
type gauges struct {
	inflight func() int64 // nil: not a web server
	jobs     func() int64
}

// run ticks the clock, samples the in-flight requests and writes a line
// every interval, until stop is closed; then it writes a last line with
// final (the drain's outcome) and returns.
func (m *meter) run(g gauges, stop <-chan struct{}, final func() map[string]float64, done chan<- struct{}) {
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
		if g.inflight != nil {
			sum += g.inflight()
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

// flush writes the line of the interval that ends now, and one per model
// with calls in it. The format is CloudWatch's embedded metric format; a
// distribution is written as {"Values", "Counts", "Max", "Min", "Count",
// "Sum"}, the form the CloudWatch agent's EMF exporter
// (opentelemetry-collector-contrib awsemfexporter) writes for histograms.
func (m *meter) flush(g gauges, sum, n int64, extra map[string]float64) {
	members := map[string]any{}
	var metrics []emfMetric
	add := func(name, unit string, v any) {
		metrics = append(metrics, emfMetric{name, unit})
		members[name] = v
	}
	if g.inflight != nil {
		cur := g.inflight()
		avg := float64(cur)
		if n > 0 {
			avg = math.Round(float64(sum)/float64(n)*100) / 100
		}
		add(MetricRequestsInFlight, "Count", avg)
		add(MetricRequestsInFlightMax, "Count", max(m.inflightMax.Swap(cur), cur))
		add(MetricOpenStreams, "Count", m.streams.Load())
		add(MetricRequests, "Count", m.requests.Swap(0))
		add(MetricServerErrors, "Count", m.serverErrs.Swap(0))
		if d, ok := m.latency.take(); ok {
			add(MetricLatency, "Milliseconds", d)
		}
	}
	add(MetricRunningJobs, "Count", g.jobs())
	add(MetricJobsCompleted, "Count", m.jobsDone.Swap(0))
	add(MetricJobsFailed, "Count", m.jobsFailed.Swap(0))
	for _, name := range sortedNames(extra) {
		unit := "Count"
		if name == MetricDrainSeconds {
			unit = "Seconds"
		}
		add(name, unit, extra[name])
	}
	now := time.Now().UnixMilli()
	m.write(now, []string{DimensionService}, members, metrics)

	m.modelMu.Lock()
	models := m.models
	m.models = map[string]*modelStats{}
	m.modelMu.Unlock()
	for _, name := range sortedNames(models) {
		s := models[name]
		members := map[string]any{DimensionModel: name}
		metrics = metrics[:0]
		add := func(metric, unit string, v any) {
			metrics = append(metrics, emfMetric{metric, unit})
			members[metric] = v
		}
		add(MetricModelCalls, "Count", s.calls)
		add(MetricModelErrors, "Count", s.errors)
		add(MetricInputTokens, "Count", s.in)
		add(MetricOutputTokens, "Count", s.out)
		if d, ok := s.latency.take(); ok {
			add(MetricModelLatency, "Milliseconds", d)
		}
		if p, ok := m.prices[name]; ok {
			cost := (float64(s.in)*p.Input + float64(s.out)*p.Output) / 1e6
			add(MetricModelCost, "None", math.Round(cost*1e6)/1e6)
		}
		m.write(now, []string{DimensionService, DimensionModel}, members, metrics)
	}
}

func (m *meter) write(now int64, dims []string, members map[string]any, metrics []emfMetric) {
	members[DimensionService] = m.service
	members["_aws"] = map[string]any{
		"Timestamp": now,
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  m.namespace,
			"Dimensions": [][]string{dims},
			"Metrics":    metrics,
		}},
	}
	b, err := json.Marshal(members)
	if err != nil { // only numbers, strings and the distribution go in
		panic(fmt.Sprintf("agentkit: encode metrics: %v", err))
	}
	m.outMu.Lock()
	defer m.outMu.Unlock()
	m.out.Write(append(b, '\n'))
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
// values per metric. It is safe for concurrent use.
type histogram struct {
	counts   [92]atomic.Int64
	sum      atomic.Int64
	min, max atomic.Int64
}

func (h *histogram) reset() {
	h.min.Store(math.MaxInt64)
	h.max.Store(-1)
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
	h.counts[bucketOf(ms)].Add(1)
	h.sum.Add(ms)
	for cur := h.min.Load(); ms < cur && !h.min.CompareAndSwap(cur, ms); cur = h.min.Load() {
	}
	for cur := h.max.Load(); ms > cur && !h.max.CompareAndSwap(cur, ms); cur = h.max.Load() {
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
// ok is false when there were none. Observations that race with it land
// in this interval or the next, never in neither.
func (h *histogram) take() (d distribution, ok bool) {
	for i := range h.counts {
		if c := h.counts[i].Swap(0); c > 0 {
			d.Values = append(d.Values, bucketMid(i))
			d.Counts = append(d.Counts, float64(c))
			d.Count += c
		}
	}
	if d.Count == 0 {
		return d, false
	}
	d.Sum = float64(h.sum.Swap(0))
	d.Min = float64(h.min.Swap(math.MaxInt64))
	d.Max = float64(h.max.Swap(-1))
	if d.Min > d.Max { // a racing observation moved min or max on: keep them ordered
		d.Min = d.Max
	}
	return d, true
}
