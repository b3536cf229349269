package agentservice_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
	"github.com/agentcdk/agentcdk/scaling"
)

// agentkitMetrics are the metric names agentkit writes: the values of its
// exported Metric... constants, read from the package's source so that a
// name added there is known here without a list to keep.
func agentkitMetrics(t *testing.T) map[string]string {
	t.Helper()
	// agentkit re-exports the values of its internal meter package:
	// MetricRequests = meter.Requests.
	meterValues := map[string]string{}
	eachConst(t, "../agentkit/internal/meter", func(name string, value ast.Expr) {
		if lit, ok := value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			meterValues[name], _ = strconv.Unquote(lit.Value)
		}
	})
	names := map[string]string{} // value -> constant
	eachConst(t, "../agentkit", func(name string, value ast.Expr) {
		if !strings.HasPrefix(name, "Metric") || name == "MetricsInterval" {
			return
		}
		switch v := value.(type) {
		case *ast.BasicLit:
			if v.Kind == token.STRING {
				s, _ := strconv.Unquote(v.Value)
				names[s] = "agentkit." + name
			}
		case *ast.SelectorExpr:
			if x, ok := v.X.(*ast.Ident); ok && x.Name == "meter" && meterValues[v.Sel.Name] != "" {
				names[meterValues[v.Sel.Name]] = "agentkit." + name
			}
		}
	})
	// The constants the construct reads by name must be among them.
	for _, n := range []string{agentkit.MetricRequestsInFlight, agentkit.MetricLatency, agentkit.MetricInputTokens, agentkit.MetricModelCost} {
		if _, ok := names[n]; !ok {
			t.Fatalf("agentkit's source has no constant for %q; the parse lost its way: %v", n, names)
		}
	}
	return names
}

// eachConst calls f with every constant declared, with a value, in the
// non-test files of the package in dir.
func eachConst(t *testing.T, dir string, f func(name string, value ast.Expr)) {
	t.Helper()
	pkgs, err := parser.ParseDir(token.NewFileSet(), dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range pkgs {
		for path, file := range pkg.Files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			for _, decl := range file.Decls {
				gen, ok := decl.(*ast.GenDecl)
				if !ok || gen.Tok != token.CONST {
					continue
				}
				for _, spec := range gen.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, id := range vs.Names {
						if i < len(vs.Values) {
							f(id.Name, vs.Values[i])
						}
					}
				}
			}
		}
	}
}

// awsMetrics are the metrics AWS writes that the construct may graph or
// alarm on, by namespace, as the services document them (the Elastic Load
// Balancing, ECS, Container Insights, SQS, CloudWatch Logs and CloudFront
// CloudWatch metric references).
var awsMetrics = map[string][]string{
	"AWS/ApplicationELB": {"RequestCount", "TargetResponseTime", "HTTPCode_Target_4XX_Count", "HTTPCode_Target_5XX_Count",
		"HTTPCode_ELB_5XX_Count", "UnHealthyHostCount"},
	"AWS/ECS":               {"CPUUtilization", "MemoryUtilization"},
	"ECS/ContainerInsights": {"RunningTaskCount", "DesiredTaskCount", "PendingTaskCount", "DeploymentCount", "TaskSetCount"},
	"AWS/SQS": {"ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible",
		"ApproximateAgeOfOldestMessage"},
	"AWS/Logs": {"EMFValidationErrors", "EMFParsingErrors"},
	// CloudFront's default metrics, in us-east-1
	// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/programming-cloudwatch-metrics.html)
	"AWS/CloudFront": {"Requests", "4xxErrorRate", "5xxErrorRate"},
}

// metricRef is one metric a dashboard or alarm names.
type metricRef struct {
	where, namespace, name string
	service                string // the Service dimension of ours; "" when absent or for AWS's
}

