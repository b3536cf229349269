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
	// GIVEN the web ACL's log group, which the stack keeps at its delete
	waf := s.LogicalID(t, "AWS::Logs::LogGroup", "/WorkerAgent/Agent/FirewallLogs/Resource")
	if policy := s.Resources("AWS::Logs::LogGroup")[waf]["DeletionPolicy"]; policy != "Retain" {
		t.Fatalf("web ACL log group %s: DeletionPolicy %v, want Retain", waf, policy)
	}

	// WHEN the stack is destroyed and deployed again under the same name
	again := first.DeployAgain(t, s)

	// THEN the second deployment completes, with log groups of its own
	// beside the ones the first left behind (DeployAgain fails otherwise),
	// and runs its services
	if n := len(again.Services(t)); n != 2 {
		t.Errorf("%d services after the second deployment, want 2", n)
	}
}
