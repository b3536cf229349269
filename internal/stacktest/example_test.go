package stacktest_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/internal/mototest"
	"github.com/agentcdk/agentcdk/internal/stacktest"
)

// One synthesis serves every proof of a stack: cdk-nag, cfn-lint and a
// deployment to the emulator, then an update to a new task definition.
func Example() {
	test := func(t *testing.T, build func(awscdk.App) awscdk.Stack, accepted ...stacktest.Suppression) {
		s := stacktest.Synth(t, build(stacktest.NewApp(t)), stacktest.AwsSolutions)
		t.Run("cdk-nag", func(t *testing.T) {
			stacktest.NoFindings(t, s.Findings)
			stacktest.ExpectSuppressions(t, s.Suppressions(), accepted...)
		})
		t.Run("cfn-lint", func(t *testing.T) { stacktest.CfnLint(t, s.TemplatePath) })
		t.Run("moto", func(t *testing.T) {
			d := stacktest.Deploy(t, mototest.Start(t), s.StackName, s.TemplatePath)
			d.Update(t, stacktest.NewRevision(d.Template, 2))
			_ = d.Services(t)
		})
	}
	_ = test
	_ = jsii.String
}
