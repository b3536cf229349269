package agentservice_test

import (
	"slices"
	"strings"
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

// complianceCase is one main option combination of the construct.
type complianceCase struct {
	name  string
	props func(stack awscdk.Stack) *agentservice.Props
	want  []stacktest.Suppression
	// plainHTTP, deletionProtection and topic say which user decisions
	// the case makes: plainHTTP serves HTTP where viewers connect (an
	// internal load balancer, or FrontPublicHTTP).
	plainHTTP, deletionProtection, topic bool
	// warned says the case asked for plain HTTP on the internet, and for
	// no caller check, by name, which synthesis warns of.
	warned bool
	// stack is the case's shared stack, synthesized with AwsSolutions.
	stack *stackCase
}

// complianceCases are the main option combinations, each in a stack
// named "Compliance" that it synthesizes once, with AwsSolutions applied
// to its construct tree.
var complianceCases = func() []complianceCase {
	cases := complianceOptions()
	for i := range cases {
		cases[i].stack = &stackCase{name: "Compliance", web: cases[i].props, packs: []stacktest.Pack{stacktest.AwsSolutions}}
	}
	return cases
}()

func complianceOptions() []complianceCase {
	base := func() *agentservice.Props {
		return &agentservice.Props{
			Image:   registryImage(),
			Secrets: secrets.FromParameters("/agents/prod", 1, "OPENAI_API_KEY"),
		}
	}
	return []complianceCase{
		{
			name:  "defaults",
			props: func(awscdk.Stack) *agentservice.Props { return base() },
			want:  []stacktest.Suppression{cloudFrontGeo, cloudFrontWAF, cloudFrontLogs, cloudFrontTLS, accessLogsBucket, apiKeysRotation, contractEnvironment, defaultSGProvider},
		},
		{
			name: "https with a certificate",
			props: func(stack awscdk.Stack) *agentservice.Props {
				p := base()
				// Callers with JWTs, verified at the load balancer too.
				p.Auth = agentservice.AuthJWT(jwtProps())
				p.Certificate = awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("Cert"),
					jsii.String("arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"))
				return p
			},
			want: []stacktest.Suppression{publicIngress, accessLogsBucket, contractEnvironment, defaultSGProvider},
		},
		{
			name: "https with a domain name",
			props: func(stack awscdk.Stack) *agentservice.Props {
				p := base()
				p.DomainName = jsii.String("agent.example.com")
				p.DomainZone = awsroute53.HostedZone_FromHostedZoneAttributes(stack, jsii.String("Zone"), &awsroute53.HostedZoneAttributes{
					HostedZoneId: jsii.String("Z0123456789ABCDEFGHIJ"), ZoneName: jsii.String("example.com"),
				})
				return p
			},
			want: []stacktest.Suppression{publicIngress, accessLogsBucket, apiKeysRotation, contractEnvironment, defaultSGProvider},
		},
		{
			name:      "internal load balancer in an existing VPC",
			plainHTTP: true,
			props: func(stack awscdk.Stack) *agentservice.Props {
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
			want: []stacktest.Suppression{accessLogsBucket, apiKeysRotation, contractEnvironment},
		},
		{
			name: "arm64 with ecs exec and a log key",
			props: func(stack awscdk.Stack) *agentservice.Props {
				p := base()
				p.CpuArchitecture = agentservice.ArchitectureArm64
				p.EnableExecuteCommand = jsii.Bool(true)
				p.ReadonlyRootFilesystem = jsii.Bool(false)
				p.LogEncryptionKey = awskms.NewKey(stack, jsii.String("LogKey"), &awskms.KeyProps{EnableKeyRotation: jsii.Bool(true)})
				return p
			},
			want: []stacktest.Suppression{cloudFrontGeo, cloudFrontWAF, cloudFrontLogs, cloudFrontTLS, accessLogsBucket, apiKeysRotation, contractEnvironment, defaultSGProvider, execWildcard, execLogs},
		},
		{
			name: "blue/green with a test header",
			props: func(awscdk.Stack) *agentservice.Props {
				return strategy(base(), awsecs.DeploymentStrategy_BLUE_GREEN, jsii.String("X-Agent-Canary"))
			},
			want: []stacktest.Suppression{cloudFrontGeo, cloudFrontWAF, cloudFrontLogs, cloudFrontTLS, accessLogsBucket, apiKeysRotation, contractEnvironment, defaultSGProvider, deployRoleWildcard, testTrafficRotation},
		},
		{
			name:  "canary",
			props: func(awscdk.Stack) *agentservice.Props { return strategy(base(), awsecs.DeploymentStrategy_CANARY, nil) },
			want:  []stacktest.Suppression{cloudFrontGeo, cloudFrontWAF, cloudFrontLogs, cloudFrontTLS, accessLogsBucket, apiKeysRotation, contractEnvironment, defaultSGProvider, deployRoleWildcard},
		},
		{
			name: "linear with https",
			props: func(stack awscdk.Stack) *agentservice.Props {
				p := strategy(base(), awsecs.DeploymentStrategy_LINEAR, nil)
				p.Certificate = awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("Cert"),
					jsii.String("arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"))
				// JWTs, verified in the task only: ECS rewrites the rules.
				p.Auth = agentservice.AuthJWT(jwtProps())
				return p
			},
			want: []stacktest.Suppression{publicIngress, accessLogsBucket, contractEnvironment, defaultSGProvider, deployRoleWildcard},
		},
		{
			name:  "an alarm topic",
			topic: true,
			props: func(stack awscdk.Stack) *agentservice.Props {
				p := base()
				p.AlarmTopic = awssns.Topic_FromTopicArn(stack, jsii.String("Topic"), jsii.String("arn:aws:sns:us-east-1:123456789012:alarms"))
				// JWTs behind CloudFront: verified in the task only.
				p.Auth = agentservice.AuthJWT(jwtProps())
				return p
			},
			want: []stacktest.Suppression{cloudFrontGeo, cloudFrontWAF, cloudFrontLogs, cloudFrontTLS, accessLogsBucket, contractEnvironment, defaultSGProvider},
		},
		{
			name:               "fargate spot with deletion protection",
			deletionProtection: true,
			props: func(stack awscdk.Stack) *agentservice.Props {
				p := base()
				p.FargateSpot = jsii.Bool(true)
				p.DeletionProtection = jsii.Bool(true)
				// API keys in a secret of the user's, imported by name.
				p.Auth = agentservice.AuthAPIKeys(&agentservice.APIKeys{
					Secret: awssecretsmanager.Secret_FromSecretNameV2(stack, jsii.String("ByName"), jsii.String("agents/prod/api-keys")),
				})
				return p
			},
			want: []stacktest.Suppression{cloudFrontGeo, cloudFrontWAF, cloudFrontLogs, cloudFrontTLS, accessLogsBucket, contractEnvironment, defaultSGProvider},
		},
		{
			name:      "plain HTTP on the internet, by name",
			plainHTTP: true,
			warned:    true,
			props: func(awscdk.Stack) *agentservice.Props {
				p := base()
				p.Front = agentservice.FrontPublicHTTP
				p.Auth = agentservice.AuthNone()
				return p
			},
			want: []stacktest.Suppression{publicIngress, accessLogsBucket, contractEnvironment, defaultSGProvider},
		},
	}
}

