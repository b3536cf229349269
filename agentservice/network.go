package agentservice

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/nag"
)

// network returns the VPC and cluster to run in, making what was not given.
func network(scope constructs.Construct, p *Props) (awsec2.IVpc, awsecs.ICluster) {
	if p.Cluster != nil {
		return p.Cluster.Vpc(), p.Cluster
	}
	vpc := p.Vpc
	if vpc == nil {
		vpc = newVpc(scope, p)
	}
	insights := awsecs.ContainerInsights_DISABLED
	if p.insights() {
		insights = awsecs.ContainerInsights_ENABLED
	}
	var exec *awsecs.ExecuteCommandConfiguration
	if defaults.Or(p.EnableExecuteCommand, false) {
		exec = &awsecs.ExecuteCommandConfiguration{
			Logging: awsecs.ExecuteCommandLogging_OVERRIDE,
			LogConfiguration: &awsecs.ExecuteCommandLogConfiguration{
				CloudWatchLogGroup:          newLogGroup(scope, "ExecLogs", p),
				CloudWatchEncryptionEnabled: jsii.Bool(p.LogEncryptionKey != nil),
			},
		}
	}
	cluster := awsecs.NewCluster(scope, jsii.String("Cluster"), &awsecs.ClusterProps{
		Vpc:                            vpc,
		ClusterName:                    p.ClusterName,
		ContainerInsightsV2:            insights,
		EnableFargateCapacityProviders: jsii.Bool(defaults.Or(p.FargateSpot, false)),
		ExecuteCommandConfiguration:    exec,
	})
	return vpc, cluster
}

func newVpc(scope constructs.Construct, p *Props) awsec2.Vpc {
	vpc := awsec2.NewVpc(scope, jsii.String("Vpc"), &awsec2.VpcProps{
		MaxAzs:      jsii.Number(defaults.Or(p.MaxAzs, DefaultMaxAzs)),
		NatGateways: jsii.Number(defaults.Or(p.NatGateways, DefaultNatGateways)),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			// Only the load balancer and the NAT gateways (with their own
			// Elastic IPs) live here: nothing needs an automatic public IP.
			{Name: jsii.String("Public"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(24), MapPublicIpOnLaunch: jsii.Bool(false)},
			{Name: jsii.String("Private"), SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS, CidrMask: jsii.Number(24)},
		},
		RestrictDefaultSecurityGroup: jsii.Bool(defaults.Or(p.RestrictDefaultSecurityGroup, true)),
	})
	tendDefaultSGProvider(awscdk.Stack_Of(scope))
	if defaults.Or(p.RestrictDefaultSecurityGroup, true) {
		suppressCompliance(vpc, "VPCDefaultSecurityGroupClosed",
			"The CDK's custom resource (RestrictDefaultSecurityGroup) removes every rule of this VPC's default security group at deploy; the rule reads only the template, where those rules do not appear")
	}
	for _, subnet := range *vpc.PublicSubnets() {
		if route := subnet.Node().TryFindChild(jsii.String("DefaultRoute")); route != nil {
			suppressCompliance(route, "VPCNoUnrestrictedRouteToIGW",
				"This is a public subnet's route to the internet gateway, which is what makes it public; only the load balancer and the NAT gateway live in the public subnets, and the tasks run in the private ones")
		}
	}
	if defaults.Or(p.FlowLogs, true) {
		logs := newLogGroup(vpc, "FlowLogs", p)
		vpc.AddFlowLog(jsii.String("FlowLog"), &awsec2.FlowLogOptions{
			Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(logs, nil),
			TrafficType: awsec2.FlowLogTrafficType_ALL,
		})
	}
	return vpc
}