// flatten renders a template value with every intrinsic function it holds
// replaced by "TOKEN", and an Fn::Join joined: a dashboard body becomes
// JSON text.
func flatten(v any) string {
	switch n := v.(type) {
	case string:
		return n
	case map[string]any:
		if j, ok := n["Fn::Join"].([]any); ok && len(j) == 2 {
			var b strings.Builder
			for _, part := range j[1].([]any) {
				b.WriteString(flatten(part))
			}
			return b.String()
		}
	}
	return "TOKEN"
}

var (
	searchNamespace = regexp.MustCompile(`^SEARCH\('\{"([^"]+)",` + agentkit.DimensionService + `,` + agentkit.DimensionModel + `\} MetricName="([^"]+)" ` + agentkit.DimensionService + `="([^"]+)"', '[A-Za-z0-9.]+', 60\)$`)
)

// dashboardMetrics lists the metrics every graph of every dashboard in the
// template names: plain metrics, and the namespace and name of each
// per-model search. Math expressions are made of hidden metrics, which are
// listed; text widgets name none.
func dashboardMetrics(t *testing.T, resources map[string]any) []metricRef {
	t.Helper()
	var refs []metricRef
	for _, id := range slices.Sorted(maps.Keys(resources)) {
		res := resources[id].(map[string]any)
		if res["Type"] != "AWS::CloudWatch::Dashboard" {
			continue
		}
		var body struct {
			Widgets []struct {
				Type       string
				Properties struct {
					Title   string
					Metrics [][]any
				}
			}
		}
		text := flatten(res["Properties"].(map[string]any)["DashboardBody"])
		if err := json.Unmarshal([]byte(text), &body); err != nil {
			t.Fatalf("dashboard %s: body is not JSON: %v\n%s", id, err, text)
		}
		graphs := 0
		for _, w := range body.Widgets {
			if w.Type == "text" {
				continue
			}
			graphs++
			where := id + ` "` + w.Properties.Title + `"`
			if w.Type != "metric" || len(w.Properties.Metrics) == 0 {
				t.Errorf("%s: a %s widget without metrics", where, w.Type)
			}
			for _, m := range w.Properties.Metrics {
				refs = append(refs, graphedMetric(t, where, m))
			}
		}
		if graphs == 0 {
			t.Errorf("dashboard %s has no graph", id)
		}
	}
	return refs
}

// graphedMetric reads one entry of a graph's metrics array: [namespace,
// name, dimension, value, ..., {options}], or [{expression, ...}].
func graphedMetric(t *testing.T, where string, m []any) metricRef {
	t.Helper()
	if opts, ok := m[0].(map[string]any); ok {
		expr, _ := opts["expression"].(string)
		if s := searchNamespace.FindStringSubmatch(expr); s != nil {
			return metricRef{where: where, namespace: s[1], name: s[2], service: s[3]}
		}
		if strings.Contains(expr, "SEARCH") {
			t.Errorf("%s: a search of another form: %s", where, expr)
		}
		return metricRef{where: where, namespace: "(math)", name: expr}
	}
	ref := metricRef{where: where, namespace: fmt.Sprint(m[0]), name: fmt.Sprint(m[1])}
	for i := 2; i+1 < len(m); i += 2 {
		if m[i] == agentkit.DimensionService {
			ref.service = fmt.Sprint(m[i+1])
		}
	}
	return ref
}

// alarmMetrics lists the metrics every alarm in the template reads.
func alarmMetrics(resources map[string]any) []metricRef {
	var refs []metricRef
	for _, id := range slices.Sorted(maps.Keys(resources)) {
		res := resources[id].(map[string]any)
		if res["Type"] != "AWS::CloudWatch::Alarm" {
			continue
		}
		p := res["Properties"].(map[string]any)
		add := func(m map[string]any) {
			ref := metricRef{where: id, namespace: fmt.Sprint(m["Namespace"]), name: fmt.Sprint(m["MetricName"])}
			dims, _ := m["Dimensions"].([]any)
			for _, d := range dims {
				if dm := d.(map[string]any); dm["Name"] == agentkit.DimensionService {
					ref.service = flatten(dm["Value"])
				}
			}
			refs = append(refs, ref)
		}
		if _, ok := p["MetricName"]; ok {
			add(p)
		}
		queries, _ := p["Metrics"].([]any)
		for _, q := range queries {
			if stat, ok := q.(map[string]any)["MetricStat"].(map[string]any); ok {
				add(stat["Metric"].(map[string]any))
			}
		}
	}
	return refs
}

