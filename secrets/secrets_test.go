package secrets_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/agentcdk/agentcdk/internal/cdktest"
	"github.com/agentcdk/agentcdk/secrets"
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"
)

func TestMain(m *testing.M) {
	os.Exit(cdktest.Run(m))
}

const (
	keyArn    = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
	secretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:agents/db-AbCdEf"
)

// fixture is a stack in a known account and region, with a customer-managed
// key and a Secrets Manager secret to refer to.
type fixture struct {
	stack  awscdk.Stack
	key    awskms.IKey
	secret awssecretsmanager.ISecret
}

func newFixture() fixture {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("eu-west-1")},
	})
	return fixture{
		stack:  stack,
		key:    awskms.Key_FromKeyArn(stack, jsii.String("Key"), jsii.String(keyArn)),
		secret: awssecretsmanager.Secret_FromSecretCompleteArn(stack, jsii.String("Db"), jsii.String(secretArn)),
	}
}

// synth binds list into a throwaway Fargate container and returns the
// template and its JSON text.
func (f fixture) synth(t *testing.T, list []*secrets.Secret) (assertions.Template, string) {
	t.Helper()
	task := awsecs.NewFargateTaskDefinition(f.stack, jsii.String("TaskDef"), nil)
	task.AddContainer(jsii.String("agent"), &awsecs.ContainerDefinitionOptions{
		Image:        awsecs.ContainerImage_FromRegistry(jsii.String("example/agent"), nil),
		Secrets:      secrets.Bind(f.stack, list),
		DockerLabels: secrets.VersionLabels(list),
	})
	tpl := assertions.Template_FromStack(f.stack, nil)
	text, err := json.Marshal(tpl.ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	return tpl, string(text)
}

// parameterArn is the ARN the CDK writes for an SSM parameter of this stack.
func parameterArn(name string) map[string]any {
	return map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"},
		":ssm:eu-west-1:123456789012:parameter" + name}}}
}

var ssmRead = []any{"ssm:DescribeParameters", "ssm:GetParameters", "ssm:GetParameter", "ssm:GetParameterHistory"}

// executionStatements returns the execution role policy's statements.
func executionStatements(t *testing.T, tpl assertions.Template) []map[string]any {
	t.Helper()
	policies := tpl.FindResources(jsii.String("AWS::IAM::Policy"), map[string]any{
		"Properties": map[string]any{"Roles": []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^TaskDefExecutionRole"))}}},
	})
	var out []map[string]any
	for _, p := range *policies {
		doc := (*p)["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
		for _, s := range doc["Statement"].([]any) {
			out = append(out, s.(map[string]any))
		}
	}
	return out
}

func TestReferenceSecretsReadExactlyTheirParameters(t *testing.T) {
	// GIVEN the reference secrets: two keys under /agents/prod, pinned to version 1
	f := newFixture()
	list := secrets.FromParameters("/agents/prod", 1, "OPENAI_API_KEY", "ANTHROPIC_API_KEY")

	// WHEN they are bound to a container
	tpl, text := f.synth(t, list)

	// THEN the container reads each from its parameter's ARN at task start
	tpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
		"ContainerDefinitions": []any{assertions.Match_ObjectLike(&map[string]any{
			"Secrets": []any{
				map[string]any{"Name": "ANTHROPIC_API_KEY", "ValueFrom": parameterArn("/agents/prod/ANTHROPIC_API_KEY")},
				map[string]any{"Name": "OPENAI_API_KEY", "ValueFrom": parameterArn("/agents/prod/OPENAI_API_KEY")},
			},
			"Environment":  assertions.Match_Absent(),
			"DockerLabels": map[string]any{"agentcdk.secret-version.OPENAI_API_KEY": "1", "agentcdk.secret-version.ANTHROPIC_API_KEY": "1"},
		})},
	})
	// AND the execution role may read exactly those two parameters, nothing wider, and decrypt nothing
	statements := executionStatements(t, tpl)
	if len(statements) != 2 {
		t.Fatalf("execution role has %d statements, want 2: %v", len(statements), statements)
	}
	tpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
		"PolicyDocument": map[string]any{"Statement": []any{
			map[string]any{"Action": ssmRead, "Effect": "Allow", "Resource": parameterArn("/agents/prod/ANTHROPIC_API_KEY")},
			map[string]any{"Action": ssmRead, "Effect": "Allow", "Resource": parameterArn("/agents/prod/OPENAI_API_KEY")},
		}},
	})
	if strings.Contains(text, `*`) || strings.Contains(text, "kms:") {
		t.Errorf("template holds a wildcard or a KMS grant:\n%s", text)
	}
	// AND no secret value, and no dynamic reference that would resolve one, is in the template
	if strings.Contains(text, "resolve:ssm") {
		t.Errorf("template holds a dynamic reference:\n%s", text)
	}
	// AND importing parameters creates no resource
	tpl.ResourceCountIs(jsii.String("AWS::SSM::Parameter"), jsii.Number(0))
}

