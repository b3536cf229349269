package agentservice_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
	"github.com/agentcdk/agentcdk/scaling"
)

// properties returns the Properties of every resource of typ in tmpl.
func properties(t *testing.T, tmpl assertions.Template, typ string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range *tmpl.FindResources(jsii.String(typ), nil) {
		p, _ := (*r)["Properties"].(map[string]any)
		out = append(out, p)
	}
	return out
}

// same fails t unless got and want are the same JSON value.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s =\n  %s\nwant\n  %s", what, g, w)
	}
}

func TestDeploymentStrategiesShiftTrafficBetweenTwoTargetGroups(t *testing.T) {
	alarmsOf := func(stack awscdk.Stack, svc *agentservice.Service) map[string]any {
		return map[string]any{
			"AlarmNames": []any{stack.Resolve(svc.Alarms[0].AlarmName()), stack.Resolve(svc.Alarms[1].AlarmName())},
			"Enable":     true, "Rollback": true,
		}
	}
	cases := []struct {
		strategy awsecs.DeploymentStrategy
		stack    *astest.Case
		// config is what the strategy adds to the deployment configuration.
		config map[string]any
	}{
		{awsecs.DeploymentStrategy_BLUE_GREEN, astest.BlueGreen, map[string]any{}},
		{awsecs.DeploymentStrategy_CANARY, astest.Canary, map[string]any{"CanaryConfiguration": map[string]any{"CanaryBakeTimeInMinutes": 10, "CanaryPercent": 5}}},
		{awsecs.DeploymentStrategy_LINEAR, astest.Linear, map[string]any{"LinearConfiguration": map[string]any{"StepBakeTimeInMinutes": 6, "StepPercent": 10}}},
	}
	for _, c := range cases {
		t.Run(string(c.strategy), func(t *testing.T) {
			// GIVEN the strategy and every other prop at its default
			// WHEN the service synthesizes
			s := c.stack.Synth(t)
			tmpl, svc, stack := s.Template, s.Web, s.Stack
			ref := func(v any) any { return stack.Resolve(v) }

			// THEN ECS deploys with the strategy, a 5-minute bake, the
			// deployment alarms and the circuit breaker, both rolling back
			config := map[string]any{
				"Alarms":                   alarmsOf(stack, svc),
				"DeploymentCircuitBreaker": map[string]any{"Enable": true, "Rollback": true},
				"BakeTimeInMinutes":        5, "MaximumPercent": 200, "MinimumHealthyPercent": 100,
				"Strategy": string(c.strategy),
			}
			for k, v := range c.config {
				config[k] = v
			}
			services := properties(t, tmpl, "AWS::ECS::Service")
			same(t, "DeploymentConfiguration", services[0]["DeploymentConfiguration"], config)
			// AND it knows the second target group, the rule it shifts and the role it shifts it with
			same(t, "LoadBalancers", services[0]["LoadBalancers"], []any{map[string]any{
				"AdvancedConfiguration": map[string]any{
					"AlternateTargetGroupArn": ref(svc.AlternateTargetGroup.TargetGroupArn()),
					"ProductionListenerRule":  ref(svc.ProductionRule.ListenerRuleArn()),
					"RoleArn":                 ref(svc.DeployRole.RoleArn()),
				},
				"ContainerName": "agent", "ContainerPort": 8080,
				"TargetGroupArn": ref(svc.TargetGroup.TargetGroupArn()),
			}})
			// AND the two target groups are alike: same health check, same 60 s deregistration delay (the 55 s deadline behind CloudFront + 5 s)
			groups := properties(t, tmpl, "AWS::ElasticLoadBalancingV2::TargetGroup")
			if len(groups) != 2 {
				t.Fatalf("%d target groups, want 2", len(groups))
			}
			same(t, "the alternate target group", groups[1], groups[0])
			tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), obj(map[string]any{
				"TargetGroupAttributes": arrayWith(map[string]any{"Key": "deregistration_delay.timeout_seconds", "Value": "60"}),
				"HealthCheckPath":       "/health",
			}))
			// AND the container's request deadline agrees with it: 55 s + 5 s of margin, whichever group drains
			tmpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj(map[string]any{
				"ContainerDefinitions": arrayWith(obj(map[string]any{
					"StopTimeout": 60,
					"Environment": arrayWith(
						map[string]any{"Name": "AGENTKIT_REQUEST_TIMEOUT", "Value": "55s"},
						map[string]any{"Name": "AGENTKIT_STOP_TIMEOUT", "Value": "60s"},
					),
				})),
			}))
			// AND one production rule takes every path, last, all weight on TargetGroup
			tmpl.ResourceCountIs(jsii.String("AWS::ElasticLoadBalancingV2::ListenerRule"), jsii.Number(1))
			same(t, "the production rule", properties(t, tmpl, "AWS::ElasticLoadBalancingV2::ListenerRule")[0], map[string]any{
				"Actions": []any{map[string]any{"ForwardConfig": map[string]any{"TargetGroups": []any{
					map[string]any{"TargetGroupArn": ref(svc.TargetGroup.TargetGroupArn()), "Weight": 100},
					map[string]any{"TargetGroupArn": ref(svc.AlternateTargetGroup.TargetGroupArn()), "Weight": 0},
				}}, "Type": "forward"}},
				"Conditions":  []any{map[string]any{"Field": "path-pattern", "PathPatternConfig": map[string]any{"Values": []any{"/*"}}}},
				"ListenerArn": ref(svc.Listener.ListenerArn()),
				"Priority":    50000,
			})
			// AND the listener answers what no rule takes with 404, not with one of the groups
			tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), obj(map[string]any{
				"DefaultActions": []any{map[string]any{"Type": "fixed-response",
					"FixedResponseConfig": map[string]any{"ContentType": "text/plain", "MessageBody": "no route", "StatusCode": "404"}}},
			}))
			// AND ECS alone may assume the role, which may read the load balancer, register
			// tasks in the two groups and change the one rule and its listener, nothing else
			tmpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), exactlyProps(map[string]any{
				"AssumeRolePolicyDocument": map[string]any{"Statement": []any{map[string]any{
					"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": map[string]any{"Service": "ecs.amazonaws.com"},
				}}, "Version": "2012-10-17"},
				"Description": "ECS shifts the agent's traffic between its two target groups during blue/green, canary and linear deploys",
			}))
			tmpl.HasResourceProperties(jsii.String("AWS::IAM::ManagedPolicy"), exactlyProps(map[string]any{
				"PolicyDocument": deployPolicy(ref, svc, svc.ProductionRule.ListenerRuleArn()),
				"Roles":          []any{ref(svc.DeployRole.RoleName())},
			}))
		})
	}
}

