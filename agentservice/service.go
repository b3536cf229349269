package agentservice

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/scaling"
)

// Service is an agent's HTTP service on ECS Fargate behind an Application
// Load Balancer. It is a construct: use it as a scope, tag it, and reach
// the L2 constructs it made through its fields.
type Service struct {
	constructs.Construct

	// Vpc is the VPC the service runs in: the given one, the given
	// cluster's, or the one the construct made.
	Vpc awsec2.IVpc
	// Cluster is the ECS cluster: the given one or the one the construct made.
	Cluster awsecs.ICluster
	// LogGroup receives the container's logs.
	LogGroup awslogs.LogGroup
	// LogKey is the customer-managed key the construct made for its log
	// groups; nil when LogEncryptionKey was given.
	LogKey awskms.Key
	// Firewall is the AWS WAF web ACL the construct put in front of the
	// public load balancer; nil when Firewall.Off, Firewall.WebAclArn or an
	// internal load balancer.
	Firewall awswafv2.CfnWebACL
	// TaskDefinition is the Fargate task definition.
	TaskDefinition awsecs.FargateTaskDefinition
	// Container is the agent's container in TaskDefinition.
	Container awsecs.ContainerDefinition
	// LoadBalancer is the Application Load Balancer in front of the tasks.
	LoadBalancer elbv2.ApplicationLoadBalancer
	// Distribution is the CloudFront distribution in front of the load
	// balancer (FrontCloudFront); nil for the other fronts.
	Distribution awscloudfront.Distribution
	// Listener is the load balancer's listener that forwards to
	// TargetGroup: HTTPS on 443 when HTTPS is on, else HTTP on 80.
	Listener elbv2.ApplicationListener
	// RedirectListener answers HTTP on 80 with a redirect to HTTPS; nil
	// without HTTPS or with RedirectHTTP false.
	RedirectListener elbv2.ApplicationListener
	// Certificate is the HTTPS certificate (given or made); nil without HTTPS.
	Certificate awscertificatemanager.ICertificate
	// AccessLogsBucket receives the load balancer's access logs (given or
	// made); nil when AccessLogs is false.
	AccessLogsBucket awss3.IBucket
	// TargetGroup holds the tasks and runs the load balancer's health check.
	// With a blue/green, canary or linear Deployment it holds them every
	// second deploy, AlternateTargetGroup the others.
	TargetGroup elbv2.ApplicationTargetGroup
	// AlternateTargetGroup is the second target group of a blue/green,
	// canary or linear Deployment, with TargetGroup's health check and
	// deregistration delay; nil for a rolling one.
	AlternateTargetGroup elbv2.ApplicationTargetGroup
	// ProductionRule is the rule of Listener whose weights ECS moves from
	// one target group to the other during a blue/green, canary or linear
	// deploy: every path, last in priority; nil for a rolling Deployment.
	ProductionRule elbv2.ApplicationListenerRule
	// TestRule sends requests that carry Deployment.TestTrafficHeader, with
	// TestTrafficSecret's value, to the new revision before production
	// traffic moves; nil without it.
	TestRule elbv2.ApplicationListenerRule
	// TestTrafficSecret holds the value TestRule wants in
	// Deployment.TestTrafficHeader (given or made); nil without a test
	// rule. Grant your smoke test read on it (GrantRead).
	TestTrafficSecret awssecretsmanager.ISecret
	// APIKeysSecret holds the callers' API keys with AuthAPIKeys (given or
	// made; the stack output APIKeysSecret names it); nil with another
	// Auth. The task role may read it.
	APIKeysSecret awssecretsmanager.ISecret
	// DeployRole is the role ECS assumes to register tasks in the two
	// target groups and shift the rules' weights; nil for a rolling
	// Deployment.
	DeployRole awsiam.Role
	// Service is the ECS Fargate service.
	Service awsecs.FargateService
	// ScalableTaskCount is the service's autoscaling target; add policies
	// to it beyond the ones Props.Scaling made.
	ScalableTaskCount awsecs.ScalableTaskCount
	// Alarms are the deployment alarms (target 5xx, unhealthy targets);
	// empty when DeploymentAlarms is false.
	Alarms []awscloudwatch.Alarm
	// LatencyAlarm fires when the p99 of the load balancer's response time
	// stays above LatencyAlarmThreshold; it notifies AlarmTopic and does
	// not roll deployments back.
	LatencyAlarm awscloudwatch.Alarm
	// EMFErrorsAlarm fires when CloudWatch Logs rejects a metric line of
	// LogGroup (AWS/Logs EMFValidationErrors or EMFParsingErrors, summed over
	// 5 minutes): agentkit's metrics, the concurrency scaling's among them,
	// travel in such lines. It notifies AlarmTopic and does not roll
	// deployments back.
	EMFErrorsAlarm awscloudwatch.Alarm
	// SpendAlarm fires when the estimated model spend of the service's
	// tasks in one hour exceeds SpendAlarmUSDPerHour; it notifies
	// AlarmTopic and does not roll deployments back. nil without
	// SpendAlarmUSDPerHour.
	SpendAlarm awscloudwatch.Alarm
	// RunsFailedAlarm fires when the service's tasks end
	// Runs.FailedRunsAlarmThreshold runs failed within 5 minutes
	// (agentkit's RunsFailed); it notifies AlarmTopic and does not roll
	// deployments back. nil without Runs.
	RunsFailedAlarm awscloudwatch.Alarm
	// Dashboard is the service's CloudWatch dashboard; nil when Dashboard
	// is false.
	Dashboard awscloudwatch.Dashboard
	// URL is the service's address: "https://" and the distribution's
	// domain name behind CloudFront (FrontCloudFront), "https://" and the
	// domain name or the load balancer's DNS name with a certificate, and
	// "http://" and the load balancer's DNS name otherwise; also a stack
	// output.
	URL *string
}

