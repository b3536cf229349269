package agentservice_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
)

// containerEnv is the agent container's environment in tmpl, resolved as
// the template holds it.
func containerEnv(t *testing.T, tmpl assertions.Template) map[string]any {
	t.Helper()
	defs := properties(t, tmpl, "AWS::ECS::TaskDefinition")
	if len(defs) != 1 {
		t.Fatalf("%d task definitions, want 1", len(defs))
	}
	containers := defs[0]["ContainerDefinitions"].([]any)
	env := map[string]any{}
	for _, kv := range containers[0].(map[string]any)["Environment"].([]any) {
		m := kv.(map[string]any)
		env[m["Name"].(string)] = m["Value"]
	}
	return env
}

// policies are the Properties of every identity policy in tmpl; the
// construct turns the roles' default policies into managed policies.
func policies(t *testing.T, tmpl assertions.Template) []map[string]any {
	t.Helper()
	return append(properties(t, tmpl, "AWS::IAM::Policy"), properties(t, tmpl, "AWS::IAM::ManagedPolicy")...)
}

// apiKeysOutput is the stack output that names the API keys' secret, or
// nil.
func apiKeysOutput(t *testing.T, tmpl assertions.Template) map[string]any {
	t.Helper()
	for id, o := range *tmpl.FindOutputs(jsii.String("*"), nil) {
		if strings.HasPrefix(id, "AgentAPIKeysSecret") {
			return *o
		}
	}
	return nil
}

// taskRoleStatements are the statements of the task role's default policy.
func taskRoleStatements(t *testing.T, s *astest.Synthesized) []any {
	t.Helper()
	role := s.Stack.Resolve(s.Web.TaskDefinition.TaskRole().RoleName())
	for _, p := range policies(t, s.Template) {
		if roles, _ := p["Roles"].([]any); len(roles) == 1 && jsonOf(t, roles[0]) == jsonOf(t, role) {
			return p["PolicyDocument"].(map[string]any)["Statement"].([]any)
		}
	}
	return nil
}

func TestAPIKeysByDefault(t *testing.T) {
	// GIVEN a service with only an image
	// WHEN it synthesizes
	s := astest.Defaults.Synth(t)
	tmpl, svc := s.Template, s.Web
	ref := func(v any) any { return s.Stack.Resolve(v) }

	// THEN it makes one secret whose value Secrets Manager generates at
	// deploy, from a JSON template with one caller, "owner": the key is
	// never in the template
	// (https://docs.aws.amazon.com/secretsmanager/latest/userguide/cfn-example_secret.html)
	tmpl.ResourceCountIs(jsii.String("AWS::SecretsManager::Secret"), jsii.Number(1))
	tmpl.HasResource(jsii.String("AWS::SecretsManager::Secret"), obj(map[string]any{
		"Properties": exactlyProps(map[string]any{
			"Description": assertions.Match_AnyValue(),
			"GenerateSecretString": map[string]any{
				"SecretStringTemplate": "{}", "GenerateStringKey": "owner",
				"PasswordLength": 40, "ExcludePunctuation": true, "IncludeSpace": false,
			},
		}),
		"DeletionPolicy": "Delete",
	}))
	if svc.APIKeysSecret == nil {
		t.Fatal("Service.APIKeysSecret is nil")
	}
	// AND the container is told to check API keys from that secret
	env := containerEnv(t, tmpl)
	same(t, "AGENTKIT_AUTH", env["AGENTKIT_AUTH"], "apikeys")
	same(t, "AGENTKIT_API_KEYS_SECRET", env["AGENTKIT_API_KEYS_SECRET"], ref(svc.APIKeysSecret.SecretArn()))
	for _, name := range []string{"AGENTKIT_JWT_ISSUER", "AGENTKIT_JWT_JWKS_URL", "AGENTKIT_JWT_AUDIENCE", "AGENTKIT_JWT_REQUIRED_CLAIMS"} {
		if _, ok := env[name]; ok {
			t.Errorf("the container has %s with API keys", name)
		}
	}
	// AND the task role, which reads it at run time, may call
	// GetSecretValue on that secret, and on nothing else; no other grant
	// names it (the execution role reads only at start, and gets nothing)
	var reads []string
	for _, st := range taskRoleStatements(t, s) {
		if strings.Contains(jsonOf(t, st), "secretsmanager:") {
			reads = append(reads, jsonOf(t, st))
		}
	}
	want := jsonOf(t, map[string]any{"Action": "secretsmanager:GetSecretValue", "Effect": "Allow", "Resource": ref(svc.APIKeysSecret.SecretArn()), "Sid": "ReadAPIKeys"})
	if len(reads) != 1 || reads[0] != want {
		t.Errorf("task role's secretsmanager statements = %v, want only %s", reads, want)
	}
	secretRef := jsonOf(t, ref(svc.APIKeysSecret.SecretArn()))
	for _, p := range policies(t, tmpl) {
		if doc := jsonOf(t, p["PolicyDocument"]); strings.Contains(doc, secretRef) && !strings.Contains(doc, want) {
			t.Errorf("another policy names the API keys' secret: %s", doc)
		}
	}
	// AND a stack output names it, for `aws secretsmanager get-secret-value`
	out := apiKeysOutput(t, tmpl)
	same(t, "the output APIKeysSecret's value", out["Value"], ref(svc.APIKeysSecret.SecretArn()))
	if d, _ := out["Description"].(string); !strings.Contains(d, "aws secretsmanager get-secret-value") {
		t.Errorf("the output APIKeysSecret's description %q does not say how to read the keys", d)
	}
}