// containerMetrics returns, for each container in the template, the
// namespace and Service dimension its environment gives agentkit.
func containerMetrics(t *testing.T, resources map[string]any) map[string][2]string {
	t.Helper()
	out := map[string][2]string{}
	for _, res := range resources {
		r := res.(map[string]any)
		if r["Type"] != "AWS::ECS::TaskDefinition" {
			continue
		}
		for _, c := range r["Properties"].(map[string]any)["ContainerDefinitions"].([]any) {
			cd := c.(map[string]any)
			var ns, svc string
			for _, e := range cd["Environment"].([]any) {
				switch kv := e.(map[string]any); kv["Name"] {
				case agentkit.EnvMetricsNamespace:
					ns = flatten(kv["Value"])
				case agentkit.EnvMetricsService:
					svc = flatten(kv["Value"])
				}
			}
			if ns == "" || svc == "" {
				t.Errorf("container %v: no %s or %s in its environment", cd["Name"], agentkit.EnvMetricsNamespace, agentkit.EnvMetricsService)
			}
			out[fmt.Sprint(cd["Name"])] = [2]string{ns, svc}
		}
	}
	return out
}

// opsDefaults is a web service and a worker in its cluster, both at their
// defaults, as examples/worker has them.
var opsDefaults = &astest.Case{
	Name: "Ops",
	Web:  func(awscdk.Stack) *agentservice.Props { return &agentservice.Props{Image: astest.RegistryImage()} },
	Worker: func(_ awscdk.Stack, web *agentservice.Service) *agentservice.WorkerProps {
		return &agentservice.WorkerProps{Image: astest.RegistryImage(), Cluster: web.Cluster}
	},
}

// resourcesOf is the Resources section of a synthesized template.
func resourcesOf(s *astest.Synthesized) map[string]any {
	return s.Synthesized.Template["Resources"].(map[string]any)
}

