package healthcheck_test

import (
	"os"
	"testing"

	"github.com/agentcdk/agentcdk/healthcheck"
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/jsii-runtime-go"
)

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// synth builds a throwaway Fargate service behind a target group that uses
// p's health check and grace period, with c's container health check, and
// returns its template.
func synth(t *testing.T, p *healthcheck.Props, c *healthcheck.ContainerProps) assertions.Template {
	t.Helper()
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)
	vpc := awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{MaxAzs: jsii.Number(1), NatGateways: jsii.Number(0)})
	cluster := awsecs.NewCluster(stack, jsii.String("Cluster"), &awsecs.ClusterProps{Vpc: vpc})
	task := awsecs.NewFargateTaskDefinition(stack, jsii.String("TaskDef"), nil)
	task.AddContainer(jsii.String("agent"), &awsecs.ContainerDefinitionOptions{
		Image:        awsecs.ContainerImage_FromRegistry(jsii.String("example/agent"), nil),
		PortMappings: &[]*awsecs.PortMapping{{ContainerPort: jsii.Number(8080)}},
		HealthCheck:  healthcheck.ContainerHealthCheck(c),
	})
	service := awsecs.NewFargateService(stack, jsii.String("Service"), &awsecs.FargateServiceProps{
		Cluster:                cluster,
		TaskDefinition:         task,
		HealthCheckGracePeriod: healthcheck.GracePeriod(p),
	})
	lb := elbv2.NewApplicationLoadBalancer(stack, jsii.String("LB"), &elbv2.ApplicationLoadBalancerProps{Vpc: vpc})
	lb.AddListener(jsii.String("Http"), &elbv2.BaseApplicationListenerProps{Port: jsii.Number(80)}).
		AddTargets(jsii.String("Agent"), &elbv2.AddApplicationTargetsProps{
			Port:        jsii.Number(8080),
			Targets:     &[]elbv2.IApplicationLoadBalancerTarget{service},
			HealthCheck: healthcheck.TargetGroupHealthCheck(p),
		})
	return assertions.Template_FromStack(stack, nil)
}

func TestDefaultsReachTheTemplate(t *testing.T) {
	// GIVEN no props
	// WHEN the service is synthesized
	tpl := synth(t, nil, nil)

	// THEN the target group checks GET /health the reference way
	tpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), map[string]any{
		"HealthCheckEnabled":         true,
		"HealthCheckPath":            "/health",
		"Matcher":                    map[string]any{"HttpCode": "200"},
		"HealthCheckIntervalSeconds": 30,
		"HealthCheckTimeoutSeconds":  5,
		"HealthyThresholdCount":      2,
		"UnhealthyThresholdCount":    3,
		"HealthCheckPort":            "traffic-port",
		"HealthCheckProtocol":        "HTTP",
	})
	// AND ECS ignores failed checks for 60 s after a task starts
	tpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), map[string]any{
		"HealthCheckGracePeriodSeconds": 60,
	})
	// AND the container probes itself with the agent binary
	tpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
		"ContainerDefinitions": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
			"HealthCheck": map[string]any{
				"Command":     []any{"CMD", "/agent", "healthcheck"},
				"Interval":    30,
				"Timeout":     5,
				"Retries":     3,
				"StartPeriod": 10,
			},
		})}),
	})
}

