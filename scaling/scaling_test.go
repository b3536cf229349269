package scaling_test

import (
	"os"
	"testing"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/cdktest"
	"github.com/agentcdk/agentcdk/scaling"
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/jsii-runtime-go"
)

func TestMain(m *testing.M) {
	os.Exit(cdktest.Run(m))
}

// sources says what synth gives Apply beside the service.
type sources int

const (
	withTargetGroup sources = 1 << iota // the ALB target group
	withInFlight                        // the agentkit in-flight metric
	withBoth        = withTargetGroup | withInFlight
)

// inFlightService is the Service dimension of the test's in-flight metric.
const inFlightService = "Test/Agent"

// synth applies p to a throwaway Fargate service, behind an ALB and with
// the in-flight metric as src says, and returns the template.
func synth(t *testing.T, p *scaling.Props, src sources) assertions.Template {
	t.Helper()
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)
	vpc := awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{MaxAzs: jsii.Number(1), NatGateways: jsii.Number(0)})
	cluster := awsecs.NewCluster(stack, jsii.String("Cluster"), &awsecs.ClusterProps{Vpc: vpc})
	task := awsecs.NewFargateTaskDefinition(stack, jsii.String("TaskDef"), nil)
	task.AddContainer(jsii.String("agent"), &awsecs.ContainerDefinitionOptions{
		Image:        awsecs.ContainerImage_FromRegistry(jsii.String("example/agent"), nil),
		PortMappings: &[]*awsecs.PortMapping{{ContainerPort: jsii.Number(8080)}},
	})
	service := awsecs.NewFargateService(stack, jsii.String("Service"), &awsecs.FargateServiceProps{Cluster: cluster, TaskDefinition: task})
	var tg elbv2.ApplicationTargetGroup
	if src&withTargetGroup != 0 {
		lb := elbv2.NewApplicationLoadBalancer(stack, jsii.String("LB"), &elbv2.ApplicationLoadBalancerProps{Vpc: vpc})
		tg = lb.AddListener(jsii.String("Http"), &elbv2.BaseApplicationListenerProps{Port: jsii.Number(80)}).
			AddTargets(jsii.String("Agent"), &elbv2.AddApplicationTargetsProps{
				Port:    jsii.Number(8080),
				Targets: &[]elbv2.IApplicationLoadBalancerTarget{service},
			})
	}
	var inFlight awscloudwatch.IMetric
	if src&withInFlight != 0 {
		inFlight = awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String(agentkit.DefaultMetricsNamespace),
			MetricName:    jsii.String(agentkit.MetricRequestsInFlight),
			DimensionsMap: &map[string]*string{agentkit.DimensionService: jsii.String(inFlightService)},
			Statistic:     jsii.String("Average"),
			Period:        awscdk.Duration_Minutes(jsii.Number(1)),
		})
	}
	scaling.Apply(service, tg, inFlight, p)
	return assertions.Template_FromStack(stack, nil)
}

const policyType = "AWS::ApplicationAutoScaling::ScalingPolicy"

// policy matches a target-tracking policy on metric with its name ending
// in id (the CDK derives the policy name from the construct path).
func policy(id, metric string, target, in, out float64) map[string]any {
	return map[string]any{
		"PolicyName": assertions.Match_StringLikeRegexp(jsii.String(id + "[0-9A-F]{8}$")),
		"PolicyType": "TargetTrackingScaling",
		"TargetTrackingScalingPolicyConfiguration": assertions.Match_ObjectLike(&map[string]any{
			"PredefinedMetricSpecification": assertions.Match_ObjectLike(&map[string]any{"PredefinedMetricType": metric}),
			"TargetValue":                   target,
			"ScaleInCooldown":               in,
			"ScaleOutCooldown":              out,
		}),
	}
}

// concurrency matches the concurrency policy: target tracking of the
// average of agentkit's in-flight metric for the test's service.
func concurrency(target, in, out float64) map[string]any {
	return map[string]any{
		"PolicyName": assertions.Match_StringLikeRegexp(jsii.String("Concurrency[0-9A-F]{8}$")),
		"PolicyType": "TargetTrackingScaling",
		"TargetTrackingScalingPolicyConfiguration": map[string]any{
			"CustomizedMetricSpecification": map[string]any{
				"Namespace":  agentkit.DefaultMetricsNamespace,
				"MetricName": agentkit.MetricRequestsInFlight,
				"Dimensions": []any{map[string]any{"Name": agentkit.DimensionService, "Value": inFlightService}},
				"Statistic":  "Average",
			},
			"TargetValue":      target,
			"ScaleInCooldown":  in,
			"ScaleOutCooldown": out,
		},
	}
}

func TestDefaultsAreTheReferenceValues(t *testing.T) {
	// GIVEN no props and a target group
	// WHEN scaling is applied
	tpl := synth(t, nil, withTargetGroup)

	// THEN the service scales between 1 and 10 tasks
	tpl.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalableTarget"), map[string]any{
		"MinCapacity":       1,
		"MaxCapacity":       10,
		"ScalableDimension": "ecs:service:DesiredCount",
	})
	// AND on CPU at 70 % (60 s in, 30 s out) and 100 requests per target (120 s in, 30 s out), not on memory
	tpl.ResourceCountIs(jsii.String(policyType), jsii.Number(2))
	tpl.HasResourceProperties(jsii.String(policyType), policy("Cpu", "ECSServiceAverageCPUUtilization", 70, 60, 30))
	tpl.HasResourceProperties(jsii.String(policyType), policy("Requests", "ALBRequestCountPerTarget", 100, 120, 30))
}

