// Command handwritten synthesizes the reference agent stack written
// directly with aws-cdk-lib's ApplicationLoadBalancedFargateService, the
// way a team would without agentcdk. The synthesis benchmark
// (bench/synth) times it against examples/basic and counts the lines
// between the stack:begin and stack:end markers of both.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapplicationautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecspatterns"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// stack:begin
func newStack(scope constructs.Construct, id string, repoRoot string) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), nil)
	vpc := awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{
		MaxAzs:      jsii.Number(2),
		NatGateways: jsii.Number(1),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			{Name: jsii.String("Public"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(24)},
			{Name: jsii.String("Private"), SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS, CidrMask: jsii.Number(24)},
		},
	})
	cluster := awsecs.NewCluster(stack, jsii.String("Cluster"), &awsecs.ClusterProps{
		Vpc:                 vpc,
		ClusterName:         jsii.String("ai-agents-prod"),
		ContainerInsightsV2: awsecs.ContainerInsights_ENABLED,
	})
	logs := awslogs.NewLogGroup(stack, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_WEEK,
	})
	secret := func(name string) awsecs.Secret {
		return awsecs.Secret_FromSsmParameter(awsssm.StringParameter_FromSecureStringParameterAttributes(stack, jsii.String(name),
			&awsssm.SecureStringParameterAttributes{ParameterName: jsii.String("/agents/prod/" + name), Version: jsii.Number(1)}))
	}
	svc := awsecspatterns.NewApplicationLoadBalancedFargateService(stack, jsii.String("Agent"), &awsecspatterns.ApplicationLoadBalancedFargateServiceProps{
		Cluster:            cluster,
		Cpu:                jsii.Number(1024),
		MemoryLimitMiB:     jsii.Number(2048),
		DesiredCount:       jsii.Number(2),
		PublicLoadBalancer: jsii.Bool(true),
		MinHealthyPercent:  jsii.Number(100),
		MaxHealthyPercent:  jsii.Number(200),
		CircuitBreaker:     &awsecs.DeploymentCircuitBreaker{Enable: jsii.Bool(true), Rollback: jsii.Bool(true)},
		TaskImageOptions: &awsecspatterns.ApplicationLoadBalancedTaskImageOptions{
			Image: awsecs.ContainerImage_FromAsset(jsii.String(repoRoot), &awsecs.AssetImageProps{
				File: jsii.String("examples/basic/agent/Dockerfile"),
			}),
			ContainerPort: jsii.Number(8080),
			Environment:   &map[string]*string{"PORT": jsii.String("8080")},
			LogDriver:     awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{LogGroup: logs, StreamPrefix: jsii.String("agent")}),
			Secrets: &map[string]awsecs.Secret{
				"OPENAI_API_KEY":    secret("OPENAI_API_KEY"),
				"ANTHROPIC_API_KEY": secret("ANTHROPIC_API_KEY"),
			},
		},
	})
	svc.TargetGroup().ConfigureHealthCheck(&elbv2.HealthCheck{
		Path:                    jsii.String("/health"),
		HealthyHttpCodes:        jsii.String("200"),
		Interval:                awscdk.Duration_Seconds(jsii.Number(30)),
		Timeout:                 awscdk.Duration_Seconds(jsii.Number(5)),
		UnhealthyThresholdCount: jsii.Number(3),
	})
	scaling := svc.Service().AutoScaleTaskCount(&awsapplicationautoscaling.EnableScalingProps{
		MinCapacity: jsii.Number(1),
		MaxCapacity: jsii.Number(10),
	})
	scaling.ScaleOnCpuUtilization(jsii.String("Cpu"), &awsecs.CpuUtilizationScalingProps{
		TargetUtilizationPercent: jsii.Number(70),
		ScaleInCooldown:          awscdk.Duration_Seconds(jsii.Number(60)),
		ScaleOutCooldown:         awscdk.Duration_Seconds(jsii.Number(30)),
	})
	scaling.ScaleOnRequestCount(jsii.String("Requests"), &awsecs.RequestCountScalingProps{
		RequestsPerTarget: jsii.Number(100),
		TargetGroup:       svc.TargetGroup(),
		ScaleInCooldown:   awscdk.Duration_Seconds(jsii.Number(120)),
		ScaleOutCooldown:  awscdk.Duration_Seconds(jsii.Number(30)),
	})
	return stack
}

// stack:end

func main() {
	defer jsii.Close()
	root, err := filepath.Abs(os.Getenv("AGENTCDK_ROOT"))
	if err != nil || os.Getenv("AGENTCDK_ROOT") == "" {
		fmt.Fprintln(os.Stderr, "handwritten: set AGENTCDK_ROOT to the repository root")
		os.Exit(2)
	}
	outdir := os.Getenv("CDK_OUTDIR")
	if outdir == "" {
		outdir = "cdk.out"
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir)})
	newStack(app, "HandwrittenAgent", root)
	app.Synth(nil)
}