// exactlyProps matches a resource's Properties as a whole.
func exactlyProps(props map[string]any) assertions.Matcher {
	return assertions.Match_ObjectEquals(&props)
}

// deployPolicy is the deploy role's whole policy document.
func deployPolicy(ref func(any) any, svc *agentservice.Service, rules ...*string) map[string]any {
	arns := make([]any, len(rules))
	for i, r := range rules {
		arns[i] = ref(r)
	}
	var modify any = arns
	if len(arns) == 1 {
		modify = arns[0]
	}
	// The Describe actions, on "*", are in the role's InherentPolicy.
	return map[string]any{"Statement": []any{
		map[string]any{"Action": []any{"elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"},
			"Effect": "Allow", "Resource": []any{ref(svc.TargetGroup.TargetGroupArn()), ref(svc.AlternateTargetGroup.TargetGroupArn())}, "Sid": "RegisterTasks"},
		map[string]any{"Action": "elasticloadbalancing:ModifyRule", "Effect": "Allow", "Resource": modify, "Sid": "ShiftTraffic"},
		map[string]any{"Action": "elasticloadbalancing:ModifyListener", "Effect": "Allow", "Resource": ref(svc.Listener.ListenerArn()), "Sid": "ModifyListener"},
	}, "Version": "2012-10-17"}
}

