package scaling_test

import (
	"fmt"

	"github.com/agentcdk/agentcdk/scaling"
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/jsii-runtime-go"
)

func ExampleApply() {
	var service awsecs.FargateService            // the agent's service
	var targetGroup elbv2.ApplicationTargetGroup // its ALB target group
	if service == nil {
		return // in a real app both come from the stack
	}
	// 2 to 20 tasks, CPU at 60 %, requests per target and memory at their defaults.
	scaling.Apply(service, targetGroup, &scaling.Props{
		MinCapacity: jsii.Number(2),
		MaxCapacity: jsii.Number(20),
		Cpu:         &scaling.TargetProps{TargetPercent: jsii.Number(60)},
		Memory:      &scaling.TargetProps{},
	})
}

func ExampleProps_Validate() {
	p := &scaling.Props{
		Cpu: &scaling.TargetProps{TargetPercent: jsii.Number(120), ScaleInCooldown: awscdk.Duration_Seconds(jsii.Number(60))},
	}
	fmt.Println(p.Validate())
	// Output: scaling: Cpu.TargetPercent 120 is out of range; use 1 to 100
}
