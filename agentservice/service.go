package agentservice

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/healthcheck"
	"github.com/agentcdk/agentcdk/scaling"
	"github.com/agentcdk/agentcdk/secrets"
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
	// TaskDefinition is the Fargate task definition.
	TaskDefinition awsecs.FargateTaskDefinition
	// Container is the agent's container in TaskDefinition.
	Container awsecs.ContainerDefinition
	// LoadBalancer is the Application Load Balancer in front of the tasks.
	LoadBalancer elbv2.ApplicationLoadBalancer
	// Listener is the load balancer's listener that forwards to TargetGroup.
	Listener elbv2.ApplicationListener
	// TargetGroup holds the tasks and runs the load balancer's health check.
	TargetGroup elbv2.ApplicationTargetGroup
	// Service is the ECS Fargate service.
	Service awsecs.FargateService
	// ScalableTaskCount is the service's autoscaling target; add policies
	// to it beyond the ones Props.Scaling made.
	ScalableTaskCount awsecs.ScalableTaskCount
	// URL is the service's address ("http://" + the load balancer's DNS
	// name), also a stack output.
	URL *string
}

// New creates an agent service in scope under id. It validates props first
// and panics with the message of Props.Validate when they are invalid, so
// that a bad stack fails at synth time with nothing created.
func New(scope constructs.Construct, id *string, props *Props) *Service {
	if err := props.Validate(); err != nil {
		panic(err.Error())
	}
	s := &Service{}
	constructs.NewConstruct_Override(s, scope, id)
	s.Vpc, s.Cluster = network(s, props)
	s.LogGroup = awslogs.NewLogGroup(s, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     props.logRetention(),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	s.TaskDefinition, s.Container = task(s, props, s.LogGroup)
	s.LoadBalancer, s.Listener, s.TargetGroup = loadBalancer(s, props, s.Vpc)
	s.Service = fargateService(s, props, s.Cluster, s.TaskDefinition)
	s.TargetGroup.AddTarget(s.Service.LoadBalancerTarget(&awsecs.LoadBalancerTargetOptions{
		ContainerName: jsii.String(props.containerName()),
		ContainerPort: jsii.Number(props.port()),
	}))
	s.ScalableTaskCount = scaling.Apply(s.Service, s.TargetGroup, props.Scaling)
	s.URL = awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("http://"), s.LoadBalancer.LoadBalancerDnsName()})
	awscdk.NewCfnOutput(s, jsii.String("URL"), &awscdk.CfnOutputProps{
		Value:       s.URL,
		Description: jsii.String("The agent service's address"),
	})
	return s
}

// ToString returns the construct path. Defining it makes Service a jsii
// override of Construct, which is what lets jsii accept a *Service as a
// scope and as a target of awscdk.Tags_Of.
func (s *Service) ToString() *string { return s.Node().Path() }

func network(scope constructs.Construct, p *Props) (awsec2.IVpc, awsecs.ICluster) {
	if p.Cluster != nil {
		return p.Cluster.Vpc(), p.Cluster
	}
	vpc := p.Vpc
	if vpc == nil {
		vpc = awsec2.NewVpc(scope, jsii.String("Vpc"), &awsec2.VpcProps{
			MaxAzs:      jsii.Number(numberOr(p.MaxAzs, DefaultMaxAzs)),
			NatGateways: jsii.Number(numberOr(p.NatGateways, DefaultNatGateways)),
			SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
				{Name: jsii.String("Public"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(24)},
				{Name: jsii.String("Private"), SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS, CidrMask: jsii.Number(24)},
			},
		})
	}
	insights := awsecs.ContainerInsights_DISABLED
	if p.insights() {
		insights = awsecs.ContainerInsights_ENABLED
	}
	cluster := awsecs.NewCluster(scope, jsii.String("Cluster"), &awsecs.ClusterProps{
		Vpc:                 vpc,
		ClusterName:         p.ClusterName,
		ContainerInsightsV2: insights,
	})
	return vpc, cluster
}