// The test rule names its secret by a CloudFormation dynamic reference,
// which "can be used in all resource properties" and which CloudFormation
// resolves at deploy, so the template never holds the value; a secret's
// new value reaches the rule only with a stack update
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-secretsmanager.html).
func TestTestTrafficHeaderReachesTheNewRevisionFirst(t *testing.T) {
	// GIVEN a canary deploy with a test header
	// WHEN the service synthesizes
	s := astest.CanaryTestHeader.Synth(t)
	tmpl, svc, stack := s.Template, s.Web, s.Stack
	ref := func(v any) any { return stack.Resolve(v) }

	// THEN a test rule just before the production rule forwards requests
	// whose header carries the value of a secret made at deploy, named by a
	// dynamic reference: never "*" (any value), never the value itself
	tmpl.ResourceCountIs(jsii.String("AWS::ElasticLoadBalancingV2::ListenerRule"), jsii.Number(2))
	secret := ref(svc.TestTrafficSecret.SecretArn())
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::ListenerRule"), exactlyProps(map[string]any{
		"Actions": []any{map[string]any{"ForwardConfig": map[string]any{"TargetGroups": []any{
			map[string]any{"TargetGroupArn": ref(svc.TargetGroup.TargetGroupArn()), "Weight": 100},
			map[string]any{"TargetGroupArn": ref(svc.AlternateTargetGroup.TargetGroupArn()), "Weight": 0},
		}}, "Type": "forward"}},
		"Conditions": []any{map[string]any{"Field": "http-header",
			"HttpHeaderConfig": map[string]any{"HttpHeaderName": "X-Agent-Canary", "Values": []any{
				map[string]any{"Fn::Join": []any{"", []any{"{{resolve:secretsmanager:", secret, ":SecretString:::}}"}}},
			}}}},
		"ListenerArn": ref(svc.Listener.ListenerArn()),
		"Priority":    49999,
	}))
	// AND the secret is 32 letters and digits, generated by Secrets Manager
	// (no '*' or '?', the load balancer's wildcards)
	tmpl.HasResource(jsii.String("AWS::SecretsManager::Secret"), obj(map[string]any{
		"Properties": obj(map[string]any{"GenerateSecretString": map[string]any{
			"ExcludePunctuation": true, "IncludeSpace": false, "PasswordLength": 32,
		}}),
		"DeletionPolicy": "Delete",
	}))
	// AND ECS knows it as the test rule
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj(map[string]any{
		"LoadBalancers": []any{obj(map[string]any{"AdvancedConfiguration": obj(map[string]any{
			"TestListenerRule": ref(svc.TestRule.ListenerRuleArn()),
		})})},
	}))
	// AND the role may change both rules, and only them
	tmpl.HasResourceProperties(jsii.String("AWS::IAM::ManagedPolicy"), exactlyProps(map[string]any{
		"PolicyDocument": deployPolicy(ref, svc, svc.ProductionRule.ListenerRuleArn(), svc.TestRule.ListenerRuleArn()),
		"Roles":          []any{ref(svc.DeployRole.RoleName())},
	}))
}

func TestTestTrafficSecretOfYourOwn(t *testing.T) {
	// GIVEN a blue/green deploy whose test header must carry the value of
	// a secret the user already has
	s := astest.BlueGreenOwnChoices.Synth(t)
	tmpl, svc, arn := s.Template, s.Web, astest.OwnTestSecretArn

	// THEN the test rule names that secret, and the construct makes none
	tmpl.ResourceCountIs(jsii.String("AWS::SecretsManager::Secret"), jsii.Number(0))
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::ListenerRule"), obj(map[string]any{
		"Conditions": []any{map[string]any{"Field": "http-header", "HttpHeaderConfig": map[string]any{
			"HttpHeaderName": "X-Agent-Test", "Values": []any{"{{resolve:secretsmanager:" + arn + ":SecretString:::}}"},
		}}},
	}))
	// AND Service.TestTrafficSecret is it, for granting a hook read
	if got := *svc.TestTrafficSecret.SecretArn(); got != arn {
		t.Errorf("Service.TestTrafficSecret = %s, want %s", got, arn)
	}

	// GIVEN the secret without the header (in a stack of its own: the
	// shared one takes no constructs)
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Alone"), nil)
	props := astest.Shifted(awsecs.DeploymentStrategy_CANARY)
	props.Deployment.TestTrafficSecret = awssecretsmanager.Secret_FromSecretCompleteArn(stack, jsii.String("Given"), jsii.String(arn))
	// THEN Validate refuses it, naming both props
	want := "agentservice: Deployment.TestTrafficSecret is set without Deployment.TestTrafficHeader; it is the value that header must carry, so name the header too"
	if err := props.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() = %v\nwant %s", err, want)
	}
}

