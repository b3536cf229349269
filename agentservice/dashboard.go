package agentservice

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/token"
	"github.com/agentcdk/agentcdk/scaling"
)

// Construct IDs of the operations resources, part of the contract.
const (
	dashboardID          = "Dashboard"
	latencyAlarmID       = "LatencyAlarm"
	oldestMessageAlarmID = "OldestMessageAlarm"
)

// The Container Insights metrics the dashboards graph, beside
// runningTaskCount, which the worker's scaling reads too.
const (
	desiredTaskCount = "DesiredTaskCount"
	pendingTaskCount = "PendingTaskCount"
	deploymentCount  = "DeploymentCount"
	taskSetCount     = "TaskSetCount"
)

// The alarms judge one-minute datapoints: the latency alarm 3 of 5, the
// oldest-message alarm 5 of 5.
const (
	latencyAlarmPeriods       = 5
	latencyAlarmDatapoints    = 3
	oldestMessageAlarmPeriods = 5
	// oldestMessageWaits is how many MaxJobWaits the oldest message may
	// wait before the alarm fires: the scaling keeps the average wait
	// within one.
	oldestMessageWaits = 2
)

// latencyAlarm fires when the p99 of the load balancer's
// TargetResponseTime stays above the threshold: the slowest requests near
// the request deadline. It reads the load balancer's metric, not
// agentkit's Latency, because the load balancer measures every request
// whatever the agent's code, and goes on measuring when a task is wedged
// and writes no metrics of its own; for a stream it measures the time to
// the first byte of the answer, which is what a client waits for.
func latencyAlarm(scope constructs.Construct, p *Props, lb elbv2.ApplicationLoadBalancer) awscloudwatch.Alarm {
	alarm := awscloudwatch.NewAlarm(scope, jsii.String(latencyAlarmID), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("The agent's slowest requests (p99 at the load balancer) approach the request deadline, where they are cut"),
		Metric: lb.Metrics().TargetResponseTime(&awscloudwatch.MetricOptions{
			Period: period(metricPeriod), Statistic: jsii.String("p99"), Label: jsii.String("p99 response time"),
		}),
		Threshold:          p.latencyAlarmThreshold(),
		EvaluationPeriods:  jsii.Number(latencyAlarmPeriods),
		DatapointsToAlarm:  jsii.Number(latencyAlarmDatapoints),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	notify(p.AlarmTopic, alarm)
	return alarm
}

// oldestMessageAlarm fires when a job has waited in the queue twice
// MaxJobWait, five minutes running: the scaling keeps the average wait
// within MaxJobWait, so the workers are not keeping up (at MaxCapacity,
// failing, or not starting).
func (w *Worker) oldestMessageAlarm(p *WorkerProps) awscloudwatch.Alarm {
	alarm := awscloudwatch.NewAlarm(w, jsii.String(oldestMessageAlarmID), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String(fmt.Sprintf("A job has waited in the worker's queue over %d × MaxJobWait; the workers do not keep up", oldestMessageWaits)),
		Metric: w.Queue.MetricApproximateAgeOfOldestMessage(&awscloudwatch.MetricOptions{
			Period: period(metricPeriod), Statistic: jsii.String("Maximum"), Label: jsii.String("Age of the oldest message"),
		}),
		Threshold:          jsii.Number(p.oldestMessageThreshold().Seconds()),
		EvaluationPeriods:  jsii.Number(oldestMessageAlarmPeriods),
		DatapointsToAlarm:  jsii.Number(oldestMessageAlarmPeriods),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	notify(p.AlarmTopic, alarm)
	return alarm
}

// oldestMessageThreshold is the oldest-message alarm's threshold.
func (p *WorkerProps) oldestMessageThreshold() time.Duration {
	wait, _ := p.jobTiming()
	return oldestMessageWaits * wait
}

// The dashboards are rows of three graphs, each a third of CloudWatch's 24
// columns.
const (
	graphWidth  = 8
	graphHeight = 6
)

type graph struct {
	title       string
	left, right []awscloudwatch.IMetric
	lines       []*awscloudwatch.HorizontalAnnotation
}

func (g graph) widget() awscloudwatch.IWidget {
	props := &awscloudwatch.GraphWidgetProps{
		Title:  jsii.String(g.title),
		Width:  jsii.Number(graphWidth),
		Height: jsii.Number(graphHeight),
		Left:   &g.left,
	}
	if len(g.right) > 0 {
		props.Right = &g.right
	}
	if len(g.lines) > 0 {
		props.LeftAnnotations = &g.lines
	}
	return awscloudwatch.NewGraphWidget(props)
}

// line is a horizontal annotation: a target or an alarm's threshold.
func line(label string, value *float64) *awscloudwatch.HorizontalAnnotation {
	return &awscloudwatch.HorizontalAnnotation{Value: value, Label: jsii.String(label)}
}

// dashboard makes the dashboard of graphs, three to a row, under a title.
func dashboard(scope constructs.Construct, title string, graphs []graph) awscloudwatch.Dashboard {
	rows := [][]awscloudwatch.IWidget{{awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
		Markdown: jsii.String(title), Width: jsii.Number(3 * graphWidth), Height: jsii.Number(2),
	})}}
	for i, g := range graphs {
		if i%3 == 0 {
			rows = append(rows, nil)
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], g.widget())
	}
	widgets := make([]*[]awscloudwatch.IWidget, len(rows))
	for i := range rows {
		widgets[i] = &rows[i]
	}
	return awscloudwatch.NewDashboard(scope, jsii.String(dashboardID), &awscloudwatch.DashboardProps{
		Widgets:         &widgets,
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
	})
}

