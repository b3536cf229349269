package agentservice_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
	"github.com/agentcdk/agentcdk/healthcheck"
	"github.com/agentcdk/agentcdk/scaling"
	"github.com/agentcdk/agentcdk/secrets"
)

func TestNewDefaultsAreTheReferenceStack(t *testing.T) {
	// GIVEN only an image and the reference secrets
	props := &agentservice.Props{
		Image:       astest.RegistryImage(),
		ClusterName: jsii.String("ai-agents-prod"),
		Secrets:     secrets.FromParameters("/agents/prod", 1, "OPENAI_API_KEY", "ANTHROPIC_API_KEY"),
	}

	// WHEN it synthesizes
	tmpl, _ := synth(t, props)

	// THEN the network has 2 AZs with one public and one private subnet each and 1 NAT gateway
	tmpl.ResourceCountIs(jsii.String("AWS::EC2::VPC"), jsii.Number(1))
	tmpl.ResourceCountIs(jsii.String("AWS::EC2::Subnet"), jsii.Number(4))
	tmpl.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), jsii.Number(1))
	tmpl.HasResourceProperties(jsii.String("AWS::EC2::Subnet"), obj(map[string]any{"MapPublicIpOnLaunch": false}))
	tmpl.ResourcePropertiesCountIs(jsii.String("AWS::EC2::Subnet"), obj(map[string]any{"MapPublicIpOnLaunch": true}), jsii.Number(0))
	// AND the cluster is named, with Container Insights on
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::Cluster"), obj(map[string]any{
		"ClusterName":     "ai-agents-prod",
		"ClusterSettings": arrayWith(map[string]any{"Name": "containerInsights", "Value": "enabled"}),
	}))
	// AND the task is Fargate with 1 vCPU and 2 GiB
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj(map[string]any{
		"Cpu":                     "1024",
		"Memory":                  "2048",
		"NetworkMode":             "awsvpc",
		"RequiresCompatibilities": arrayWith("FARGATE"),
		"ContainerDefinitions": arrayWith(obj(map[string]any{
			"Name":         "agent",
			"Essential":    true,
			"PortMappings": arrayWith(obj(map[string]any{"ContainerPort": 8080, "Protocol": "tcp"})),
			"StopTimeout":  60,
			"LogConfiguration": obj(map[string]any{
				"LogDriver": "awslogs",
				"Options":   obj(map[string]any{"awslogs-stream-prefix": "agent"}),
			}),
			// (CDK renders environment and secrets sorted by name)
			"Environment": arrayWith(
				map[string]any{"Name": "AGENTKIT_IDLE_TIMEOUT", "Value": "120s"},
				map[string]any{"Name": "AGENTKIT_METRICS_NAMESPACE", "Value": "AgentCDK"},
				map[string]any{"Name": "AGENTKIT_METRICS_SERVICE", "Value": "Test/Agent"},
				map[string]any{"Name": "AGENTKIT_REQUEST_TIMEOUT", "Value": "55s"},
				map[string]any{"Name": "AGENTKIT_STOP_TIMEOUT", "Value": "60s"},
				map[string]any{"Name": "PORT", "Value": "8080"},
			),
			"Secrets": arrayWith(
				obj(map[string]any{"Name": "ANTHROPIC_API_KEY"}),
				obj(map[string]any{"Name": "OPENAI_API_KEY"}),
			),
			"HealthCheck": assertions.Match_Absent(),
		})),
	}))
	// AND logs are kept one week
	tmpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), obj(map[string]any{"RetentionInDays": 7}))
	// AND the service runs 2 tasks in private subnets with a safe rolling deploy
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj(map[string]any{
		"LaunchType":                    "FARGATE",
		"DesiredCount":                  2,
		"HealthCheckGracePeriodSeconds": 60,
		"DeploymentConfiguration": obj(map[string]any{
			"MinimumHealthyPercent":    100,
			"MaximumPercent":           200,
			"DeploymentCircuitBreaker": map[string]any{"Enable": true, "Rollback": true},
		}),
		"NetworkConfiguration": obj(map[string]any{
			"AwsvpcConfiguration": obj(map[string]any{"AssignPublicIp": "DISABLED"}),
		}),
	}))
	// AND the load balancer, reached from the internet through CloudFront
	// (front_test.go), is internal, listens on 80 and has a
	// streaming-friendly idle timeout
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::LoadBalancer"), obj(map[string]any{
		"Scheme":                 "internal",
		"LoadBalancerAttributes": arrayWith(map[string]any{"Key": "idle_timeout.timeout_seconds", "Value": "120"}),
	}))
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), obj(map[string]any{
		"Port": 80, "Protocol": "HTTP",
	}))
	// AND the target group checks GET /health for 200 every 30 s with a 5 s timeout
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), obj(map[string]any{
		"Port":                       8080,
		"Protocol":                   "HTTP",
		"TargetType":                 "ip",
		"HealthCheckEnabled":         true,
		"HealthCheckPath":            "/health",
		"Matcher":                    map[string]any{"HttpCode": "200"},
		"HealthCheckIntervalSeconds": 30,
		"HealthCheckTimeoutSeconds":  5,
		"HealthyThresholdCount":      2,
		"UnhealthyThresholdCount":    3,
		"TargetGroupAttributes":      arrayWith(map[string]any{"Key": "deregistration_delay.timeout_seconds", "Value": "60"}),
	}))
	// AND autoscaling spans 1 to 10 tasks
	tmpl.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalableTarget"), obj(map[string]any{
		"MinCapacity": 1, "MaxCapacity": 10,
	}))
	// on CPU, requests per target and requests in flight per task
	tmpl.ResourceCountIs(jsii.String("AWS::ApplicationAutoScaling::ScalingPolicy"), jsii.Number(3))
	// AND the URL is a stack output
	tmpl.HasOutput(jsii.String("*"), obj(map[string]any{"Description": "The agent service's address"}))
}

