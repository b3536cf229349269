package agentservice_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
)

// costMetric is the MetricDataQuery of one model's EstimatedCostUSD, summed
// per hour, of the construct whose metrics Service dimension is service.
func costMetric(id, service, model string) map[string]any {
	return map[string]any{"Id": id, "ReturnData": false, "MetricStat": map[string]any{
		"Metric": map[string]any{
			"Namespace":  agentkit.DefaultMetricsNamespace,
			"MetricName": agentkit.MetricModelCost,
			"Dimensions": []any{
				map[string]any{"Name": agentkit.DimensionModel, "Value": model},
				map[string]any{"Name": agentkit.DimensionService, "Value": service},
			},
		},
		"Period": 3600, "Stat": "Sum",
	}}
}

func TestSpendAlarmSumsTheKnownModels(t *testing.T) {
	// GIVEN a web service and a worker with two priced models, a spend
	// alarm of 5 and 20 USD an hour, and a topic
	s := astest.SpendAlarms.Synth(t)
	for _, c := range []struct {
		name, service string
		threshold     float64
		topic         string
	}{
		{"web", "Spend/Agent", 5, "arn:aws:sns:us-east-1:123456789012:alarms"},
		{"worker", "Spend/Worker", 20, "arn:aws:sns:us-east-1:123456789012:alarms"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// THEN an alarm sums the hourly EstimatedCostUSD of each priced
			// model, as agentkit names it, and of "other", a model without
			// data counting 0 (an alarm cannot SEARCH: each is named)
			s.Template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), exactlyProps(map[string]any{
				"AlarmDescription":   "The agent's estimated model spend (agentkit EstimatedCostUSD, summed over the priced models and \"other\") exceeded SpendAlarmUSDPerHour in one hour",
				"AlarmActions":       []any{c.topic},
				"ComparisonOperator": "GreaterThanThreshold",
				"DatapointsToAlarm":  1,
				"EvaluationPeriods":  1,
				"Threshold":          c.threshold,
				"TreatMissingData":   "notBreaching",
				"Metrics": []any{
					map[string]any{"Expression": "FILL(m0, 0) + FILL(m1, 0) + FILL(m2, 0)", "Id": "expr_1", "Label": "Estimated model spend, USD per hour", "ReturnData": true},
					costMetric("m0", c.service, "claude-sonnet-4.5"),
					costMetric("m1", c.service, "gpt-5"),
					costMetric("m2", c.service, agentkit.ModelOther),
				},
			}))
		})
	}
	// AND the constructs expose their alarms
	if s.Web.SpendAlarm == nil || s.Worker.SpendAlarm == nil {
		t.Errorf("Service.SpendAlarm = %v, Worker.SpendAlarm = %v; want both", s.Web.SpendAlarm, s.Worker.SpendAlarm)
	}
}

func TestNoSpendAlarmByDefault(t *testing.T) {
	// GIVEN the defaults of both constructs
	// THEN neither makes a spend alarm
	if a := astest.Defaults.Synth(t).Web.SpendAlarm; a != nil {
		t.Errorf("Service.SpendAlarm = %v, want nil", a)
	}
	if a := astest.WorkerDefaults.Synth(t).Worker.SpendAlarm; a != nil {
		t.Errorf("Worker.SpendAlarm = %v, want nil", a)
	}
}

func TestSpendAlarmRefusesWhatItCannotSum(t *testing.T) {
	tenModels := map[string]agentservice.ModelPrice{}
	for i := range 10 {
		tenModels[fmt.Sprintf("model-%d", i)] = agentservice.ModelPrice{InputUSDPerMillionTokens: 1}
	}
	cases := []struct {
		name   string
		amount float64
		prices map[string]agentservice.ModelPrice
		want   string
	}{
		{"zero", 0, astest.SpendPrices(), "agentservice: SpendAlarmUSDPerHour 0 is not an amount; use US dollars per hour above 0"},
		{"negative", -1, astest.SpendPrices(), "agentservice: SpendAlarmUSDPerHour -1 is not an amount; use US dollars per hour above 0"},
		{"not a number", math.NaN(), astest.SpendPrices(), "agentservice: SpendAlarmUSDPerHour NaN is not an amount; use US dollars per hour above 0"},
		{"no prices", 5, nil, "agentservice: SpendAlarmUSDPerHour 5 is set without ModelPrices; the alarm sums agentkit's EstimatedCostUSD, which the tasks write only for the models ModelPrices prices, so give their prices"},
		// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-limits.html:
		// an alarm on a metric math expression reads at most 10 metrics
		{"ten models", 5, tenModels, `agentservice: SpendAlarmUSDPerHour is set with 10 models in ModelPrices, but a CloudWatch alarm reads at most 10 metrics, one of them "other"; price at most 9 models for the alarm`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a spend alarm it cannot make, on either construct
			web := &agentservice.Props{Image: astest.RegistryImage(), ModelPrices: c.prices, SpendAlarmUSDPerHour: jsii.Number(c.amount)}
			worker := &agentservice.WorkerProps{Image: astest.RegistryImage(), ModelPrices: c.prices, SpendAlarmUSDPerHour: jsii.Number(c.amount)}
			// THEN both refuse it with one message naming the prop and the value
			for _, err := range []error{web.Validate(), worker.Validate()} {
				if err == nil || err.Error() != c.want {
					t.Errorf("Validate() = %v\nwant %s", err, c.want)
				}
			}
		})
	}
	// AND nine models, with "other" ten metrics, are accepted
	delete(tenModels, "model-9")
	if err := (&agentservice.Props{Image: astest.RegistryImage(), ModelPrices: tenModels, SpendAlarmUSDPerHour: jsii.Number(1)}).Validate(); err != nil {
		t.Errorf("nine models: Validate() = %v", err)
	}
}
