package agentservice

import (
	"strings"

	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/jsii-runtime-go"
)

// DefaultRoutingAlgorithm is the target groups' routing algorithm when
// Props.RoutingAlgorithm is unset: the task with the fewest requests in
// flight gets the next one.
const DefaultRoutingAlgorithm = elbv2.TargetGroupLoadBalancingAlgorithmType_LEAST_OUTSTANDING_REQUESTS

// routingAlgorithms are the target-group attribute
// load_balancing.algorithm.type's values for an Application Load Balancer
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#modify-routing-algorithm).
var routingAlgorithms = []elbv2.TargetGroupLoadBalancingAlgorithmType{
	elbv2.TargetGroupLoadBalancingAlgorithmType_LEAST_OUTSTANDING_REQUESTS,
	elbv2.TargetGroupLoadBalancingAlgorithmType_ROUND_ROBIN,
	elbv2.TargetGroupLoadBalancingAlgorithmType_WEIGHTED_RANDOM,
}

func (p *Props) routingAlgorithm() elbv2.TargetGroupLoadBalancingAlgorithmType {
	if p.RoutingAlgorithm == "" {
		return DefaultRoutingAlgorithm
	}
	return p.RoutingAlgorithm
}

func (p *Props) validateRouting() error {
	return checkEnum("RoutingAlgorithm", p.RoutingAlgorithm, routingAlgorithms,
		"awselasticloadbalancingv2.TargetGroupLoadBalancingAlgorithmType", elbv2.TargetGroupLoadBalancingAlgorithmType_ROUND_ROBIN)
}

// attributeValue is the algorithm as the attribute spells it: jsii's Go
// enum values are the members' names (LEAST_OUTSTANDING_REQUESTS), the
// attribute's values their lower-case forms.
func attributeValue(a elbv2.TargetGroupLoadBalancingAlgorithmType) string {
	return strings.ToLower(string(a))
}

// route sets the routing algorithm on every target group the service has
// (alt is nil for a rolling deploy), so that a blue/green-family deploy
// routes alike whichever group ECS has put the tasks in. The construct
// sets neither slow start nor stickiness, the two attributes ELB lets
// override or refuse an algorithm: stickiness overrides it after a
// client's first request, and weighted random refuses slow start.
func route(p *Props, groups ...elbv2.ApplicationTargetGroup) {
	for _, g := range groups {
		if g != nil {
			g.SetAttribute(jsii.String("load_balancing.algorithm.type"), jsii.String(attributeValue(p.routingAlgorithm())))
		}
	}
}
