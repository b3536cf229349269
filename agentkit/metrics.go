package agentkit

import (
	"context"
	"io"
	"time"

	"github.com/agentcdk/agentcdk/agentkit/internal/meter"
)

// Metrics configures the CloudWatch metrics a Server writes, as "Metrics" in
// the package documentation says. Its zero value reads everything from the
// environment the construct sets.
type Metrics struct {
	// Service is the value of the Service dimension: 1 to 1024 printable
	// ASCII characters, not all spaces (a CloudWatch dimension value).
	// Default: AGENTKIT_METRICS_SERVICE; with neither, no metrics are
	// written and requests cost what they cost without metrics.
	Service string

	// Namespace is the CloudWatch namespace: 1 to 255 letters, digits,
	// spaces and . - _ / # :, not all spaces, not beginning with "AWS/".
	// Default: AGENTKIT_METRICS_NAMESPACE, or DefaultMetricsNamespace.
	Namespace string

	// Output receives the EMF JSON lines of each interval, one per write,
	// each at most MaxMetricsLineBytes. Writes to it are serialised.
	// Default: os.Stdout, which the awslogs driver ships.
	Output io.Writer

	// Prices turns tokens into MetricModelCost for the models it lists,
	// matched by their Model values (ModelDimension), at 0 to 1,000,000 US
	// dollars per million tokens. The prices are the caller's, from its
	// providers' price lists; the cost is an estimate.
	// Default: AGENTKIT_MODEL_PRICES, or none.
	Prices map[string]ModelPrice

	// Interval is how often the metrics are written.
	// Default: MetricsInterval.
	Interval time.Duration
}

// ModelPrice is what a model costs, in US dollars per million tokens:
// {Input, Output float64}, JSON {"input": ..., "output": ...}.
type ModelPrice = meter.Price

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
// request or job ctx belongs to, aggregated per model into the next lines
// it writes (MetricModelCalls, MetricModelErrors, MetricInputTokens,
// MetricOutputTokens, MetricModelLatency, and MetricModelCost for the calls
// whose model the price table lists). The model is reported as
// ModelDimension(c.Model), or as ModelOther once MaxModels other models
// have been reported by the process. With a caller budget (Server.Budget),
// it also charges the call to the caller of ctx (CallerFrom), metrics on
// or off: a request's caller, or one a job's context was given with
// ContextWithCaller. Anywhere else, or with metrics and budget off, it
// does nothing. It is safe for concurrent use.
func RecordModelCall(ctx context.Context, c ModelCall) {
	if m := meter.FromContext(ctx); m != nil {
		m.Record(meter.Call(c))
	}
	chargeCaller(ctx, c)
}

// newMeter resolves cfg against the environment; nil, and no error, when
// there is no service to report for.
func newMeter(cfg *Metrics, web bool) (*meter.Meter, error) {
	var c meter.Config
	if cfg != nil {
		c = meter.Config(*cfg)
	}
	return meter.New(c, web)
}