func TestEncryptionKeyGetsADecryptGrantOnExactlyThatKey(t *testing.T) {
	// GIVEN a parameter encrypted with a customer-managed key
	f := newFixture()
	s := secrets.FromParameter("OPENAI_API_KEY", "/agents/prod/OPENAI_API_KEY", 0)
	s.EncryptionKey = f.key

	// WHEN it is bound
	tpl, _ := f.synth(t, []*secrets.Secret{s})

	// THEN the execution role may decrypt with that key and read that parameter
	tpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
		"PolicyDocument": map[string]any{"Statement": []any{
			map[string]any{"Action": "kms:Decrypt", "Effect": "Allow", "Resource": keyArn},
			map[string]any{"Action": ssmRead, "Effect": "Allow", "Resource": parameterArn("/agents/prod/OPENAI_API_KEY")},
		}},
	})
	// AND the latest version is read, so there is no version label
	tpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
		"ContainerDefinitions": []any{assertions.Match_ObjectLike(&map[string]any{"DockerLabels": assertions.Match_Absent()})},
	})
}

func TestSecretsManagerWholeAndField(t *testing.T) {
	// GIVEN a whole secret, and one field of it encrypted with a customer-managed key
	f := newFixture()
	field := secrets.FromSecretsManagerField("DB_PASSWORD", f.secret, "password")
	field.EncryptionKey = f.key
	list := []*secrets.Secret{secrets.FromSecretsManager("DB", f.secret), field}

	// WHEN they are bound
	tpl, text := f.synth(t, list)

	// THEN ECS reads the whole secret and the field
	tpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
		"ContainerDefinitions": []any{assertions.Match_ObjectLike(&map[string]any{
			"Secrets": []any{
				map[string]any{"Name": "DB", "ValueFrom": secretArn},
				map[string]any{"Name": "DB_PASSWORD", "ValueFrom": secretArn + ":password::"},
			},
		})},
	})
	// AND the execution role may read exactly that secret and decrypt with exactly that key
	tpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
			map[string]any{"Action": []any{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, "Effect": "Allow", "Resource": secretArn},
			assertions.Match_ObjectLike(&map[string]any{"Action": "kms:Decrypt", "Effect": "Allow", "Resource": keyArn}),
		})},
	})
	if strings.Contains(text, `"*"`) {
		t.Errorf("template holds a wildcard resource:\n%s", text)
	}
}

func TestBindWithNothingCreatesNothing(t *testing.T) {
	// GIVEN no secrets
	f := newFixture()
	// WHEN they are bound
	got := secrets.Bind(f.stack, nil)
	// THEN the map is empty and no construct was added
	if got == nil || len(*got) != 0 {
		t.Errorf("Bind(nil) = %v, want an empty map", got)
	}
	if f.stack.Node().TryFindChild(jsii.String("Secrets")) != nil {
		t.Error("Bind(nil) created a Secrets construct")
	}
}

func TestBindPanicsBeforeCreatingAnything(t *testing.T) {
	// GIVEN a version below 1
	f := newFixture()
	list := []*secrets.Secret{secrets.FromParameter("OPENAI_API_KEY", "/agents/prod/OPENAI_API_KEY", -1)}
	// WHEN it is bound THEN Bind panics with the Validate message and creates nothing
	defer func() {
		want := "secrets: Version -1 of OPENAI_API_KEY is not a parameter version; use a whole number of 1 or more, or leave it unset for the latest"
		if r := recover(); r != want {
			t.Errorf("panic = %v\nwant    %s", r, want)
		}
		if f.stack.Node().TryFindChild(jsii.String("Secrets")) != nil {
			t.Error("Bind created a Secrets construct before panicking")
		}
	}()
	secrets.Bind(f.stack, list)
}