// title is the dashboard's heading: what it shows and where its own
// metrics are, so a reader can find them in the console.
func (m metrics) title(kind string) string {
	return fmt.Sprintf("# %s %s\nagentkit's metrics are in the namespace **%s** with dimension **%s = %s** (per model also **%s**), written every %s by each task.",
		kind, *m.service, *m.namespace, agentkit.DimensionService, *m.service, agentkit.DimensionModel, agentkit.MetricsInterval)
}

// containerInsights is one of the service's Container Insights metrics.
func containerInsights(cluster awsecs.ICluster, service awsecs.FargateService, name, statistic, label string) awscloudwatch.IMetric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String(containerInsightsNamespace),
		MetricName: jsii.String(name),
		DimensionsMap: &map[string]*string{
			"ClusterName": cluster.ClusterName(),
			"ServiceName": service.ServiceName(),
		},
		Period: period(metricPeriod), Statistic: jsii.String(statistic), Label: jsii.String(label),
	})
}

// fleet is the graphs both dashboards share: the tasks (running against
// desired, from Container Insights), CPU and memory, and deployments with
// the drains agentkit reports when a task stops.
func fleet(m metrics, cluster awsecs.ICluster, service awsecs.FargateService) []graph {
	opts := func(label string) *awscloudwatch.MetricOptions {
		return &awscloudwatch.MetricOptions{Period: period(metricPeriod), Statistic: jsii.String("Average"), Label: jsii.String(label)}
	}
	return []graph{
		{title: "Tasks", left: []awscloudwatch.IMetric{
			containerInsights(cluster, service, runningTaskCount, "Average", "Running"),
			containerInsights(cluster, service, desiredTaskCount, "Average", "Desired"),
			containerInsights(cluster, service, pendingTaskCount, "Average", "Pending"),
		}},
		{title: "CPU and memory (%)", left: []awscloudwatch.IMetric{
			service.MetricCpuUtilization(opts("CPU")),
			service.MetricMemoryUtilization(opts("Memory")),
		}},
		{title: "Deployments and drains", left: []awscloudwatch.IMetric{
			containerInsights(cluster, service, deploymentCount, "Maximum", "Deployments"),
			containerInsights(cluster, service, taskSetCount, "Maximum", "Task sets"),
			m.metric(agentkit.MetricDrainCut, "Sum", "Requests and jobs cut by a drain"),
		}, right: []awscloudwatch.IMetric{
			m.metric(agentkit.MetricDrainSeconds, "Maximum", "Longest drain (s)"),
		}},
	}
}

// models is the per-model row: tokens, latency, calls and errors, and the
// estimated cost when there is a price table.
func models(m metrics, priced bool) []graph {
	g := []graph{
		{title: "Tokens per minute, per model", left: []awscloudwatch.IMetric{
			m.perModel(agentkit.MetricInputTokens, "Sum", "Input"),
			m.perModel(agentkit.MetricOutputTokens, "Sum", "Output"),
		}},
		{title: "Model latency p90 (ms), per model", left: []awscloudwatch.IMetric{
			m.perModel(agentkit.MetricModelLatency, "p90", "p90"),
		}},
		{title: "Model calls and errors per minute, per model", left: []awscloudwatch.IMetric{
			m.perModel(agentkit.MetricModelCalls, "Sum", "Calls"),
			m.perModel(agentkit.MetricModelErrors, "Sum", "Errors"),
		}},
	}
	if priced {
		g = append(g, graph{title: "Estimated cost (USD per minute, from ModelPrices), per model", left: []awscloudwatch.IMetric{
			m.perModel(agentkit.MetricModelCost, "Sum", "USD"),
		}})
	}
	return g
}