func TestNewOverridesChangeTheTemplate(t *testing.T) {
	// GIVEN every sizing and timing default overridden
	props := &agentservice.Props{
		Image:                astest.RegistryImage(),
		Cpu:                  jsii.Number(2048),
		MemoryLimitMiB:       jsii.Number(8192),
		DesiredCount:         jsii.Number(3),
		ContainerPort:        jsii.Number(9000),
		ContainerName:        jsii.String("brain"),
		Environment:          &map[string]*string{"MODEL": jsii.String("small")},
		LogStreamPrefix:      jsii.String("brain"),
		LogRetention:         "ONE_MONTH",
		PublicLoadBalancer:   jsii.Bool(false),
		ContainerInsights:    jsii.Bool(false),
		StopTimeout:          awscdk.Duration_Seconds(jsii.Number(90)),
		IdleTimeout:          awscdk.Duration_Seconds(jsii.Number(300)),
		RequestTimeout:       awscdk.Duration_Seconds(jsii.Number(240)),
		DeregistrationDelay:  awscdk.Duration_Seconds(jsii.Number(250)),
		MinHealthyPercent:    jsii.Number(50),
		MaxHealthyPercent:    jsii.Number(150),
		HealthCheck:          &healthcheck.Props{Path: jsii.String("/ready"), GracePeriod: awscdk.Duration_Seconds(jsii.Number(120))},
		ContainerHealthCheck: &healthcheck.ContainerProps{},
		Scaling: &scaling.Props{MinCapacity: jsii.Number(2), MaxCapacity: jsii.Number(4), DisableRequests: jsii.Bool(true),
			Concurrency: &scaling.ConcurrencyProps{RequestsInFlightPerTask: jsii.Number(4)}},
		MetricsNamespace: jsii.String("Brains"),
		ModelPrices: map[string]agentservice.ModelPrice{
			"small-model": {InputUSDPerMillionTokens: 0.15, OutputUSDPerMillionTokens: 0.6},
			"big-model":   {InputUSDPerMillionTokens: 3, OutputUSDPerMillionTokens: 15},
		},
	}

	// WHEN it synthesizes
	tmpl, _ := synth(t, props)

	// THEN each override shows
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj(map[string]any{
		"Cpu": "2048", "Memory": "8192",
		"ContainerDefinitions": arrayWith(obj(map[string]any{
			"Name":         "brain",
			"PortMappings": arrayWith(obj(map[string]any{"ContainerPort": 9000})),
			"StopTimeout":  90,
			"Environment": arrayWith(
				map[string]any{"Name": "AGENTKIT_IDLE_TIMEOUT", "Value": "300s"},
				map[string]any{"Name": "AGENTKIT_METRICS_NAMESPACE", "Value": "Brains"},
				map[string]any{"Name": "AGENTKIT_METRICS_SERVICE", "Value": "Test/Agent"},
				// the price table as canonical JSON: models sorted
				map[string]any{"Name": "AGENTKIT_MODEL_PRICES", "Value": `{"big-model":{"input":3,"output":15},"small-model":{"input":0.15,"output":0.6}}`},
				map[string]any{"Name": "AGENTKIT_REQUEST_TIMEOUT", "Value": "240s"},
				map[string]any{"Name": "AGENTKIT_STOP_TIMEOUT", "Value": "90s"},
				map[string]any{"Name": "MODEL", "Value": "small"},
				map[string]any{"Name": "PORT", "Value": "9000"},
			),
			"LogConfiguration": obj(map[string]any{"Options": obj(map[string]any{"awslogs-stream-prefix": "brain"})}),
			"HealthCheck":      obj(map[string]any{"Command": []any{"CMD", "/agent", "healthcheck"}}),
		})),
	}))
	tmpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), obj(map[string]any{"RetentionInDays": 30}))
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::Cluster"), obj(map[string]any{
		"ClusterSettings": arrayWith(map[string]any{"Name": "containerInsights", "Value": "disabled"}),
	}))
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj(map[string]any{
		"DesiredCount":                  3,
		"HealthCheckGracePeriodSeconds": 120,
		"DeploymentConfiguration":       obj(map[string]any{"MinimumHealthyPercent": 50, "MaximumPercent": 150}),
	}))
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::LoadBalancer"), obj(map[string]any{
		"Scheme":                 "internal",
		"LoadBalancerAttributes": arrayWith(map[string]any{"Key": "idle_timeout.timeout_seconds", "Value": "300"}),
	}))
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), obj(map[string]any{
		"Port":                  9000,
		"HealthCheckPath":       "/ready",
		"TargetGroupAttributes": arrayWith(map[string]any{"Key": "deregistration_delay.timeout_seconds", "Value": "250"}),
	}))
	tmpl.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalableTarget"), obj(map[string]any{
		"MinCapacity": 2, "MaxCapacity": 4,
	}))
	tmpl.ResourceCountIs(jsii.String("AWS::ApplicationAutoScaling::ScalingPolicy"), jsii.Number(2))
	tmpl.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalingPolicy"), obj(map[string]any{
		"TargetTrackingScalingPolicyConfiguration": obj(map[string]any{
			"CustomizedMetricSpecification": obj(map[string]any{"Namespace": "Brains"}),
			"TargetValue":                   4,
		}),
	}))
}

