package agentservice_test

import (
	"testing"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
)

// The routing algorithm is the target-group attribute
// load_balancing.algorithm.type: round_robin (ELB's default),
// least_outstanding_requests or weighted_random
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#modify-routing-algorithm).

// algorithms returns, per target group of s, the values of its
// load_balancing.algorithm.type attribute (more than one is a defect).
func algorithms(t *testing.T, s *astest.Synthesized) [][]string {
	t.Helper()
	var out [][]string
	for _, p := range properties(t, s.Template, "AWS::ElasticLoadBalancingV2::TargetGroup") {
		var values []string
		attrs, _ := p["TargetGroupAttributes"].([]any)
		for _, a := range attrs {
			kv, _ := a.(map[string]any)
			if kv["Key"] == "load_balancing.algorithm.type" {
				v, _ := kv["Value"].(string)
				values = append(values, v)
			}
		}
		out = append(out, values)
	}
	return out
}

func TestTargetGroupsRouteToTheLeastBusyTask(t *testing.T) {
	for _, c := range []struct {
		stack  *astest.Case
		groups int
	}{{astest.Defaults, 1}, {astest.BlueGreen, 2}, {astest.CanaryTestHeader, 2}} {
		t.Run(c.stack.Name, func(t *testing.T) {
			// GIVEN a service with the default RoutingAlgorithm, rolling or
			// with the blue/green pair of target groups
			got := algorithms(t, c.stack.Synth(t))
			// THEN every target group routes by least outstanding requests,
			// set once
			if len(got) != c.groups {
				t.Fatalf("%d target groups, want %d", len(got), c.groups)
			}
			for i, values := range got {
				if len(values) != 1 || values[0] != "least_outstanding_requests" {
					t.Errorf("target group %d: load_balancing.algorithm.type = %q, want [least_outstanding_requests]", i, values)
				}
			}
		})
	}
}

func TestRoutingAlgorithmChoosesRoundRobin(t *testing.T) {
	// GIVEN a blue/green service that asks for round robin
	// THEN both target groups take turns
	got := algorithms(t, astest.BlueGreenOwnChoices.Synth(t))
	if len(got) != 2 {
		t.Fatalf("%d target groups, want 2", len(got))
	}
	for i, values := range got {
		if len(values) != 1 || values[0] != "round_robin" {
			t.Errorf("target group %d: load_balancing.algorithm.type = %q, want [round_robin]", i, values)
		}
	}
}

func TestRoutingAlgorithmRefusesAStrayValue(t *testing.T) {
	// GIVEN a RoutingAlgorithm that is no member of the CDK's enum
	p := &agentservice.Props{Image: astest.RegistryImage(), RoutingAlgorithm: "least_connections"}
	// THEN Validate names the prop, the value and a member to use
	want := `agentservice: RoutingAlgorithm "least_connections" is not an awselasticloadbalancingv2.TargetGroupLoadBalancingAlgorithmType value; use one of its constants, such as awselasticloadbalancingv2.TargetGroupLoadBalancingAlgorithmType_ROUND_ROBIN ("ROUND_ROBIN")`
	if err := p.Validate(); err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v\nwant %s", err, want)
	}
}