// serviceDashboard is the web service's dashboard.
func (s *Service) serviceDashboard(p *Props, m metrics) awscloudwatch.Dashboard {
	lb := s.LoadBalancer.Metrics()
	opts := func(statistic, label string) *awscloudwatch.MetricOptions {
		return &awscloudwatch.MetricOptions{Period: period(metricPeriod), Statistic: jsii.String(statistic), Label: jsii.String(label)}
	}
	latency := []*awscloudwatch.HorizontalAnnotation{s.LatencyAlarm.ToAnnotation()}
	var inFlightTarget []*awscloudwatch.HorizontalAnnotation
	if target, on := concurrencyTarget(p.Scaling); on {
		inFlightTarget = append(inFlightTarget, line("Scaling target", jsii.Number(target)))
	}
	if limit, ok := p.maxRequestsInFlight(); ok && !token.IsNumber(limit) {
		inFlightTarget = append(inFlightTarget, line("Cap (then 503)", limit))
	}
	graphs := []graph{
		{title: "Requests per minute", left: []awscloudwatch.IMetric{
			lb.RequestCount(opts("Sum", "At the load balancer")),
			m.metric(agentkit.MetricRequests, "Sum", "Answered by the tasks"),
		}},
		{title: "Response time at the load balancer (s)", left: []awscloudwatch.IMetric{
			lb.TargetResponseTime(opts("p50", "p50")),
			lb.TargetResponseTime(opts("p90", "p90")),
			lb.TargetResponseTime(opts("p99", "p99")),
		}, lines: latency},
		{title: "Errors per minute", left: []awscloudwatch.IMetric{
			lb.HttpCodeTarget(elbv2.HttpCodeTarget_TARGET_4XX_COUNT, opts("Sum", "4xx from the tasks")),
			lb.HttpCodeTarget(elbv2.HttpCodeTarget_TARGET_5XX_COUNT, opts("Sum", "5xx from the tasks")),
			lb.HttpCodeElb(elbv2.HttpCodeElb_ELB_5XX_COUNT, opts("Sum", "5xx from the load balancer")),
			m.metric(agentkit.MetricServerErrors, "Sum", "5xx written by the handlers"),
			m.metric(agentkit.MetricRequestsRefused, "Sum", "503 from the in-flight cap"),
			m.metric(agentkit.MetricRequestsTooLarge, "Sum", "413: bodies over the limit"),
			m.metric(agentkit.MetricRequestsOverBudget, "Sum", "429: callers over their budget"),
		}},
		{title: "Requests in flight per task", left: []awscloudwatch.IMetric{
			m.inFlight(),
			m.metric(agentkit.MetricRequestsInFlightMax, "Maximum", "Most at once in a task"),
		}, lines: inFlightTarget},
		{title: "Handler latency (ms)", left: []awscloudwatch.IMetric{
			m.metric(agentkit.MetricLatency, "p50", "p50"),
			m.metric(agentkit.MetricLatency, "p90", "p90"),
			m.metric(agentkit.MetricLatency, "p99", "p99"),
		}},
		{title: "Streams and background jobs per task", left: []awscloudwatch.IMetric{
			m.metric(agentkit.MetricOpenStreams, "Average", "Open streams"),
			m.metric(agentkit.MetricRunningJobs, "Average", "Running jobs"),
		}},
	}
	graphs = append(frontGraphs(s.Distribution, opts), graphs...)
	graphs = append(graphs, p.Runs.runsGraphs(m, nil)...)
	graphs = append(graphs, fleet(m, s.Cluster, s.Service)...)
	graphs = append(graphs, models(m, len(p.ModelPrices) > 0)...)
	return dashboard(s, m.title("Agent service"), graphs)
}