// New creates an agent service in scope under id. It validates props first
// and panics with the message of Props.Validate when they are invalid, so
// that a bad stack fails at synth time with nothing created.
func New(scope constructs.Construct, id *string, props *Props) *Service {
	if err := props.Validate(); err != nil {
		panic(err.Error())
	}
	m := metricsOf(scope, id, props.MetricsNamespace)
	s := &Service{}
	constructs.NewConstruct_Override(s, scope, id)
	// A copy, so that the default key never lands in the caller's props.
	p := *props
	p.LogEncryptionKey, s.LogKey = logKey(s, props.LogEncryptionKey)
	props = &p
	s.Vpc, s.Cluster = network(s, props)
	s.LogGroup = newLogGroup(s, "Logs", props)
	who := newCallers(s, props)
	s.APIKeysSecret = who.secret
	s.TaskDefinition, s.Container = task(s, props, s.LogGroup, withEnv(environment(props, m), who.env), jsii.Number(props.port()))
	who.grant(s, s.TaskDefinition.TaskRole())
	props.Runs.grant(s.TaskDefinition.TaskRole())
	f := loadBalancer(s, props, s.Vpc)
	s.LoadBalancer, s.Listener, s.RedirectListener, s.TargetGroup = f.lb, f.listener, f.redirect, f.tg
	s.AccessLogsBucket, s.Certificate, s.URL, s.Firewall = f.bucket, f.cert, f.url, f.firewall
	s.Distribution = f.distribution
	props.signInEnv(s.Container, s.LoadBalancer)
	var shift shifter
	if props.shifted() {
		shift = trafficShift(s, props, s.Vpc, s.Listener, s.TargetGroup)
		s.AlternateTargetGroup, s.ProductionRule, s.TestRule, s.DeployRole = shift.alt, shift.production, shift.test, shift.role
		s.TestTrafficSecret = shift.secret
	}
	route(props, s.TargetGroup, s.AlternateTargetGroup)
	if defaults.Or(props.DeploymentAlarms, true) {
		s.Alarms = alarms(s, props, s.TargetGroup, s.AlternateTargetGroup)
	}
	s.Service = fargateService(s, props, s.Cluster, s.TaskDefinition, s.Alarms)
	if props.shifted() {
		shift.order(s.Service)
	}
	s.TargetGroup.AddTarget(s.Service.LoadBalancerTarget(&awsecs.LoadBalancerTargetOptions{
		ContainerName:   jsii.String(props.containerName()),
		ContainerPort:   jsii.Number(props.port()),
		AlternateTarget: shift.alternateTarget(),
	}))
	s.ScalableTaskCount = scaling.Apply(s.Service, s.TargetGroup, m.inFlight(), props.Scaling)
	s.LatencyAlarm = latencyAlarm(s, props, s.LoadBalancer)
	s.EMFErrorsAlarm = emfErrorsAlarm(s, s.LogGroup, props.AlarmTopic)
	s.SpendAlarm = spendAlarm(s, m, props.SpendAlarmUSDPerHour, props.ModelPrices, props.AlarmTopic)
	s.RunsFailedAlarm = props.Runs.failedAlarm(s, m, props.AlarmTopic)
	if defaults.Or(props.Dashboard, true) {
		s.Dashboard = s.serviceDashboard(props, m)
	}
	awscdk.NewCfnOutput(s, jsii.String("URL"), &awscdk.CfnOutputProps{
		Value:       s.URL,
		Description: jsii.String("The agent service's address"),
	})
	suppressInherent(s, props)
	confineTaskRole(s.TaskDefinition.TaskRole())
	if props.Vpc == nil && props.Cluster == nil {
		confineFlowLogRole(s.Vpc)
	}
	awaitInherent(s.Service, s.TaskDefinition.ExecutionRole(), s.TaskDefinition.TaskRole())
	awscdk.Aspects_Of(s).Add(&managedPolicies{owner: *s.Node().Path()}, nil)
	return s
}

