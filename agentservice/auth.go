package agentservice

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"regexp"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/token"
)

// Auth is how callers prove who they are (Props.Auth): build it with
// AuthAPIKeys, AuthJWT, AuthOIDC, AuthCognito or AuthNone. The check runs
// in every task, by agentkit (the container gets AGENTKIT_AUTH and the
// method's variables; see docs/caller-identity.md), and, for a JWT behind
// FrontPublicALB, at the load balancer as well; with AuthOIDC and
// AuthCognito the load balancer signs the user in and the task checks its
// signature. A zero Auth is invalid.
type Auth struct {
	method  string // agentkit.AuthAPIKeys, AuthJWT, AuthALB or AuthNone
	apiKeys APIKeys
	jwt     JWT
	signIn  string // with AuthALB: "AuthOIDC" or "AuthCognito"
	oidc    OIDC
	cognito Cognito
}

// APIKeys configures AuthAPIKeys.
type APIKeys struct {
	// Secret is a Secrets Manager secret of your own whose value is a JSON
	// object of caller names to keys, {"billing-batch": "k3Y...", ...}
	// (package agentkit/apikeys). The task role may read it
	// (secretsmanager:GetSecretValue, and kms:Decrypt through Secrets
	// Manager when it has a customer managed key).
	//
	// Default: - a new secret whose value Secrets Manager generates at
	// deploy: {"<CallerName>": "<40 letters and digits>"}; the key is never
	// in the template.
	Secret awssecretsmanager.ISecret
	// CallerName names the one caller whose key the construct generates
	// in the new secret: 1 to 128 letters, digits, '.', '_' or '-'. Add
	// callers later with put-secret-value (docs/caller-identity.md). Not
	// with Secret. Beware: changing it once deployed changes the secret's
	// GenerateSecretString, and CloudFormation then generates a new value,
	// which replaces every key put since.
	//
	// Default: "owner" (DefaultAPIKeyCaller).
	CallerName *string
}

// JWT configures AuthJWT: tokens from your identity provider, sent as
// "Authorization: Bearer <token>".
type JWT struct {
	// Issuer is the value every token's "iss" claim must equal; at most
	// 256 characters when the load balancer verifies tokens too
	// (AtLoadBalancer). Required.
	Issuer *string
	// JWKSURL is the https:// URL of the issuer's JSON Web Key Set; at
	// most 256 characters when the load balancer verifies tokens too.
	// Required.
	JWKSURL *string
	// Audience is the value every token's "aud" must equal or hold (for an
	// Amazon Cognito user pool, the app client ID). Required.
	Audience *string
	// RequiredClaims are claims every token must carry, by name (the value,
	// a list holding it, or a space-separated string holding it as a word,
	// as "scope" is); a token without one is answered 403. Names and values
	// are 1 to 256 printable ASCII characters without quotes or
	// backslashes.
	//
	// Default: - none.
	RequiredClaims *map[string]*string
	// AtLoadBalancer also verifies each token at the load balancer, with
	// its JWT validation action (signature, "iss", "exp", "nbf", "iat")
	// before a request reaches a task; agentkit checks everything in the
	// task either way. It needs the HTTPS listener of FrontPublicALB and a
	// rolling Deployment. The load balancer takes only RS256 tokens and a
	// key set of at most 150 KB and 10 keys, and forwards nothing while the
	// key set breaks those limits
	// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-verify-jwt.html):
	// set it false for an ES256 issuer.
	//
	// Default: true with FrontPublicALB and a rolling Deployment, false
	// otherwise.
	AtLoadBalancer *bool
}

// DefaultAPIKeyCaller is the caller name of the key in the secret the
// construct makes for AuthAPIKeys.
const DefaultAPIKeyCaller = "owner"

// apiKeyLength is the length of the key the construct has Secrets Manager
// generate: 40 of 62 letters and digits, about 238 bits. No punctuation, so
// that the key needs no quoting in a shell or an HTTP header.
const apiKeyLength = 40