func TestAPIKeysInASecretOfYourOwn(t *testing.T) {
	// GIVEN a service whose API keys are in the user's secret, under a
	// customer managed key (astest.BlueGreenOwnChoices)
	// WHEN it synthesizes
	s := astest.BlueGreenOwnChoices.Synth(t)

	// THEN the container names that secret by its full ARN, which
	// GetSecretValue takes
	same(t, "AGENTKIT_API_KEYS_SECRET", containerEnv(t, s.Template)["AGENTKIT_API_KEYS_SECRET"], astest.OwnAPIKeysArn)
	if got := *s.Web.APIKeysSecret.SecretArn(); got != astest.OwnAPIKeysArn {
		t.Errorf("Service.APIKeysSecret = %s, want %s", got, astest.OwnAPIKeysArn)
	}
	// AND the task role may read it and decrypt it with its key, only
	// through Secrets Manager
	// (https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html)
	var got []string
	for _, st := range taskRoleStatements(t, s) {
		if doc := jsonOf(t, st); strings.Contains(doc, "APIKeys") {
			got = append(got, doc)
		}
	}
	key := astest.OwnAPIKeysKeyArn
	want := []string{
		jsonOf(t, map[string]any{"Action": "secretsmanager:GetSecretValue", "Effect": "Allow", "Resource": astest.OwnAPIKeysArn, "Sid": "ReadAPIKeys"}),
		jsonOf(t, map[string]any{"Action": "kms:Decrypt", "Condition": map[string]any{"StringEquals": map[string]any{
			"kms:ViaService": map[string]any{"Fn::Join": []any{"", []any{"secretsmanager.", map[string]any{"Ref": "AWS::Region"}, ".amazonaws.com"}}},
		}}, "Effect": "Allow", "Resource": key, "Sid": "DecryptAPIKeys"}),
	}
	same(t, "the task role's statements on the API keys", got, want)
	// AND the construct suppresses no finding on a secret it did not make
	if strings.Contains(jsonOf(t, s.Template), "rotate by put-secret-value") {
		t.Error("a suppression about the construct's own API keys secret is in a stack that has none")
	}
}

