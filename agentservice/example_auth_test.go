package agentservice_test

import (
	"fmt"

	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
)

// Who may call the agent. Unset, Auth is API keys in a secret made at
// deploy; JWTs from your identity provider are verified in the task (and at
// the load balancer behind FrontPublicALB); AuthNone is the named opt-out.
func ExampleAuth() {
	image := agentservice.ImageFromRegistry("public.ecr.aws/example/agent:1.0.0")

	// API keys, the key generated for a caller of your naming.
	keys := &agentservice.Props{Image: image, Auth: agentservice.AuthAPIKeys(&agentservice.APIKeys{
		CallerName: jsii.String("support-bot"),
	})}
	fmt.Println(keys.Validate())

	// JWTs from an Amazon Cognito user pool: its access tokens carry the
	// app client ID as client_id.
	cognito := &agentservice.Props{Image: image, Auth: agentservice.AuthJWT(&agentservice.JWT{
		Issuer:         jsii.String("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123"),
		JWKSURL:        jsii.String("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123/.well-known/jwks.json"),
		Audience:       jsii.String("1example23456789"),
		RequiredClaims: &map[string]*string{"token_use": jsii.String("access")},
	})}
	fmt.Println(cognito.Validate())

	// A key set over plain HTTP could be swapped on the way.
	plain := &agentservice.Props{Image: image, Auth: agentservice.AuthJWT(&agentservice.JWT{
		Issuer: jsii.String("https://idp.example.com/"), JWKSURL: jsii.String("http://idp.example.com/jwks"), Audience: jsii.String("agent"),
	})}
	fmt.Println(plain.Validate())
	// Output:
	// <nil>
	// <nil>
	// agentservice: Auth JWT.JWKSURL "http://idp.example.com/jwks" is not an https:// URL; set it to the https:// URL of the issuer's JSON Web Key Set
}
