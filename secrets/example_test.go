package secrets_test

import (
	"fmt"

	"github.com/agentcdk/agentcdk/secrets"
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/jsii-runtime-go"
)

func ExampleFromParameters() {
	list := secrets.FromParameters("/agents/prod", 1, "OPENAI_API_KEY", "ANTHROPIC_API_KEY")
	for _, s := range list {
		fmt.Println(*s.EnvName, "<-", *s.ParameterName, "version", *s.Version)
	}
	fmt.Println(secrets.Validate(list))
	// Output:
	// OPENAI_API_KEY <- /agents/prod/OPENAI_API_KEY version 1
	// ANTHROPIC_API_KEY <- /agents/prod/ANTHROPIC_API_KEY version 1
	// <nil>
}

func ExampleValidate() {
	list := []*secrets.Secret{secrets.FromParameter("OPENAI_API_KEY", "agents/prod/OPENAI_API_KEY", 1)}
	fmt.Println(secrets.Validate(list))
	// Output: secrets: ParameterName "agents/prod/OPENAI_API_KEY" for OPENAI_API_KEY is in a hierarchy but not fully qualified; start it with "/"
}

func ExampleBind() {
	var task awsecs.FargateTaskDefinition // the agent's task definition
	if task == nil {
		return // in a real app it comes from the stack
	}
	list := secrets.FromParameters("/agents/prod", 1, "OPENAI_API_KEY", "ANTHROPIC_API_KEY")
	task.AddContainer(jsii.String("agent"), &awsecs.ContainerDefinitionOptions{
		Image:        awsecs.ContainerImage_FromRegistry(jsii.String("example/agent"), nil),
		Secrets:      secrets.Bind(task, list),    // ECS grants the execution role read on exactly these
		DockerLabels: secrets.VersionLabels(list), // a changed pin rolls the service
	})
}

func ExampleNewParameterKey() {
	var stack awscdk.Stack // the app's stack
	if stack == nil {
		return // in a real app it comes from the app
	}
	// A key only the agent's task execution role may decrypt with, and only
	// through Parameter Store: encrypt the parameters with it
	// (aws ssm put-parameter --type SecureString --key-id <its ARN>).
	key := secrets.NewParameterKey(stack, jsii.String("ParameterKey"))
	list := secrets.FromParameters("/agents/prod", 1, "OPENAI_API_KEY", "ANTHROPIC_API_KEY")
	for _, s := range list {
		s.EncryptionKey = key // Bind names the execution role in the key's policy
	}
	_ = list // give it to agentservice.Props.Secrets
}
