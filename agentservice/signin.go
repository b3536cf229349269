package agentservice

import (
	"fmt"
	"net/url"

	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	elbv2actions "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2actions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/token"
)

// OIDC configures AuthOIDC: browser users sign in at the load balancer
// with an OpenID Connect identity provider. Register
// https://<your domain>/oauth2/idpresponse as the app's redirect URL, with
// a client secret and the authorization code grant. Every field is
// required; the endpoints are in the provider's
// /.well-known/openid-configuration.
type OIDC struct {
	// Issuer is the provider's issuer identifier, an https:// URL.
	Issuer *string
	// AuthorizationEndpoint is the provider's authorization endpoint, an
	// https:// URL: where the load balancer sends a browser to sign in.
	AuthorizationEndpoint *string
	// TokenEndpoint is the provider's token endpoint, an https:// URL,
	// which the load balancer calls.
	TokenEndpoint *string
	// UserInfoEndpoint is the provider's user info endpoint, an https://
	// URL, which the load balancer calls; the claims it answers are what
	// the task sees (Caller.Claims), its "sub" the caller's name.
	UserInfoEndpoint *string
	// ClientID is the app's client ID at the provider.
	ClientID *string
	// ClientSecret is a Secrets Manager secret whose whole value is the
	// app's client secret. It reaches the listener only as a
	// CloudFormation dynamic reference, resolved at deploy: the template
	// never holds it. A rotated secret takes effect at the next deploy.
	ClientSecret awssecretsmanager.ISecret
}

// Cognito configures AuthCognito: browser users sign in at the load
// balancer with an Amazon Cognito user pool. The app client must have a
// client secret, the authorization code grant, the "openid" scope, and
// https://<your domain>/oauth2/idpresponse among its callback URLs. Every
// field is required.
type Cognito struct {
	// UserPool is the user pool the users sign in to.
	UserPool awscognito.IUserPool
	// UserPoolClient is the user pool's app client for the load balancer.
	UserPoolClient awscognito.IUserPoolClient
	// UserPoolDomain is the user pool's domain, which hosts its sign-in
	// pages.
	UserPoolDomain awscognito.IUserPoolDomain
}

// AuthOIDC has browser users sign in at the load balancer with an OpenID
// Connect identity provider (its authenticate-oidc action): a browser
// without a session is redirected to sign in, and every request that
// reaches a task carries the user's claims, which the load balancer signs
// and agentkit verifies (AGENTKIT_AUTH=alb: the signature, the load
// balancer's ARN, the expiry; the caller is the claims' "sub"). It needs
// FrontPublicALB (a Certificate or a DomainName: the action works only on
// an HTTPS listener) and a rolling Deployment. Machine callers with a
// bearer token are not served: use AuthJWT for them.
func AuthOIDC(props *OIDC) *Auth {
	a := &Auth{method: agentkit.AuthALB, signIn: "AuthOIDC"}
	if props != nil {
		a.oidc = *props
	}
	return a
}

// AuthCognito has browser users sign in at the load balancer with an
// Amazon Cognito user pool (its authenticate-cognito action); otherwise
// as AuthOIDC.
func AuthCognito(props *Cognito) *Auth {
	a := &Auth{method: agentkit.AuthALB, signIn: "AuthCognito"}
	if props != nil {
		a.cognito = *props
	}
	return a
}

// signsIn says whether the load balancer signs browser users in.
func (p *Props) signsIn() bool { return p.auth().method == agentkit.AuthALB }

