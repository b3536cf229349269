package secrets_test

import (
	"strings"
	"testing"

	"github.com/agentcdk/agentcdk/secrets"
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"
)

// secretStub is an ISecret for validation only: Validate never calls it.
type secretStub struct{ awssecretsmanager.ISecret }

func TestValidateRejectsBadInput(t *testing.T) {
	sm := secretStub{}
	param := func(env, name string, version int) *secrets.Secret { return secrets.FromParameter(env, name, version) }
	withField := func(s *secrets.Secret, f string) *secrets.Secret { s.Field = &f; return s }
	cases := []struct {
		name string
		list []*secrets.Secret
		want string
	}{
		{"nil entry", []*secrets.Secret{param("A", "/a", 0), nil},
			"secrets: secret 2 of 2 is nil; drop it or fill it in"},
		{"no env name", []*secrets.Secret{{ParameterName: jsii.String("/a")}},
			"secrets: EnvName of secret 1 is missing; use an environment variable name such as OPENAI_API_KEY"},
		{"env name starts with a digit", []*secrets.Secret{param("1KEY", "/a", 0)},
			`secrets: EnvName "1KEY" is not a valid identifier; use letters, digits and underscores, not starting with a digit`},
		{"env name with a dash", []*secrets.Secret{param("OPENAI-KEY", "/a", 0)},
			`secrets: EnvName "OPENAI-KEY" is not a valid identifier; use letters, digits and underscores, not starting with a digit`},
		{"two sources", []*secrets.Secret{{EnvName: jsii.String("A"), ParameterName: jsii.String("/a"), SecretsManager: sm}},
			`secrets: A has both ParameterName "/a" and SecretsManager; use exactly one source`},
		{"no source", []*secrets.Secret{{EnvName: jsii.String("A")}},
			"secrets: A has no source; set ParameterName or SecretsManager"},
		{"empty parameter name", []*secrets.Secret{param("A", "", 0)},
			`secrets: ParameterName "" for A is empty; use a name such as "/agents/prod/OPENAI_API_KEY"`},
		{"space in parameter name", []*secrets.Secret{param("A", "/agents/prod/OPENAI KEY", 0)},
			`secrets: ParameterName "/agents/prod/OPENAI KEY" for A holds characters SSM refuses; use only a-z, A-Z, 0-9, "_", ".", "-" and "/"`},
		{"ARN as parameter name", []*secrets.Secret{param("A", "arn:aws:ssm:eu-west-1:123456789012:parameter/a", 0)},
			`secrets: ParameterName "arn:aws:ssm:eu-west-1:123456789012:parameter/a" for A holds characters SSM refuses; use only a-z, A-Z, 0-9, "_", ".", "-" and "/"`},
		{"aws prefix", []*secrets.Secret{param("A", "/AWS/keys/A", 0)},
			`secrets: ParameterName "/AWS/keys/A" for A starts with a reserved prefix; names may not start with "aws" or "ssm" in any case`},
		{"ssm prefix", []*secrets.Secret{param("A", "ssm-key", 0)},
			`secrets: ParameterName "ssm-key" for A starts with a reserved prefix; names may not start with "aws" or "ssm" in any case`},
		{"hierarchy not fully qualified", []*secrets.Secret{param("A", "agents/prod/A", 0)},
			`secrets: ParameterName "agents/prod/A" for A is in a hierarchy but not fully qualified; start it with "/"`},
		{"empty level", []*secrets.Secret{param("A", "/agents//A", 0)},
			`secrets: ParameterName "/agents//A" for A has an empty level; use names such as "/agents/prod/OPENAI_API_KEY", without "//" or a trailing "/"`},
		{"too deep", []*secrets.Secret{param("A", strings.Repeat("/l", 16), 0)},
			`secrets: ParameterName "` + strings.Repeat("/l", 16) + `" for A is 16 levels deep; use at most 15`},
		{"too long", []*secrets.Secret{param("A", "/"+strings.Repeat("a", 966), 0)},
			"secrets: ParameterName of 967 characters for A is too long; use at most 966 characters"},
		{"version zero", []*secrets.Secret{{EnvName: jsii.String("A"), ParameterName: jsii.String("/a"), Version: jsii.Number(0)}},
			"secrets: Version 0 of A is not a parameter version; use a whole number of 1 or more, or leave it unset for the latest"},
		{"negative version", []*secrets.Secret{param("A", "/a", -3)},
			"secrets: Version -3 of A is not a parameter version; use a whole number of 1 or more, or leave it unset for the latest"},
		{"fractional version", []*secrets.Secret{{EnvName: jsii.String("A"), ParameterName: jsii.String("/a"), Version: jsii.Number(1.5)}},
			"secrets: Version 1.5 of A is not a parameter version; use a whole number of 1 or more, or leave it unset for the latest"},
		{"field on a parameter", []*secrets.Secret{withField(param("A", "/a", 0), "key")},
			`secrets: Field "key" of A applies to Secrets Manager secrets only; drop it for the parameter "/a"`},
		{"version on a secret", []*secrets.Secret{{EnvName: jsii.String("A"), SecretsManager: sm, Version: jsii.Number(1)}},
			"secrets: Version 1 of A applies to SSM parameters only; drop it for the Secrets Manager secret"},
		{"empty field", []*secrets.Secret{secrets.FromSecretsManagerField("A", sm, "")},
			`secrets: Field "" of A is not a JSON field ECS can select; use a non-empty top-level key without ":", or leave it unset for the whole secret`},
		{"field with a colon", []*secrets.Secret{secrets.FromSecretsManagerField("A", sm, "a:b")},
			`secrets: Field "a:b" of A is not a JSON field ECS can select; use a non-empty top-level key without ":", or leave it unset for the whole secret`},
		{"key given twice", []*secrets.Secret{param("A", "/a", 0), param("B", "/b", 0), secrets.FromSecretsManager("A", sm)},
			`secrets: EnvName "A" is given twice (secrets 1 and 3); give each variable one source`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a bad list WHEN validated THEN the message names prop, value and what is allowed
			err := secrets.Validate(c.list)
			if err == nil || err.Error() != c.want {
				t.Errorf("Validate() = %v\nwant        %s", err, c.want)
			}
		})
	}
}