func TestTheDeregistrationDelayFollowsTheRequestDeadline(t *testing.T) {
	cases := []struct {
		name            string
		props           *agentservice.Props
		deadline, delay string
	}{
		{"a 45s deadline", &agentservice.Props{RequestTimeout: secs(45)}, "45s", "50"},
		{"a long streamed deadline", &agentservice.Props{RequestTimeout: secs(300), LongRequestsStream: jsii.Bool(true)}, "300s", "305"},
		{"a delay given beside the deadline", &agentservice.Props{RequestTimeout: secs(20), DeregistrationDelay: secs(40)}, "20s", "40"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a request deadline
			c.props.Image = astest.RegistryImage()

			// WHEN the service synthesizes
			tmpl, _ := synth(t, c.props)

			// THEN the container gets the deadline and the target group a
			// delay of the deadline plus agentkit's margin (or the one given)
			tmpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj(map[string]any{
				"ContainerDefinitions": arrayWith(obj(map[string]any{
					"Environment": arrayWith(map[string]any{"Name": "AGENTKIT_REQUEST_TIMEOUT", "Value": c.deadline}),
				})),
			}))
			tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), obj(map[string]any{
				"TargetGroupAttributes": arrayWith(map[string]any{"Key": "deregistration_delay.timeout_seconds", "Value": c.delay}),
			}))
		})
	}
}