func TestEveryGraphedAndAlarmedMetricIsOneTheStackEmits(t *testing.T) {
	ours := agentkitMetrics(t)
	topicArn := jsii.String("arn:aws:sns:us-east-1:123456789012:alarms")
	cases := []struct {
		name      string
		namespace string
		stack     *astest.Case
		priced    bool
	}{
		{
			name:      "defaults, the worker in the web service's cluster",
			namespace: agentkit.DefaultMetricsNamespace,
			stack:     opsDefaults,
		},
		{
			name:      "a namespace of its own, prices and spend alarms, a canary deploy, a given queue and a topic",
			namespace: "Team/Agents",
			priced:    true,
			stack: &astest.Case{Name: "Ops", Web: func(stack awscdk.Stack) *agentservice.Props {
				return &agentservice.Props{
					Image: astest.RegistryImage(), MetricsNamespace: jsii.String("Team/Agents"),
					ModelPrices:          map[string]agentservice.ModelPrice{"gpt-5": {InputUSDPerMillionTokens: 1.25, OutputUSDPerMillionTokens: 10}},
					SpendAlarmUSDPerHour: jsii.Number(10),
					Deployment:           &agentservice.Deployment{Strategy: awsecs.DeploymentStrategy_CANARY},
					Scaling:              &scaling.Props{DisableRequests: jsii.Bool(true)},
					AlarmTopic:           awssns.Topic_FromTopicArn(stack, jsii.String("Topic"), topicArn),
				}
			},
				Worker: func(stack awscdk.Stack, web *agentservice.Service) *agentservice.WorkerProps {
					return &agentservice.WorkerProps{
						Image: astest.RegistryImage(), Cluster: web.Cluster, MetricsNamespace: jsii.String("Team/Agents"),
						ModelPrices:          map[string]agentservice.ModelPrice{"gpt-5": {InputUSDPerMillionTokens: 1.25, OutputUSDPerMillionTokens: 10}},
						SpendAlarmUSDPerHour: jsii.Number(10),
						Queue:                awssqs.Queue_FromQueueArn(stack, jsii.String("Jobs"), jsii.String("arn:aws:sqs:us-east-1:123456789012:jobs")),
						AlarmTopic:           awssns.Topic_FromTopicArn(stack, jsii.String("WorkerTopic"), topicArn),
					}
				}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a web service and a worker WHEN they synthesize
			resources := resourcesOf(c.stack.Synth(t))
			containers := containerMetrics(t, resources)
			services := map[string]bool{}
			for _, nsv := range containers {
				// THEN each container writes to the namespace the case gave
				if nsv[0] != c.namespace {
					t.Errorf("a container writes to namespace %q, want %q", nsv[0], c.namespace)
				}
				services[nsv[1]] = true
			}
			if want := map[string]bool{"Ops/Agent": true, "Ops/Worker": true}; !maps.Equal(services, want) {
				t.Errorf("Service dimensions written = %v, want %v", services, want)
			}

			// AND every metric a dashboard graphs or an alarm reads is one
			// AWS writes for the stack's resources, or one agentkit writes,
			// with the namespace and a Service the containers write
			refs := append(dashboardMetrics(t, resources), alarmMetrics(resources)...)
			costs := 0
			for _, r := range refs {
				switch {
				case r.namespace == "(math)":
					continue // its metrics are listed on their own
				case r.namespace == c.namespace:
					if _, ok := ours[r.name]; !ok {
						t.Errorf("%s: %s/%s is not a metric agentkit writes", r.where, r.namespace, r.name)
					}
					if !services[r.service] {
						t.Errorf("%s: %s/%s has Service %q, which no container writes", r.where, r.namespace, r.name, r.service)
					}
					if r.name == agentkit.MetricModelCost {
						costs++
					}
				case slices.Contains(awsMetrics[r.namespace], r.name):
				default:
					t.Errorf("%s: %s/%s is not a metric the stack emits", r.where, r.namespace, r.name)
				}
			}
			// AND the estimated cost is graphed exactly when there are
			// prices (one graph per dashboard), and read by the spend alarms
			// (per construct, gpt-5 and "other")
			if want := map[bool]int{true: 2 + 2*2, false: 0}[c.priced]; costs != want {
				t.Errorf("%d graphs and alarm metrics of %s, want %d", costs, agentkit.MetricModelCost, want)
			}
		})
	}
}

func TestTheConcurrencyPolicyTracksWhatAgentkitWrites(t *testing.T) {
	// GIVEN the defaults WHEN the service synthesizes
	resources := resourcesOf(opsDefaults.Synth(t))

	// THEN exactly one policy tracks a customized single metric, and it is
	// agentkit's in-flight gauge, averaged over the tasks, in the namespace
	// and with the Service the web container writes
	web := containerMetrics(t, resources)[agentservice.DefaultContainerName]
	var specs []any
	for _, res := range resources {
		r := res.(map[string]any)
		if r["Type"] != "AWS::ApplicationAutoScaling::ScalingPolicy" {
			continue
		}
		cfg, _ := r["Properties"].(map[string]any)["TargetTrackingScalingPolicyConfiguration"].(map[string]any)
		if spec, ok := cfg["CustomizedMetricSpecification"].(map[string]any); ok && spec["MetricName"] != nil {
			specs = append(specs, spec)
			if cfg["TargetValue"] != float64(scaling.DefaultRequestsInFlightPerTask) {
				t.Errorf("target %v, want %v", cfg["TargetValue"], scaling.DefaultRequestsInFlightPerTask)
			}
		}
	}
	want := []any{map[string]any{
		"Namespace":  web[0],
		"MetricName": agentkit.MetricRequestsInFlight,
		"Dimensions": []any{map[string]any{"Name": agentkit.DimensionService, "Value": web[1]}},
		"Statistic":  "Average",
	}}
	sameJSON(t, "concurrency metric", specs, want)
	if web != [2]string{agentkit.DefaultMetricsNamespace, "Ops/Agent"} {
		t.Errorf("web container writes %v", web)
	}
}

