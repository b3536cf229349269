package agentservice_test

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
)

// Browser users signed in by the load balancer with your OpenID Connect
// provider: it needs the load balancer's own HTTPS listener
// (FrontPublicALB, here from a Certificate) and a rolling deploy. The
// client secret stays in Secrets Manager; the task checks the user claims
// the load balancer signs (AGENTKIT_AUTH=alb).
func ExampleAuthOIDC() {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Agent"), nil)
	oidc := agentservice.AuthOIDC(&agentservice.OIDC{
		Issuer:                jsii.String("https://idp.example.com/"),
		AuthorizationEndpoint: jsii.String("https://idp.example.com/authorize"),
		TokenEndpoint:         jsii.String("https://idp.example.com/token"),
		UserInfoEndpoint:      jsii.String("https://idp.example.com/userinfo"),
		ClientID:              jsii.String("agent-web"),
		ClientSecret:          awssecretsmanager.Secret_FromSecretNameV2(stack, jsii.String("ClientSecret"), jsii.String("agent/oidc-client")),
	})
	image := agentservice.ImageFromRegistry("public.ecr.aws/example/agent:1.0.0")
	cert := awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("Cert"),
		jsii.String("arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"))

	withCert := &agentservice.Props{Image: image, Certificate: cert, Auth: oidc}
	fmt.Println(withCert.Validate())

	// Behind CloudFront the load balancer's listener is plain HTTP, where
	// it cannot sign anyone in.
	behindCloudFront := &agentservice.Props{Image: image, Auth: oidc}
	fmt.Println(behindCloudFront.Validate())
	// Output:
	// <nil>
	// agentservice: Auth AuthOIDC needs Front PublicALB, and the front is CloudFront; the load balancer signs browsers in only on its own HTTPS listener, so give a Certificate, or a DomainName with its DomainZone, or use AuthJWT
}