func TestDeploymentSettingsReachTheService(t *testing.T) {
	// GIVEN a linear deploy of 20 % steps every 4 minutes, a 15-minute bake and a hook
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Test"), nil)
	fn := awslambda.Function_FromFunctionAttributes(stack, jsii.String("Hook"), &awslambda.FunctionAttributes{
		FunctionArn: jsii.String("arn:aws:lambda:us-east-1:123456789012:function:smoke"), SkipPermissions: jsii.Bool(true),
	})
	props := astest.Shifted(awsecs.DeploymentStrategy_LINEAR)
	props.Deployment.LinearPercent = jsii.Number(20)
	props.Deployment.StepBakeTime = awscdk.Duration_Minutes(jsii.Number(4))
	props.Deployment.BakeTime = awscdk.Duration_Minutes(jsii.Number(15))
	props.Deployment.LifecycleHooks = []awsecs.IDeploymentLifecycleHookTarget{
		awsecs.NewDeploymentLifecycleLambdaTarget(fn, jsii.String("SmokeTest"), &awsecs.DeploymentLifecycleLambdaTargetProps{
			LifecycleStages: &[]awsecs.DeploymentLifecycleStage{awsecs.DeploymentLifecycleStage_POST_TEST_TRAFFIC_SHIFT},
		}),
	}

	// WHEN the service synthesizes
	agentservice.New(stack, jsii.String("Agent"), props)
	tmpl := assertions.Template_FromStack(stack, nil)

	// THEN the deployment configuration carries them
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj(map[string]any{
		"DeploymentConfiguration": obj(map[string]any{
			"Strategy":            "LINEAR",
			"BakeTimeInMinutes":   15,
			"LinearConfiguration": map[string]any{"StepBakeTimeInMinutes": 4, "StepPercent": 20},
			"LifecycleHooks": []any{obj(map[string]any{
				"HookTargetArn":   "arn:aws:lambda:us-east-1:123456789012:function:smoke",
				"LifecycleStages": []any{"POST_TEST_TRAFFIC_SHIFT"},
			})},
		}),
	}))
}

func TestDeploymentAlarmsWatchBothTargetGroups(t *testing.T) {
	// GIVEN a canary deploy WHEN the service synthesizes
	s := astest.Canary.Synth(t)
	tmpl, svc, stack := s.Template, s.Web, s.Stack

	// THEN each alarm sums its metric over both groups, wherever ECS put the new revision
	for _, c := range []struct{ metric, stat string }{{"HTTPCode_Target_5XX_Count", "Sum"}, {"UnHealthyHostCount", "Maximum"}} {
		group := func(tg any) any {
			return obj(map[string]any{"MetricStat": obj(map[string]any{
				"Metric": obj(map[string]any{"MetricName": c.metric, "Dimensions": arrayWith(map[string]any{
					"Name": "TargetGroup", "Value": stack.Resolve(tg),
				})}),
				"Period": 60, "Stat": c.stat,
			})})
		}
		tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj(map[string]any{
			"EvaluationPeriods": 3,
			"Metrics": arrayWith(
				obj(map[string]any{"Expression": "FILL(primary, 0) + FILL(alternate, 0)", "ReturnData": true}),
				group(svc.AlternateTargetGroup.TargetGroupFullName()),
				group(svc.TargetGroup.TargetGroupFullName()),
			),
		}))
	}
}

func TestRollingIsTheZeroDeployment(t *testing.T) {
	// GIVEN the default props, and the same with an empty Deployment
	template := func(tmpl assertions.Template, svc *agentservice.Service) string {
		if svc.AlternateTargetGroup != nil || svc.ProductionRule != nil || svc.TestRule != nil || svc.DeployRole != nil {
			t.Errorf("a rolling deploy made blue/green resources")
		}
		b, _ := json.Marshal(tmpl.ToJSON())
		return string(b)
	}

	// WHEN both synthesize THEN the templates are the same
	defaults := astest.Defaults.Synth(t)
	if template(defaults.Template, defaults.Web) != template(synth(t, &agentservice.Props{Image: astest.RegistryImage(), Deployment: &agentservice.Deployment{}})) {
		t.Errorf("Deployment{} makes another template than no Deployment")
	}
}