// AuthAPIKeys has callers send an API key, "Authorization: Bearer <key>",
// checked in the task against one Secrets Manager secret that the task
// reads again every minute: keys rotate without a deploy. props may be
// nil: a new secret with one generated key for DefaultAPIKeyCaller, named
// by the stack output APIKeysSecret.
func AuthAPIKeys(props *APIKeys) *Auth {
	a := &Auth{method: agentkit.AuthAPIKeys}
	if props != nil {
		a.apiKeys = *props
	}
	return a
}

// AuthJWT has callers send a JWT from your identity provider, verified in
// the task by agentkit and, behind FrontPublicALB, also at the load
// balancer (JWT.AtLoadBalancer).
func AuthJWT(props *JWT) *Auth {
	a := &Auth{method: agentkit.AuthJWT}
	if props != nil {
		a.jwt = *props
	}
	return a
}

// AuthNone serves every caller without asking who it is: the named opt-out
// for a deliberately public agent, whose every request spends the owner's
// model budget. Synthesis says so on stderr and as a CDK warning.
func AuthNone() *Auth { return &Auth{method: agentkit.AuthNone} }

// auth is the resolved Auth: API keys with the defaults when unset.
func (p *Props) auth() *Auth {
	if p.Auth == nil {
		return AuthAPIKeys(nil)
	}
	return p.Auth
}

// callerName is the key name in the secret the construct makes.
func (a *Auth) callerName() string { return defaults.Or(a.apiKeys.CallerName, DefaultAPIKeyCaller) }

// jwtAtLoadBalancer says whether the load balancer verifies tokens too.
func (p *Props) jwtAtLoadBalancer() bool {
	a := p.auth()
	if a.method != agentkit.AuthJWT {
		return false
	}
	return defaults.Or(a.jwt.AtLoadBalancer, p.front() == FrontPublicALB && !p.shifted())
}

var callerNameRule = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// maxALBJWTField is the load balancer's limit on the issuer and the JWKS
// URL of its JWT validation action.
const maxALBJWTField = 256

func (p *Props) validateAuth() error {
	if p.Auth == nil {
		return nil
	}
	a := p.Auth
	switch a.method {
	case agentkit.AuthAPIKeys:
		return a.validateAPIKeys()
	case agentkit.AuthJWT:
		return p.validateJWT()
	case agentkit.AuthNone:
		return nil
	case agentkit.AuthALB:
		return p.validateSignIn()
	}
	return errors.New("agentservice: Auth is empty; build it with agentservice.AuthAPIKeys, AuthJWT, AuthOIDC, AuthCognito or AuthNone")
}

func (a *Auth) validateAPIKeys() error {
	k := a.apiKeys
	v := k.CallerName
	if v == nil || token.IsString(v) {
		return nil
	}
	if k.Secret != nil {
		return fmt.Errorf("agentservice: Auth APIKeys.CallerName %q is set with APIKeys.Secret; the name is for the key the construct generates in a secret it makes, so drop one of them", *v)
	}
	if !callerNameRule.MatchString(*v) {
		return fmt.Errorf("agentservice: Auth APIKeys.CallerName %q is not a caller name; use 1 to 128 letters, digits, '.', '_' or '-'", *v)
	}
	return nil
}