// frontGraphs graphs what CloudFront sees, when it is the front: its
// requests and its error rates, which include what it answers itself (a
// 504 when the origin outlasts OriginResponseTimeout, a 502 when the load
// balancer cannot be reached). CloudFront writes these metrics in us-east-1
// only, with the dimensions DistributionId and Region "Global"
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/programming-cloudwatch-metrics.html);
// the Distribution's own metric methods name neither the region nor that
// dimension. A dashboard graphs across regions; an alarm cannot, so there
// is none on them.
func frontGraphs(d awscloudfront.Distribution, opts func(statistic, label string) *awscloudwatch.MetricOptions) []graph {
	if d == nil {
		return nil
	}
	metric := func(name, statistic, label string) awscloudwatch.IMetric {
		o := opts(statistic, label)
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/CloudFront"), MetricName: jsii.String(name),
			DimensionsMap: &map[string]*string{"DistributionId": d.DistributionId(), "Region": jsii.String("Global")},
			Region:        jsii.String(cloudFrontMetricsRegion),
			Period:        o.Period, Statistic: o.Statistic, Label: o.Label,
		})
	}
	return []graph{
		{title: "At CloudFront (us-east-1): requests per minute", left: []awscloudwatch.IMetric{
			metric("Requests", "Sum", "Requests"),
		}},
		{title: "At CloudFront (us-east-1): error rate (%)", left: []awscloudwatch.IMetric{
			metric("4xxErrorRate", "Average", "4xx"),
			metric("5xxErrorRate", "Average", "5xx"),
		}},
	}
}

// cloudFrontMetricsRegion is where CloudFront writes its metrics.
const cloudFrontMetricsRegion = "us-east-1"

// concurrencyTarget is the concurrency policy's target, and whether the
// policy is on (scaling's defaults, read as scaling applies them).
func concurrencyTarget(p *scaling.Props) (float64, bool) {
	sc := defaults.Ptr(p, scaling.Props{})
	if defaults.Or(sc.DisableConcurrency, false) {
		return 0, false
	}
	c := defaults.Ptr(sc.Concurrency, scaling.ConcurrencyProps{})
	return defaults.Or(c.RequestsInFlightPerTask, scaling.DefaultRequestsInFlightPerTask), true
}

// workerDashboard is the worker's dashboard.
func (w *Worker) workerDashboard(p *WorkerProps, m metrics) awscloudwatch.Dashboard {
	max := func(label string) *awscloudwatch.MetricOptions {
		return &awscloudwatch.MetricOptions{Period: period(metricPeriod), Statistic: jsii.String("Maximum"), Label: jsii.String(label)}
	}
	visible, running := w.backlogMetrics()
	queue := []graph{
		{title: "Messages in the queue", left: []awscloudwatch.IMetric{
			w.Queue.MetricApproximateNumberOfMessagesVisible(max("Waiting (visible)")),
			w.Queue.MetricApproximateNumberOfMessagesNotVisible(max("Being worked on (in flight)")),
		}},
		{title: "Age of the oldest message (s)", left: []awscloudwatch.IMetric{
			w.Queue.MetricApproximateAgeOfOldestMessage(max("Oldest message")),
		}, lines: []*awscloudwatch.HorizontalAnnotation{w.OldestMessageAlarm.ToAnnotation()}},
		{title: "Backlog per task", left: []awscloudwatch.IMetric{
			awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
				Expression:   jsii.String(backlogPerTaskExpression),
				UsingMetrics: &map[string]awscloudwatch.IMetric{"m1": visible, "m2": running},
				Label:        jsii.String("Visible messages per running task"),
				Period:       period(metricPeriod),
			}),
		}, lines: []*awscloudwatch.HorizontalAnnotation{line("Scaling target", jsii.Number(w.BacklogPerTaskTarget))}},
		{title: "Jobs per minute", left: []awscloudwatch.IMetric{
			m.metric(agentkit.MetricJobsCompleted, "Sum", "Completed"),
			m.metric(agentkit.MetricJobsFailed, "Sum", "Failed (retried or dead-lettered)"),
		}},
		{title: "Running jobs per task", left: []awscloudwatch.IMetric{
			m.metric(agentkit.MetricRunningJobs, "Average", "Running jobs"),
		}, lines: []*awscloudwatch.HorizontalAnnotation{line("Concurrency", jsii.Number(p.concurrency()))}},
	}
	if w.DeadLetterQueue != nil {
		queue = append(queue, graph{title: "Dead-letter queue", left: []awscloudwatch.IMetric{
			w.DeadLetterQueue.MetricApproximateNumberOfMessagesVisible(max("Failed jobs waiting")),
		}})
	}
	graphs := append(queue, p.Runs.runsGraphs(m, w.Queue)...)
	graphs = append(graphs, fleet(m, w.Cluster, w.Service)...)
	graphs = append(graphs, models(m, len(p.ModelPrices) > 0)...)
	return dashboard(w, m.title("Queue worker"), graphs)
}