func task(scope constructs.Construct, p *Props, logs awslogs.ILogGroup) (awsecs.FargateTaskDefinition, awsecs.ContainerDefinition) {
	def := awsecs.NewFargateTaskDefinition(scope, jsii.String("TaskDef"), &awsecs.FargateTaskDefinitionProps{
		Cpu:             jsii.Number(p.cpu()),
		MemoryLimitMiB:  jsii.Number(p.memory()),
		RuntimePlatform: &awsecs.RuntimePlatform{CpuArchitecture: awsecs.CpuArchitecture_X86_64(), OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX()},
	})
	var hc *awsecs.HealthCheck
	if p.ContainerHealthCheck != nil {
		hc = healthcheck.ContainerHealthCheck(p.ContainerHealthCheck)
	}
	container := def.AddContainer(jsii.String(p.containerName()), &awsecs.ContainerDefinitionOptions{
		ContainerName: jsii.String(p.containerName()),
		Image:         p.Image.containerImage(awsecrassets.Platform_LINUX_AMD64()),
		PortMappings: &[]*awsecs.PortMapping{{
			ContainerPort: jsii.Number(p.port()),
			Protocol:      awsecs.Protocol_TCP,
		}},
		Environment: environment(p),
		Secrets:     secrets.Bind(scope, p.Secrets),
		Logging: awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{
			LogGroup:     logs,
			StreamPrefix: jsii.String(p.logPrefix()),
		}),
		StopTimeout: p.stopTimeout(),
		HealthCheck: hc,
		Essential:   jsii.Bool(true),
	})
	return def, container
}

// environment is the user's variables plus the agentkit contract.
func environment(p *Props) *map[string]*string {
	env := map[string]*string{}
	if p.Environment != nil {
		for k, v := range *p.Environment {
			env[k] = v
		}
	}
	env[agentkit.EnvPort] = jsii.String(fmt.Sprint(p.port()))
	env[agentkit.EnvStopTimeout] = envDuration(p.stopTimeout())
	env[agentkit.EnvIdleTimeout] = envDuration(p.idleTimeout())
	return &env
}

// envDuration formats d the way time.ParseDuration reads it ("60s"); a
// token becomes a CloudFormation expression that yields the same form.
func envDuration(d awscdk.Duration) *string {
	if v, ok := healthcheck.Seconds(d); ok {
		if v%time.Second == 0 {
			return jsii.String(fmt.Sprintf("%ds", int64(v/time.Second)))
		}
		return jsii.String(v.String())
	}
	return awscdk.Fn_Join(jsii.String(""), &[]*string{awscdk.Token_AsString(d.ToSeconds(nil), nil), jsii.String("s")})
}

func loadBalancer(scope constructs.Construct, p *Props, vpc awsec2.IVpc) (elbv2.ApplicationLoadBalancer, elbv2.ApplicationListener, elbv2.ApplicationTargetGroup) {
	subnets := awsec2.SubnetType_PRIVATE_WITH_EGRESS
	if p.public() {
		subnets = awsec2.SubnetType_PUBLIC
	}
	lb := elbv2.NewApplicationLoadBalancer(scope, jsii.String("LB"), &elbv2.ApplicationLoadBalancerProps{
		Vpc:            vpc,
		InternetFacing: jsii.Bool(p.public()),
		VpcSubnets:     &awsec2.SubnetSelection{SubnetType: subnets},
		IdleTimeout:    p.idleTimeout(),
	})
	tg := elbv2.NewApplicationTargetGroup(scope, jsii.String("TargetGroup"), &elbv2.ApplicationTargetGroupProps{
		Vpc:                 vpc,
		Port:                jsii.Number(p.port()),
		Protocol:            elbv2.ApplicationProtocol_HTTP,
		TargetType:          elbv2.TargetType_IP,
		HealthCheck:         healthcheck.TargetGroupHealthCheck(p.HealthCheck),
		DeregistrationDelay: p.deregistrationDelay(),
	})
	listener := lb.AddListener(jsii.String("Listener"), &elbv2.BaseApplicationListenerProps{
		Port:                jsii.Number(DefaultListenerPort),
		Protocol:            elbv2.ApplicationProtocol_HTTP,
		Open:                jsii.Bool(true),
		DefaultTargetGroups: &[]elbv2.IApplicationTargetGroup{tg},
	})
	return lb, listener, tg
}

func fargateService(scope constructs.Construct, p *Props, cluster awsecs.ICluster, def awsecs.FargateTaskDefinition) awsecs.FargateService {
	return awsecs.NewFargateService(scope, jsii.String("Service"), &awsecs.FargateServiceProps{
		Cluster:                cluster,
		TaskDefinition:         def,
		DesiredCount:           jsii.Number(p.desiredCount()),
		MinHealthyPercent:      jsii.Number(p.minHealthy()),
		MaxHealthyPercent:      jsii.Number(p.maxHealthy()),
		CircuitBreaker:         p.circuitBreaker(),
		HealthCheckGracePeriod: healthcheck.GracePeriod(p.HealthCheck),
		AssignPublicIp:         jsii.Bool(false),
		VpcSubnets:             &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS},
	})
}
