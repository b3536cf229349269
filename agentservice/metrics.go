package agentservice

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/token"
)

// ModelPrice is what a model costs, in US dollars per million tokens, as
// its provider lists it. The zero value is a free model.
type ModelPrice struct {
	// InputUSDPerMillionTokens is the price of a million input (prompt)
	// tokens: 0 to agentkit.MaxModelPriceUSD.
	InputUSDPerMillionTokens float64
	// OutputUSDPerMillionTokens is the price of a million output
	// (completion) tokens: 0 to agentkit.MaxModelPriceUSD.
	OutputUSDPerMillionTokens float64
}

// metrics is where a construct's tasks write their agentkit metrics: the
// namespace and the value of the Service dimension. The scaling, the
// dashboard and the alarms read the same two, so they graph what the
// tasks write.
type metrics struct {
	namespace *string
	service   *string
}

// metricsOf is the metrics identity of the construct about to be made in
// scope under id: the namespace given (or agentkit.DefaultMetricsNamespace),
// and as the Service dimension the stack's name and the construct's path in
// the stack ("BasicAgent/Agent"),
// which is unique in an account and region, since stack names are, and
// known at synth time without a reference to the ECS service (whose name
// would make the task definition depend on the service).
//
// It panics when that Service value is not a CloudWatch dimension value
// (a construct ID outside printable ASCII), which agentkit would refuse
// when the task starts; it runs before the construct exists, so that a
// refused New leaves scope as it was.
func metricsOf(scope constructs.Construct, id *string, namespace *string) metrics {
	stack := awscdk.Stack_Of(scope)
	// The construct's path: scope's, then id with "/" written "--", as the
	// constructs library writes it into a path.
	path := strings.TrimPrefix(*scope.Node().Path()+"/"+strings.ReplaceAll(*id, "/", "--"), *stack.Node().Path()+"/")
	service := *stack.StackName() + "/" + path
	if !agentkit.ValidDimensionValue(service) {
		panic(fmt.Sprintf("agentservice: the metrics Service %q (the stack name and the construct's path) is not a CloudWatch dimension value; use stack names and construct IDs of printable ASCII, at most 1024 characters in all", service))
	}
	return metrics{
		namespace: jsii.String(defaults.Or(namespace, agentkit.DefaultMetricsNamespace)),
		service:   jsii.String(service),
	}
}

// env is the container's side of the metrics contract: where to write,
// and the price table when there is one.
func (m metrics) env(prices map[string]ModelPrice) map[string]*string {
	env := map[string]*string{
		agentkit.EnvMetricsNamespace: m.namespace,
		agentkit.EnvMetricsService:   m.service,
	}
	if len(prices) > 0 {
		env[agentkit.EnvModelPrices] = jsii.String(pricesJSON(prices))
	}
	return env
}

// pricesJSON is the price table in agentkit.EnvModelPrices' form,
// {"model": {"input": 3, "output": 15}}, with the models sorted (as
// encoding/json sorts map keys), so the template stays the same from one
// synth to the next.
func pricesJSON(prices map[string]ModelPrice) string {
	type price struct {
		Input  float64 `json:"input"`
		Output float64 `json:"output"`
	}
	table := make(map[string]price, len(prices))
	for model, p := range prices {
		table[model] = price{Input: p.InputUSDPerMillionTokens, Output: p.OutputUSDPerMillionTokens}
	}
	b, err := json.Marshal(table)
	if err != nil {
		panic(fmt.Sprintf("agentservice: ModelPrices: %v", err)) // validation has refused NaN and infinities
	}
	return string(b)
}

// metricPeriod is the period of every metric the construct reads: target
// tracking's, and the finest SQS, the load balancer and Container Insights
// report.
const metricPeriod = time.Minute

func period(d time.Duration) awscdk.Duration {
	return awscdk.Duration_Seconds(jsii.Number(d.Seconds()))
}

// metric is one of the service's metrics (dimension Service), name one of
// agentkit's Metric... constants.
func (m metrics) metric(name, statistic, label string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     m.namespace,
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{agentkit.DimensionService: m.service},
		Statistic:     jsii.String(statistic),
		Period:        period(metricPeriod),
		Label:         jsii.String(label),
	})
}

// inFlight is the metric the concurrency policy tracks: the average over
// the service's tasks of the requests each holds (agentkit writes one
// average per task and interval, so Average is the per-task figure).
func (m metrics) inFlight() awscloudwatch.Metric {
	return m.metric(agentkit.MetricRequestsInFlight, "Average", "Requests in flight per task")
}

// perModel is one of the model-call metrics for every model the service
// reports: their Model values are only known at run time, so this is a
// CloudWatch search over the namespace's {Service, Model} dimension set,
// narrowed to this service. Each series is labelled with its model.
func (m metrics) perModel(name, statistic, label string) awscloudwatch.SearchExpression {
	expr := awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String(`SEARCH('{"`), m.namespace,
		jsii.String(`",` + agentkit.DimensionService + "," + agentkit.DimensionModel + `} MetricName="` + name + `" ` + agentkit.DimensionService + `="`),
		m.service,
		jsii.String(`"', '` + statistic + `', ` + fmt.Sprint(metricPeriod.Seconds()) + ")"),
	})
	return awscloudwatch.NewSearchExpression(&awscloudwatch.SearchExpressionProps{
		Expression: expr,
		Label:      jsii.String(label + " ${PROP('Dim." + agentkit.DimensionModel + "')}"),
		Period:     period(metricPeriod),
	})
}

// validateMetrics checks the metrics props both constructs share.
func validateMetrics(namespace *string, prices map[string]ModelPrice) error {
	if v := namespace; v != nil && !token.IsString(v) && !agentkit.ValidNamespace(*v) {
		return fmt.Errorf("agentservice: MetricsNamespace %q is not a CloudWatch namespace of yours; use 1 to 255 letters, digits, spaces and . - _ / # :, not starting with \"AWS/\"", *v)
	}
	named := map[string]string{} // Model dimension value to the name in the table
	for _, model := range sortedKeys(prices) {
		// The agent reports a model under agentkit.ModelDimension(name),
		// and refuses a table that prices ModelOther or one Model twice.
		dim := agentkit.ModelDimension(model)
		if dim == agentkit.ModelOther {
			return fmt.Errorf("agentservice: ModelPrices has a model named %q; name each model as the agent reports it (its Model dimension), not blank or %q", model, agentkit.ModelOther)
		}
		p := prices[model]
		if other, ok := named[dim]; ok && prices[other] != p {
			return fmt.Errorf("agentservice: ModelPrices[%q] and ModelPrices[%q] are one model (Model %q) at two prices; give it one", other, model, dim)
		}
		named[dim] = model
		for _, f := range []struct {
			name string
			v    float64
		}{{"InputUSDPerMillionTokens", p.InputUSDPerMillionTokens}, {"OutputUSDPerMillionTokens", p.OutputUSDPerMillionTokens}} {
			if math.IsNaN(f.v) || f.v < 0 || f.v > agentkit.MaxModelPriceUSD {
				return fmt.Errorf("agentservice: ModelPrices[%q].%s %v is not a price; use US dollars per million tokens, from 0 to %d", model, f.name, f.v, agentkit.MaxModelPriceUSD)
			}
		}
	}
	return nil
}
