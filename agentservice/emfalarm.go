package agentservice

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// emfErrorsAlarmID is the construct ID of the EMF errors alarm, part of
// the contract like the other alarms'.
const emfErrorsAlarmID = "EMFErrorsAlarm"

// The metrics CloudWatch Logs publishes about the embedded-metric-format
// lines of a log group, in AWS/Logs with the dimension LogGroupName
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch-Logs-Monitoring-CloudWatch-Metrics.html):
// lines it could not parse as EMF, and lines it parsed but refused.
const (
	logsNamespace       = "AWS/Logs"
	emfValidationErrors = "EMFValidationErrors"
	emfParsingErrors    = "EMFParsingErrors"
)

// emfErrorsPeriod is the window the EMF errors alarm sums rejected lines
// over; one rejected line in it fires the alarm.
const emfErrorsPeriod = 5 // minutes

// emfErrorsAlarm fires when CloudWatch Logs rejects an embedded-metric-format
// line of the container's log group: agentkit writes its metrics (the
// concurrency scaling's RequestsInFlight among them) as such lines, and a
// rejected line's metrics are lost without any other sign. It notifies
// topic, when there is one.
func emfErrorsAlarm(scope constructs.Construct, logs awslogs.ILogGroup, topic awssns.ITopic) awscloudwatch.Alarm {
	window := awscdk.Duration_Minutes(jsii.Number(emfErrorsPeriod))
	metric := func(name string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String(logsNamespace),
			MetricName:    jsii.String(name),
			DimensionsMap: &map[string]*string{"LogGroupName": logs.LogGroupName()},
			Statistic:     jsii.String("Sum"),
			Period:        window,
		})
	}
	alarm := awscloudwatch.NewAlarm(scope, jsii.String(emfErrorsAlarmID), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("CloudWatch Logs rejected metric (EMF) lines of the container's log group: the metrics they carried, the scaling's among them, are missing"),
		Metric: awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String("FILL(validation, 0) + FILL(parsing, 0)"),
			UsingMetrics: &map[string]awscloudwatch.IMetric{"validation": metric(emfValidationErrors), "parsing": metric(emfParsingErrors)},
			Period:       window,
			Label:        jsii.String("Rejected EMF lines"),
		}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		DatapointsToAlarm:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	notify(topic, alarm)
	return alarm
}
