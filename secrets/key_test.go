package secrets_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/internal/stacktest"
	"github.com/agentcdk/agentcdk/secrets"
)

// viaSSM is the kms:ViaService value of Parameter Store in the fixture's
// Region. KMS's condition key kms:ViaService limits a key's use to requests
// an AWS service makes on the principal's behalf
// (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service);
// ECS reads a SecureString parameter through SSM's GetParameters with
// decryption, so SSM makes the Decrypt call
// (https://docs.aws.amazon.com/systems-manager/latest/userguide/secure-string-parameter-kms-encryption.html).
var viaSSM = map[string]any{"Fn::Join": []any{"", []any{"ssm.eu-west-1.", map[string]any{"Ref": "AWS::URLSuffix"}}}}

func TestParameterKeyLetsOnlyTheExecutionRoleDecrypt(t *testing.T) {
	// GIVEN a parameter key and a parameter encrypted with it
	f := newFixture()
	key := secrets.NewParameterKey(f.stack, jsii.String("ParameterKey"))
	s := secrets.FromParameter("OPENAI_API_KEY", "/agents/prod/OPENAI_API_KEY", 1)
	s.EncryptionKey = key

	// WHEN it is bound to a container
	tpl, _ := f.synth(t, []*secrets.Secret{s})

	// THEN the key is rotated and kept, and its policy lets the account
	// manage it and encrypt through Parameter Store, and the execution role
	// alone decrypt, through Parameter Store
	account := map[string]any{"AWS": map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":iam::123456789012:root"}}}}
	executionRole := map[string]any{"AWS": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^TaskDefExecutionRole")), "Arn"}}}
	tpl.HasResource(jsii.String("AWS::KMS::Key"), map[string]any{
		"DeletionPolicy": "Retain",
		"Properties": assertions.Match_ObjectLike(&map[string]any{
			"EnableKeyRotation": true,
			"KeyPolicy": map[string]any{"Version": "2012-10-17", "Statement": []any{
				map[string]any{"Sid": "KeyAdministration", "Effect": "Allow", "Principal": account, "Resource": "*", "Action": []any{
					"kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
					"kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
					"kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
				}},
				map[string]any{"Sid": "EncryptThroughParameterStore", "Effect": "Allow", "Principal": account, "Resource": "*",
					"Action": []any{"kms:Encrypt", "kms:GenerateDataKey"}, "Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": viaSSM}}},
				map[string]any{"Sid": assertions.Match_StringLikeRegexp(jsii.String("^DecryptForTaskExecution[0-9a-f]{8}$")), "Effect": "Allow", "Principal": executionRole, "Resource": "*",
					"Action": "kms:Decrypt", "Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": viaSSM}}},
			}},
		}),
	})
	// AND no statement of the key policy lets anyone but the execution role
	// decrypt, or use the key with kms:*
	keys := tpl.FindResources(jsii.String("AWS::KMS::Key"), nil)
	for _, k := range *keys {
		for _, st := range (*k)["Properties"].(map[string]any)["KeyPolicy"].(map[string]any)["Statement"].([]any) {
			m := st.(map[string]any)
			actions, _ := json.Marshal(m["Action"])
			principal, _ := json.Marshal(m["Principal"])
			if strings.Contains(string(actions), `"kms:*"`) || strings.Contains(string(actions), "Decrypt") && !strings.Contains(string(principal), "TaskDefExecutionRole") {
				t.Errorf("key policy statement %s lets %s %s", m["Sid"], principal, actions)
			}
		}
	}
	// AND the execution role's own policy allows the decryption on that key
	// only; the task role gets nothing of it
	tpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
		"Roles": []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^TaskDefExecutionRole"))}},
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
			map[string]any{"Action": "kms:Decrypt", "Effect": "Allow", "Resource": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^ParameterKey")), "Arn"}}},
		})},
	})
	if roles := tpl.FindResources(jsii.String("AWS::IAM::Role"), nil); len(*roles) != 2 {
		t.Fatalf("%d roles, want the task and execution roles", len(*roles))
	}
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::IAM::Policy"), map[string]any{
		"Roles": []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^TaskDefTaskRole"))}},
	}, jsii.Number(0))
}

