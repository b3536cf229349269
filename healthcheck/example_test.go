package healthcheck_test

import (
	"fmt"
	"time"

	"github.com/agentcdk/agentcdk/healthcheck"
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func ExampleTiming_DeployStep() {
	t := healthcheck.DefaultTiming()
	fmt.Println("new task healthy within", t.NewTaskHealthy())
	fmt.Println("one deploy step within", t.DeployStep())

	t.StopTimeout = 150 * time.Second
	fmt.Println(t.Validate())
	// Output:
	// new task healthy within 2m0s
	// one deploy step within 4m5s
	// healthcheck: StopTimeout 150s is out of range; use 2s to 120s
}

func ExampleProps_Validate() {
	p := &healthcheck.Props{
		Interval: awscdk.Duration_Seconds(jsii.Number(30)),
		Timeout:  awscdk.Duration_Seconds(jsii.Number(30)),
	}
	fmt.Println(p.Validate())
	// Output: healthcheck: Timeout 30s is not below Interval 30s; use a timeout shorter than the interval
}

// The matchers the ALB accepts: codes from 200 to 499, alone, listed or as
// a range.
func ExampleProps_Validate_healthyHttpCodes() {
	for _, codes := range []string{"200", "200,202", "200-299", "200-599"} {
		p := &healthcheck.Props{HealthyHttpCodes: jsii.String(codes)}
		fmt.Println(codes, p.Validate() == nil)
	}
	// Output:
	// 200 true
	// 200,202 true
	// 200-299 true
	// 200-599 false
}

// The same budget with the defaults a stack written with aws-cdk-lib's
// ecs-patterns gets: AWS's target-group defaults (healthy after 5, unhealthy
// after 2, every 30 s), the 300 s deregistration delay, ECS's 30 s stop
// timeout and the 60 s grace period ECS sets behind a load balancer.
func ExampleTiming_DeployStep_ecsPatterns() {
	ours := healthcheck.DefaultTiming()
	patterns := healthcheck.Timing{
		DeregistrationDelay: 300 * time.Second, StopTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second,
		HealthCheckInterval: 30 * time.Second, HealthCheckTimeout: 5 * time.Second, GracePeriod: 60 * time.Second,
		HealthyThresholdCount: 5, UnhealthyThresholdCount: 2,
	}
	for _, c := range []struct {
		name string
		t    healthcheck.Timing
	}{{"agentcdk", ours}, {"ecs-patterns", patterns}} {
		fmt.Printf("%-12s healthy %v + drained %v + stopped %v = %v\n",
			c.name, c.t.NewTaskHealthy(), c.t.DeregistrationDelay, c.t.StopTimeout, c.t.DeployStep())
	}
	// Output:
	// agentcdk     healthy 2m0s + drained 1m5s + stopped 1m0s = 4m5s
	// ecs-patterns healthy 3m0s + drained 5m0s + stopped 30s = 8m30s
}

// The worst case of each deploy strategy with the default budget: a rolling
// deploy of one step (both tasks replaced at once at 100/200 %), and the
// blue/green family with a 5-minute final bake; canary holds 5 % of the
// traffic for 10 minutes, linear moves 10 % every 6 minutes (ECS's own
// defaults for both).
func ExampleTiming_ShiftDeploy() {
	t := healthcheck.DefaultTiming()
	bake := 5 * time.Minute
	fmt.Println("rolling   ", t.DeployStep())
	fmt.Println("blue/green", t.ShiftDeploy(healthcheck.Shift{BakeTime: bake}))
	fmt.Println("canary    ", t.ShiftDeploy(healthcheck.Shift{Pauses: 1, StepBakeTime: 10 * time.Minute, BakeTime: bake}))
	fmt.Println("linear    ", t.ShiftDeploy(healthcheck.Shift{Pauses: healthcheck.LinearPauses(10), StepBakeTime: 6 * time.Minute, BakeTime: bake}))
	// Output:
	// rolling    4m5s
	// blue/green 9m5s
	// canary     19m5s
	// linear     1h3m5s
}