// ToString returns the construct path. Defining it makes Service a jsii
// override of Construct, which is what lets jsii accept a *Service as a
// scope and as a target of awscdk.Tags_Of.
func (s *Service) ToString() *string { return s.Node().Path() }

func fargateService(scope constructs.Construct, p *Props, cluster awsecs.ICluster, def awsecs.FargateTaskDefinition, alarms []awscloudwatch.Alarm) awsecs.FargateService {
	props := p.serviceProps(scope, cluster, def)
	props.DesiredCount = jsii.Number(p.desiredCount())
	props.HealthCheckGracePeriod = gracePeriod(p.HealthCheck)
	p.deploymentProps(props)
	if len(alarms) > 0 {
		names := make([]*string, len(alarms))
		for i, a := range alarms {
			names[i] = a.AlarmName()
		}
		props.DeploymentAlarms = &awsecs.DeploymentAlarmConfig{
			AlarmNames: &names,
			Behavior:   awsecs.AlarmBehavior_ROLLBACK_ON_ALARM,
		}
	}
	return awsecs.NewFargateService(scope, jsii.String("Service"), props)
}

// serviceProps is what the web service and the worker share: a safe
// rolling deploy, private subnets without public IPs, ECS Exec as asked,
// tags propagated, and Spot when asked.
func (p *Props) serviceProps(scope constructs.Construct, cluster awsecs.ICluster, def awsecs.FargateTaskDefinition) *awsecs.FargateServiceProps {
	return &awsecs.FargateServiceProps{
		SecurityGroups:             &[]awsec2.ISecurityGroup{p.taskSecurityGroup(scope, cluster.Vpc())},
		Cluster:                    cluster,
		TaskDefinition:             def,
		MinHealthyPercent:          jsii.Number(p.minHealthy()),
		MaxHealthyPercent:          jsii.Number(p.maxHealthy()),
		CircuitBreaker:             p.circuitBreaker(),
		AssignPublicIp:             jsii.Bool(false),
		VpcSubnets:                 &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS},
		EnableExecuteCommand:       jsii.Bool(defaults.Or(p.EnableExecuteCommand, false)),
		PropagateTags:              awsecs.PropagatedTagSource_SERVICE,
		CapacityProviderStrategies: p.capacityProviders(),
	}
}

// taskSecurityGroup is the tasks' security group. Unless AllowAllOutbound,
// it sends only HTTPS (443), which is what an agent's calls need: model
// APIs, AWS APIs, and the image pull, secrets and logs that Fargate fetches
// over the task's own network interface. DNS and the time service are not
// filtered by security groups.
func (p *Props) taskSecurityGroup(scope constructs.Construct, vpc awsec2.IVpc) awsec2.SecurityGroup {
	all := defaults.Or(p.AllowAllOutbound, false)
	sg := awsec2.NewSecurityGroup(scope, jsii.String("TaskSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String("Agent tasks: HTTPS out, unless AllowAllOutbound"),
		AllowAllOutbound: jsii.Bool(all),
	})
	if !all {
		sg.AddEgressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(443)), jsii.String("HTTPS: model and AWS APIs, image pull, secrets, logs"), nil)
	}
	return sg
}

