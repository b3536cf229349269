package astest

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/internal/stacktest"
	"github.com/agentcdk/agentcdk/scaling"
	"github.com/agentcdk/agentcdk/secrets"
)

// The suppressions a reviewer accepts, by the resource they sit on (paths
// under the test stack "Compliance"). Everything else must be fixed, not
// suppressed.
var (
	// The public load balancer must accept 0.0.0.0/0 on its listener ports.
	publicIngress = stacktest.Suppression{Path: "/Compliance/Agent/LBSecurityGroup/Resource", Rule: "AwsSolutions-EC23"}
	// CloudFront on its own domain: the country list is the owner's, the
	// web ACL is on the load balancer (CLOUDFRONT scope is us-east-1
	// only), the load balancer's access log has every request, and the
	// default certificate's minimum protocol is fixed at TLSv1.
	cloudFrontGeo  = stacktest.Suppression{Path: "/Compliance/Agent/Distribution/Resource", Rule: "AwsSolutions-CFR1"}
	cloudFrontWAF  = stacktest.Suppression{Path: "/Compliance/Agent/Distribution/Resource", Rule: "AwsSolutions-CFR2"}
	cloudFrontLogs = stacktest.Suppression{Path: "/Compliance/Agent/Distribution/Resource", Rule: "AwsSolutions-CFR3"}
	cloudFrontTLS  = stacktest.Suppression{Path: "/Compliance/Agent/Distribution/Resource", Rule: "AwsSolutions-CFR4"}
	// The access-log bucket cannot log to itself.
	accessLogsBucket = stacktest.Suppression{Path: "/Compliance/Agent/AccessLogs/Resource", Rule: "AwsSolutions-S1"}
	// PORT, AGENTKIT_STOP_TIMEOUT and AGENTKIT_IDLE_TIMEOUT are the runtime
	// contract, not secrets, and must be plain environment variables.
	contractEnvironment = stacktest.Suppression{Path: "/Compliance/Agent/TaskDef/Resource", Rule: "AwsSolutions-ECS2"}
	// ECS Exec's ssmmessages actions have no resource-level permissions,
	// and its session logs go to streams of one log group.
	// The CDK's provider that empties a new VPC's default security group
	// logs through the managed Lambda basic execution policy.
	defaultSGProvider = stacktest.Suppression{Path: "/Compliance/Custom::VpcRestrictDefaultSGCustomResourceProvider/Role", Rule: "AwsSolutions-IAM4",
		AppliesTo: []string{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}}
	// A blue/green-family deploy's role reads the load balancer with
	// Describe actions, which have no resource-level permissions; they live
	// in a policy of their own, so the suppression covers no user's grant.
	deployRoleWildcard = stacktest.Suppression{Path: "/Compliance/Agent/DeployRole/InherentPolicy", Rule: "AwsSolutions-IAM5", AppliesTo: []string{"Resource::*"}}
	// The test-traffic secret's value reaches the listener rule only at
	// deploy: a rotation between deploys would not.
	testTrafficRotation = stacktest.Suppression{Path: "/Compliance/Agent/TestTrafficSecret/Resource", Rule: "AwsSolutions-SMG4"}
	// The API keys rotate by put-secret-value without a deploy; the tasks
	// read them every minute.
	apiKeysRotation = stacktest.Suppression{Path: "/Compliance/Agent/APIKeys/Resource", Rule: "AwsSolutions-SMG4"}
	// ECS Exec's ssmmessages and logs:DescribeLogGroups actions (a policy
	// of their own), and its session logs, streams of one log group.
	execWildcard = stacktest.Suppression{Path: "/Compliance/Agent/TaskDef/TaskRole/InherentPolicy", Rule: "AwsSolutions-IAM5", AppliesTo: []string{"Resource::*"}}
	execLogs     = stacktest.Suppression{Path: "/Compliance/Agent/TaskDef/TaskRole/DefaultPolicy/Resource", Rule: "AwsSolutions-IAM5", AppliesTo: []string{
		"Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<AgentExecLogsE0F2D8ED>:*",
	}}
)

