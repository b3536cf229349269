package scantest_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
	"github.com/agentcdk/agentcdk/internal/stacktest"
)

func TestComplianceAwsSolutions(t *testing.T) {
	for _, tc := range astest.ComplianceCases {
		t.Run(tc.Name, func(t *testing.T) {
			// GIVEN the construct with one main option combination
			// WHEN it is synthesized once with cdk-nag's AwsSolutions pack
			s := tc.Stack.Synth(t)

			// THEN nothing is left unsuppressed in the construct tree, but
			// the warning a case that serves plain HTTP on the internet asked for
			stacktest.NoFindings(t, expectWarning(t, tc, s.Findings))
			// AND, in the template as a scanner of CloudFormation reads it
			// (every pack in one scan), nothing of AwsSolutions, and no rule
			// that could not run
			scan := stacktest.ScanPacks(t, s.TemplatePath, stacktest.Packs...)
			stacktest.NoFindings(t, scan[stacktest.AwsSolutions])
			stacktest.NoFindings(t, scan[""])
			// AND exactly the accepted suppressions are in the template
			stacktest.ExpectSuppressions(t, s.Suppressions(stacktest.AwsSolutions), tc.Want...)
			// AND the compliance packs find, in the template, only the
			// decisions the case leaves to its user
			for pack, rules := range decisions(tc) {
				stacktest.ExpectFindings(t, pack, scan[pack], rules...)
			}
		})
	}
}

// expectWarning takes out of findings the warnings a warned case must
// carry, once each, on the construct (plain HTTP on the internet, no
// caller check), and fails without them.
func expectWarning(t *testing.T, tc astest.ComplianceCase, findings []stacktest.Finding) []stacktest.Finding {
	t.Helper()
	rest := findings
	for _, w := range []struct{ id, text string }{
		{"agentcdk:publicHTTP", "serves plain HTTP on the internet"},
		{"agentcdk:noAuth", "serves every caller without asking who it is"},
	} {
		before := len(rest)
		rest = slices.DeleteFunc(slices.Clone(rest), func(f stacktest.Finding) bool {
			return f.Level == "warning" && f.Path == "/Compliance/Agent" && strings.Contains(f.Message, w.id) &&
				strings.Contains(f.Message, w.text)
		})
		if warned := before - len(rest); tc.Warned && warned != 1 {
			t.Errorf("%d %s warnings on /Compliance/Agent, want 1", warned, w.id)
		}
	}
	return rest
}

// decisions are the compliance findings a case leaves to its user: HTTP
// where viewers connect (closed by the default front, or Certificate or
// DomainName), deletion
// protection off (closed by DeletionProtection), and the latency and EMF
// errors alarms, which notify no one (closed by AlarmTopic).
func decisions(tc astest.ComplianceCase) map[stacktest.Pack][]string {
	var http, others []string
	if tc.PlainHTTP {
		http = []string{"ALBHttpToHttpsRedirection", "ELBv2ACMCertificateRequired"}
	}
	if !tc.DeletionProtection {
		others = append(others, "ELBDeletionProtectionEnabled")
	}
	if !tc.Topic {
		others = append(others, "CloudWatchAlarmAction", "CloudWatchAlarmAction")
	}
	return map[stacktest.Pack][]string{
		stacktest.NIST80053R5: append(slices.Clone(http), others...),
		stacktest.HIPAA:       append(slices.Clone(http), others...),
		stacktest.PCIDSS321:   http,
	}
}

func TestWorkerStackPassesCdkNag(t *testing.T) {
	cases := []struct {
		name  string
		stack *astest.Case
		// more are the suppressions of the case beyond the inherent ones.
		more []stacktest.Suppression
	}{
		{"defaults", astest.WorkerDefaults, nil},
		{"kms key, send, secrets", astest.WorkerKeySendSecrets, []stacktest.Suppression{{Path: "/Worker/Worker/TaskDef/TaskRole/DefaultPolicy/Resource", Rule: "AwsSolutions-IAM5",
			AppliesTo: []string{"Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"}}}},
		{"ecs exec, spot", astest.WorkerExecSpot, []stacktest.Suppression{
			{Path: "/Worker/Worker/TaskDef/TaskRole/InherentPolicy", Rule: "AwsSolutions-IAM5", AppliesTo: []string{"Resource::*"}},
			{Path: "/Worker/Worker/TaskDef/TaskRole/DefaultPolicy/Resource", Rule: "AwsSolutions-IAM5",
				AppliesTo: []string{"Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<WorkerExecLogs4BC6ADA5>:*"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a worker stack
			// WHEN it synthesizes under cdk-nag's AwsSolutions pack
			s := c.stack.Synth(t)

			// THEN nothing is left unsuppressed in the construct tree
			stacktest.NoFindings(t, s.Findings)
			// AND, in the template as a scanner of CloudFormation reads it
			// (every pack in one scan), nothing of AwsSolutions, and no rule
			// that could not run
			scan := stacktest.ScanPacks(t, s.TemplatePath, stacktest.Packs...)
			stacktest.NoFindings(t, scan[stacktest.AwsSolutions])
			stacktest.NoFindings(t, scan[""])
			// AND the suppressions are exactly the inherent ones, each narrowed
			want := append([]stacktest.Suppression{
				{Path: "/Worker/Worker/TaskDef/Resource", Rule: "AwsSolutions-ECS2"},
				{Path: "/Worker/Worker/TaskDef/TaskRole/DefaultPolicy/Resource", Rule: "AwsSolutions-IAM5",
					AppliesTo: []string{"Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<WorkerCluster89E4DD17>/*"}},
				// Each case makes a new VPC: the CDK's provider that empties
				// its default security group logs through a managed policy.
				{Path: "/Worker/Custom::VpcRestrictDefaultSGCustomResourceProvider/Role", Rule: "AwsSolutions-IAM4",
					AppliesTo: []string{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}},
			}, c.more...)
			stacktest.ExpectSuppressions(t, s.Suppressions(stacktest.AwsSolutions), want...)
			// AND the compliance packs find in the template only the one
			// decision left to the user: no AlarmTopic, so the dead-letter,
			// oldest-message and EMF errors alarms notify no one (AlarmTopic
			// closes it)
			for pack, rules := range map[stacktest.Pack][]string{
				stacktest.NIST80053R5: {"CloudWatchAlarmAction", "CloudWatchAlarmAction", "CloudWatchAlarmAction"},
				stacktest.HIPAA:       {"CloudWatchAlarmAction", "CloudWatchAlarmAction", "CloudWatchAlarmAction"},
				stacktest.PCIDSS321:   nil,
			} {
				stacktest.ExpectFindings(t, pack, scan[pack], rules...)
			}
		})
	}
}
