package agentservice

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The listener rules ECS shifts come last (50000 is the ALB's largest
// priority), so that any rule a user adds to Service.Listener is matched
// first; the test rule just before the production rule it stands in for.
const (
	productionRulePriority = 50000
	testRulePriority       = 49999
)

// shifter is what a blue/green-family deploy needs beyond a rolling one.
type shifter struct {
	alt        elbv2.ApplicationTargetGroup
	production elbv2.ApplicationListenerRule
	test       elbv2.ApplicationListenerRule
	role       awsiam.Role
	secret     awssecretsmanager.ISecret
}

// trafficShift makes the second target group, the listener rules ECS moves
// traffic with, and the role it does so with.
func trafficShift(scope constructs.Construct, p *Props, vpc awsec2.IVpc, listener elbv2.ApplicationListener, tg elbv2.ApplicationTargetGroup) shifter {
	var s shifter
	s.alt = elbv2.NewApplicationTargetGroup(scope, jsii.String("AlternateTargetGroup"), p.targetGroupProps(vpc))
	s.production = shiftedRule(scope, "ProductionRule", listener, productionRulePriority,
		elbv2.ListenerCondition_PathPatterns(jsii.Strings("/*")), tg, s.alt)
	if h := p.Deployment.TestTrafficHeader; h != nil {
		s.secret = testTrafficSecret(scope, p.Deployment.TestTrafficSecret)
		s.test = shiftedRule(scope, "TestRule", listener, testRulePriority,
			elbv2.ListenerCondition_HttpHeader(h, &[]*string{dynamicReference(s.secret)}), tg, s.alt)
	}
	s.role = deployRole(scope, listener, tg, s.alt, s.production, s.test)
	return s
}

// testTrafficSecretLength is the length of the test-traffic value the
// construct generates: 32 of 62 letters and digits, about 190 bits (the
// load balancer's match ignores case: still over 160).
const testTrafficSecretLength = 32

// testTrafficSecret is the given secret, or one made at deploy whose value
// the test rule can match literally: letters and digits only, since the
// load balancer reads '*' and '?' in a condition value as wildcards.
func testTrafficSecret(scope constructs.Construct, given awssecretsmanager.ISecret) awssecretsmanager.ISecret {
	if given != nil {
		return given
	}
	secret := awssecretsmanager.NewSecret(scope, jsii.String("TestTrafficSecret"), &awssecretsmanager.SecretProps{
		Description: jsii.String("The value a request must carry in the test-traffic header to reach an agent revision before it takes production traffic"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(testTrafficSecretLength),
			ExcludePunctuation: jsii.Bool(true),
			IncludeSpace:       jsii.Bool(false),
		},
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	return secret
}

// dynamicReference is the secret's whole value as a CloudFormation dynamic
// reference, which CloudFormation resolves in any resource property and
// never writes into the template
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-secretsmanager.html).
func dynamicReference(secret awssecretsmanager.ISecret) *string {
	return awscdk.SecretValue_SecretsManager(secret.SecretArn(), nil).UnsafeUnwrap()
}

// shiftedRule forwards everything that matches condition to tg; ECS moves
// the weights to alt (and back) as it deploys. Both groups must be in the
// rule from the start.
func shiftedRule(scope constructs.Construct, id string, listener elbv2.ApplicationListener, priority float64, condition elbv2.ListenerCondition, tg, alt elbv2.ApplicationTargetGroup) elbv2.ApplicationListenerRule {
	return elbv2.NewApplicationListenerRule(scope, jsii.String(id), &elbv2.ApplicationListenerRuleProps{
		Listener:   listener,
		Priority:   jsii.Number(priority),
		Conditions: &[]elbv2.ListenerCondition{condition},
		Action: elbv2.ListenerAction_WeightedForward(&[]*elbv2.WeightedTargetGroup{
			{TargetGroup: tg, Weight: jsii.Number(100)},
			{TargetGroup: alt, Weight: jsii.Number(0)},
		}, nil),
	})
}

// deployRole is the infrastructure role ECS assumes to shift traffic: the
// actions of AWS's managed policy AmazonECSInfrastructureRolePolicyForLoadBalancers
// (v6) for an Application Load Balancer, each on the construct's own
// resources: the Describe actions (which take no resource), the tasks'
// registration in the two target groups, ModifyRule on the rules it
// shifts and ModifyListener on their listener. The Describe actions live in
// a policy of their own (isolateInherent). The trust policy is the one
// ECS's guide gives, without conditions: it documents no
// aws:SourceAccount or aws:SourceArn for this role
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AmazonECSInfrastructureRolePolicyForLoadBalancers.html),
// a documented exception of stacktest.DeputyExceptions.
func deployRole(scope constructs.Construct, listener elbv2.ApplicationListener, tg, alt elbv2.ApplicationTargetGroup, rules ...elbv2.ApplicationListenerRule) awsiam.Role {
	role := awsiam.NewRole(scope, jsii.String("DeployRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("ecs.amazonaws.com"), nil),
		Description: jsii.String("ECS shifts the agent's traffic between its two target groups during blue/green, canary and linear deploys"),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadLoadBalancer"),
		Actions:   jsii.Strings(elbDescribeActions...),
		Resources: jsii.Strings("*"),
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("RegisterTasks"),
		Actions:   jsii.Strings("elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"),
		Resources: &[]*string{tg.TargetGroupArn(), alt.TargetGroupArn()},
	}))
	var arns []*string
	for _, r := range rules {
		if r != nil {
			arns = append(arns, r.ListenerRuleArn())
		}
	}
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ShiftTraffic"),
		Actions:   jsii.Strings("elasticloadbalancing:ModifyRule"),
		Resources: &arns,
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ModifyListener"),
		Actions:   jsii.Strings("elasticloadbalancing:ModifyListener"),
		Resources: &[]*string{listener.ListenerArn()},
	}))
	isolateInherent(role,
		"ECS's blue/green deploys read the load balancer with elasticloadbalancing:Describe* actions, which have no resource-level permissions; registering tasks and shifting traffic are granted on this service's two target groups, listener rules and listener only",
		elbDescribeActions...)
	return role
}