// strategy sets a blue/green-family deploy on p, with the requests policy
// off as it must be, and a test header when header is not nil.
func strategy(p *agentservice.Props, s awsecs.DeploymentStrategy, header *string) *agentservice.Props {
	p.Deployment = &agentservice.Deployment{Strategy: s, TestTrafficHeader: header}
	p.Scaling = &scaling.Props{DisableRequests: jsii.Bool(true)}
	return p
}

func TestComplianceAwsSolutions(t *testing.T) {
	for _, tc := range complianceCases {
		t.Run(tc.name, func(t *testing.T) {
			// GIVEN the construct with one main option combination
			// WHEN it is synthesized once with cdk-nag's AwsSolutions pack
			s := tc.stack.synth(t)

			// THEN nothing is left unsuppressed in the construct tree, but
			// the warning a case that serves plain HTTP on the internet asked for
			stacktest.NoFindings(t, tc.expectWarning(t, s.Findings))
			// AND, in the template as a scanner of CloudFormation reads it
			// (every pack in one scan), nothing of AwsSolutions, and no rule
			// that could not run
			scan := stacktest.ScanPacks(t, s.TemplatePath, stacktest.Packs...)
			stacktest.NoFindings(t, scan[stacktest.AwsSolutions])
			stacktest.NoFindings(t, scan[""])
			// AND exactly the accepted suppressions are in the template
			stacktest.ExpectSuppressions(t, s.Suppressions(stacktest.AwsSolutions), tc.want...)
			// AND the compliance packs find, in the template, only the
			// decisions the case leaves to its user
			for pack, rules := range tc.decisions() {
				stacktest.ExpectFindings(t, pack, scan[pack], rules...)
			}
		})
	}
}

// expectWarning takes out of findings the warnings a warned case must
// carry, once each, on the construct (plain HTTP on the internet, no
// caller check), and fails without them.
func (tc complianceCase) expectWarning(t *testing.T, findings []stacktest.Finding) []stacktest.Finding {
	t.Helper()
	rest := findings
	for _, w := range []struct{ id, text string }{
		{"agentcdk:publicHTTP", "serves plain HTTP on the internet"},
		{"agentcdk:noAuth", "serves every caller without asking who it is"},
	} {
		before := len(rest)
		rest = slices.DeleteFunc(slices.Clone(rest), func(f stacktest.Finding) bool {
			return f.Level == "warning" && f.Path == "/Compliance/Agent" && strings.Contains(f.Message, w.id) &&
				strings.Contains(f.Message, w.text)
		})
		if warned := before - len(rest); tc.warned && warned != 1 {
			t.Errorf("%d %s warnings on /Compliance/Agent, want 1", warned, w.id)
		}
	}
	return rest
}

// decisions are the compliance findings a case leaves to its user: HTTP
// where viewers connect (closed by the default front, or Certificate or
// DomainName), deletion
// protection off (closed by DeletionProtection), and the latency and EMF
// errors alarms, which notify no one (closed by AlarmTopic).
func (tc complianceCase) decisions() map[stacktest.Pack][]string {
	var http, others []string
	if tc.plainHTTP {
		http = []string{"ALBHttpToHttpsRedirection", "ELBv2ACMCertificateRequired"}
	}
	if !tc.deletionProtection {
		others = append(others, "ELBDeletionProtectionEnabled")
	}
	if !tc.topic {
		others = append(others, "CloudWatchAlarmAction", "CloudWatchAlarmAction")
	}
	return map[stacktest.Pack][]string{
		stacktest.NIST80053R5: append(slices.Clone(http), others...),
		stacktest.HIPAA:       append(slices.Clone(http), others...),
		stacktest.PCIDSS321:   http,
	}
}
