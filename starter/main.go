// Command myagent is a CDK app that runs the agent in ./agent on Amazon ECS
// Fargate behind an Application Load Balancer, with agentcdk's defaults.
//
// Run it through the CDK CLI, which reads cdk.json (the feature flags, and
// the command that vendors the agent's modules and runs this app):
//
//	npx --yes aws-cdk@2 synth
//	npx --yes aws-cdk@2 deploy
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/secrets"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	newStack(app, "MyAgent")
	app.Synth(nil)
}

// newStack is the whole stack: the service, its image, its secret and the
// topic its alarms notify.
func newStack(scope constructs.Construct, id string) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Description: jsii.String("An AI agent on ECS Fargate behind an Application Load Balancer"),
	})
	// An encrypted topic CloudWatch may publish to; subscribe whoever is
	// on call (see the deploy checklist).
	alarms := agentservice.NewAlarmTopic(stack, jsii.String("Alarms"), nil)
	agentservice.New(stack, jsii.String("Agent"), &agentservice.Props{
		// Built from agent/Dockerfile at deploy, with agent/ as the context.
		Image: agentservice.ImageFromDirectory("agent"),
		// MODEL_API_KEY from the SecureString parameter /myagent/MODEL_API_KEY,
		// version 1, injected by ECS when a task starts.
		Secrets:    secrets.FromParameters("/myagent", 1, "MODEL_API_KEY"),
		AlarmTopic: alarms.Topic,
	})
	awscdk.NewCfnOutput(stack, jsii.String("AlarmTopicArn"), &awscdk.CfnOutputProps{
		Value: alarms.Topic.TopicArn(),
	})
	return stack
}