func TestJWTAtTheLoadBalancerAndInTheTask(t *testing.T) {
	// GIVEN HTTPS on a public load balancer with the user's certificate,
	// and callers with JWTs (the compliance case "https with a certificate")
	// WHEN it synthesizes
	s := astest.ComplianceStack(t, "https with a certificate").Synth(t)
	tmpl := s.Template

	// THEN the container verifies them: issuer, key set, audience and the
	// required claims, as agentkit reads them
	env := containerEnv(t, tmpl)
	for name, want := range map[string]any{
		"AGENTKIT_AUTH": "jwt", "AGENTKIT_JWT_ISSUER": "https://idp.example.com/",
		"AGENTKIT_JWT_JWKS_URL": "https://idp.example.com/.well-known/jwks.json", "AGENTKIT_JWT_AUDIENCE": "agent-api",
		"AGENTKIT_JWT_REQUIRED_CLAIMS": `{"scope":"agent:run"}`,
	} {
		same(t, name, env[name], want)
	}
	if _, ok := env["AGENTKIT_API_KEYS_SECRET"]; ok {
		t.Error("the container has AGENTKIT_API_KEYS_SECRET with JWTs")
	}
	// AND agentkit reads that environment into the verifier it describes
	for name, v := range env {
		if str, ok := v.(string); ok && strings.HasPrefix(name, "AGENTKIT_JWT_") {
			t.Setenv(name, str)
		}
	}
	v, err := agentkit.JWTVerifierFromEnv()
	if err != nil {
		t.Fatalf("agentkit.JWTVerifierFromEnv() with the container's environment: %v", err)
	}
	same(t, "the verifier agentkit builds", []any{v.Issuer, v.JWKSURL, v.Audience, v.RequiredClaims},
		[]any{"https://idp.example.com/", "https://idp.example.com/.well-known/jwks.json", "agent-api", map[string]string{"scope": "agent:run"}})
	// AND the HTTPS listener verifies them first, with the load balancer's
	// JWT validation action, then forwards
	// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-verify-jwt.html)
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), obj(map[string]any{
		"Protocol": "HTTPS",
		"DefaultActions": []any{
			map[string]any{"Type": "jwt-validation", "Order": 1, "JwtValidationConfig": map[string]any{
				"Issuer": "https://idp.example.com/", "JwksEndpoint": "https://idp.example.com/.well-known/jwks.json",
			}},
			obj(map[string]any{"Type": "forward", "Order": 2}),
		},
	}))
	// AND the load balancer may fetch the key set over HTTPS
	tmpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroup"), obj(map[string]any{
		"GroupDescription": "Agent load balancer: listener ports in, task port out",
		"SecurityGroupEgress": arrayWith(obj(map[string]any{
			"CidrIp": "0.0.0.0/0", "FromPort": 443, "ToPort": 443, "IpProtocol": "tcp",
		})),
	}))
	// AND there is no API keys' secret, grant or output
	tmpl.ResourceCountIs(jsii.String("AWS::SecretsManager::Secret"), jsii.Number(0))
	if s.Web.APIKeysSecret != nil {
		t.Error("Service.APIKeysSecret is set with JWTs")
	}
	if out := apiKeysOutput(t, tmpl); out != nil {
		t.Errorf("output %v, want none naming an API keys' secret", out)
	}
}

func TestJWTBehindCloudFrontIsVerifiedInTheTaskOnly(t *testing.T) {
	// GIVEN callers with JWTs behind the default front, CloudFront (the
	// compliance case "an alarm topic")
	// WHEN the service synthesizes
	tmpl := astest.ComplianceStack(t, "an alarm topic").Synth(t).Template

	// THEN the container verifies them
	same(t, "AGENTKIT_AUTH", containerEnv(t, tmpl)["AGENTKIT_AUTH"], "jwt")
	// AND the load balancer, behind CloudFront on plain HTTP, has no JWT
	// action (the action needs an HTTPS listener)
	if strings.Contains(jsonOf(t, tmpl.ToJSON()), "jwt-validation") {
		t.Error("a jwt-validation action behind CloudFront")
	}
}

