package agentservice_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
	"github.com/agentcdk/agentcdk/scaling"
)

// Admission cases: a concurrency target of 12.5 on a 512 MiB task with a
// body limit of 4 KiB, the concurrency policy off on a 4 GiB task, and a
// cap given.
var (
	admissionFromTarget = &astest.Case{Name: "AdmissionTarget", Web: func(awscdk.Stack) *agentservice.Props {
		return &agentservice.Props{Image: astest.RegistryImage(), MaxRequestBodyBytes: jsii.Number(4096), Cpu: jsii.Number(256), MemoryLimitMiB: jsii.Number(512),
			Scaling: &scaling.Props{Concurrency: &scaling.ConcurrencyProps{RequestsInFlightPerTask: jsii.Number(12.5)}}}
	}}
	admissionFromMemory = &astest.Case{Name: "AdmissionMemory", Web: func(awscdk.Stack) *agentservice.Props {
		return &agentservice.Props{Image: astest.RegistryImage(), MemoryLimitMiB: jsii.Number(4096),
			Scaling: &scaling.Props{DisableConcurrency: jsii.Bool(true)}}
	}}
	admissionGiven = &astest.Case{Name: "AdmissionGiven", Web: func(awscdk.Stack) *agentservice.Props {
		return &agentservice.Props{Image: astest.RegistryImage(), MaxRequestsInFlight: jsii.Number(12)}
	}}
)

func TestTheTasksGetTheCapAndTheBodyLimit(t *testing.T) {
	for _, c := range []struct {
		name          string
		stack         *astest.Case
		cap, maxBytes string
	}{
		{"defaults: 2048 MiB / 32 MiB a request, above twice the target of 10; 1 MiB", astest.Defaults, "64", "1048576"},
		{"twice a target of 12.5, rounded up, above 512 MiB / 32 MiB; the body limit given", admissionFromTarget, "25", "4096"},
		{"concurrency off: 4096 MiB / 32 MiB a request", admissionFromMemory, "128", "1048576"},
		{"the cap given", admissionGiven, "12", "1048576"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN the props WHEN the stack is synthesized
			s := c.stack.Synth(t)

			// THEN the container gets agentkit's admission variables
			// (CDK renders the environment sorted by name)
			s.Template.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj(map[string]any{
				"ContainerDefinitions": arrayWith(obj(map[string]any{
					"Environment": arrayWith(
						map[string]any{"Name": "AGENTKIT_MAX_IN_FLIGHT", "Value": c.cap},
						map[string]any{"Name": "AGENTKIT_MAX_REQUEST_BYTES", "Value": c.maxBytes},
					),
				})),
			}))
		})
	}
}

