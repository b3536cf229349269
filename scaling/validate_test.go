package scaling_test

import (
	"math"
	"testing"

	"github.com/agentcdk/agentcdk/scaling"
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func TestValidateRejectsBadInput(t *testing.T) {
	ms := func(n float64) awscdk.Duration { return awscdk.Duration_Millis(jsii.Number(n)) }
	cases := []struct {
		name  string
		props scaling.Props
		want  string
	}{
		{"negative min", scaling.Props{MinCapacity: jsii.Number(-1)},
			"scaling: MinCapacity -1 is too small; use 0 or more"},
		{"zero max", scaling.Props{MinCapacity: jsii.Number(0), MaxCapacity: jsii.Number(0)},
			"scaling: MaxCapacity 0 is too small; use 1 or more"},
		{"fractional min", scaling.Props{MinCapacity: jsii.Number(1.5)},
			"scaling: MinCapacity 1.5 is not a whole number; use a task count of 0 or more"},
		{"min above max", scaling.Props{MinCapacity: jsii.Number(11)},
			"scaling: MinCapacity 11 is above MaxCapacity 10; use a minimum no larger than the maximum"},
		{"cpu target zero", scaling.Props{Cpu: &scaling.TargetProps{TargetPercent: jsii.Number(0)}},
			"scaling: Cpu.TargetPercent 0 is out of range; use 1 to 100"},
		{"cpu target over 100", scaling.Props{Cpu: &scaling.TargetProps{TargetPercent: jsii.Number(101)}},
			"scaling: Cpu.TargetPercent 101 is out of range; use 1 to 100"},
		{"memory target zero", scaling.Props{Memory: &scaling.TargetProps{TargetPercent: jsii.Number(0.5)}},
			"scaling: Memory.TargetPercent 0.5 is out of range; use 1 to 100"},
		{"no requests per target", scaling.Props{Requests: &scaling.RequestProps{RequestsPerTarget: jsii.Number(0)}},
			"scaling: Requests.RequestsPerTarget 0 is out of range; use 1 or more"},
		{"fractional cooldown", scaling.Props{Cpu: &scaling.TargetProps{ScaleInCooldown: ms(1500)}},
			"scaling: Cpu.ScaleInCooldown 1.5s is not a whole number of seconds; use whole seconds, 0s or more"},
		{"fractional requests cooldown", scaling.Props{Requests: &scaling.RequestProps{ScaleOutCooldown: ms(10)}},
			"scaling: Requests.ScaleOutCooldown 10ms is not a whole number of seconds; use whole seconds, 0s or more"},
		{"cpu tuned and off", scaling.Props{Cpu: &scaling.TargetProps{}, DisableCpu: jsii.Bool(true)},
			"scaling: Cpu is set but DisableCpu is true; drop one of them"},
		{"requests tuned and off", scaling.Props{Requests: &scaling.RequestProps{}, DisableRequests: jsii.Bool(true)},
			"scaling: Requests is set but DisableRequests is true; drop one of them"},
		{"no requests in flight", scaling.Props{Concurrency: &scaling.ConcurrencyProps{RequestsInFlightPerTask: jsii.Number(0)}},
			"scaling: Concurrency.RequestsInFlightPerTask 0 is out of range; use a finite number above 0"},
		{"negative requests in flight", scaling.Props{Concurrency: &scaling.ConcurrencyProps{RequestsInFlightPerTask: jsii.Number(-2)}},
			"scaling: Concurrency.RequestsInFlightPerTask -2 is out of range; use a finite number above 0"},
		{"infinite requests in flight", scaling.Props{Concurrency: &scaling.ConcurrencyProps{RequestsInFlightPerTask: jsii.Number(math.Inf(1))}},
			"scaling: Concurrency.RequestsInFlightPerTask +Inf is out of range; use a finite number above 0"},
		{"NaN requests in flight", scaling.Props{Concurrency: &scaling.ConcurrencyProps{RequestsInFlightPerTask: jsii.Number(math.NaN())}},
			"scaling: Concurrency.RequestsInFlightPerTask NaN is out of range; use a finite number above 0"},
		{"fractional concurrency cooldown", scaling.Props{Concurrency: &scaling.ConcurrencyProps{ScaleInCooldown: ms(2500)}},
			"scaling: Concurrency.ScaleInCooldown 2.5s is not a whole number of seconds; use whole seconds, 0s or more"},
		{"concurrency tuned and off", scaling.Props{Concurrency: &scaling.ConcurrencyProps{}, DisableConcurrency: jsii.Bool(true)},
			"scaling: Concurrency is set but DisableConcurrency is true; drop one of them"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN bad props WHEN validated THEN the message names prop, value and what is allowed
			err := c.props.Validate()
			if err == nil || err.Error() != c.want {
				t.Errorf("Validate() = %v\nwant        %s", err, c.want)
			}
		})
	}
}

func TestValidateSkipsTokensAndDisabledPolicies(t *testing.T) {
	token := func() *float64 { return awscdk.Token_AsNumber(awscdk.Aws_ACCOUNT_ID()) }
	good := []*scaling.Props{
		nil,
		{},
		{MinCapacity: jsii.Number(0), MaxCapacity: jsii.Number(1)},
		{MinCapacity: token(), MaxCapacity: jsii.Number(1)},
		{MinCapacity: jsii.Number(3), MaxCapacity: token()},
		{Cpu: &scaling.TargetProps{TargetPercent: token(), ScaleInCooldown: awscdk.Duration_Seconds(token())}},
		{Memory: &scaling.TargetProps{TargetPercent: jsii.Number(100)}},
		{Requests: &scaling.RequestProps{RequestsPerTarget: jsii.Number(1)}},
		{Concurrency: &scaling.ConcurrencyProps{RequestsInFlightPerTask: jsii.Number(0.5)}},
		{Concurrency: &scaling.ConcurrencyProps{RequestsInFlightPerTask: token()}},
		{DisableConcurrency: jsii.Bool(true)},
	}
	for i, p := range good {
		// GIVEN good or unresolved props WHEN validated THEN nothing is reported
		if err := p.Validate(); err != nil {
			t.Errorf("case %d: Validate() = %v, want nil", i, err)
		}
	}
}