// elbDescribeActions are the read actions of ECS's managed policy for load
// balancers; they take no resource.
var elbDescribeActions = []string{
	"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
	"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
}

// alternateTarget tells ECS about the second target group and the rules it
// shifts; nil for a rolling deploy.
func (s shifter) alternateTarget() awsecs.IAlternateTarget {
	if s.alt == nil {
		return nil
	}
	props := &awsecs.AlternateTargetProps{
		AlternateTargetGroup: s.alt,
		ProductionListener:   awsecs.ListenerRuleConfiguration_ApplicationListenerRule(s.production),
		Role:                 s.role,
	}
	if s.test != nil {
		props.TestListener = awsecs.ListenerRuleConfiguration_ApplicationListenerRule(s.test)
	}
	return awsecs.NewAlternateTarget(jsii.String("AlternateTarget"), props)
}

// order has service created after the role's policy, which ECS needs as
// soon as it creates the service (the role's ARN orders only the role).
// The CDK also has the service wait for the listener rules, which its
// AdvancedConfiguration names already; cfn-lint warns about that duplicate
// (W3005), and the warning is recorded as expected on the service.
func (s shifter) order(service awsecs.FargateService) {
	service.Node().AddDependency(defaultPolicy(s.role))
	awaitInherent(service, s.role)
	if cfn, ok := service.Node().DefaultChild().(awscdk.CfnResource); ok {
		cfn.AddMetadata(jsii.String("cfn-lint"), map[string]any{"config": map[string]any{"ignore_checks": []string{"W3005"}}})
	}
}

// deploymentProps sets a blue/green-family strategy on a service's props.
// The circuit breaker stays: ECS's guide ("Amazon ECS deployment failure
// detection") has it watch blue/green deploys as it watches rolling ones,
// and it catches the tasks that never start, which no alarm sees.
func (p *Props) deploymentProps(props *awsecs.FargateServiceProps) {
	if !p.shifted() {
		return
	}
	d := p.Deployment
	props.DeploymentStrategy = p.strategy()
	props.BakeTime = p.bakeTime()
	switch p.strategy() {
	case awsecs.DeploymentStrategy_CANARY:
		props.CanaryConfiguration = &awsecs.TrafficShiftConfig{StepPercent: jsii.Number(d.canaryPercent()), StepBakeTime: p.stepBakeTime()}
	case awsecs.DeploymentStrategy_LINEAR:
		props.LinearConfiguration = &awsecs.TrafficShiftConfig{StepPercent: jsii.Number(d.linearPercent()), StepBakeTime: p.stepBakeTime()}
	}
	if len(d.LifecycleHooks) > 0 {
		hooks := d.LifecycleHooks
		props.LifecycleHooks = &hooks
	}
}