func TestTheAlarmsThresholdsAndTopic(t *testing.T) {
	topicArn := "arn:aws:sns:us-east-1:123456789012:alarms"
	cases := []struct {
		name                   string
		stack                  *astest.Case
		latency, oldestMessage float64
		notified               bool
	}{
		{"defaults: 80 % of the 55 s deadline behind CloudFront, twice the 5 min wait", opsDefaults, 44, 600, false},
		{"a 30 s deadline and a 2 min wait, with a topic", &astest.Case{Name: "Ops",
			Web: func(stack awscdk.Stack) *agentservice.Props {
				return &agentservice.Props{Image: astest.RegistryImage(), RequestTimeout: secs(30),
					AlarmTopic: awssns.Topic_FromTopicArn(stack, jsii.String("T1"), jsii.String(topicArn))}
			},
			Worker: func(stack awscdk.Stack, _ *agentservice.Service) *agentservice.WorkerProps {
				return &agentservice.WorkerProps{Image: astest.RegistryImage(), MaxJobWait: secs(120),
					AlarmTopic: awssns.Topic_FromTopicArn(stack, jsii.String("T2"), jsii.String(topicArn))}
			}},
			24, 240, true},
		{"a threshold given, without deployment alarms", &astest.Case{Name: "Ops",
			Web: func(stack awscdk.Stack) *agentservice.Props {
				return &agentservice.Props{Image: astest.RegistryImage(), LatencyAlarmThreshold: awscdk.Duration_Millis(jsii.Number(12500)),
					DeploymentAlarms: jsii.Bool(false), AlarmTopic: awssns.Topic_FromTopicArn(stack, jsii.String("T1"), jsii.String(topicArn))}
			},
			Worker: func(stack awscdk.Stack, _ *agentservice.Service) *agentservice.WorkerProps {
				return &agentservice.WorkerProps{Image: astest.RegistryImage(), AlarmTopic: awssns.Topic_FromTopicArn(stack, jsii.String("T2"), jsii.String(topicArn))}
			}},
			12.5, 600, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a web service and a worker WHEN they synthesize
			s := c.stack.Synth(t)
			stack, svc, w, tmpl := s.Stack, s.Web, s.Worker, s.Template

			// THEN the latency alarm watches the load balancer's p99 at its threshold
			actions := assertions.Match_Absent()
			if c.notified {
				actions = assertions.Match_Exact([]any{topicArn})
			}
			alarm := func(c assertions.Template, logical *string, props map[string]any) {
				res := c.FindResources(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{"Properties": obj(props)})
				if _, ok := (*res)[*logical]; !ok {
					t.Errorf("alarm %s does not match %v", *logical, props)
				}
			}
			alarm(tmpl, logicalID(stack, svc.LatencyAlarm), map[string]any{
				"Threshold": c.latency, "EvaluationPeriods": 5, "DatapointsToAlarm": 3,
				"ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
				"Metrics":      arrayWith(obj(map[string]any{"MetricStat": obj(map[string]any{"Stat": "p99", "Period": 60, "Metric": obj(map[string]any{"Namespace": "AWS/ApplicationELB", "MetricName": "TargetResponseTime"})})})),
				"AlarmActions": actions,
			})
			// AND the oldest-message alarm watches the queue's oldest message
			alarm(tmpl, logicalID(stack, w.OldestMessageAlarm), map[string]any{
				"Threshold": c.oldestMessage, "EvaluationPeriods": 5, "DatapointsToAlarm": 5,
				"Metrics": arrayWith(obj(map[string]any{"MetricStat": obj(map[string]any{"Stat": "Maximum", "Period": 60,
					"Metric": obj(map[string]any{"Namespace": "AWS/SQS", "MetricName": "ApproximateAgeOfOldestMessage"})})})),
				"AlarmActions": actions,
			})
			// AND neither rolls a deployment back: the service's deployment
			// alarms are only the 5xx and unhealthy-target ones
			for _, res := range *tmpl.FindResources(jsii.String("AWS::ECS::Service"), nil) {
				dc, _ := (*res)["Properties"].(map[string]any)["DeploymentConfiguration"].(map[string]any)
				names, _ := dc["Alarms"].(map[string]any)["AlarmNames"].([]any)
				for _, n := range names {
					if strings.Contains(fmt.Sprint(n), "LatencyAlarm") || strings.Contains(fmt.Sprint(n), "OldestMessage") {
						t.Errorf("deployment alarms include %v", n)
					}
				}
			}
		})
	}
}

