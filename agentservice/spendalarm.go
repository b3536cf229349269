package agentservice

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/token"
)

// spendAlarmID is the construct ID of the spend alarm, part of the
// contract like the other alarms'.
const spendAlarmID = "SpendAlarm"

// maxAlarmMetrics is the most metrics an alarm on a metric math expression
// may read, a hard limit
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-limits.html);
// an alarm may not use a SEARCH expression, so the spend alarm names each
// model's metric, and agentkit.ModelOther takes one of them.
const maxAlarmMetrics = 10

// maxSpendAlarmModels is how many priced models the spend alarm can sum,
// beside agentkit.ModelOther.
const maxSpendAlarmModels = maxAlarmMetrics - 1

// spendModels are the Model dimension values that carry a cost: those of
// the price table (agentkit writes EstimatedCostUSD only for a model it
// has a price for), and agentkit.ModelOther, which stands for the models a
// process names beyond agentkit.MaxModels, priced ones among them. Sorted,
// each once.
func spendModels(prices map[string]ModelPrice) []string {
	var dims []string
	for model := range prices {
		if d := agentkit.ModelDimension(model); !slices.Contains(dims, d) {
			dims = append(dims, d)
		}
	}
	slices.Sort(dims)
	return append(dims, agentkit.ModelOther)
}

// spendAlarm fires when the estimated model spend of the construct's tasks
// over one hour exceeds usdPerHour: the sum of agentkit's EstimatedCostUSD
// over spendModels, a model without data counting 0. It notifies topic,
// when there is one. nil when usdPerHour is.
func spendAlarm(scope constructs.Construct, m metrics, usdPerHour *float64, prices map[string]ModelPrice, topic awssns.ITopic) awscloudwatch.Alarm {
	if usdPerHour == nil {
		return nil
	}
	hour := awscdk.Duration_Hours(jsii.Number(1))
	using := map[string]awscloudwatch.IMetric{}
	var terms []string
	for i, model := range spendModels(prices) {
		id := fmt.Sprintf("m%d", i)
		using[id] = awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     m.namespace,
			MetricName:    jsii.String(agentkit.MetricModelCost),
			DimensionsMap: &map[string]*string{agentkit.DimensionService: m.service, agentkit.DimensionModel: jsii.String(model)},
			Statistic:     jsii.String("Sum"),
			Period:        hour,
		})
		terms = append(terms, "FILL("+id+", 0)")
	}
	alarm := awscloudwatch.NewAlarm(scope, jsii.String(spendAlarmID), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("The agent's estimated model spend (agentkit EstimatedCostUSD, summed over the priced models and \"other\") exceeded SpendAlarmUSDPerHour in one hour"),
		Metric: awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String(strings.Join(terms, " + ")),
			UsingMetrics: &using,
			Period:       hour,
			Label:        jsii.String("Estimated model spend, USD per hour"),
		}),
		Threshold:          usdPerHour,
		EvaluationPeriods:  jsii.Number(1),
		DatapointsToAlarm:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	notify(topic, alarm)
	return alarm
}

// validateSpendAlarm checks SpendAlarmUSDPerHour against the price table it
// sums: a positive amount, a table to read costs from, and no more models
// than an alarm may read.
func validateSpendAlarm(usdPerHour *float64, prices map[string]ModelPrice) error {
	if usdPerHour == nil || token.IsNumber(usdPerHour) {
		return nil
	}
	v := *usdPerHour
	if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return fmt.Errorf("agentservice: SpendAlarmUSDPerHour %v is not an amount; use US dollars per hour above 0", v)
	}
	if len(prices) == 0 {
		return fmt.Errorf("agentservice: SpendAlarmUSDPerHour %v is set without ModelPrices; the alarm sums agentkit's EstimatedCostUSD, which the tasks write only for the models ModelPrices prices, so give their prices", v)
	}
	if n := len(spendModels(prices)) - 1; n > maxSpendAlarmModels {
		return fmt.Errorf("agentservice: SpendAlarmUSDPerHour is set with %d models in ModelPrices, but a CloudWatch alarm reads at most %d metrics, one of them %q; price at most %d models for the alarm", n, maxAlarmMetrics, agentkit.ModelOther, maxSpendAlarmModels)
	}
	return nil
}
