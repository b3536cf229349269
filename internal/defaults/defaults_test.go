package defaults_test

import (
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/internal/defaults"
)

func TestOrAndPtrKeepASetValueAndFillANilOne(t *testing.T) {
	// GIVEN a set value and an unset one
	set := 3.0

	// WHEN each gets the default 7
	// THEN the set one stays and the nil one becomes the default
	if got := defaults.Or(&set, 7); got != 3 {
		t.Errorf("Or(&3, 7) = %v", got)
	}
	if got := defaults.Or[float64](nil, 7); got != 7 {
		t.Errorf("Or(nil, 7) = %v", got)
	}
	if got := defaults.Ptr(&set, 7); got != &set {
		t.Errorf("Ptr(&3, 7) = %v, want the same pointer", got)
	}
	if got := defaults.Ptr[string](nil, "agent"); *got != "agent" {
		t.Errorf("Ptr(nil, agent) = %q", *got)
	}
}

func TestDurationKeepsASetDurationAndFillsANilOne(t *testing.T) {
	defer jsii.Close()
	// GIVEN a set duration and an unset one
	set := awscdk.Duration_Seconds(jsii.Number(5))

	// WHEN each gets the default 30s
	// THEN the set one stays and the nil one becomes 30 whole seconds
	if got := defaults.Duration(set, 30*time.Second); got != set {
		t.Errorf("Duration(5s, 30s) is not the duration given")
	}
	if got := *defaults.Duration(nil, 30*time.Second).ToSeconds(nil); got != 30 {
		t.Errorf("Duration(nil, 30s) = %vs", got)
	}
}
