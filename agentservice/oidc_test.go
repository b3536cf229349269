package agentservice_test

import (
	"encoding/json"
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

// The browser sign-in at the load balancer (AuthOIDC, AuthCognito), as
// AWS documents it:
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html
// (the authenticate-oidc and authenticate-cognito actions work only on an
// HTTPS listener; the load balancer must reach the identity provider's
// token and user info endpoints, "verify that the security groups for
// your load balancer ... allow outbound access to these endpoints"; it
// sends the user's claims signed in x-amzn-oidc-data).

func TestOIDCListenerSignsInThenForwards(t *testing.T) {
	// GIVEN a service with AuthOIDC behind its own HTTPS listener
	s := astest.OIDCSignIn.Synth(t)
	tg := s.Stack.Resolve(s.Web.TargetGroup.TargetGroupArn())

	// THEN the listener's default action signs the browser in, then
	// forwards to the tasks
	s.Template.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), obj(map[string]any{
		"Protocol": "HTTPS",
		"DefaultActions": []any{
			obj(map[string]any{"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": obj(map[string]any{
				"Issuer":                "https://idp.example.com/",
				"AuthorizationEndpoint": "https://idp.example.com/authorize",
				"TokenEndpoint":         "https://idp.example.com/token",
				"UserInfoEndpoint":      "https://idp.example.com/userinfo",
				"ClientId":              "agent-web",
				"ClientSecret":          "{{resolve:secretsmanager:" + astest.OIDCSecretArn + ":SecretString:::}}",
			})}),
			obj(map[string]any{"Type": "forward", "Order": 2, "TargetGroupArn": tg}),
		},
	}))
}

func TestOIDCClientSecretIsNeverInTheTemplate(t *testing.T) {
	// GIVEN the OIDC stack's template
	s := astest.OIDCSignIn.Synth(t)
	raw, err := json.Marshal(s.Synthesized.Template)
	if err != nil {
		t.Fatal(err)
	}

	// THEN the client secret appears only as CloudFormation's dynamic
	// reference, resolved at deploy: every ClientSecret in it is one
	for i, rest := 0, string(raw); ; i++ {
		at := strings.Index(rest, `"ClientSecret":`)
		if at < 0 {
			if i == 0 {
				t.Fatal("no ClientSecret in the template")
			}
			break
		}
		rest = rest[at+len(`"ClientSecret":`):]
		if !strings.HasPrefix(rest, `"{{resolve:secretsmanager:`) {
			t.Errorf("a ClientSecret that is not a dynamic reference: %.120s", rest)
		}
	}
}

func TestSignInLoadBalancerReachesTheIdentityProvider(t *testing.T) {
	for _, c := range []*astest.Case{astest.OIDCSignIn, astest.CognitoSignIn} {
		t.Run(c.Name, func(t *testing.T) {
			// GIVEN a service whose load balancer signs browsers in
			s := c.Synth(t)

			// THEN its security group may reach HTTPS out, for the
			// identity provider's token and user info endpoints (AWS's
			// page, cited above)
			s.Template.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroup"), obj(map[string]any{
				"GroupDescription": "Agent load balancer: listener ports in, task port out",
				"SecurityGroupEgress": arrayWith(obj(map[string]any{
					"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
					"Description": "Sign-in: the identity provider's token and user info endpoints over HTTPS",
				})),
			}))
		})
	}
}

func TestSignInTellsTheTaskItsLoadBalancer(t *testing.T) {
	for _, c := range []*astest.Case{astest.OIDCSignIn, astest.CognitoSignIn} {
		t.Run(c.Name, func(t *testing.T) {
			// GIVEN a service whose load balancer signs browsers in
			s := c.Synth(t)
			lb := s.Stack.Resolve(s.Web.LoadBalancer.LoadBalancerArn())

			// THEN the container checks the load balancer's signed claims
			// (AGENTKIT_AUTH=alb) against that load balancer's ARN
			s.Template.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj(map[string]any{
				"ContainerDefinitions": arrayWith(obj(map[string]any{
					"Environment": arrayWith(
						map[string]any{"Name": agentkit.EnvAuth, "Value": agentkit.AuthALB},
						map[string]any{"Name": agentkit.EnvALBArn, "Value": lb},
					),
				})),
			}))
		})
	}
}