func (p *Props) validateJWT() error {
	j := p.Auth.jwt
	at := p.jwtAtLoadBalancer()
	if err := requiredText("Issuer", j.Issuer, "the value of the tokens' \"iss\" claim", at); err != nil {
		return err
	}
	if v := j.JWKSURL; v == nil || (!token.IsString(v) && *v == "") {
		return errors.New("agentservice: Auth JWT.JWKSURL is empty; set it to the https:// URL of the issuer's JSON Web Key Set")
	} else if !token.IsString(v) {
		u, err := url.Parse(*v)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("agentservice: Auth JWT.JWKSURL %q is not an https:// URL; set it to the https:// URL of the issuer's JSON Web Key Set", *v)
		}
		if at && len(*v) > maxALBJWTField {
			return fmt.Errorf("agentservice: Auth JWT.JWKSURL %q is %d characters; the load balancer's JWT validation takes at most %d, so use a shorter URL or set JWT.AtLoadBalancer false", *v, len(*v), maxALBJWTField)
		}
	}
	if err := requiredText("Audience", j.Audience, "the audience the tokens are issued for (\"aud\"; for Cognito, the app client ID)", false); err != nil {
		return err
	}
	if j.RequiredClaims != nil {
		for _, k := range slices.Sorted(maps.Keys(*j.RequiredClaims)) {
			v := (*j.RequiredClaims)[k]
			if token.IsString(&k) || token.IsString(v) {
				continue
			}
			if !agentkit.ValidClaimText(k) || v == nil || !agentkit.ValidClaimText(*v) {
				return fmt.Errorf("agentservice: Auth JWT.RequiredClaims {%q: %q} is not a claim name and value; use 1 to 256 printable ASCII characters without quotes or backslashes for each", k, defaults.Or(v, ""))
			}
		}
	}
	if defaults.Or(j.AtLoadBalancer, false) {
		if p.front() != FrontPublicALB {
			return fmt.Errorf("agentservice: Auth JWT.AtLoadBalancer is true but the front is %s; the load balancer verifies tokens only on the HTTPS listener of FrontPublicALB, so drop AtLoadBalancer (agentkit verifies them in the task)", p.frontName())
		}
		if p.shifted() {
			return errors.New("agentservice: Auth JWT.AtLoadBalancer is true with a blue/green, canary or linear Deployment; the load balancer's check would sit in the listener rules whose weights ECS rewrites, so drop AtLoadBalancer (agentkit verifies tokens in the task) or deploy rolling")
		}
	}
	return nil
}

// requiredText refuses a missing or empty field of JWT; forALB also holds
// it to the load balancer's 256 characters.
func requiredText(field string, v *string, what string, forALB bool) error {
	if v == nil || (!token.IsString(v) && *v == "") {
		return fmt.Errorf("agentservice: Auth JWT.%s is empty; set it to %s", field, what)
	}
	if forALB && !token.IsString(v) && len(*v) > maxALBJWTField {
		return fmt.Errorf("agentservice: Auth JWT.%s %q is %d characters; the load balancer's JWT validation takes at most %d, so set JWT.AtLoadBalancer false", field, *v, len(*v), maxALBJWTField)
	}
	return nil
}

// callers is what the construct made for the caller check.
type callers struct {
	env    map[string]*string
	secret awssecretsmanager.ISecret // the API keys' secret; nil without API keys
}

// newCallers makes what the chosen method needs before the task exists:
// the API keys' secret, and the container's variables.
func newCallers(scope constructs.Construct, p *Props) callers {
	a := p.auth()
	c := callers{env: map[string]*string{agentkit.EnvAuth: jsii.String(a.method)}}
	switch a.method {
	case agentkit.AuthAPIKeys:
		c.secret = a.apiKeys.Secret
		if c.secret == nil {
			c.secret = apiKeysSecret(scope, a.callerName())
		}
		c.env[agentkit.EnvAPIKeysSecret] = secretID(c.secret)
	case agentkit.AuthJWT:
		j := a.jwt
		c.env[agentkit.EnvJWTIssuer] = j.Issuer
		c.env[agentkit.EnvJWTJWKSURL] = j.JWKSURL
		c.env[agentkit.EnvJWTAudience] = j.Audience
		if j.RequiredClaims != nil && len(*j.RequiredClaims) > 0 {
			c.env[agentkit.EnvJWTRequiredClaims] = requiredClaimsJSON(*j.RequiredClaims)
		}
	case agentkit.AuthNone:
		warnNoAuth(scope)
	}
	return c
}

// requiredClaimsJSON is the JSON object agentkit reads from
// AGENTKIT_JWT_REQUIRED_CLAIMS; a token among the values is resolved by
// CloudFormation.
func requiredClaimsJSON(claims map[string]*string) *string {
	plain := map[string]string{}
	for k, v := range claims {
		plain[k] = *v
	}
	b, err := json.Marshal(plain)
	if err != nil { // strings only: cannot happen
		panic("agentservice: encode RequiredClaims: " + err.Error())
	}
	return jsii.String(string(b))
}

// secretID is what the task names the secret by in GetSecretValue: its
// full ARN when known, else its name (a secret imported by name has only a
// partial ARN, which GetSecretValue does not take).
func secretID(s awssecretsmanager.ISecret) *string {
	if arn := s.SecretFullArn(); arn != nil {
		return arn
	}
	return s.SecretName()
}

