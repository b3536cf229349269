package scantest_test

import (
	"testing"

	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
	"github.com/agentcdk/agentcdk/internal/stacktest"
)

// TestTemplatesPassCfnLint lints the templates of the blue/green-family
// deploys, of the worker's option combinations, of a load balancer that
// verifies JWTs, of the browser sign-ins (OIDC, Cognito) and of the runs
// (a web service and a worker sharing a RunStore) in one
// cfn-lint run:
// cfn-lint spends seconds loading before it reads a template, and well
// under one on each template after that.
func TestTemplatesPassCfnLint(t *testing.T) {
	// GIVEN the stacks, synthesized
	var paths []string
	// (and the load balancer's JWT validation of the compliance case
	// "https with a certificate")
	for _, c := range []*astest.Case{astest.BlueGreen, astest.CanaryTestHeader, astest.Linear, astest.WorkerDefaults, astest.WorkerKeySendSecrets, astest.WorkerExecSpot, astest.SpendAlarms, astest.BlueGreenOwnChoices,
		astest.ComplianceStack(t, "https with a certificate"), astest.OIDCSignIn, astest.CognitoSignIn, astest.Runs} {
		paths = append(paths, c.Synth(t).TemplatePath)
	}
	// WHEN cfn-lint checks them: it starts now, and lints while the tests
	// that use jsii run; the rest of this test waits for it with no jsii
	// call, beside the other such test (the deploys to moto)
	wait := stacktest.StartCfnLint(t, paths...)
	t.Parallel()

	// THEN it reports no error and no warning in any
	wait()
}
