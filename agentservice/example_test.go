package agentservice_test

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
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
