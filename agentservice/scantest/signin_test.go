package scantest_test

import (
	"testing"

	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
	"github.com/agentcdk/agentcdk/internal/stacktest"
)

func TestSignInPassesCdkNag(t *testing.T) {
	// GIVEN the OIDC stack, synthesized with cdk-nag's AwsSolutions pack
	// (TestTemplatesPassCfnLint lints it and the Cognito one)
	s := astest.OIDCSignIn.Synth(t)

	// THEN nothing is left unsuppressed
	stacktest.NoFindings(t, s.Findings)
	// AND the suppressions are exactly those every public HTTPS service
	// carries, each with its reason: the listener ports open to the
	// internet, the access-log bucket that cannot log to itself, the
	// runtime contract in plain environment variables, the VPC's
	// default-security-group provider
	stacktest.ExpectSuppressions(t, s.Suppressions(stacktest.AwsSolutions),
		stacktest.Suppression{Path: "/OIDC/Agent/LBSecurityGroup/Resource", Rule: "AwsSolutions-EC23"},
		stacktest.Suppression{Path: "/OIDC/Agent/AccessLogs/Resource", Rule: "AwsSolutions-S1"},
		stacktest.Suppression{Path: "/OIDC/Agent/TaskDef/Resource", Rule: "AwsSolutions-ECS2"},
		stacktest.Suppression{Path: "/OIDC/Custom::VpcRestrictDefaultSGCustomResourceProvider/Role", Rule: "AwsSolutions-IAM4",
			AppliesTo: []string{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}},
	)
}