func TestJWTWithALinearDeployIsVerifiedInTheTaskOnly(t *testing.T) {
	// GIVEN JWTs on FrontPublicALB with a linear deploy, whose listener
	// rules ECS rewrites (the compliance case "linear with https")
	// WHEN it synthesizes
	s := astest.ComplianceStack(t, "linear with https").Synth(t)

	// THEN the container verifies them
	same(t, "AGENTKIT_AUTH", containerEnv(t, s.Template)["AGENTKIT_AUTH"], "jwt")
	// AND the load balancer does not: AtLoadBalancer defaults to false
	// with a blue/green-family deploy
	if strings.Contains(jsonOf(t, s.Template.ToJSON()), "jwt-validation") {
		t.Error("a jwt-validation action with a linear deploy")
	}
}

func TestAPIKeysInASecretImportedByName(t *testing.T) {
	// GIVEN API keys in a secret of the user's, imported by its name,
	// whose ARN the stack does not know in full (the compliance case
	// "fargate spot with deletion protection")
	s := astest.ComplianceStack(t, "fargate spot with deletion protection").Synth(t)
	tmpl, secret := s.Template, s.Web.APIKeysSecret

	// WHEN the container's variable and the output are read THEN they name
	// the secret by its name, which GetSecretValue takes (a partial ARN
	// with the "-??????" of an IAM policy is no secret ID)
	same(t, "AGENTKIT_API_KEYS_SECRET", containerEnv(t, tmpl)["AGENTKIT_API_KEYS_SECRET"], "agents/prod/api-keys")
	same(t, "the output APIKeysSecret's value", apiKeysOutput(t, tmpl)["Value"], "agents/prod/api-keys")
	// AND the task role may read that secret whatever the six characters
	// Secrets Manager appends to its name in its ARN
	// (https://docs.aws.amazon.com/secretsmanager/latest/userguide/permissions_grant-limited-resources.html)
	var grant string
	for _, st := range taskRoleStatements(t, s) {
		if doc := jsonOf(t, st); strings.Contains(doc, "ReadAPIKeys") {
			grant = doc
		}
	}
	if want := `:secret:agents/prod/api-keys-??????"]]},"Sid":"ReadAPIKeys"}`; !strings.Contains(grant, `"Action":"secretsmanager:GetSecretValue"`) || !strings.HasSuffix(grant, want) {
		t.Errorf("the task role's grant is %s, want GetSecretValue on the name with -??????", grant)
	}
	if secret == nil {
		t.Error("Service.APIKeysSecret is nil")
	}
	// AND no secret is made
	tmpl.ResourceCountIs(jsii.String("AWS::SecretsManager::Secret"), jsii.Number(0))
}

func TestNoCallerCheckOnlyByNameAndWithAWarning(t *testing.T) {
	// GIVEN a deliberately public agent, by name
	props := &agentservice.Props{Image: astest.RegistryImage(), Auth: agentservice.AuthNone()}

	// WHEN it synthesizes, stderr captured
	tmpl, svc, printed := synthStderr(t, props)

	// THEN stderr says so, once, naming the construct and the way back
	if got := printed; strings.Count(got, "serves every caller without asking who it is") != 1 ||
		!strings.Contains(got, "Test/Agent") || !strings.Contains(got, "drop Auth for API keys") {
		t.Errorf("stderr %q, want one warning naming Test/Agent", got)
	}
	// AND the construct carries it as a CDK warning
	warnings := assertions.Annotations_FromStack(svc.Node().Scope().(awscdk.Stack)).FindWarning(jsii.String("/Test/Agent"),
		assertions.Match_StringLikeRegexp(jsii.String("serves every caller without asking who it is")))
	if len(*warnings) != 1 {
		t.Errorf("%d warnings on /Test/Agent, want 1", len(*warnings))
	}
	// AND the container checks no one, and no secret is made
	env := containerEnv(t, tmpl)
	same(t, "AGENTKIT_AUTH", env["AGENTKIT_AUTH"], "none")
	tmpl.ResourceCountIs(jsii.String("AWS::SecretsManager::Secret"), jsii.Number(0))
}