func TestValidateRefusesBadDeployments(t *testing.T) {
	minutes := func(n float64) awscdk.Duration { return awscdk.Duration_Minutes(jsii.Number(n)) }
	with := func(strategy awsecs.DeploymentStrategy, edit func(*agentservice.Props)) *agentservice.Props {
		p := astest.Shifted(strategy)
		edit(p)
		return p
	}
	canary, linear, blueGreen := awsecs.DeploymentStrategy_CANARY, awsecs.DeploymentStrategy_LINEAR, awsecs.DeploymentStrategy_BLUE_GREEN
	cases := []struct {
		name  string
		props *agentservice.Props
		want  string
	}{
		{"unknown strategy", with("CANARIES", func(*agentservice.Props) {}),
			`agentservice: Deployment.Strategy "CANARIES" is not an awsecs.DeploymentStrategy value; use one of its constants, such as awsecs.DeploymentStrategy_CANARY ("CANARY")`},
		{"canary percent zero", with(canary, func(p *agentservice.Props) { p.Deployment.CanaryPercent = jsii.Number(0) }),
			"agentservice: Deployment.CanaryPercent 0 is out of range; use 0.1 to 100 in steps of 0.1"},
		{"canary percent over 100", with(canary, func(p *agentservice.Props) { p.Deployment.CanaryPercent = jsii.Number(101) }),
			"agentservice: Deployment.CanaryPercent 101 is out of range; use 0.1 to 100 in steps of 0.1"},
		{"canary percent finer than 0.1", with(canary, func(p *agentservice.Props) { p.Deployment.CanaryPercent = jsii.Number(2.55) }),
			"agentservice: Deployment.CanaryPercent 2.55 is out of range; use 0.1 to 100 in steps of 0.1"},
		{"linear percent below 3", with(linear, func(p *agentservice.Props) { p.Deployment.LinearPercent = jsii.Number(2.9) }),
			"agentservice: Deployment.LinearPercent 2.9 is out of range; use 3 to 100 in steps of 0.1"},
		{"canary percent on a linear deploy", with(linear, func(p *agentservice.Props) { p.Deployment.CanaryPercent = jsii.Number(5) }),
			"agentservice: Deployment.CanaryPercent is set but Deployment.Strategy is LINEAR; it applies only to CANARY"},
		{"step bake on blue/green", with(blueGreen, func(p *agentservice.Props) { p.Deployment.StepBakeTime = minutes(5) }),
			"agentservice: Deployment.StepBakeTime is set but Deployment.Strategy is BLUE_GREEN; it applies only to CANARY and LINEAR"},
		{"bake time on a rolling deploy", &agentservice.Props{Image: astest.RegistryImage(), Deployment: &agentservice.Deployment{BakeTime: minutes(5)}},
			"agentservice: Deployment.BakeTime is set but Deployment.Strategy is ROLLING; it applies only to BLUE_GREEN, CANARY and LINEAR"},
		{"test header on a rolling deploy", &agentservice.Props{Image: astest.RegistryImage(), Deployment: &agentservice.Deployment{
			Strategy: awsecs.DeploymentStrategy_ROLLING, TestTrafficHeader: jsii.String("X-Test")}},
			"agentservice: Deployment.TestTrafficHeader is set but Deployment.Strategy is ROLLING; it applies only to BLUE_GREEN, CANARY and LINEAR"},
		{"test header with a space", with(canary, func(p *agentservice.Props) { p.Deployment.TestTrafficHeader = jsii.String("X Test") }),
			`agentservice: Deployment.TestTrafficHeader "X Test" is not a header name the load balancer matches; use 1 to 40 letters, digits, '-' and '_', such as "X-Agent-Canary"`},
		{"step bake over a day", with(canary, func(p *agentservice.Props) { p.Deployment.StepBakeTime = minutes(1441) }),
			"agentservice: Deployment.StepBakeTime 86460s is out of range; use whole minutes from 0s to 86400s (24 h)"},
		{"bake time in seconds", with(blueGreen, func(p *agentservice.Props) { p.Deployment.BakeTime = awscdk.Duration_Seconds(jsii.Number(330)) }),
			"agentservice: Deployment.BakeTime 330s is not a whole number of minutes, which is what ECS counts; use 300s or 360s"},
		{"bake shorter than the alarms need", with(blueGreen, func(p *agentservice.Props) { p.Deployment.BakeTime = minutes(3) }),
			"agentservice: Deployment.BakeTime 180s is shorter than the 240s the deployment alarms need to judge it (3 one-minute datapoints after a request that fails at its RequestTimeout, 55s, is answered), so it would end before they could roll the deploy back; use at least 240s, or turn DeploymentAlarms off"},
		{"canary step shorter than the alarms need", with(canary, func(p *agentservice.Props) { p.Deployment.StepBakeTime = minutes(0) }),
			"agentservice: Deployment.StepBakeTime 0s is shorter than the 240s the deployment alarms need to judge it (3 one-minute datapoints after a request that fails at its RequestTimeout, 55s, is answered), so it would end before they could roll the deploy back; use at least 240s, or turn DeploymentAlarms off"},
		{"default linear step under a long request deadline", with(linear, func(p *agentservice.Props) {
			p.RequestTimeout, p.IdleTimeout = awscdk.Duration_Seconds(jsii.Number(270)), awscdk.Duration_Seconds(jsii.Number(300))
		}), "agentservice: Deployment.StepBakeTime 360s is shorter than the 480s the deployment alarms need to judge it (3 one-minute datapoints after a request that fails at its RequestTimeout, 270s, is answered), so it would end before they could roll the deploy back; use at least 480s, or turn DeploymentAlarms off"},
		{"longer than cloudformation waits", with(linear, func(p *agentservice.Props) {
			p.Deployment.LinearPercent, p.Deployment.StepBakeTime, p.Deployment.BakeTime = jsii.Number(10), minutes(200), minutes(300)
		}), "agentservice: Deployment bakes for 126000s (BakeTime 18000s + 9 × StepBakeTime 12000s), over the 118800s CloudFormation allows a LINEAR deploy; shorten BakeTime or StepBakeTime"},
		{"requests scaling on a canary", with(canary, func(p *agentservice.Props) { p.Scaling = nil }),
			"agentservice: Deployment.Strategy CANARY moves traffic between TargetGroup and AlternateTargetGroup, so the requests-per-target scaling policy, which watches TargetGroup, would see no requests after every second deploy; set Scaling.DisableRequests (CPU scaling stays on)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// WHEN the props are validated
			err := c.props.Validate()

			// THEN the message names the prop, the value and what is allowed
			if err == nil || err.Error() != c.want {
				t.Fatalf("Validate() = %v\nwant %s", err, c.want)
			}
		})
	}
}