func TestNewReusesAnExistingVpcAndCluster(t *testing.T) {
	// GIVEN a stack with its own VPC and cluster
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)
	vpc := awsec2.NewVpc(stack, jsii.String("Shared"), &awsec2.VpcProps{MaxAzs: jsii.Number(3)})
	cluster := awsecs.NewCluster(stack, jsii.String("SharedCluster"), &awsecs.ClusterProps{Vpc: vpc})

	// WHEN one service is given the VPC and another the cluster
	a := agentservice.New(stack, jsii.String("A"), &agentservice.Props{Image: astest.RegistryImage(), Vpc: vpc})
	b := agentservice.New(stack, jsii.String("B"), &agentservice.Props{Image: astest.RegistryImage(), Cluster: cluster})

	// THEN no second VPC exists, A made its own cluster in the shared VPC and B made none
	tmpl := assertions.Template_FromStack(stack, nil)
	tmpl.ResourceCountIs(jsii.String("AWS::EC2::VPC"), jsii.Number(1))
	tmpl.ResourceCountIs(jsii.String("AWS::ECS::Cluster"), jsii.Number(2))
	if *a.Vpc.VpcId() != *vpc.VpcId() || *b.Vpc.VpcId() != *vpc.VpcId() {
		t.Fatalf("services do not run in the shared VPC")
	}
	if b.Cluster != cluster {
		t.Fatalf("B does not run in the given cluster")
	}
}

func TestServiceIsAScopeAndTakesTags(t *testing.T) {
	// GIVEN a service
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)
	svc := agentservice.New(stack, jsii.String("Agent"), &agentservice.Props{Image: astest.RegistryImage()})

	// WHEN it is used as a scope and tagged
	awscdk.NewCfnOutput(svc, jsii.String("Extra"), &awscdk.CfnOutputProps{Value: jsii.String("x")})
	awscdk.Tags_Of(svc).Add(jsii.String("team"), jsii.String("agents"), nil)

	// THEN the child lives under it and the tag reaches its resources
	if got := *svc.Node().TryFindChild(jsii.String("Extra")).Node().Path(); got != "Test/Agent/Extra" {
		t.Fatalf("child path = %s", got)
	}
	if got := *svc.ToString(); got != "Test/Agent" {
		t.Fatalf("ToString = %s", got)
	}
	tmpl := assertions.Template_FromStack(stack, nil)
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj(map[string]any{
		"Tags": arrayWith(map[string]any{"Key": "team", "Value": "agents"}),
	}))
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::LoadBalancer"), obj(map[string]any{
		"Tags": arrayWith(map[string]any{"Key": "team", "Value": "agents"}),
	}))
}

func TestNewExposesItsChildren(t *testing.T) {
	// GIVEN a service
	svc := astest.Defaults.Synth(t).Web

	// THEN every child it made is reachable
	for name, v := range map[string]any{
		"Vpc": svc.Vpc, "Cluster": svc.Cluster, "LogGroup": svc.LogGroup, "TaskDefinition": svc.TaskDefinition,
		"Container": svc.Container, "LoadBalancer": svc.LoadBalancer, "Listener": svc.Listener,
		"TargetGroup": svc.TargetGroup, "Service": svc.Service, "ScalableTaskCount": svc.ScalableTaskCount, "URL": svc.URL,
	} {
		if v == nil {
			t.Errorf("%s is nil", name)
		}
	}
	if got := *svc.Service.Node().Id(); got != "Service" {
		t.Errorf("service id = %s", got)
	}
}

func TestTasksAcceptTrafficOnlyFromTheLoadBalancer(t *testing.T) {
	// GIVEN the default service
	tmpl := astest.Defaults.Synth(t).Template

	// THEN the task's security group admits the container port from the load balancer's group only
	tmpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupIngress"), obj(map[string]any{
		"IpProtocol":            "tcp",
		"FromPort":              8080,
		"ToPort":                8080,
		"SourceSecurityGroupId": obj(map[string]any{"Fn::GetAtt": arrayWith(assertions.Match_StringLikeRegexp(jsii.String("^AgentLBSecurityGroup")))}),
	}))
	tmpl.ResourcePropertiesCountIs(jsii.String("AWS::EC2::SecurityGroupIngress"), obj(map[string]any{"CidrIp": "0.0.0.0/0"}), jsii.Number(0))
}

