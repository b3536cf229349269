package agentservice

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapplicationautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/token"
)

// The metric math of the worker's scaling, over m1 (the queue's visible
// messages) and m2 (the service's running tasks).
const (
	// backlogPerTaskExpression is the backlog per task that BacklogPolicy
	// tracks. With no task running it is the whole backlog, so that the
	// policy scales in to MinCapacity from an empty queue rather than
	// seeing no data.
	backlogPerTaskExpression = "IF(m2 > 0, m1 / m2, m1)"
	// scaleFromZeroExpression is 1 while messages wait and no task runs.
	// FILL counts a minute in which Container Insights reported no running
	// task count as zero tasks.
	scaleFromZeroExpression = "IF(FILL(m2, 0) == 0 AND m1 > 0, 1, 0)"
)

// The metrics the scaling reads.
const (
	containerInsightsNamespace = "ECS/ContainerInsights"
	runningTaskCount           = "RunningTaskCount"
	sqsNamespace               = "AWS/SQS"
	visibleMessages            = "ApproximateNumberOfMessagesVisible"
)

func (w *Worker) scale(p *WorkerProps) {
	wait, job := p.jobTiming()
	w.BacklogPerTaskTarget = BacklogPerTask(wait, job, int(p.concurrency()))
	w.ScalableTaskCount = w.Service.AutoScaleTaskCount(&awsapplicationautoscaling.EnableScalingProps{
		MinCapacity: jsii.Number(p.minCapacity()),
		MaxCapacity: jsii.Number(p.maxCapacity()),
	})
	// ScalableTaskCount keeps its ScalableTarget in the child "Target"; the
	// L1 policy and the step action need it.
	target := w.ScalableTaskCount.Node().FindChild(jsii.String("Target")).(awsapplicationautoscaling.ScalableTarget)
	w.BacklogPolicy = w.backlogPolicy(target)
	if min := p.minCapacity(); token.IsNumber(&min) || min == 0 {
		w.scaleFromZero(target)
	}
}

// backlogPolicy tracks the backlog per task. The L2 target-tracking policy
// takes a single metric only, so this is the L1 with metric math.
func (w *Worker) backlogPolicy(target awsapplicationautoscaling.ScalableTarget) awsapplicationautoscaling.CfnScalingPolicy {
	stat := func(namespace, name, stat string, dims map[string]*string) *awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricStatProperty {
		var d []*awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricDimensionProperty
		for _, k := range sortedKeys(dims) {
			d = append(d, &awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricDimensionProperty{Name: jsii.String(k), Value: dims[k]})
		}
		return &awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricStatProperty{
			Metric: &awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricProperty{
				Namespace: jsii.String(namespace), MetricName: jsii.String(name), Dimensions: &d,
			},
			Stat: jsii.String(stat),
		}
	}
	scope := w.ScalableTaskCount
	return awsapplicationautoscaling.NewCfnScalingPolicy(scope, jsii.String(backlogPolicyID), &awsapplicationautoscaling.CfnScalingPolicyProps{
		PolicyName:      jsii.String(*awscdk.Names_NodeUniqueId(scope.Node()) + backlogPolicyID),
		PolicyType:      jsii.String("TargetTrackingScaling"),
		ScalingTargetId: target.ScalableTargetId(),
		TargetTrackingScalingPolicyConfiguration: &awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingScalingPolicyConfigurationProperty{
			TargetValue:      jsii.Number(w.BacklogPerTaskTarget),
			ScaleOutCooldown: jsii.Number(workerScaleOutCooldown.Seconds()),
			ScaleInCooldown:  jsii.Number(workerScaleInCooldown.Seconds()),
			CustomizedMetricSpecification: &awsapplicationautoscaling.CfnScalingPolicy_CustomizedMetricSpecificationProperty{
				Metrics: &[]*awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricDataQueryProperty{
					{
						Id:         jsii.String("m1"),
						Label:      jsii.String("Visible messages"),
						MetricStat: stat(sqsNamespace, visibleMessages, "Average", map[string]*string{"QueueName": w.Queue.QueueName()}),
						ReturnData: jsii.Bool(false),
					},
					{
						Id:    jsii.String("m2"),
						Label: jsii.String("Running tasks"),
						MetricStat: stat(containerInsightsNamespace, runningTaskCount, "Average", map[string]*string{
							"ClusterName": w.Cluster.ClusterName(),
							"ServiceName": w.Service.ServiceName(),
						}),
						ReturnData: jsii.Bool(false),
					},
					{
						Id:         jsii.String("e1"),
						Label:      jsii.String("Visible messages per running task"),
						Expression: jsii.String(backlogPerTaskExpression),
						ReturnData: jsii.Bool(true),
					},
				},
			},
		},
	})
}

// scaleFromZero adds one task when messages wait and none runs. Once that
// task runs, BacklogPolicy takes over.
func (w *Worker) scaleFromZero(target awsapplicationautoscaling.ScalableTarget) {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	visible, running := w.backlogMetrics()
	w.ScaleFromZeroAction = awsapplicationautoscaling.NewStepScalingAction(w.ScalableTaskCount, jsii.String(scaleFromZeroID), &awsapplicationautoscaling.StepScalingActionProps{
		ScalingTarget:         target,
		AdjustmentType:        awsapplicationautoscaling.AdjustmentType_CHANGE_IN_CAPACITY,
		Cooldown:              defaults.Duration(nil, scaleFromZeroCooldown),
		MetricAggregationType: awsapplicationautoscaling.MetricAggregationType_MAXIMUM,
	})
	w.ScaleFromZeroAction.AddAdjustment(&awsapplicationautoscaling.AdjustmentTier{
		Adjustment: jsii.Number(1),
		LowerBound: jsii.Number(0),
	})
	w.ScaleFromZeroAlarm = awscloudwatch.NewAlarm(w.ScalableTaskCount, jsii.String(scaleFromZeroAlarmID), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("Messages wait in the worker's queue and no worker task runs; starts one"),
		Metric: awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String(scaleFromZeroExpression),
			Label:        jsii.String("Messages waiting with no running task"),
			Period:       minute,
			UsingMetrics: &map[string]awscloudwatch.IMetric{"m1": visible, "m2": running},
		}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		DatapointsToAlarm:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	w.ScaleFromZeroAlarm.AddAlarmAction(awscloudwatchactions.NewApplicationScalingAction(w.ScaleFromZeroAction))
}

// backlogMetrics are m1 and m2 of the scaling's metric math, as the
// scale-from-zero alarm and the dashboard read them: the queue's visible
// messages and the service's running tasks (Container Insights), averaged
// over a minute.
func (w *Worker) backlogMetrics() (visible, running awscloudwatch.IMetric) {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	visible = w.Queue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
		Period: minute, Statistic: jsii.String("Average"), Label: jsii.String("Visible messages"),
	})
	running = awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String(containerInsightsNamespace),
		MetricName: jsii.String(runningTaskCount),
		DimensionsMap: &map[string]*string{
			"ClusterName": w.Cluster.ClusterName(),
			"ServiceName": w.Service.ServiceName(),
		},
		Period:    minute,
		Statistic: jsii.String("Average"),
		Label:     jsii.String("Running tasks"),
	})
	return visible, running
}
