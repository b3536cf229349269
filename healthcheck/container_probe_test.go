package healthcheck_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/healthcheck"
)

func TestContainerTimeoutLeavesTheAgentProbeItsTime(t *testing.T) {
	// GIVEN the default agent probe with a 3 s timeout, which is the probe's own limit
	p := &healthcheck.ContainerProps{Timeout: awscdk.Duration_Seconds(jsii.Number(3))}

	// WHEN it is validated
	err := p.Validate()

	// THEN it is refused: ECS would kill the probe before it answers
	want := "healthcheck: Timeout 3s is too short for the agent probe, which waits up to 3s for /health; use at least 4s"
	if err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v, want %s", err, want)
	}

	// AND a custom command with the same timeout is the caller's business
	p.Command = &[]*string{jsii.String("CMD"), jsii.String("/bin/check")}
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate() with a custom command = %v", err)
	}
}