func TestConcurrencyTracksTheInFlightMetric(t *testing.T) {
	// GIVEN no props, a target group and the in-flight metric
	// WHEN scaling is applied
	tpl := synth(t, nil, withBoth)

	// THEN the reference policies are unchanged
	tpl.ResourceCountIs(jsii.String(policyType), jsii.Number(3))
	tpl.HasResourceProperties(jsii.String(policyType), policy("Cpu", "ECSServiceAverageCPUUtilization", 70, 60, 30))
	tpl.HasResourceProperties(jsii.String(policyType), policy("Requests", "ALBRequestCountPerTarget", 100, 120, 30))
	// AND a third keeps 10 requests in flight per task (120 s in, 30 s out)
	// on exactly the metric given: agentkit's name, namespace and dimension
	tpl.HasResourceProperties(jsii.String(policyType), concurrency(10, 120, 30))
}

func TestOverridesReachTheTemplate(t *testing.T) {
	// GIVEN every value overridden and memory scaling turned on
	secs := func(n float64) awscdk.Duration { return awscdk.Duration_Seconds(jsii.Number(n)) }
	p := &scaling.Props{
		MinCapacity: jsii.Number(2),
		MaxCapacity: jsii.Number(20),
		Cpu:         &scaling.TargetProps{TargetPercent: jsii.Number(50), ScaleInCooldown: secs(90), ScaleOutCooldown: secs(15)},
		Requests:    &scaling.RequestProps{RequestsPerTarget: jsii.Number(40), ScaleInCooldown: secs(300), ScaleOutCooldown: secs(0)},
		Memory:      &scaling.TargetProps{TargetPercent: jsii.Number(80)},
		Concurrency: &scaling.ConcurrencyProps{RequestsInFlightPerTask: jsii.Number(2.5), ScaleInCooldown: secs(600), ScaleOutCooldown: secs(10)},
	}
	// WHEN scaling is applied
	tpl := synth(t, p, withBoth)

	// THEN every override replaces its default, and memory uses its own defaults
	tpl.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalableTarget"), map[string]any{
		"MinCapacity": 2,
		"MaxCapacity": 20,
	})
	tpl.ResourceCountIs(jsii.String(policyType), jsii.Number(4))
	tpl.HasResourceProperties(jsii.String(policyType), policy("Cpu", "ECSServiceAverageCPUUtilization", 50, 90, 15))
	tpl.HasResourceProperties(jsii.String(policyType), policy("Requests", "ALBRequestCountPerTarget", 40, 300, 0))
	tpl.HasResourceProperties(jsii.String(policyType), policy("Memory", "ECSServiceAverageMemoryUtilization", 80, 60, 30))
	tpl.HasResourceProperties(jsii.String(policyType), concurrency(2.5, 600, 10))
}

func TestPoliciesCanBeTurnedOff(t *testing.T) {
	cases := []struct {
		name  string
		props *scaling.Props
		src   sources
		want  []string // policies left
	}{
		{"cpu off", &scaling.Props{DisableCpu: jsii.Bool(true)}, withTargetGroup, []string{"Requests"}},
		{"requests off", &scaling.Props{DisableRequests: jsii.Bool(true)}, withTargetGroup, []string{"Cpu"}},
		{"no target group", nil, 0, []string{"Cpu"}},
		{"both off", &scaling.Props{DisableCpu: jsii.Bool(true), DisableRequests: jsii.Bool(true)}, withTargetGroup, nil},
		{"concurrency off", &scaling.Props{DisableConcurrency: jsii.Bool(true)}, withBoth, []string{"Cpu", "Requests"}},
		{"no in-flight metric", nil, withTargetGroup, []string{"Cpu", "Requests"}},
		{"concurrency alone", &scaling.Props{DisableCpu: jsii.Bool(true)}, withInFlight, []string{"Concurrency"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a policy turned off WHEN scaling is applied
			tpl := synth(t, c.props, c.src)
			// THEN only the others are left
			tpl.ResourceCountIs(jsii.String(policyType), jsii.Number(float64(len(c.want))))
			for _, id := range c.want {
				tpl.HasResourceProperties(jsii.String(policyType), map[string]any{
					"PolicyName": assertions.Match_StringLikeRegexp(jsii.String(id + "[0-9A-F]{8}$")),
				})
			}
		})
	}
}

func TestApplyPanicsBeforeCreatingAnything(t *testing.T) {
	// GIVEN min above max
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)
	cluster := awsecs.NewCluster(stack, jsii.String("Cluster"), nil)
	task := awsecs.NewFargateTaskDefinition(stack, jsii.String("TaskDef"), nil)
	task.AddContainer(jsii.String("agent"), &awsecs.ContainerDefinitionOptions{Image: awsecs.ContainerImage_FromRegistry(jsii.String("example/agent"), nil)})
	service := awsecs.NewFargateService(stack, jsii.String("Service"), &awsecs.FargateServiceProps{Cluster: cluster, TaskDefinition: task})

	// WHEN scaling is applied THEN it panics with the Validate message
	defer func() {
		want := "scaling: MinCapacity 5 is above MaxCapacity 2; use a minimum no larger than the maximum"
		if r := recover(); r != want {
			t.Errorf("panic = %v\nwant    %s", r, want)
		}
		// AND no scalable target was made
		assertions.Template_FromStack(stack, nil).ResourceCountIs(jsii.String("AWS::ApplicationAutoScaling::ScalableTarget"), jsii.Number(0))
	}()
	scaling.Apply(service, nil, nil, &scaling.Props{MinCapacity: jsii.Number(5), MaxCapacity: jsii.Number(2)})
}