func TestValidateRefusesBadAuth(t *testing.T) {
	cert := func() *agentservice.Props {
		stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Cert"), nil)
		p := &agentservice.Props{Image: astest.RegistryImage()}
		p.Certificate = awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("Cert"),
			jsii.String("arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"))
		return p
	}
	jwt := func(change func(*agentservice.JWT)) *agentservice.Auth {
		j := astest.JWTProps()
		change(j)
		return agentservice.AuthJWT(j)
	}
	long := "https://idp.example.com/" + strings.Repeat("a", 240)
	cases := []struct {
		name  string
		props func() *agentservice.Props
		want  string
	}{
		{"an empty Auth", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Auth: &agentservice.Auth{}}
		}, "agentservice: Auth is empty; build it with agentservice.AuthAPIKeys, AuthJWT, AuthOIDC, AuthCognito or AuthNone"},
		{"a caller name with a space", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Auth: agentservice.AuthAPIKeys(&agentservice.APIKeys{CallerName: jsii.String("support bot")})}
		}, `agentservice: Auth APIKeys.CallerName "support bot" is not a caller name; use 1 to 128 letters, digits, '.', '_' or '-'`},
		{"a caller name too long", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Auth: agentservice.AuthAPIKeys(&agentservice.APIKeys{CallerName: jsii.String(strings.Repeat("a", 129))})}
		}, "is not a caller name; use 1 to 128 letters"},
		{"a caller name with a secret of your own", func() *agentservice.Props {
			stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Own"), nil)
			return &agentservice.Props{Image: astest.RegistryImage(), Auth: agentservice.AuthAPIKeys(&agentservice.APIKeys{
				CallerName: jsii.String("bot"),
				Secret:     awssecretsmanager.Secret_FromSecretCompleteArn(stack, jsii.String("S"), jsii.String(astest.OwnAPIKeysArn)),
			})}
		}, `agentservice: Auth APIKeys.CallerName "bot" is set with APIKeys.Secret; the name is for the key the construct generates in a secret it makes, so drop one of them`},
		{"no issuer", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Auth: jwt(func(j *agentservice.JWT) { j.Issuer = nil })}
		}, `agentservice: Auth JWT.Issuer is empty; set it to the value of the tokens' "iss" claim`},
		{"an empty audience", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Auth: jwt(func(j *agentservice.JWT) { j.Audience = jsii.String("") })}
		}, `agentservice: Auth JWT.Audience is empty; set it to the audience the tokens are issued for ("aud"; for Cognito, the app client ID)`},
		{"no key set", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Auth: jwt(func(j *agentservice.JWT) { j.JWKSURL = nil })}
		}, "agentservice: Auth JWT.JWKSURL is empty; set it to the https:// URL of the issuer's JSON Web Key Set"},
		{"a key set over plain HTTP", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Auth: jwt(func(j *agentservice.JWT) { j.JWKSURL = jsii.String("http://idp.example.com/jwks") })}
		}, `agentservice: Auth JWT.JWKSURL "http://idp.example.com/jwks" is not an https:// URL; set it to the https:// URL of the issuer's JSON Web Key Set`},
		{"a claim with a quote", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Auth: jwt(func(j *agentservice.JWT) {
				j.RequiredClaims = &map[string]*string{"scope": jsii.String(`agent"run`)}
			})}
		}, `agentservice: Auth JWT.RequiredClaims {"scope": "agent\"run"} is not a claim name and value; use 1 to 256 printable ASCII characters without quotes or backslashes for each`},
		{"an empty claim name", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Auth: jwt(func(j *agentservice.JWT) {
				j.RequiredClaims = &map[string]*string{"": jsii.String("x")}
			})}
		}, `agentservice: Auth JWT.RequiredClaims {"": "x"} is not a claim name and value`},
		{"the load balancer's check behind CloudFront", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Auth: jwt(func(j *agentservice.JWT) { j.AtLoadBalancer = jsii.Bool(true) })}
		}, "agentservice: Auth JWT.AtLoadBalancer is true but the front is CloudFront; the load balancer verifies tokens only on the HTTPS listener of FrontPublicALB, so drop AtLoadBalancer (agentkit verifies them in the task)"},
		{"the load balancer's check with blue/green", func() *agentservice.Props {
			p := cert()
			astest.Strategy(p, awsecs.DeploymentStrategy_BLUE_GREEN, nil)
			p.Auth = jwt(func(j *agentservice.JWT) { j.AtLoadBalancer = jsii.Bool(true) })
			return p
		}, "agentservice: Auth JWT.AtLoadBalancer is true with a blue/green, canary or linear Deployment"},
		{"a key set URL too long for the load balancer", func() *agentservice.Props {
			p := cert()
			p.Auth = jwt(func(j *agentservice.JWT) { j.JWKSURL = jsii.String(long) })
			return p
		}, "characters; the load balancer's JWT validation takes at most 256, so use a shorter URL or set JWT.AtLoadBalancer false"},
		{"an issuer too long for the load balancer", func() *agentservice.Props {
			p := cert()
			p.Auth = jwt(func(j *agentservice.JWT) { j.Issuer = jsii.String(long) })
			return p
		}, "characters; the load balancer's JWT validation takes at most 256, so set JWT.AtLoadBalancer false"},
		{"the construct's variable in Environment", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Environment: &map[string]*string{"AGENTKIT_AUTH": jsii.String("none")}}
		}, "agentservice: Environment sets AGENTKIT_AUTH, which the construct sets from Auth; set Auth instead"},
		{"the secret's variable in Environment", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Environment: &map[string]*string{"AGENTKIT_API_KEYS_SECRET": jsii.String("x")}}
		}, "agentservice: Environment sets AGENTKIT_API_KEYS_SECRET, which the construct sets from Auth; set Auth instead"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN bad caller-identity props WHEN they are validated
			err := c.props().Validate()
			// THEN the message names the prop, the value and what is allowed
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Validate() = %v, want %q", err, c.want)
			}
		})
	}
}

