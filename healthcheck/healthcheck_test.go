package healthcheck_test

import (
	"os"
	"testing"

	"github.com/agentcdk/agentcdk/healthcheck"
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

func TestTokensAreNotJudged(t *testing.T) {
	// GIVEN props whose values are only known at deploy time
	param := func() *float64 { return awscdk.Token_AsNumber(awscdk.Aws_ACCOUNT_ID()) }
	p := &healthcheck.Props{
		Path:                    awscdk.Aws_STACK_NAME(),
		HealthyHttpCodes:        awscdk.Aws_REGION(),
		Interval:                awscdk.Duration_Seconds(param()),
		Timeout:                 awscdk.Duration_Seconds(param()),
		HealthyThresholdCount:   param(),
		UnhealthyThresholdCount: param(),
		GracePeriod:             awscdk.Duration_Seconds(param()),
	}
	c := &healthcheck.ContainerProps{
		Command:  &[]*string{jsii.String("CMD-SHELL"), awscdk.Aws_STACK_NAME()},
		Interval: awscdk.Duration_Seconds(param()),
		Retries:  param(),
	}
	// WHEN they are validated THEN nothing is reported
	if err := p.Validate(); err != nil {
		t.Errorf("Props.Validate() = %v, want nil", err)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("ContainerProps.Validate() = %v, want nil", err)
	}
	// AND the timing budget marks them unresolved
	timing := healthcheck.TimingOf(p, nil, nil, nil, nil)
	if timing.HealthCheckInterval != healthcheck.Unresolved || timing.HealthyThresholdCount != healthcheck.UnresolvedCount {
		t.Errorf("TimingOf = %+v, want Unresolved interval and count", timing)
	}
	if got := timing.DeployStep(); got != 0 {
		t.Errorf("DeployStep() = %v, want 0 for an unresolved budget", got)
	}
}