func TestValidateAcceptsTheEdgesOfTheRanges(t *testing.T) {
	minutes := func(n float64) awscdk.Duration { return awscdk.Duration_Minutes(jsii.Number(n)) }
	for name, d := range map[string]*agentservice.Deployment{
		"canary 0.1 %":                    {Strategy: awsecs.DeploymentStrategy_CANARY, CanaryPercent: jsii.Number(0.1)},
		"canary 100 %, one-day step":      {Strategy: awsecs.DeploymentStrategy_CANARY, CanaryPercent: jsii.Number(100), StepBakeTime: minutes(1440)},
		"linear 3 %":                      {Strategy: awsecs.DeploymentStrategy_LINEAR, LinearPercent: jsii.Number(3)},
		"linear 33.3 %":                   {Strategy: awsecs.DeploymentStrategy_LINEAR, LinearPercent: jsii.Number(33.3)},
		"blue/green, one-day bake":        {Strategy: awsecs.DeploymentStrategy_BLUE_GREEN, BakeTime: minutes(1440)},
		"blue/green, 4-minute bake":       {Strategy: awsecs.DeploymentStrategy_BLUE_GREEN, BakeTime: minutes(4)},
		"rolling, given explicitly":       {Strategy: awsecs.DeploymentStrategy_ROLLING},
		"canary, 40-character header":     {Strategy: awsecs.DeploymentStrategy_CANARY, TestTrafficHeader: jsii.String("X-0123456789012345678901234567890123456")},
		"canary, unresolved step percent": {Strategy: awsecs.DeploymentStrategy_CANARY, CanaryPercent: awscdk.Token_AsNumber(awscdk.Aws_ACCOUNT_ID())},
	} {
		t.Run(name, func(t *testing.T) {
			// GIVEN a deployment at the edge of what ECS takes
			p := astest.Shifted(d.Strategy)
			p.Deployment = d
			if d.Strategy == awsecs.DeploymentStrategy_ROLLING {
				p.Scaling = nil
			}

			// WHEN the props are validated THEN they pass
			if err := p.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
		})
	}
}