// capacityProviders puts OnDemandBaseCount tasks on Fargate and the rest
// on Fargate Spot when FargateSpot is set; nil leaves the launch type
// FARGATE.
func (p *Props) capacityProviders() *[]*awsecs.CapacityProviderStrategy {
	if !defaults.Or(p.FargateSpot, false) {
		return nil
	}
	return &[]*awsecs.CapacityProviderStrategy{
		{CapacityProvider: jsii.String("FARGATE"), Base: jsii.Number(defaults.Or(p.OnDemandBaseCount, 1)), Weight: jsii.Number(0)},
		{CapacityProvider: jsii.String("FARGATE_SPOT"), Weight: jsii.Number(1)},
	}
}

// DefaultTarget5xxAlarmThreshold is the 5xx count per minute that, three
// minutes running, fires the 5xx alarm.
const DefaultTarget5xxAlarmThreshold = 10

// The deployment alarms judge alarmEvaluationPeriods periods of
// alarmPeriod: the 5xx alarm needs all of them to breach, the unhealthy
// one two of them. A bake time must leave them that long (alarmWindow).
const (
	alarmPeriod            = time.Minute
	alarmEvaluationPeriods = 3
)

// alarms watches what a bad deployment shows first: the new tasks answer
// 5xx, or fail the load balancer's health check. With a second target
// group (alt, nil for a rolling deploy) each alarm watches the sum over
// both, wherever ECS has put the new revision.
func alarms(scope constructs.Construct, p *Props, tg, alt elbv2.ApplicationTargetGroup) []awscloudwatch.Alarm {
	minute := awscdk.Duration_Minutes(jsii.Number(alarmPeriod.Minutes()))
	errors5xx := func(g elbv2.ApplicationTargetGroup) awscloudwatch.IMetric {
		return g.Metrics().HttpCodeTarget(elbv2.HttpCodeTarget_TARGET_5XX_COUNT, &awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Sum")})
	}
	unhealthyHosts := func(g elbv2.ApplicationTargetGroup) awscloudwatch.IMetric {
		return g.Metrics().UnhealthyHostCount(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")})
	}
	errors := awscloudwatch.NewAlarm(scope, jsii.String("Target5xxAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String("The agent's tasks answer with 5xx; rolls back a deployment in progress"),
		Metric:             bothGroups(errors5xx, tg, alt, minute, "5xx responses from the tasks in both target groups"),
		Threshold:          jsii.Number(defaults.Or(p.Target5xxAlarmThreshold, DefaultTarget5xxAlarmThreshold)),
		EvaluationPeriods:  jsii.Number(alarmEvaluationPeriods),
		DatapointsToAlarm:  jsii.Number(alarmEvaluationPeriods),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	unhealthy := awscloudwatch.NewAlarm(scope, jsii.String("UnhealthyTargetsAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String("Some of the agent's tasks fail the load balancer's health check; rolls back a deployment in progress"),
		Metric:             bothGroups(unhealthyHosts, tg, alt, minute, "Unhealthy tasks in both target groups"),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(alarmEvaluationPeriods),
		DatapointsToAlarm:  jsii.Number(2),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	notify(p.AlarmTopic, errors, unhealthy)
	return []awscloudwatch.Alarm{errors, unhealthy}
}

// bothGroups is metric of tg, or, with a second group alt, the sum of
// metric over both (a group without data counts 0).
func bothGroups(metric func(elbv2.ApplicationTargetGroup) awscloudwatch.IMetric, tg, alt elbv2.ApplicationTargetGroup, period awscdk.Duration, label string) awscloudwatch.IMetric {
	if alt == nil {
		return metric(tg)
	}
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String("FILL(primary, 0) + FILL(alternate, 0)"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{"primary": metric(tg), "alternate": metric(alt)},
		Period:       period,
		Label:        jsii.String(label),
	})
}

// notify makes topic the action of each alarm; a nil topic does nothing.
func notify(topic awssns.ITopic, alarms ...awscloudwatch.Alarm) {
	if topic == nil {
		return
	}
	for _, a := range alarms {
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
	}
}
