package agentservice

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/token"
)

// Architecture is the CPU architecture the task runs on.
type Architecture string

// The architectures Fargate runs.
const (
	// ArchitectureX86_64 runs on Intel/AMD x86-64.
	ArchitectureX86_64 Architecture = "X86_64"
	// ArchitectureArm64 runs on AWS Graviton (ARM64): about 20 % cheaper per
	// vCPU-hour. The image is built for linux/arm64.
	ArchitectureArm64 Architecture = "ARM64"
)

// DefaultUser is the user the container runs as: distroless's "nonroot"
// (65532). A read-only root filesystem plus a non-root user keeps a
// compromised agent from rewriting its own binary.
const DefaultUser = "65532"

// The credential guard's rule, on the words of a variable name (split at
// '_', upper case). A name is a credential's when its last word is one of
// credentialWords (OPENAI_API_KEY's KEY aside, see below), when its last
// word is KEY and the word before it does not name a data key (a
// DynamoDB partition key, a cache key, a public key), or when it ends in
// ACCESS_KEY_ID. So MAX_TOKENS, TOKENIZERS_PARALLELISM and
// DYNAMODB_PARTITION_KEY pass, and GITHUB_PAT, HF_TOKEN, DB_PASSWORD and
// AWS_SECRET_ACCESS_KEY do not. A name the rule gets wrong goes in the
// EnvironmentAllowList prop.
var (
	credentialWords = map[string]bool{
		"TOKEN": true, "SECRET": true, "PASSWORD": true, "PASSWD": true, "PASSPHRASE": true,
		"PAT": true, "APIKEY": true, "CREDENTIAL": true, "CREDENTIALS": true,
	}
	dataKeyWords = map[string]bool{
		"PARTITION": true, "SORT": true, "PRIMARY": true, "HASH": true, "RANGE": true, "CACHE": true,
		"OBJECT": true, "S3": true, "IDEMPOTENCY": true, "DEDUPLICATION": true, "ROUTING": true,
		"SHARD": true, "FOREIGN": true, "LOOKUP": true, "INDEX": true, "GROUP": true, "PUBLIC": true,
	}
)

// looksLikeCredential applies the credential guard's rule to a variable
// name.
func looksLikeCredential(name string) bool {
	words := strings.Split(strings.ToUpper(name), "_")
	last := words[len(words)-1]
	switch {
	case credentialWords[last]:
		return true
	case last == "KEY":
		return len(words) == 1 || !dataKeyWords[words[len(words)-2]]
	}
	return strings.HasSuffix(strings.ToUpper(name), "ACCESS_KEY_ID")
}

// checkCredentialName refuses a plain environment variable whose name looks
// like a credential's, unless the caller allowed it: plain variables are
// stored in the template and shown in the console, so credentials belong in
// Secrets.
func checkCredentialName(name string, allowed map[string]bool) error {
	if looksLikeCredential(name) && !allowed[name] {
		return fmt.Errorf("agentservice: Environment name %q looks like a credential, and plain environment variables are stored in the template; "+
			"put it in Secrets (package secrets: FromParameter, FromSecretsManager), or, if it holds no secret, name it in EnvironmentAllowList", name)
	}
	return nil
}

// validateAllowList checks EnvironmentAllowList: every entry a variable name
// the guard would refuse, so that a typo does not pass unnoticed.
func validateAllowList(list *[]*string) (map[string]bool, error) {
	allowed := map[string]bool{}
	if list == nil {
		return allowed, nil
	}
	for _, n := range *list {
		switch {
		case n == nil || token.IsString(n):
			continue
		case !envName.MatchString(*n):
			return nil, fmt.Errorf("agentservice: EnvironmentAllowList entry %q is not a variable name; use letters, digits and '_', not starting with a digit", *n)
		case !looksLikeCredential(*n):
			return nil, fmt.Errorf("agentservice: EnvironmentAllowList entry %q does not look like a credential, so the guard lets it through anyway; drop it", *n)
		}
		allowed[*n] = true
	}
	return allowed, nil
}

func (p *Props) arch() Architecture {
	if p.CpuArchitecture == "" {
		return ArchitectureX86_64
	}
	return p.CpuArchitecture
}

func (p *Props) validateSecurity() error {
	switch p.arch() {
	case ArchitectureX86_64, ArchitectureArm64:
	default:
		return fmt.Errorf("agentservice: CpuArchitecture %q is not a Fargate architecture; use ArchitectureX86_64 or ArchitectureArm64", p.CpuArchitecture)
	}
	if defaults.Or(p.FargateSpot, false) && p.arch() == ArchitectureArm64 {
		return fmt.Errorf("agentservice: FargateSpot is set with CpuArchitecture %s, but Fargate Spot does not run ARM64 tasks; use ArchitectureX86_64 with Spot, or on-demand ARM64", ArchitectureArm64)
	}
	if v := p.OnDemandBaseCount; v != nil && !token.IsNumber(v) {
		if !defaults.Or(p.FargateSpot, false) {
			return fmt.Errorf("agentservice: OnDemandBaseCount %v is set without FargateSpot; it only splits tasks between on-demand and Spot", *v)
		}
		if *v < 0 || *v != float64(int(*v)) || *v > 100000 {
			return fmt.Errorf("agentservice: OnDemandBaseCount %v is not a task count; use a whole number from 0 to 100000", *v)
		}
	}
	if defaults.Or(p.EnableExecuteCommand, false) && p.readonlyRoot() {
		return fmt.Errorf("agentservice: EnableExecuteCommand needs a writable root filesystem (the SSM agent writes into it), but ReadonlyRootFilesystem is true; set ReadonlyRootFilesystem to false as well, knowingly")
	}
	if v := p.User; v != nil && !token.IsString(v) && (*v == "" || *v == "0" || *v == "root" || strings.HasPrefix(*v, "0:") || strings.HasPrefix(*v, "root:")) {
		return fmt.Errorf("agentservice: User %q runs the container as root; use a non-root user such as %q", *v, DefaultUser)
	}
	return p.validateHTTPS()
}