func TestShortBakesPassWithoutDeploymentAlarms(t *testing.T) {
	// GIVEN a blue/green deploy with no bake and no deployment alarms
	p := astest.Shifted(awsecs.DeploymentStrategy_BLUE_GREEN)
	p.DeploymentAlarms = jsii.Bool(false)
	p.Deployment.BakeTime = awscdk.Duration_Minutes(jsii.Number(0))

	// WHEN the props are validated THEN nothing contradicts: no alarm waits to fire
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
}

func TestAWorkerHasNoDeploymentStrategy(t *testing.T) {
	// GIVEN the worker's props WHEN a Deployment is looked for
	_, ok := reflect.TypeFor[agentservice.WorkerProps]().FieldByName("Deployment")

	// THEN there is none: a worker has no load balancer to shift traffic
	// on, so a canary worker does not compile, and it deploys rolling
	if ok {
		t.Error("WorkerProps has a Deployment field; a worker cannot shift traffic")
	}
}

func TestDeployTimeCoversEveryStrategy(t *testing.T) {
	minutes := func(n float64) awscdk.Duration { return awscdk.Duration_Minutes(jsii.Number(n)) }
	withDeployment := func(d *agentservice.Deployment) *agentservice.Props {
		p := astest.Shifted(d.Strategy)
		p.Deployment = d
		return p
	}
	cases := []struct {
		name  string
		props *agentservice.Props
		want  time.Duration
	}{
		// rolling: (120 s healthy + 60 s drained + 60 s stopped) per round, the
		// 55 s deadline behind CloudFront + 5 s drained
		{"rolling, defaults: both tasks in one round", &agentservice.Props{Image: astest.RegistryImage()}, 240 * time.Second},
		{"rolling, 4 tasks at 100..150 %: two rounds", &agentservice.Props{Image: astest.RegistryImage(), DesiredCount: jsii.Number(4),
			MaxHealthyPercent: jsii.Number(150), Scaling: &scaling.Props{MinCapacity: jsii.Number(4)}}, 480 * time.Second},
		{"rolling, 1 task at 100..150 %: no round can start", &agentservice.Props{Image: astest.RegistryImage(), DesiredCount: jsii.Number(1),
			MaxHealthyPercent: jsii.Number(150)}, 0},
		// blue/green family: 120 s healthy + pauses × step + bake + 60 s + 60 s
		{"blue/green, defaults", astest.Shifted(awsecs.DeploymentStrategy_BLUE_GREEN), 540 * time.Second},
		{"canary, defaults", astest.Shifted(awsecs.DeploymentStrategy_CANARY), 1140 * time.Second},
		{"linear, defaults", astest.Shifted(awsecs.DeploymentStrategy_LINEAR), 3780 * time.Second},
		{"linear 33.3 % every 5 min, 10 min bake", withDeployment(&agentservice.Deployment{Strategy: awsecs.DeploymentStrategy_LINEAR,
			LinearPercent: jsii.Number(33.3), StepBakeTime: minutes(5), BakeTime: minutes(10)}), (120 + 3*300 + 600 + 120) * time.Second},
		{"canary with an unresolved bake", withDeployment(&agentservice.Deployment{Strategy: awsecs.DeploymentStrategy_CANARY,
			BakeTime: awscdk.Duration_Minutes(awscdk.Token_AsNumber(awscdk.Aws_ACCOUNT_ID()))}), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// WHEN the worst-case deploy time is computed from the props
			got := c.props.DeployTime()

			// THEN it adds the phases of the strategy
			if got != c.want {
				t.Errorf("DeployTime() = %v, want %v", got, c.want)
			}
		})
	}
}