// ComplianceCase is one main option combination of the construct.
type ComplianceCase struct {
	// Name names the case in the tests.
	Name string
	// Props are the case's props, built in its stack.
	Props func(stack awscdk.Stack) *agentservice.Props
	// Want are the AwsSolutions suppressions the case's template holds.
	Want []stacktest.Suppression
	// PlainHTTP, DeletionProtection and Topic say which user decisions
	// the case makes: PlainHTTP serves HTTP where viewers connect (an
	// internal load balancer, or FrontPublicHTTP).
	PlainHTTP, DeletionProtection, Topic bool
	// Warned says the case asked for plain HTTP on the internet, and for
	// no caller check, by name, which synthesis warns of.
	Warned bool
	// Stack is the case's shared stack, synthesized with AwsSolutions.
	Stack *Case
}

// ComplianceCases are the main option combinations, each in a stack
// named "Compliance" that it synthesizes once, with AwsSolutions applied
// to its construct tree.
var ComplianceCases = func() []ComplianceCase {
	cases := complianceOptions()
	for i := range cases {
		cases[i].Stack = &Case{Name: "Compliance", Web: cases[i].Props, Packs: []stacktest.Pack{stacktest.AwsSolutions}}
	}
	return cases
}()

func complianceOptions() []ComplianceCase {
	base := func() *agentservice.Props {
		return &agentservice.Props{
			Image:   RegistryImage(),
			Secrets: secrets.FromParameters("/agents/prod", 1, "OPENAI_API_KEY"),
		}
	}
	return []ComplianceCase{
		{
			Name:  "defaults",
			Props: func(awscdk.Stack) *agentservice.Props { return base() },
			Want:  []stacktest.Suppression{cloudFrontGeo, cloudFrontWAF, cloudFrontLogs, cloudFrontTLS, accessLogsBucket, apiKeysRotation, contractEnvironment, defaultSGProvider},
		},
		{
			Name: "https with a certificate",
			Props: func(stack awscdk.Stack) *agentservice.Props {
				p := base()
				// Callers with JWTs, verified at the load balancer too.
				p.Auth = agentservice.AuthJWT(JWTProps())
				p.Certificate = awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("Cert"),
					jsii.String("arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"))
				return p
			},
			Want: []stacktest.Suppression{publicIngress, accessLogsBucket, contractEnvironment, defaultSGProvider},
		},
		{
			Name: "https with a domain name",
			Props: func(stack awscdk.Stack) *agentservice.Props {
				p := base()
				p.DomainName = jsii.String("agent.example.com")
				p.DomainZone = awsroute53.HostedZone_FromHostedZoneAttributes(stack, jsii.String("Zone"), &awsroute53.HostedZoneAttributes{
					HostedZoneId: jsii.String("Z0123456789ABCDEFGHIJ"), ZoneName: jsii.String("example.com"),
				})
				return p
			},
			Want: []stacktest.Suppression{publicIngress, accessLogsBucket, apiKeysRotation, contractEnvironment, defaultSGProvider},
		},
		{
			Name:      "internal load balancer in an existing VPC",
			PlainHTTP: true,
			Props: func(stack awscdk.Stack) *agentservice.Props {
				p := base()
				p.PublicLoadBalancer = jsii.Bool(false)
				p.Vpc = awsec2.Vpc_FromVpcAttributes(stack, jsii.String("Existing"), &awsec2.VpcAttributes{
					VpcId:                      jsii.String("vpc-0123456789abcdef0"),
					VpcCidrBlock:               jsii.String("10.0.0.0/16"),
					AvailabilityZones:          jsii.Strings("us-east-1a", "us-east-1b"),
					PrivateSubnetIds:           jsii.Strings("subnet-0123456789abcdef0", "subnet-0123456789abcdef1"),
					PrivateSubnetRouteTableIds: jsii.Strings("rtb-0123456789abcdef0", "rtb-0123456789abcdef1"),
				})
				return p
			},
			// Not reachable from the internet: no 0.0.0.0/0 ingress to excuse.
			Want: []stacktest.Suppression{accessLogsBucket, apiKeysRotation, contractEnvironment},
		},
		{
			Name: "arm64 with ecs exec and a log key",
			Props: func(stack awscdk.Stack) *agentservice.Props {
				p := base()
				p.CpuArchitecture = agentservice.ArchitectureArm64
				p.EnableExecuteCommand = jsii.Bool(true)
				p.ReadonlyRootFilesystem = jsii.Bool(false)
				p.LogEncryptionKey = awskms.NewKey(stack, jsii.String("LogKey"), &awskms.KeyProps{EnableKeyRotation: jsii.Bool(true)})
				return p
			},
			Want: []stacktest.Suppression{cloudFrontGeo, cloudFrontWAF, cloudFrontLogs, cloudFrontTLS, accessLogsBucket, apiKeysRotation, contractEnvironment, defaultSGProvider, execWildcard, execLogs},
		},
		{
			Name: "blue/green with a test header",
			Props: func(awscdk.Stack) *agentservice.Props {
				return Strategy(base(), awsecs.DeploymentStrategy_BLUE_GREEN, jsii.String("X-Agent-Canary"))
			},
			Want: []stacktest.Suppression{cloudFrontGeo, cloudFrontWAF, cloudFrontLogs, cloudFrontTLS, accessLogsBucket, apiKeysRotation, contractEnvironment, defaultSGProvider, deployRoleWildcard, testTrafficRotation},
		},
		{
			Name:  "canary",
			Props: func(awscdk.Stack) *agentservice.Props { return Strategy(base(), awsecs.DeploymentStrategy_CANARY, nil) },
			Want:  []stacktest.Suppression{cloudFrontGeo, cloudFrontWAF, cloudFrontLogs, cloudFrontTLS, accessLogsBucket, apiKeysRotation, contractEnvironment, defaultSGProvider, deployRoleWildcard},
		},
		{
			Name: "linear with https",
			Props: func(stack awscdk.Stack) *agentservice.Props {
				p := Strategy(base(), awsecs.DeploymentStrategy_LINEAR, nil)
				p.Certificate = awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("Cert"),
					jsii.String("arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"))
				// JWTs, verified in the task only: ECS rewrites the rules.
				p.Auth = agentservice.AuthJWT(JWTProps())
				return p
			},
			Want: []stacktest.Suppression{publicIngress, accessLogsBucket, contractEnvironment, defaultSGProvider, deployRoleWildcard},
		},
		{
			Name:  "an alarm topic",
			Topic: true,
			Props: func(stack awscdk.Stack) *agentservice.Props {
				p := base()
				p.AlarmTopic = awssns.Topic_FromTopicArn(stack, jsii.String("Topic"), jsii.String("arn:aws:sns:us-east-1:123456789012:alarms"))
				// JWTs behind CloudFront: verified in the task only.
				p.Auth = agentservice.AuthJWT(JWTProps())
				return p
			},
			Want: []stacktest.Suppression{cloudFrontGeo, cloudFrontWAF, cloudFrontLogs, cloudFrontTLS, accessLogsBucket, contractEnvironment, defaultSGProvider},
		},
		{
			Name:               "fargate spot with deletion protection",
			DeletionProtection: true,
			Props: func(stack awscdk.Stack) *agentservice.Props {
				p := base()
				p.FargateSpot = jsii.Bool(true)
				p.DeletionProtection = jsii.Bool(true)
				// API keys in a secret of the user's, imported by name.
				p.Auth = agentservice.AuthAPIKeys(&agentservice.APIKeys{
					Secret: awssecretsmanager.Secret_FromSecretNameV2(stack, jsii.String("ByName"), jsii.String("agents/prod/api-keys")),
				})
				return p
			},
			Want: []stacktest.Suppression{cloudFrontGeo, cloudFrontWAF, cloudFrontLogs, cloudFrontTLS, accessLogsBucket, contractEnvironment, defaultSGProvider},
		},
		{
			Name:      "plain HTTP on the internet, by name",
			PlainHTTP: true,
			Warned:    true,
			Props: func(awscdk.Stack) *agentservice.Props {
				p := base()
				p.Front = agentservice.FrontPublicHTTP
				p.Auth = agentservice.AuthNone()
				return p
			},
			Want: []stacktest.Suppression{publicIngress, accessLogsBucket, contractEnvironment, defaultSGProvider},
		},
	}
}

// Strategy sets a blue/green-family deploy on p, with the requests policy
// off as it must be, and a test header when header is not nil.
func Strategy(p *agentservice.Props, s awsecs.DeploymentStrategy, header *string) *agentservice.Props {
	p.Deployment = &agentservice.Deployment{Strategy: s, TestTrafficHeader: header}
	p.Scaling = &scaling.Props{DisableRequests: jsii.Bool(true)}
	return p
}

// ComplianceStack is the shared stack of the compliance case named name.
func ComplianceStack(t *testing.T, name string) *Case {
	t.Helper()
	for _, c := range ComplianceCases {
		if c.Name == name {
			return c.Stack
		}
	}
	t.Fatalf("astest: no compliance case %q", name)
	return nil
}
