package scantest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
	"github.com/agentcdk/agentcdk/internal/mototest"
	"github.com/agentcdk/agentcdk/internal/stacktest"
)

// TestDeploymentStrategiesDeploy deploys the blue/green and the canary
// strategy (with its test-traffic header) to one moto_server and updates
// them there (TestTemplatesPassCfnLint lints these templates and the
// linear one).
//
// What moto 5.2.1 does with them: its CloudFormation makes the second
// target group, the listener rules (weights, conditions, priority) and the
// role, but creates the ECS service from Cluster, TaskDefinition and
// DesiredCount alone: the DeploymentConfiguration (strategy, bake times,
// canary and linear steps, alarms, circuit breaker) and the LoadBalancers
// with their AdvancedConfiguration are dropped, and an update only
// registers a new task definition revision. It also drops the target
// groups' attributes (a deregistration delay reads AWS's 300 s default) and
// skips the alarms, as it does for a rolling stack. So the test proves the
// template deploys and the load balancer is wired as ECS needs it, not
// that traffic shifts; the linear strategy's template differs from the
// blue/green one only in what moto drops, and is not deployed.
func TestDeploymentStrategiesDeploy(t *testing.T) {
	// GIVEN the strategies' stacks, synthesized
	cases := []struct {
		strategy awsecs.DeploymentStrategy
		stack    *astest.Synthesized
		header   *string
	}{
		{awsecs.DeploymentStrategy_BLUE_GREEN, astest.BlueGreen.Synth(t), nil},
		{awsecs.DeploymentStrategy_CANARY, astest.CanaryTestHeader.Synth(t), jsii.String("X-Agent-Canary")},
	}
	// WHEN each is deployed to one emulator, under its own name, and then
	// updated with a change to the container definition: this talks to the
	// emulator with no jsii call, so it starts now and runs while the
	// package's sequential tests (which use jsii) do; the checks wait for
	// it after t.Parallel, beside the other such test (cfn-lint)
	mototest.Require(t)
	type deployed struct {
		d   *stacktest.Deployment
		err error
	}
	results := make([]deployed, len(cases))
	var launchErr error
	var stop func()
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		srv, err := mototest.Launch()
		if err != nil {
			launchErr = err
			return
		}
		stop = srv.Stop
		ctx := context.Background()
		for i, c := range cases {
			d, err := stacktest.DeployContext(ctx, srv.Endpoint, c.stack.StackName, c.stack.TemplatePath)
			if err == nil {
				err = d.UpdateContext(ctx, stacktest.NewRevision(d.Template, 2))
			}
			results[i] = deployed{d, err}
		}
	}()
	t.Cleanup(func() {
		<-finished
		if stop != nil {
			stop()
		}
	})
	t.Parallel()
	<-finished
	if launchErr != nil {
		t.Fatalf("mototest: %v", launchErr)
	}

	for i, c := range cases {
		t.Run(string(c.strategy), func(t *testing.T) {
			s, d := c.stack, results[i].d
			// THEN the stack completes, and the update too
			if err := results[i].err; err != nil {
				t.Fatalf("stacktest: %v", err)
			}
			t.Logf("moto's CloudFormation does not implement (not deployed): %s", strings.Join(d.Skipped, ", "))

			// AND the service runs its 2 tasks
			services := d.Services(t)
			if len(services) != 1 || services[0].DesiredCount != 2 || aws.ToString(services[0].Status) != "ACTIVE" {
				t.Fatalf("services = %+v, want one ACTIVE with 2 tasks", services)
			}
			// AND the two target groups check /health alike (moto leaves out
			// their attributes: the deregistration delay is the template tests')
			client := elbv2.NewFromConfig(d.Config)
			var shapes []string
			for _, g := range d.TargetGroups(t) {
				shapes = append(shapes, fmt.Sprintf("%s %d %s every %ds timeout %ds", g.Protocol, aws.ToInt32(g.Port),
					aws.ToString(g.HealthCheckPath), aws.ToInt32(g.HealthCheckIntervalSeconds), aws.ToInt32(g.HealthCheckTimeoutSeconds)))
			}
			want := "HTTP 8080 /health every 30s timeout 5s"
			if len(shapes) != 2 || shapes[0] != want || shapes[1] != want {
				t.Errorf("target groups = %q, want two of %q", shapes, want)
			}
			// AND the listener's rules forward to both groups, all weight on the first
			rules := listenerRules(t, client, d, s.Synthesized)
			wantRules := []string{"50000 path-pattern [/*] -> 100/0"}
			if c.header != nil {
				// moto makes no AWS::SecretsManager::Secret and resolves no
				// dynamic reference (CloudFormation does, at deploy): the rule
				// keeps the reference, with the stand-in ARN stacktest gives
				// the secret moto lacks; what matters is that it is no "*"
				wantRules = append(wantRules, "49999 http-header X-Agent-Canary [{{resolve:secretsmanager:arn:aws:secretsmanager:::secret:"+
					logicalIDOf(t, s, "AWS::SecretsManager::Secret", "AgentTestTrafficSecret")+":SecretString:::}}] -> 100/0")
			}
			slices.Sort(wantRules)
			if !slices.Equal(rules, wantRules) {
				t.Errorf("listener rules = %q, want %q", rules, wantRules)
			}
		})
	}
}

// listenerRules describes the non-default rules of the stack's one
// listener as "PRIORITY FIELD VALUES -> WEIGHT/WEIGHT", sorted.
func listenerRules(t *testing.T, client *elbv2.Client, d *stacktest.Deployment, s *stacktest.Synthesized) []string {
	t.Helper()
	var listener string
	for id := range s.Resources("AWS::ElasticLoadBalancingV2::Listener") {
		listener = d.PhysicalIDs[id]
	}
	out, err := client.DescribeRules(context.Background(), &elbv2.DescribeRulesInput{ListenerArn: aws.String(listener)})
	if err != nil {
		t.Fatalf("describe rules of %s: %v", listener, err)
	}
	var rules []string
	for _, r := range out.Rules {
		if aws.ToBool(r.IsDefault) {
			continue
		}
		var cond string
		for _, c := range r.Conditions {
			switch {
			case c.PathPatternConfig != nil:
				cond = fmt.Sprintf("path-pattern %v", c.PathPatternConfig.Values)
			case c.HttpHeaderConfig != nil:
				cond = fmt.Sprintf("http-header %s %v", aws.ToString(c.HttpHeaderConfig.HttpHeaderName), c.HttpHeaderConfig.Values)
			}
		}
		var weights []string
		for _, a := range r.Actions {
			if a.ForwardConfig == nil {
				continue
			}
			for _, g := range a.ForwardConfig.TargetGroups {
				weights = append(weights, fmt.Sprint(aws.ToInt32(g.Weight)))
			}
		}
		rules = append(rules, fmt.Sprintf("%s %s -> %s", aws.ToString(r.Priority), cond, strings.Join(weights, "/")))
	}
	slices.Sort(rules)
	return rules
}

// logicalIDOf is the logical ID of the one resource of typ in s whose ID
// starts with prefix.
func logicalIDOf(t *testing.T, s *astest.Synthesized, typ, prefix string) string {
	t.Helper()
	var ids []string
	for id := range s.Resources(typ) {
		if strings.HasPrefix(id, prefix) {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d %s resources named %s..., want 1", len(ids), typ, prefix)
	}
	return ids[0]
}