func TestNewPanicsOnBadPropsBeforeCreatingAnything(t *testing.T) {
	// GIVEN a stack and an impossible task size
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)

	// WHEN New is called
	msg := func() (msg any) {
		defer func() { msg = recover() }()
		agentservice.New(stack, jsii.String("Agent"), &agentservice.Props{Image: astest.RegistryImage(), Cpu: jsii.Number(1000)})
		return nil
	}()

	// THEN it panics with the validation message and nothing was added to the stack
	want := "agentservice: Cpu 1000 is not a Fargate size; use 256, 512, 1024, 2048, 4096, 8192 or 16384"
	if msg != want {
		t.Fatalf("panic = %v, want %q", msg, want)
	}
	if n := len(*stack.Node().Children()); n != 0 {
		t.Fatalf("stack has %d children after a failed New", n)
	}
}

func TestNewLeavesItsPropsAlone(t *testing.T) {
	// GIVEN props with a few fields set and the rest left to defaults
	env := map[string]*string{"MODEL": jsii.String("small")}
	props := &agentservice.Props{Image: astest.RegistryImage(), Environment: &env, Secrets: secrets.FromParameters("/agents/prod", 1, "OPENAI_API_KEY")}
	before := fmt.Sprintf("%+v", *props)

	// WHEN a service is made from them
	synth(t, props)

	// THEN no default was written into them, and the environment map is the caller's alone
	if after := fmt.Sprintf("%+v", *props); after != before {
		t.Fatalf("props changed:\n before %s\n after  %s", before, after)
	}
	if len(env) != 1 {
		t.Fatalf("the construct added %d variables to the caller's Environment map", len(env)-1)
	}
}

func TestChangingASecretsVersionPinMakesANewTaskDefinition(t *testing.T) {
	// GIVEN the reference secrets pinned to version 1, then to version 2
	taskDef := func(version int) (assertions.Template, map[string]any) {
		tmpl, _ := synth(t, &agentservice.Props{
			Image:   astest.RegistryImage(),
			Secrets: secrets.FromParameters("/agents/prod", version, "OPENAI_API_KEY"),
		})
		defs := tmpl.FindResources(jsii.String("AWS::ECS::TaskDefinition"), nil)
		for _, d := range *defs {
			return tmpl, *d
		}
		t.Fatal("no task definition")
		return nil, nil
	}

	// WHEN each synthesizes
	tmpl1, def1 := taskDef(1)
	_, def2 := taskDef(2)

	// THEN the pin is a label on the container (the value never is), so the
	// two task definitions differ and a deploy of the new pin starts new
	// tasks, which read the parameter at start
	tmpl1.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj(map[string]any{
		"ContainerDefinitions": arrayWith(obj(map[string]any{
			"DockerLabels": map[string]any{"agentcdk.secret-version.OPENAI_API_KEY": "1"},
		})),
	}))
	if fmt.Sprint(def1) == fmt.Sprint(def2) {
		t.Fatal("version 1 and version 2 synthesize the same task definition")
	}
}

func TestAlarmTopicIsTheActionOfEveryAlarm(t *testing.T) {
	// GIVEN a web service and a worker, each given an SNS topic for alarms
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)
	topic := awssns.NewTopic(stack, jsii.String("Alarms"), nil)
	web := agentservice.New(stack, jsii.String("Agent"), &agentservice.Props{Image: astest.RegistryImage(), AlarmTopic: topic})
	agentservice.NewWorker(stack, jsii.String("Worker"), &agentservice.WorkerProps{Image: astest.RegistryImage(), Cluster: web.Cluster, AlarmTopic: topic})

	// WHEN it synthesizes
	tmpl := assertions.Template_FromStack(stack, nil)

	// THEN the seven alarms that report a problem (5xx, unhealthy targets,
	// latency, dead letters, the oldest message, and each container's
	// rejected EMF lines) notify the topic; the eighth, the worker's
	// scale-from-zero step, keeps its scaling action alone
	withTopic := obj(map[string]any{"AlarmActions": []any{map[string]any{"Ref": *stack.GetLogicalId(topic.Node().DefaultChild().(awscdk.CfnElement))}}})
	tmpl.ResourcePropertiesCountIs(jsii.String("AWS::CloudWatch::Alarm"), withTopic, jsii.Number(7))
	tmpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(8))
}
