package agentservice_test

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/scaling"
	"github.com/agentcdk/agentcdk/secrets"
)

// The reference stack: an image, a cluster name and two API keys from SSM.
// Everything else is a default.
func ExampleNew() {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Agent"), nil)
	svc := agentservice.New(stack, jsii.String("Agent"), &agentservice.Props{
		Image:       agentservice.ImageFromRegistry("public.ecr.aws/example/agent:1.0.0"),
		ClusterName: jsii.String("ai-agents-prod"),
		Secrets:     secrets.FromParameters("/agents/prod", 1, "OPENAI_API_KEY", "ANTHROPIC_API_KEY"),
	})

	tmpl := assertions.Template_FromStack(stack, nil)
	for _, kind := range []string{"AWS::ECS::Service", "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::EC2::NatGateway"} {
		fmt.Printf("%s: %d\n", kind, len(*tmpl.FindResources(jsii.String(kind), nil)))
	}
	fmt.Println("service construct:", *svc.Service.Node().Path())
	// Output:
	// AWS::ECS::Service: 1
	// AWS::ElasticLoadBalancingV2::LoadBalancer: 1
	// AWS::EC2::NatGateway: 1
	// service construct: Agent/Agent/Service
}

// Validate reports bad props as an error, before anything is created.
func ExampleProps_Validate() {
	props := &agentservice.Props{
		Image:          agentservice.ImageFromRegistry("public.ecr.aws/example/agent:1.0.0"),
		Cpu:            jsii.Number(256),
		MemoryLimitMiB: jsii.Number(4096),
	}
	fmt.Println(props.Validate())
	// Output:
	// agentservice: MemoryLimitMiB 4096 does not fit Cpu 256; Fargate offers 512, 1024 or 2048
}

// A canary deploy: 5 % of the traffic goes to the new revision for 10
// minutes, then the rest; the old tasks stay 5 minutes more, and the
// deployment alarms roll it back at any point. Request-count scaling is
// off because ECS alternates the revisions between two target groups.
func ExampleDeployment() {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Agent"), nil)
	props := &agentservice.Props{
		Image:      agentservice.ImageFromRegistry("public.ecr.aws/example/agent:1.0.0"),
		Deployment: &agentservice.Deployment{Strategy: awsecs.DeploymentStrategy_CANARY},
		Scaling:    &scaling.Props{DisableRequests: jsii.Bool(true)},
	}
	svc := agentservice.New(stack, jsii.String("Agent"), props)

	tmpl := assertions.Template_FromStack(stack, nil)
	for _, r := range *tmpl.FindResources(jsii.String("AWS::ECS::Service"), nil) {
		c := (*r)["Properties"].(map[string]any)["DeploymentConfiguration"].(map[string]any)
		fmt.Println("strategy:", c["Strategy"], "canary:", c["CanaryConfiguration"], "bake:", c["BakeTimeInMinutes"], "min")
	}
	fmt.Println("target groups:", len(*tmpl.FindResources(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), nil)))
	fmt.Println("traffic astest.Shifted by:", *svc.ProductionRule.Node().Path(), "as", *svc.DeployRole.Node().Path())
	fmt.Println("worst-case deploy:", props.DeployTime())
	// Output:
	// strategy: CANARY canary: map[CanaryBakeTimeInMinutes:10 CanaryPercent:5] bake: 5 min
	// target groups: 2
	// traffic astest.Shifted by: Agent/Agent/ProductionRule as Agent/Agent/DeployRole
	// worst-case deploy: 19m0s
}

// The operations side: the container learns where to write agentkit's
// metrics, a price table turns tokens into an estimated cost, and the
// concurrency policy tracks the average requests in flight per task.
func ExampleProps_ModelPrices() {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Agent"), nil)
	svc := agentservice.New(stack, jsii.String("Agent"), &agentservice.Props{
		Image: agentservice.ImageFromRegistry("public.ecr.aws/example/agent:1.0.0"),
		// Your prices, from the provider's price page, in USD per million tokens.
		ModelPrices: map[string]agentservice.ModelPrice{
			"claude-sonnet-4": {InputUSDPerMillionTokens: 3, OutputUSDPerMillionTokens: 15},
		},
		Scaling: &scaling.Props{Concurrency: &scaling.ConcurrencyProps{RequestsInFlightPerTask: jsii.Number(4)}},
	})

	env := map[string]any{}
	for _, e := range stack.Resolve(svc.TaskDefinition.Node().DefaultChild().(awsecs.CfnTaskDefinition).ContainerDefinitions()).([]any)[0].(map[string]any)["environment"].([]any) {
		env[e.(map[string]any)["name"].(string)] = e.(map[string]any)["value"]
	}
	for _, name := range []string{"AGENTKIT_METRICS_NAMESPACE", "AGENTKIT_METRICS_SERVICE", "AGENTKIT_MODEL_PRICES"} {
		fmt.Printf("%s=%v\n", name, env[name])
	}
	fmt.Println("dashboard:", *svc.Dashboard.Node().Path(), "latency alarm:", *svc.LatencyAlarm.Node().Path())
	// Output:
	// AGENTKIT_METRICS_NAMESPACE=AgentCDK
	// AGENTKIT_METRICS_SERVICE=Agent/Agent
	// AGENTKIT_MODEL_PRICES={"claude-sonnet-4":{"input":3,"output":15}}
	// dashboard: Agent/Agent/Dashboard latency alarm: Agent/Agent/LatencyAlarm
}

// The front door: by default CloudFront serves HTTPS on its own domain
// before an internal load balancer, and the request deadline leaves room
// for CloudFront's 60 s origin response timeout. Plain HTTP on the
// internet is there only when named.
func ExampleFront() {
	image := agentservice.ImageFromRegistry("public.ecr.aws/example/agent:1.0.0")

	// The old 60 s deadline does not fit behind CloudFront.
	fmt.Println((&agentservice.Props{Image: image, RequestTimeout: awscdk.Duration_Seconds(jsii.Number(60))}).Validate())
	// A stream may run longer: its heartbeats reach CloudFront in time.
	fmt.Println((&agentservice.Props{Image: image, RequestTimeout: awscdk.Duration_Minutes(jsii.Number(5)),
		LongRequestsStream: jsii.Bool(true)}).Validate())
	// HTTPS on a public load balancer needs a certificate of your own.
	fmt.Println((&agentservice.Props{Image: image, Front: agentservice.FrontPublicALB}).Validate())
	// Output:
	// agentservice: RequestTimeout 60s does not fit OriginResponseTimeout 60s; CloudFront answers 504 when a response's first byte takes longer, so agentkit must answer 5s before it: use a RequestTimeout of at most 55s, a longer OriginResponseTimeout, or LongRequestsStream if the long requests stream
	// <nil>
	// agentservice: Front PublicALB needs a Certificate, or a DomainName with its DomainZone, for the load balancer's HTTPS listener; give one, or drop Front for HTTPS through CloudFront
}