func (p *Props) validateSignIn() error {
	a := p.Auth
	if f := p.front(); f != FrontPublicALB {
		return fmt.Errorf("agentservice: Auth %s needs Front PublicALB, and the front is %s; the load balancer signs browsers in only on its own HTTPS listener, so give a Certificate, or a DomainName with its DomainZone, or use AuthJWT", a.signIn, p.frontName())
	}
	if p.shifted() {
		return fmt.Errorf("agentservice: Auth %s is set with Deployment.Strategy %s; the sign-in is the listener's action, and ECS rewrites the listener rules of a blue/green, canary or linear deploy, so deploy rolling or use AuthJWT", a.signIn, string(p.strategy()))
	}
	if a.signIn == "AuthCognito" {
		c := a.cognito
		for _, f := range []struct {
			name string
			set  bool
			what string
		}{
			{"UserPool", c.UserPool != nil, "the user pool the users sign in to"},
			{"UserPoolClient", c.UserPoolClient != nil, "the user pool's app client (with a client secret and the code grant)"},
			{"UserPoolDomain", c.UserPoolDomain != nil, "the user pool's domain"},
		} {
			if !f.set {
				return fmt.Errorf("agentservice: Auth Cognito.%s is nil; set it to %s", f.name, f.what)
			}
		}
		return nil
	}
	o := a.oidc
	for _, f := range []struct {
		name string
		v    *string
		what string
	}{
		{"Issuer", o.Issuer, "the identity provider's issuer"},
		{"AuthorizationEndpoint", o.AuthorizationEndpoint, "the identity provider's authorization endpoint"},
		{"TokenEndpoint", o.TokenEndpoint, "the identity provider's token endpoint"},
		{"UserInfoEndpoint", o.UserInfoEndpoint, "the identity provider's user info endpoint"},
	} {
		if err := httpsURL("OIDC."+f.name, f.v, f.what); err != nil {
			return err
		}
	}
	if v := o.ClientID; v == nil || (!token.IsString(v) && *v == "") {
		return fmt.Errorf("agentservice: Auth OIDC.ClientID is empty; set it to the app's client ID at the identity provider")
	}
	if o.ClientSecret == nil {
		return fmt.Errorf("agentservice: Auth OIDC.ClientSecret is nil; set it to the Secrets Manager secret whose value is the app's client secret (resolved at deploy, never in the template)")
	}
	return nil
}

// httpsURL refuses a field of OIDC that is not an https:// URL.
func httpsURL(field string, v *string, what string) error {
	if v == nil || (!token.IsString(v) && *v == "") {
		return fmt.Errorf("agentservice: Auth %s is empty; set it to %s, an https:// URL", field, what)
	}
	if token.IsString(v) {
		return nil
	}
	if u, err := url.Parse(*v); err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("agentservice: Auth %s %q is not an https:// URL; set it to %s", field, *v, what)
	}
	return nil
}

// signInAction puts the load balancer's sign-in before forward, when it
// signs browsers in (a rolling deploy: forward is set), and lets its
// security group reach the identity provider, whose token and user info
// endpoints it calls
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html).
func (p *Props) signInAction(sg awsec2.ISecurityGroup, forward *[]elbv2.IApplicationTargetGroup, answer elbv2.ListenerAction) (*[]elbv2.IApplicationTargetGroup, elbv2.ListenerAction) {
	if !p.signsIn() || forward == nil {
		return forward, answer
	}
	sg.AddEgressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(443)),
		jsii.String("Sign-in: the identity provider's token and user info endpoints over HTTPS"), nil)
	a := p.auth()
	next := elbv2.ListenerAction_Forward(forward, nil)
	if a.signIn == "AuthCognito" {
		c := a.cognito
		return nil, elbv2actions.NewAuthenticateCognitoAction(&elbv2actions.AuthenticateCognitoActionProps{
			UserPool: c.UserPool, UserPoolClient: c.UserPoolClient, UserPoolDomain: c.UserPoolDomain,
			Next: next, AllowHttpsOutbound: jsii.Bool(false),
		})
	}
	o := a.oidc
	return nil, elbv2.ListenerAction_AuthenticateOidc(&elbv2.AuthenticateOidcOptions{
		Issuer:                o.Issuer,
		AuthorizationEndpoint: o.AuthorizationEndpoint,
		TokenEndpoint:         o.TokenEndpoint,
		UserInfoEndpoint:      o.UserInfoEndpoint,
		ClientId:              o.ClientID,
		ClientSecret:          o.ClientSecret.SecretValue(),
		Next:                  next,
		AllowHttpsOutbound:    jsii.Bool(false),
	})
}

// signInEnv tells the task which load balancer signs its users' claims.
func (p *Props) signInEnv(c awsecs.ContainerDefinition, lb elbv2.IApplicationLoadBalancer) {
	if p.signsIn() {
		c.AddEnvironment(jsii.String(agentkit.EnvALBArn), lb.LoadBalancerArn())
	}
}