// newLogGroup makes a log group with the props' retention and key. Every
// log group the construct makes comes from here, so none is kept forever
// by accident.
func newLogGroup(scope constructs.Construct, id string, p *Props) awslogs.LogGroup {
	return awslogs.NewLogGroup(scope, jsii.String(id), &awslogs.LogGroupProps{
		Retention:     p.logRetention(),
		EncryptionKey: p.LogEncryptionKey,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}

// logKey returns the key that encrypts the construct's log groups: the
// caller's, or a new customer-managed key with yearly rotation, kept when
// the stack is deleted as the log groups are (logs encrypted with a deleted
// key cannot be read). The new key is also returned on its own, for the
// construct's LogKey field; it is nil for the caller's key.
func logKey(scope constructs.Construct, given awskms.IKey) (awskms.IKey, awskms.Key) {
	if given != nil {
		allowLogsToUse(given)
		return given, nil
	}
	key := awskms.NewKey(scope, jsii.String("LogKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the log groups of " + *scope.Node().Path()),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	allowLogsToUse(key)
	return key, key
}

// allowLogsToUse lets CloudWatch Logs in this account and Region use key
// for log groups, with the statement of its encryption guide
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html):
// the Regional service principal logs.REGION.amazonaws.com (the global
// logs.amazonaws.com is refused: "The specified KMS key does not exist or is
// not allowed to be used with Arn ..."), narrowed by the encryption context
// CloudWatch Logs sends, the ARN of a log group of this account and Region.
// An imported key's policy is its owner's to change: for it this adds
// nothing.
func allowLogsToUse(key awskms.IKey) {
	stack := awscdk.Stack_Of(key)
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudWatchLogs"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(regionalService("logs", stack), nil)},
		Actions:    jsii.Strings("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{
			"ArnLike": map[string]any{
				"kms:EncryptionContext:aws:logs:arn": awscdk.Fn_Join(jsii.String(""), &[]*string{
					jsii.String("arn:"), stack.Partition(), jsii.String(":logs:"), stack.Region(), jsii.String(":"), stack.Account(), jsii.String(":*"),
				}),
			},
		},
	}), jsii.Bool(true))
}

// regionalService is the Regional principal of an AWS service in the
// stack's Region, such as logs.us-east-1.amazonaws.com: the Region and the
// partition's domain (amazonaws.com, amazonaws.com.cn) as the stack
// resolves them, so an environment-agnostic stack gets them at deploy time.
func regionalService(service string, stack awscdk.Stack) *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String(service + "."), stack.Region(), jsii.String("."), stack.UrlSuffix(),
	})
}

// tendDefaultSGProvider looks after the CDK's provider for
// RestrictDefaultSecurityGroup, a Lambda function and its role that the CDK
// makes as raw CfnResources at the stack's root. It removes the DependsOn
// the CDK puts on the handler (its Role is a GetAtt of the same role, which
// orders them already, and cfn-lint warns about the duplicate, W3005), and
// records the role's one inherent cdk-nag finding, which a scanner of the
// template sees although the in-tree rules do not (they visit typed L1s
// only). Without that provider it does nothing.
func tendDefaultSGProvider(stack awscdk.Stack) {
	provider := stack.Node().TryFindChild(jsii.String("Custom::VpcRestrictDefaultSGCustomResourceProvider"))
	if provider == nil {
		return
	}
	handler, hok := provider.Node().TryFindChild(jsii.String("Handler")).(awscdk.CfnResource)
	role, rok := provider.Node().TryFindChild(jsii.String("Role")).(awscdk.CfnResource)
	if hok && rok {
		handler.RemoveResourceDependency(role)
	}
	if hok {
		const oneShot = "The CDK's provider that empties the VPC's default security group: CloudFormation invokes it once per deploy"
		suppressCompliance(handler, "LambdaConcurrency",
			oneShot+"; reserving concurrency for it would fail in accounts at Lambda's minimum unreserved quota")
		suppressCompliance(handler, "LambdaDLQ",
			oneShot+" and waits for its answer, so a failed invocation fails the deploy and is seen there; a dead-letter queue would hold nothing to act on")
		suppressCompliance(handler, "LambdaInsideVPC",
			oneShot+"; it calls only the EC2 API, and inside the VPC it would need the NAT gateway it may be deploying before")
	}
	if rok {
		suppressCompliance(role, "IAMNoInlinePolicy",
			"The CDK writes this provider's role, with its one policy inline, as a raw resource that the construct's other roles' managed policies cannot replace; the policy names the default security group alone")
		nag.Suppress(role, nag.Rule{ID: "AwsSolutions-IAM4",
			AppliesTo: []string{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"},
			Reason: "The CDK's provider that empties the VPC's default security group runs as a Lambda function; this managed policy only lets it write its own logs, " +
				"and its one other right, an inline policy, names the default security group alone"})
	}
}