// policyArn is the secret's ARN as a policy must name it: the full ARN
// when known; for a secret imported by name or partial ARN, that with
// "-??????", the six characters Secrets Manager appends to every secret's
// name in its ARN
// (https://docs.aws.amazon.com/secretsmanager/latest/userguide/permissions_grant-limited-resources.html).
func policyArn(s awssecretsmanager.ISecret) *string {
	if s.SecretFullArn() != nil {
		return s.SecretArn()
	}
	return awscdk.Fn_Join(jsii.String(""), &[]*string{s.SecretArn(), jsii.String("-??????")})
}

// apiKeysSecret makes the secret of API keys, whose one key Secrets
// Manager generates at deploy (GenerateSecretString with a JSON template:
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/cfn-example_secret.html),
// so that the template never holds it. It goes with the stack: the callers'
// keys belong to this service.
func apiKeysSecret(scope constructs.Construct, caller string) awssecretsmanager.Secret {
	return awssecretsmanager.NewSecret(scope, jsii.String("APIKeys"), &awssecretsmanager.SecretProps{
		Description: jsii.String("The agent's API keys: a JSON object of caller names to keys, read by the tasks every minute (agentcdk)"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			SecretStringTemplate: jsii.String("{}"),
			GenerateStringKey:    jsii.String(caller),
			PasswordLength:       jsii.Number(apiKeyLength),
			ExcludePunctuation:   jsii.Bool(true),
			IncludeSpace:         jsii.Bool(false),
		},
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
}

// grant lets the task role read the API keys' secret, and nothing else of
// it, and names the secret in the stack output APIKeysSecret: GetSecretValue (the task reads it at run time, so the execution
// role, which reads only at start, gets nothing), and kms:Decrypt through
// Secrets Manager only when a customer managed key encrypts it
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html).
func (c callers) grant(scope constructs.Construct, role awsiam.IRole) {
	if c.secret == nil {
		return
	}
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadAPIKeys"),
		Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
		Resources: &[]*string{policyArn(c.secret)},
	}))
	if key := c.secret.EncryptionKey(); key != nil {
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("DecryptAPIKeys"),
			Actions:   jsii.Strings("kms:Decrypt"),
			Resources: &[]*string{key.KeyArn()},
			Conditions: &map[string]any{"StringEquals": map[string]any{
				"kms:ViaService": awscdk.Fn_Join(jsii.String(""), &[]*string{
					jsii.String("secretsmanager."), awscdk.Stack_Of(scope).Region(), jsii.String(".amazonaws.com"),
				}),
			}},
		}))
	}
	awscdk.NewCfnOutput(scope, jsii.String("APIKeysSecret"), &awscdk.CfnOutputProps{
		Value:       secretID(c.secret),
		Description: jsii.String("The secret of the agent's API keys; read them with: aws secretsmanager get-secret-value --query SecretString --output text --secret-id <this value>"),
	})
}

// jwtAction puts the load balancer's JWT validation before forward, when
// the load balancer verifies tokens too (a rolling deploy: forward is set).
func (p *Props) jwtAction(forward *[]elbv2.IApplicationTargetGroup, answer elbv2.ListenerAction) (*[]elbv2.IApplicationTargetGroup, elbv2.ListenerAction) {
	if !p.jwtAtLoadBalancer() || forward == nil {
		return forward, answer
	}
	j := p.auth().jwt
	return nil, elbv2.ListenerAction_AuthenticateJwt(&elbv2.AuthenticateJwtOptions{
		Issuer:       j.Issuer,
		JwksEndpoint: j.JWKSURL,
		Next:         elbv2.ListenerAction_Forward(forward, nil),
	})
}

// warnNoAuth says, where a user runs synthesis, that anyone may call the
// service: as a CDK warning and on stderr, as warnPublicHTTP does.
func warnNoAuth(scope constructs.Construct) {
	msg := "agentservice: " + *scope.Node().Path() + " serves every caller without asking who it is (Auth AuthNone): anyone who reaches it spends its model budget; drop Auth for API keys, or use AuthJWT"
	awscdk.Annotations_Of(scope).AddWarningV2(jsii.String("agentcdk:noAuth"), jsii.String(msg), nil)
	fmt.Fprintln(os.Stderr, "WARNING "+msg)
}