func TestTheDashboardsAreOnByDefaultAndCanBeTurnedOff(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("dashboard ", on), func(t *testing.T) {
			// GIVEN a web service and a worker, their dashboards left at the
			// default or turned off
			// WHEN they synthesize
			c := opsDefaults
			if !on {
				c = &astest.Case{Name: "Ops",
					Web: func(awscdk.Stack) *agentservice.Props {
						return &agentservice.Props{Image: astest.RegistryImage(), Dashboard: jsii.Bool(false)}
					},
					Worker: func(_ awscdk.Stack, web *agentservice.Service) *agentservice.WorkerProps {
						return &agentservice.WorkerProps{Image: astest.RegistryImage(), Cluster: web.Cluster, Dashboard: jsii.Bool(false)}
					}}
			}
			s := c.Synth(t)
			tmpl, svc, w := s.Template, s.Web, s.Worker

			// THEN each has a dashboard, exposed as a field, or neither has
			want := map[bool]float64{true: 2, false: 0}[on]
			tmpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Dashboard"), jsii.Number(want))
			if (svc.Dashboard != nil) != on || (w.Dashboard != nil) != on {
				t.Errorf("Service.Dashboard %v, Worker.Dashboard %v; want set: %v", svc.Dashboard, w.Dashboard, on)
			}
			// AND the alarms are there either way
			if svc.LatencyAlarm == nil || w.OldestMessageAlarm == nil {
				t.Error("an alarm is missing")
			}
		})
	}
}

// logicalID is the logical id of a construct's CloudFormation resource.
func logicalID(stack awscdk.Stack, c constructs.IConstruct) *string {
	id, _ := stack.Resolve(stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))).(string)
	return &id
}

func TestTheReadmeListsEveryMetric(t *testing.T) {
	// GIVEN the README's Operations section
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Operations: metrics, scaling on concurrency, the dashboard\n")
	if !ok {
		t.Fatal("README.md has no Operations section")
	}
	section, _, _ = strings.Cut(section, "\n## ")

	// WHEN the metric names of its table are read (the first cell of each
	// row under the header "| metric | dimensions |", one or more names in
	// backquotes)
	_, table, ok := strings.Cut(section, "\n| metric | dimensions |")
	if !ok {
		t.Fatal("the Operations section has no metric table")
	}
	listed := map[string]bool{}
	for _, row := range strings.Split(table, "\n")[2:] {
		if !strings.HasPrefix(row, "|") {
			break
		}
		first := strings.Split(row, "|")[1]
		for _, name := range regexp.MustCompile("`([A-Za-z]+)`").FindAllStringSubmatch(first, -1) {
			listed[name[1]] = true
		}
	}

	// THEN they are exactly the names agentkit writes
	want := map[string]bool{}
	for name := range agentkitMetrics(t) {
		want[name] = true
	}
	if !maps.Equal(listed, want) {
		t.Errorf("README lists %v\nagentkit writes %v", slices.Sorted(maps.Keys(listed)), slices.Sorted(maps.Keys(want)))
	}
	// AND it names the namespace, the dimensions and the variables as agentkit defines them
	for _, s := range []string{"`" + agentkit.DefaultMetricsNamespace + "`", "`" + agentkit.EnvMetricsNamespace + "`",
		"`" + agentkit.EnvMetricsService + "`", "`" + agentkit.EnvModelPrices + "`", "`" + agentkit.DimensionModel + "`", "`" + agentkit.DimensionService + "`"} {
		if !strings.Contains(section, s) {
			t.Errorf("the Operations section does not name %s", s)
		}
	}
}

