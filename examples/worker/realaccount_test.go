package main

import (
	"testing"

	"github.com/agentcdk/agentcdk/internal/stacktest"
)

// realAccount holds the example's stack to what a real account needs
// beyond a first deploy: `cdk deploy`, `cdk destroy`, `cdk deploy` again,
// and examples/basic deployed beside it in the same account and Region.
// The key policies, principals and names each resource needs are checked
// against AWS's documentation in package agentservice's template tests;
// the destroy and the second deploy (deployAgain) follow the first deploy
// in the moto subtest, on one emulator.
func realAccount(t *testing.T, s *stacktest.Synthesized) {
	t.Run("no physical name is fixed", func(t *testing.T) {
		// WHEN the template's physical names are read
		// THEN none is fixed at synth time: every name is generated, or ends
		// with the stack's ID, so neither a redeploy after a destroy that
		// kept a resource nor examples/basic (whose only fixed name is its
		// cluster's, ai-agents-prod) collides with it
		stacktest.ExpectFixedNames(t, s.Template)
	})
}

// deployAgain is the rest of realAccount's cycle, on the stack deployed
// (and updated) to the emulator as first: `cdk destroy`, then `cdk deploy`.
func deployAgain(t *testing.T, first *stacktest.Deployment, s *stacktest.Synthesized) {
	t.Helper()
	// WHEN the stack is destroyed, which keeps its log groups as
	// CloudFormation does, and deployed again under the same name
	waf := s.LogicalID(t, "AWS::Logs::LogGroup", "/WorkerAgent/Agent/FirewallLogs/Resource")
	wafBefore := first.PhysicalIDs[waf]
	again := first.DeployAgain(t, s.TemplatePath)

	// THEN the second deployment completes (DeployAgain fails otherwise),
	// with a web ACL log group of its own beside the one the first left
	// behind
	if b := again.PhysicalIDs[waf]; wafBefore == "" || wafBefore == b {
		t.Errorf("web ACL log group: first deployment %q, second %q; want two different names", wafBefore, b)
	}
	if n := len(again.Services(t)); n != 2 {
		t.Errorf("%d services after the second deployment, want 2", n)
	}
}