func TestValidateAcceptsGoodInputAndTokens(t *testing.T) {
	// GIVEN good names, simple and at the limits, and values only known at deploy time
	sm := secretStub{}
	deep := strings.Repeat("/l", 15)
	list := []*secrets.Secret{
		secrets.FromParameter("OPENAI_API_KEY", "/agents/prod/OPENAI_API_KEY", 1),
		secrets.FromParameter("_simple", "simple.name-1", 0),
		secrets.FromParameter("DEEP", deep, 7),
		secrets.FromParameter("LONG", "/"+strings.Repeat("a", 965), 0),
		secrets.FromSecretsManager("DB", sm),
		secrets.FromSecretsManagerField("DB_PASSWORD", sm, "password"),
		{EnvName: jsii.String("TOKEN_NAME"), ParameterName: awscdk.Aws_STACK_NAME(), Version: awscdk.Token_AsNumber(awscdk.Aws_ACCOUNT_ID())},
	}
	// WHEN validated THEN nothing is reported
	if err := secrets.Validate(list); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
	if err := secrets.Validate(nil); err != nil {
		t.Errorf("Validate(nil) = %v, want nil", err)
	}
}

func TestFromParametersJoinsThePrefix(t *testing.T) {
	cases := []struct{ prefix, want string }{
		{"/agents/prod", "/agents/prod/OPENAI_API_KEY"},
		{"/agents/prod/", "/agents/prod/OPENAI_API_KEY"},
		{"", "OPENAI_API_KEY"},
	}
	for _, c := range cases {
		// GIVEN a prefix WHEN parameters are made under it THEN the names join with one "/"
		got := secrets.FromParameters(c.prefix, 0, "OPENAI_API_KEY")
		if len(got) != 1 || *got[0].ParameterName != c.want || got[0].Version != nil {
			t.Errorf("FromParameters(%q) = %+v, want %s at the latest version", c.prefix, got[0], c.want)
		}
	}
}

func TestVersionLabels(t *testing.T) {
	// GIVEN one pinned parameter, one at the latest version and a Secrets Manager secret
	list := []*secrets.Secret{
		secrets.FromParameter("A", "/a", 3),
		secrets.FromParameter("B", "/b", 0),
		secrets.FromSecretsManager("C", secretStub{}),
	}
	// WHEN labels are made THEN only the pinned parameter has one
	got := secrets.VersionLabels(list)
	if got == nil || len(*got) != 1 || *(*got)["agentcdk.secret-version.A"] != "3" {
		t.Errorf("VersionLabels = %v, want only agentcdk.secret-version.A=3", got)
	}
	if secrets.VersionLabels(list[1:]) != nil {
		t.Error("VersionLabels without pins is not nil")
	}
}