func TestOverridesReachTheTemplate(t *testing.T) {
	// GIVEN every prop overridden
	p := &healthcheck.Props{
		Path:                    jsii.String("/ready"),
		HealthyHttpCodes:        jsii.String("200-299"),
		Interval:                awscdk.Duration_Seconds(jsii.Number(10)),
		Timeout:                 awscdk.Duration_Seconds(jsii.Number(4)),
		HealthyThresholdCount:   jsii.Number(3),
		UnhealthyThresholdCount: jsii.Number(5),
		GracePeriod:             awscdk.Duration_Minutes(jsii.Number(2)),
	}
	c := &healthcheck.ContainerProps{
		Command:     jsii.Strings("CMD", "/bin/agent", "healthcheck"),
		Interval:    awscdk.Duration_Seconds(jsii.Number(15)),
		Timeout:     awscdk.Duration_Seconds(jsii.Number(3)),
		Retries:     jsii.Number(2),
		StartPeriod: awscdk.Duration_Seconds(jsii.Number(0)),
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}

	// WHEN the service is synthesized
	tpl := synth(t, p, c)

	// THEN each override replaces its default
	tpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), map[string]any{
		"HealthCheckPath":            "/ready",
		"Matcher":                    map[string]any{"HttpCode": "200-299"},
		"HealthCheckIntervalSeconds": 10,
		"HealthCheckTimeoutSeconds":  4,
		"HealthyThresholdCount":      3,
		"UnhealthyThresholdCount":    5,
	})
	tpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), map[string]any{
		"HealthCheckGracePeriodSeconds": 120,
	})
	tpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
		"ContainerDefinitions": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
			"HealthCheck": map[string]any{
				"Command":     []any{"CMD", "/bin/agent", "healthcheck"},
				"Interval":    15,
				"Timeout":     3,
				"Retries":     2,
				"StartPeriod": 0,
			},
		})}),
	})
}

func TestTokensAreNotJudged(t *testing.T) {
	// GIVEN props whose values are only known at deploy time
	param := func() *float64 { return awscdk.Token_AsNumber(awscdk.Aws_ACCOUNT_ID()) }
	p := &healthcheck.Props{
		Path:                    awscdk.Aws_STACK_NAME(),
		HealthyHttpCodes:        awscdk.Aws_REGION(),
		Interval:                awscdk.Duration_Seconds(param()),
		Timeout:                 awscdk.Duration_Seconds(param()),
		HealthyThresholdCount:   param(),
		UnhealthyThresholdCount: param(),
		GracePeriod:             awscdk.Duration_Seconds(param()),
	}
	c := &healthcheck.ContainerProps{
		Command:  &[]*string{jsii.String("CMD-SHELL"), awscdk.Aws_STACK_NAME()},
		Interval: awscdk.Duration_Seconds(param()),
		Retries:  param(),
	}
	// WHEN they are validated THEN nothing is reported
	if err := p.Validate(); err != nil {
		t.Errorf("Props.Validate() = %v, want nil", err)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("ContainerProps.Validate() = %v, want nil", err)
	}
	// AND the timing budget marks them unresolved
	timing := healthcheck.TimingOf(p, nil, nil, nil)
	if timing.HealthCheckInterval != healthcheck.Unresolved || timing.HealthyThresholdCount != healthcheck.UnresolvedCount {
		t.Errorf("TimingOf = %+v, want Unresolved interval and count", timing)
	}
	if got := timing.DeployStep(); got != 0 {
		t.Errorf("DeployStep() = %v, want 0 for an unresolved budget", got)
	}
}

func TestSecondsResolvesDurations(t *testing.T) {
	cases := []struct {
		name string
		d    awscdk.Duration
		want float64 // seconds; -1 = not resolved
	}{
		{"nil", nil, -1},
		{"seconds", awscdk.Duration_Seconds(jsii.Number(30)), 30},
		{"minutes", awscdk.Duration_Minutes(jsii.Number(2)), 120},
		{"millis", awscdk.Duration_Millis(jsii.Number(1500)), 1.5},
		{"token", awscdk.Duration_Seconds(awscdk.Token_AsNumber(awscdk.Aws_ACCOUNT_ID())), -1},
	}
	for _, c := range cases {
		// GIVEN a duration WHEN Seconds resolves it THEN it has the right value, or none
		got, ok := healthcheck.Seconds(c.d)
		if c.want < 0 {
			if ok {
				t.Errorf("%s: Seconds = %v, true; want false", c.name, got)
			}
			continue
		}
		if !ok || got.Seconds() != c.want {
			t.Errorf("%s: Seconds = %v, %v; want %vs, true", c.name, got, ok, c.want)
		}
	}
}