func TestImportedKeysPolicyIsLeftToItsOwner(t *testing.T) {
	// GIVEN a parameter encrypted with an imported key
	f := newFixture()
	s := secrets.FromParameter("OPENAI_API_KEY", "/agents/prod/OPENAI_API_KEY", 0)
	s.EncryptionKey = f.key
	// WHEN it is bound
	tpl, _ := f.synth(t, []*secrets.Secret{s})
	// THEN no key is made or changed: its owner writes its policy
	tpl.ResourceCountIs(jsii.String("AWS::KMS::Key"), jsii.Number(0))
}

func TestParameterKeySharedByTwoServices(t *testing.T) {
	// GIVEN one parameter key for a web service's and a worker's secrets
	f := newFixture()
	key := secrets.NewParameterKey(f.stack, jsii.String("ParameterKey"))
	for _, name := range []string{"Web", "Worker"} {
		s := secrets.FromParameter("OPENAI_API_KEY", "/agents/prod/OPENAI_API_KEY", 1)
		s.EncryptionKey = key
		task := awsecs.NewFargateTaskDefinition(f.stack, jsii.String(name), nil)
		task.AddContainer(jsii.String("agent"), &awsecs.ContainerDefinitionOptions{
			Image:   awsecs.ContainerImage_FromRegistry(jsii.String("example/agent"), nil),
			Secrets: secrets.Bind(task, []*secrets.Secret{s}),
		})
	}
	tpl := assertions.Template_FromStack(f.stack, nil)
	// THEN the key policy names each execution role in a statement of its
	// own, with IDs that differ, as a policy's statement IDs must
	sids := map[string]string{}
	for _, k := range *tpl.FindResources(jsii.String("AWS::KMS::Key"), nil) {
		for _, st := range (*k)["Properties"].(map[string]any)["KeyPolicy"].(map[string]any)["Statement"].([]any) {
			m := st.(map[string]any)
			if sid, _ := m["Sid"].(string); strings.HasPrefix(sid, "DecryptForTaskExecution") {
				principal, _ := json.Marshal(m["Principal"])
				sids[sid] = string(principal)
			}
		}
	}
	if len(sids) != 2 {
		t.Fatalf("decrypt statements %v, want one per execution role", sids)
	}
	roles := map[string]bool{}
	for _, p := range sids {
		roles[p] = true
	}
	if len(roles) != 2 {
		t.Errorf("decrypt statements %v name one role twice", sids)
	}
}

func TestParameterKeyPassesTheRulePacks(t *testing.T) {
	// GIVEN a parameter key bound to a container's secret
	f := newFixture()
	key := secrets.NewParameterKey(f.stack, jsii.String("ParameterKey"))
	s := secrets.FromParameter("OPENAI_API_KEY", "/agents/prod/OPENAI_API_KEY", 1)
	s.EncryptionKey = key
	task := awsecs.NewFargateTaskDefinition(f.stack, jsii.String("TaskDef"), nil)
	task.AddContainer(jsii.String("agent"), &awsecs.ContainerDefinitionOptions{
		Image:   awsecs.ContainerImage_FromRegistry(jsii.String("example/agent"), nil),
		Secrets: secrets.Bind(task, []*secrets.Secret{s}),
	})
	// WHEN cdk-nag's packs run over it
	synthesized := stacktest.Synth(t, f.stack, stacktest.AwsSolutions, stacktest.NIST80053R5, stacktest.HIPAA, stacktest.PCIDSS321)
	// THEN none of them finds anything on the key (the bare task
	// definition around it is not what this test judges)
	var onKey []stacktest.Finding
	for _, finding := range synthesized.Findings {
		if strings.Contains(finding.Path, "/ParameterKey") {
			onKey = append(onKey, finding)
		}
	}
	stacktest.NoFindings(t, onKey)
	// AND the packs did run: the bare task definition has findings of its own
	if len(synthesized.Findings) == len(onKey) {
		t.Error("no finding at all: the packs did not run")
	}
}