// metricsService is the AGENTKIT_METRICS_SERVICE a task definition gives
// its first container, resolved without a synthesis.
func metricsService(t *testing.T, stack awscdk.Stack, td awsecs.TaskDefinition) string {
	t.Helper()
	defs := stack.Resolve(td.Node().DefaultChild().(awsecs.CfnTaskDefinition).ContainerDefinitions()).([]any)
	for _, e := range defs[0].(map[string]any)["environment"].([]any) {
		if e := e.(map[string]any); e["name"] == agentkit.EnvMetricsService {
			return fmt.Sprint(e["value"])
		}
	}
	t.Fatalf("no %s in the container's environment", agentkit.EnvMetricsService)
	return ""
}

func TestTheMetricsServiceIsTheConstructsPathAndAValidDimension(t *testing.T) {
	// GIVEN constructs whose IDs hold a slash, which the constructs library
	// writes as "--" in a path, under a nested scope
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Ops"), nil)
	group := constructs.NewConstruct(stack, jsii.String("Agents"))
	web := agentservice.New(group, jsii.String("Web/1"), &agentservice.Props{Image: astest.RegistryImage()})
	worker := agentservice.NewWorker(group, jsii.String("Jobs/1"), &agentservice.WorkerProps{Image: astest.RegistryImage(), Cluster: web.Cluster})

	// THEN each task writes its metrics under the stack's name and the
	// construct's path, as the dashboards and the scaling read them
	for _, c := range []struct {
		got  string
		path *string
	}{{metricsService(t, stack, web.TaskDefinition), web.Node().Path()}, {metricsService(t, stack, worker.TaskDefinition), worker.Node().Path()}} {
		if c.got != *c.path {
			t.Errorf("%s = %q, want the construct's path %q", agentkit.EnvMetricsService, c.got, *c.path)
		}
		if !agentkit.ValidDimensionValue(c.got) {
			t.Errorf("%s = %q is not a dimension value agentkit accepts", agentkit.EnvMetricsService, c.got)
		}
	}
}

func TestAConstructIDCloudWatchCannotCarryFailsAtSynth(t *testing.T) {
	// A Service dimension value must be printable ASCII
	// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html),
	// and agentkit refuses any other when the task starts: synth refuses it
	// first, naming the value, and leaves the stack as it was.
	for name, make := range map[string]func(awscdk.Stack){
		"web": func(s awscdk.Stack) {
			agentservice.New(s, jsii.String("Agent✓"), &agentservice.Props{Image: astest.RegistryImage()})
		},
		"worker": func(s awscdk.Stack) {
			agentservice.NewWorker(s, jsii.String("Agent✓"), &agentservice.WorkerProps{Image: astest.RegistryImage()})
		},
	} {
		t.Run(name, func(t *testing.T) {
			// GIVEN a stack WHEN a construct with a non-ASCII ID is made
			stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Ops"), nil)
			msg := synthError(func() { make(stack) })

			// THEN it panics with one message naming the value and the rule
			want := `agentservice: the metrics Service "Ops/Agent✓" (the stack name and the construct's path) is not a CloudWatch dimension value; use stack names and construct IDs of printable ASCII, at most 1024 characters in all`
			if msg != want {
				t.Fatalf("panic = %q, want %q", msg, want)
			}
			if n := len(*stack.Node().Children()); n != 0 {
				t.Errorf("stack has %d children after the panic, want 0", n)
			}
		})
	}
}
