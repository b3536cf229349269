package astest

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/internal/stacktest"
)

// The browser sign-in at the load balancer (AuthOIDC, AuthCognito).

// OIDCSecretArn is the OIDC client secret of OIDCSignIn, and OIDCCertArn
// the certificate of both sign-in cases.
const (
	OIDCSecretArn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:agent/oidc-client-AbCdEf"
	OIDCCertArn   = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
)

// OIDCProps is an OIDC provider's settings, as a user gives them, but the
// client secret.
func OIDCProps() *agentservice.OIDC {
	return &agentservice.OIDC{
		Issuer:                jsii.String("https://idp.example.com/"),
		AuthorizationEndpoint: jsii.String("https://idp.example.com/authorize"),
		TokenEndpoint:         jsii.String("https://idp.example.com/token"),
		UserInfoEndpoint:      jsii.String("https://idp.example.com/userinfo"),
		ClientID:              jsii.String("agent-web"),
	}
}

// signInBase is a service on FrontPublicALB, with a certificate, whose
// callers auth checks.
func signInBase(stack awscdk.Stack, auth *agentservice.Auth) *agentservice.Props {
	return &agentservice.Props{
		Image:       RegistryImage(),
		Certificate: awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("Cert"), jsii.String(OIDCCertArn)),
		Auth:        auth,
	}
}

// OIDCSignIn is a service whose load balancer signs browsers in with an
// OIDC provider, synthesized with cdk-nag's AwsSolutions pack.
var OIDCSignIn = &Case{
	Name: "OIDC",
	Web: func(stack awscdk.Stack) *agentservice.Props {
		o := OIDCProps()
		o.ClientSecret = awssecretsmanager.Secret_FromSecretCompleteArn(stack, jsii.String("ClientSecret"), jsii.String(OIDCSecretArn))
		return signInBase(stack, agentservice.AuthOIDC(o))
	},
	Packs: []stacktest.Pack{stacktest.AwsSolutions},
}

// CognitoSignIn is the same with a Cognito user pool of the stack's.
var CognitoSignIn = &Case{
	Name: "Cognito",
	Web: func(stack awscdk.Stack) *agentservice.Props {
		pool := awscognito.NewUserPool(stack, jsii.String("Users"), nil)
		client := pool.AddClient(jsii.String("Web"), &awscognito.UserPoolClientOptions{GenerateSecret: jsii.Bool(true)})
		domain := pool.AddDomain(jsii.String("Domain"), &awscognito.UserPoolDomainOptions{
			CognitoDomain: &awscognito.CognitoDomainOptions{DomainPrefix: jsii.String("agent-example")},
		})
		return signInBase(stack, agentservice.AuthCognito(&agentservice.Cognito{UserPool: pool, UserPoolClient: client, UserPoolDomain: domain}))
	},
}