func TestAdmissionPropsAreValidated(t *testing.T) {
	img := astest.RegistryImage()
	token := awscdk.Token_AsNumber(awscdk.Aws_ACCOUNT_ID())
	for _, c := range []struct {
		name  string
		props *agentservice.Props
		want  string
	}{
		{"cap zero", &agentservice.Props{Image: img, MaxRequestsInFlight: jsii.Number(0)},
			"agentservice: MaxRequestsInFlight 0 is out of range; use a whole number from 1 to 100000"},
		{"cap not whole", &agentservice.Props{Image: img, MaxRequestsInFlight: jsii.Number(20.5)},
			"agentservice: MaxRequestsInFlight 20.5 is out of range; use a whole number from 1 to 100000"},
		{"cap too large", &agentservice.Props{Image: img, MaxRequestsInFlight: jsii.Number(100_001)},
			"agentservice: MaxRequestsInFlight 100001 is out of range; use a whole number from 1 to 100000"},
		{"cap at the concurrency target", &agentservice.Props{Image: img, MaxRequestsInFlight: jsii.Number(10)},
			"agentservice: MaxRequestsInFlight 10 is not above the concurrency scaling target 10 (Scaling.Concurrency.RequestsInFlightPerTask); use more than 10, so that the service scales out before its tasks refuse requests"},
		{"cap below a target given", &agentservice.Props{Image: img, MaxRequestsInFlight: jsii.Number(30),
			Scaling: &scaling.Props{Concurrency: &scaling.ConcurrencyProps{RequestsInFlightPerTask: jsii.Number(40)}}},
			"agentservice: MaxRequestsInFlight 30 is not above the concurrency scaling target 40 (Scaling.Concurrency.RequestsInFlightPerTask); use more than 40, so that the service scales out before its tasks refuse requests"},
		{"default cap from a token target", &agentservice.Props{Image: img,
			Scaling: &scaling.Props{Concurrency: &scaling.ConcurrencyProps{RequestsInFlightPerTask: token}}},
			"agentservice: Scaling.Concurrency.RequestsInFlightPerTask or MemoryLimitMiB is an unresolved token, so MaxRequestsInFlight cannot be derived from it; set MaxRequestsInFlight too"},
		{"default cap from a token memory", &agentservice.Props{Image: img, MemoryLimitMiB: token},
			"agentservice: Scaling.Concurrency.RequestsInFlightPerTask or MemoryLimitMiB is an unresolved token, so MaxRequestsInFlight cannot be derived from it; set MaxRequestsInFlight too"},
		{"body limit zero", &agentservice.Props{Image: img, MaxRequestBodyBytes: jsii.Number(0)},
			"agentservice: MaxRequestBodyBytes 0 is out of range; use a whole number of bytes from 1 to 1073741824 (1 GiB)"},
		{"body limit above 1 GiB", &agentservice.Props{Image: img, MaxRequestBodyBytes: jsii.Number(1<<30 + 1)},
			"agentservice: MaxRequestBodyBytes 1073741825 is out of range; use a whole number of bytes from 1 to 1073741824 (1 GiB)"},
		{"cap in the environment", &agentservice.Props{Image: img, Environment: &map[string]*string{"AGENTKIT_MAX_IN_FLIGHT": jsii.String("5")}},
			"agentservice: Environment sets AGENTKIT_MAX_IN_FLIGHT, which the construct sets from MaxRequestsInFlight; set MaxRequestsInFlight instead"},
		{"body limit in the environment", &agentservice.Props{Image: img, Environment: &map[string]*string{"AGENTKIT_MAX_REQUEST_BYTES": jsii.String("5")}},
			"agentservice: Environment sets AGENTKIT_MAX_REQUEST_BYTES, which the construct sets from MaxRequestBodyBytes; set MaxRequestBodyBytes instead"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// WHEN the props are validated
			err := c.props.Validate()

			// THEN the message names the prop, the value and what is allowed
			if err == nil || err.Error() != c.want {
				t.Fatalf("got  %v\nwant %s", err, c.want)
			}
		})
	}
	// AND a cap above the target, with the policy off or a token, passes
	for _, p := range []*agentservice.Props{
		{Image: img, MaxRequestsInFlight: jsii.Number(11)},
		{Image: img, MaxRequestsInFlight: jsii.Number(5), Scaling: &scaling.Props{DisableConcurrency: jsii.Bool(true)}},
		{Image: img, MaxRequestsInFlight: token, MaxRequestBodyBytes: token},
	} {
		if err := p.Validate(); err != nil {
			t.Errorf("Validate() = %v", err)
		}
	}
}

func TestTheDashboardShowsTheRefusalsAndTheCap(t *testing.T) {
	// GIVEN the defaults WHEN the stack is synthesized
	resources := astest.Defaults.Synth(t).Synthesized.Template["Resources"].(map[string]any)

	// THEN the dashboard graphs both refusals and marks the cap of 64
	var text string
	for _, r := range resources {
		if res := r.(map[string]any); res["Type"] == "AWS::CloudWatch::Dashboard" {
			text += flatten(res["Properties"].(map[string]any)["DashboardBody"])
		}
	}
	for _, want := range []string{`"RequestsRefused"`, `"RequestsTooLarge"`, `{"label":"Cap (then 503)","value":64,`} {
		if !strings.Contains(text, want) {
			t.Errorf("the dashboard has no %s", want)
		}
	}
}
