package scaling_test

import (
	"fmt"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/scaling"
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
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
	// The average requests in flight per task that agentkit.Server writes,
	// with the namespace and Service dimension the container was given
	// (AGENTKIT_METRICS_NAMESPACE, AGENTKIT_METRICS_SERVICE).
	inFlight := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(agentkit.DefaultMetricsNamespace),
		MetricName:    jsii.String(agentkit.MetricRequestsInFlight),
		DimensionsMap: &map[string]*string{agentkit.DimensionService: jsii.String("MyStack/Agent")},
		Statistic:     jsii.String("Average"),
		Period:        awscdk.Duration_Minutes(jsii.Number(1)),
	})
	// 2 to 20 tasks, CPU at 60 %, 4 requests in flight per task, requests
	// per target and memory at their defaults.
	scaling.Apply(service, targetGroup, inFlight, &scaling.Props{
		MinCapacity: jsii.Number(2),
		MaxCapacity: jsii.Number(20),
		Cpu:         &scaling.TargetProps{TargetPercent: jsii.Number(60)},
		Memory:      &scaling.TargetProps{},
		Concurrency: &scaling.ConcurrencyProps{RequestsInFlightPerTask: jsii.Number(4)},
	})
}

func ExampleProps_Validate() {
	p := &scaling.Props{
		Cpu: &scaling.TargetProps{TargetPercent: jsii.Number(120), ScaleInCooldown: awscdk.Duration_Seconds(jsii.Number(60))},
	}
	fmt.Println(p.Validate())
	// Output: scaling: Cpu.TargetPercent 120 is out of range; use 1 to 100
}