func (p *Props) validateHTTPS() error {
	if p.Certificate != nil && p.DomainName != nil {
		return fmt.Errorf("agentservice: Certificate and DomainName are both set; give a Certificate, or a DomainName with its DomainZone to have one made")
	}
	if (p.DomainName == nil) != (p.DomainZone == nil) {
		return fmt.Errorf("agentservice: DomainName and DomainZone go together; the zone validates the certificate and holds the alias record")
	}
	if v := p.DomainName; v != nil && !token.IsString(v) && !domainName.MatchString(*v) {
		return fmt.Errorf("agentservice: DomainName %q is not a domain name; use one such as agent.example.com", *v)
	}
	if err := checkEnum("SslPolicy", p.SslPolicy, sslPolicies, "awselasticloadbalancingv2.SslPolicy", elbv2.SslPolicy_RECOMMENDED_TLS); err != nil {
		return err
	}
	if !p.https() {
		if p.SslPolicy != "" || p.RedirectHTTP != nil {
			return fmt.Errorf("agentservice: SslPolicy and RedirectHTTP apply only with HTTPS; give a Certificate or a DomainName")
		}
	}
	return nil
}

var domainName = regexp.MustCompile(`^(\*\.)?([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}\.?$`)

func (p *Props) https() bool { return p.Certificate != nil || p.DomainName != nil }

func (p *Props) readonlyRoot() bool { return defaults.Or(p.ReadonlyRootFilesystem, true) }

// credentialGuard applies the credential guard, when the app synthesizes,
// to the container's final environment: what Environment set and anything
// added later with Container.AddEnvironment, which Validate cannot see.
type credentialGuard struct {
	def       awsecs.TaskDefinition
	container string
	allowed   map[string]bool
}

// guardCredentials registers the guard on the task definition.
func guardCredentials(def awsecs.TaskDefinition, container string, p *Props) {
	allowed, _ := validateAllowList(p.EnvironmentAllowList) // Validate has refused a bad list
	// The construct's own: it holds the secret's ARN, not a key.
	allowed[agentkit.EnvAPIKeysSecret] = true
	def.Node().AddValidation(&credentialGuard{def: def, container: container, allowed: allowed})
}

// Validate implements constructs.IValidation: one message per
// credential-like name in the container's environment.
func (g *credentialGuard) Validate() *[]*string {
	var errs []*string
	cfn, ok := g.def.Node().DefaultChild().(awsecs.CfnTaskDefinition)
	if !ok {
		return &errs
	}
	// Resolved, the container definitions are the L1's properties, in
	// their camel-case form: [{name, environment: [{name, value}]}].
	containers, _ := awscdk.Stack_Of(g.def).Resolve(cfn.ContainerDefinitions()).([]any)
	for _, c := range containers {
		m, _ := c.(map[string]any)
		if m["name"] != g.container {
			continue
		}
		env, _ := m["environment"].([]any)
		for _, kv := range env {
			name, _ := kv.(map[string]any)["name"].(string)
			if token.IsString(&name) {
				continue
			}
			if err := checkCredentialName(name, g.allowed); err != nil {
				errs = append(errs, jsii.String(err.Error()))
			}
		}
	}
	return &errs
}

// managedPolicies is an aspect that turns the inline policies the CDK's
// grants write (each role's DefaultPolicy, an AWS::IAM::Policy) into
// customer-managed policies attached to the same roles, with the same
// statements: compliance packs refuse inline policies, and a managed one
// can be reviewed, versioned and reused on its own. It runs at synthesis,
// so grants added after New (a queue's GrantSendMessages on the task role)
// are covered too.
type managedPolicies struct {
	// owner names the construct the aspect is on. (jsii tells objects apart
	// by address, and values of a zero-size type may share one.)
	owner string
}

// Visit implements awscdk.IAspect.
func (*managedPolicies) Visit(node constructs.IConstruct) {
	policy, ok := node.(awsiam.CfnPolicy)
	if !ok {
		return
	}
	// AWS::IAM::ManagedPolicy takes the same PolicyDocument, Roles, Users
	// and Groups, and names itself.
	policy.AddOverride(jsii.String("Type"), jsii.String("AWS::IAM::ManagedPolicy"))
	policy.AddPropertyDeletionOverride(jsii.String("PolicyName"))
}
