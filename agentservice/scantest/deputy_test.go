package scantest_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
	"github.com/agentcdk/agentcdk/internal/stacktest"
)

// The confused-deputy conditions each trust policy's guide gives: ECS's
// task role (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html:
// aws:SourceArn arn:aws:ecs:REGION:ACCOUNT:*, one cluster not supported)
// and the VPC flow log's role
// (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html:
// arn:aws:ec2:REGION:ACCOUNT:vpc-flow-log/ID). The exceptions and their
// pages are stacktest.DeputyExceptions.

// trust is the condition stacktest's deputy walker wants on a role that
// SERVICE assumes for resources "arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE".
func trust(service, resource string) map[string]any {
	return map[string]any{
		"StringEquals": map[string]any{"aws:SourceAccount": map[string]any{"Ref": "AWS::AccountId"}},
		"ArnLike": map[string]any{"aws:SourceArn": map[string]any{"Fn::Join": []any{"", []any{
			"arn:", map[string]any{"Ref": "AWS::Partition"}, ":" + service + ":", map[string]any{"Ref": "AWS::Region"}, ":",
			map[string]any{"Ref": "AWS::AccountId"}, ":" + resource,
		}}}},
	}
}

func TestTrustPoliciesNameTheirSource(t *testing.T) {
	for _, c := range []*astest.Case{astest.Defaults, astest.WorkerDefaults} {
		t.Run(c.Name, func(t *testing.T) {
			// GIVEN the defaults of a construct
			resources := c.Synth(t).Synthesized.Template["Resources"].(map[string]any)
			// THEN the task role may be assumed by ECS for this account's
			// tasks only, and the flow log's role by this account's flow logs
			want := map[string]map[string]any{
				"TaskDefTaskRole":   trust("ecs", "*"),
				"VpcFlowLogIAMRole": trust("ec2", "vpc-flow-log/*"),
			}
			found := 0
			for id, res := range resources {
				r := res.(map[string]any)
				if r["Type"] != "AWS::IAM::Role" {
					continue
				}
				for suffix, cond := range want {
					if !strings.Contains(id, suffix) {
						continue
					}
					found++
					st := r["Properties"].(map[string]any)["AssumeRolePolicyDocument"].(map[string]any)["Statement"].([]any)[0].(map[string]any)
					if !reflect.DeepEqual(st["Condition"], cond) {
						t.Errorf("%s trust condition = %v\nwant %v", id, st["Condition"], cond)
					}
				}
			}
			if found != len(want) {
				t.Errorf("found %d of the %d roles", found, len(want))
			}
		})
	}
}

func TestEveryServicePrincipalIsConfined(t *testing.T) {
	cases := []*astest.Case{astest.Defaults, astest.BlueGreen, astest.CanaryTestHeader, astest.SpendAlarms, astest.WorkerDefaults, astest.WorkerKeySendSecrets, astest.WorkerExecSpot, astest.BlueGreenOwnChoices, astest.Runs}
	for _, c := range astest.ComplianceCases {
		cases = append(cases, c.Stack)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			// GIVEN a main option combination of the constructs
			s := c.Synth(t)
			// THEN every statement of every policy that lets an AWS service
			// in carries aws:SourceAccount or aws:SourceArn, or is one of
			// the documented exceptions
			for _, open := range stacktest.UnconfinedServiceStatements(s.Synthesized.Template, stacktest.DeputyExceptions) {
				t.Error(open)
			}
		})
	}
}