func TestCognitoListenerSignsInThenForwards(t *testing.T) {
	// GIVEN a service with AuthCognito
	s := astest.CognitoSignIn.Synth(t)
	tg := s.Stack.Resolve(s.Web.TargetGroup.TargetGroupArn())

	// THEN the listener's default action signs the browser in with the
	// user pool, then forwards to the tasks
	s.Template.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), obj(map[string]any{
		"Protocol": "HTTPS",
		"DefaultActions": []any{
			obj(map[string]any{"Type": "authenticate-cognito", "Order": 1, "AuthenticateCognitoConfig": obj(map[string]any{
				"UserPoolArn":      assertions.Match_AnyValue(),
				"UserPoolClientId": assertions.Match_AnyValue(),
				"UserPoolDomain":   assertions.Match_AnyValue(),
			})}),
			obj(map[string]any{"Type": "forward", "Order": 2, "TargetGroupArn": tg}),
		},
	}))
}

func TestSignInRefusals(t *testing.T) {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Refusals"), nil)
	secret := awssecretsmanager.Secret_FromSecretCompleteArn(stack, jsii.String("ClientSecret"), jsii.String(astest.OIDCSecretArn))
	withSecret := func(mod func(*agentservice.OIDC)) *agentservice.Auth {
		o := astest.OIDCProps()
		o.ClientSecret = secret
		if mod != nil {
			mod(o)
		}
		return agentservice.AuthOIDC(o)
	}
	cert := awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("Cert"), jsii.String(astest.OIDCCertArn))
	cases := []struct {
		name  string
		props func() *agentservice.Props
		want  string
	}{
		{"behind CloudFront", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Auth: withSecret(nil)}
		}, "agentservice: Auth AuthOIDC needs Front PublicALB, and the front is CloudFront; the load balancer signs browsers in only on its own HTTPS listener, so give a Certificate, or a DomainName with its DomainZone, or use AuthJWT"},
		{"an internal load balancer", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Certificate: cert, PublicLoadBalancer: jsii.Bool(false), Auth: agentservice.AuthCognito(nil)}
		}, "agentservice: Auth AuthCognito needs Front PublicALB, and the front is none (an internal load balancer); the load balancer signs browsers in only on its own HTTPS listener, so give a Certificate, or a DomainName with its DomainZone, or use AuthJWT"},
		{"a blue/green deploy", func() *agentservice.Props {
			p := astest.Strategy(&agentservice.Props{Image: astest.RegistryImage(), Certificate: cert, Auth: withSecret(nil)}, awsecs.DeploymentStrategy_BLUE_GREEN, nil)
			return p
		}, "agentservice: Auth AuthOIDC is set with Deployment.Strategy BLUE_GREEN; the sign-in is the listener's action, and ECS rewrites the listener rules of a blue/green, canary or linear deploy, so deploy rolling or use AuthJWT"},
		{"no props", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Certificate: cert, Auth: agentservice.AuthOIDC(nil)}
		}, "agentservice: Auth OIDC.Issuer is empty; set it to the identity provider's issuer, an https:// URL"},
		{"an http token endpoint", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Certificate: cert, Auth: withSecret(func(o *agentservice.OIDC) { o.TokenEndpoint = jsii.String("http://idp.example.com/token") })}
		}, `agentservice: Auth OIDC.TokenEndpoint "http://idp.example.com/token" is not an https:// URL; set it to the identity provider's token endpoint`},
		{"no client ID", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Certificate: cert, Auth: withSecret(func(o *agentservice.OIDC) { o.ClientID = jsii.String("") })}
		}, "agentservice: Auth OIDC.ClientID is empty; set it to the app's client ID at the identity provider"},
		{"no client secret", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Certificate: cert, Auth: agentservice.AuthOIDC(astest.OIDCProps())}
		}, "agentservice: Auth OIDC.ClientSecret is nil; set it to the Secrets Manager secret whose value is the app's client secret (resolved at deploy, never in the template)"},
		{"no user pool", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Certificate: cert, Auth: agentservice.AuthCognito(&agentservice.Cognito{})}
		}, "agentservice: Auth Cognito.UserPool is nil; set it to the user pool the users sign in to"},
		{"the load balancer's ARN in Environment", func() *agentservice.Props {
			return &agentservice.Props{Image: astest.RegistryImage(), Certificate: cert, Auth: withSecret(nil),
				Environment: &map[string]*string{agentkit.EnvALBArn: jsii.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/0123456789abcdef")}}
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// WHEN the props are validated THEN the one message names the
			// prop, the value and what is allowed
			err := tc.props().Validate()
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), agentkit.EnvALBArn) {
					t.Errorf("Validate: %v, want a refusal naming %s", err, agentkit.EnvALBArn)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Errorf("Validate: %v\nwant %s", err, tc.want)
			}
		})
	}
}