func TestValidateAcceptsGoodAuth(t *testing.T) {
	for name, a := range map[string]*agentservice.Auth{
		"API keys by default":              agentservice.AuthAPIKeys(nil),
		"API keys for a named caller":      agentservice.AuthAPIKeys(&agentservice.APIKeys{CallerName: jsii.String("billing-batch.v2")}),
		"JWT without required claims":      agentservice.AuthJWT(&agentservice.JWT{Issuer: jsii.String("i"), JWKSURL: jsii.String("https://i/jwks"), Audience: jsii.String("a")}),
		"JWT, not at the load balancer":    agentservice.AuthJWT(&agentservice.JWT{Issuer: jsii.String("i"), JWKSURL: jsii.String("https://i/jwks"), Audience: jsii.String("a"), AtLoadBalancer: jsii.Bool(false)}),
		"no check, named":                  agentservice.AuthNone(),
		"JWT with a token for an audience": agentservice.AuthJWT(&agentservice.JWT{Issuer: jsii.String("i"), JWKSURL: jsii.String("https://i/jwks"), Audience: awscdk.Fn_Ref(jsii.String("P"))}),
	} {
		t.Run(name, func(t *testing.T) {
			// GIVEN good caller-identity props WHEN they are validated THEN they pass
			if err := (&agentservice.Props{Image: astest.RegistryImage(), Auth: a}).Validate(); err != nil {
				t.Errorf("Validate() = %v", err)
			}
		})
	}
}
