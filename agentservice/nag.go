package agentservice

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/nag"
)

// suppressInherent records, as cdk-nag metadata on the one resource each
// concerns, the AwsSolutions findings that follow from what the service is
// rather than from a choice a user could make differently. The library does
// not depend on cdk-nag; users who run it see only their own findings.
func suppressInherent(s *Service, p *Props) {
	if s.AccessLogsBucket != nil && p.AccessLogsBucket == nil { // only the bucket the construct made
		nag.Suppress(s.AccessLogsBucket, nag.Rule{ID: "AwsSolutions-S1",
			Reason: "This bucket receives the load balancer's access logs; logging its own access to itself would loop, and its contents are already an access log"})
	}
	if p.internetFacing() {
		nag.Suppress((*s.LoadBalancer.Connections().SecurityGroups())[0], nag.Rule{ID: "AwsSolutions-EC23",
			Reason: "A public load balancer accepts 0.0.0.0/0 on its listener ports only (80, and 443 with HTTPS); every other port is closed and the tasks accept traffic only from this group"})
	}
	suppressTask(s.TaskDefinition, defaults.Or(p.EnableExecuteCommand, false))
	if s.Distribution != nil {
		suppressFront(s)
	}
	if s.AccessLogsBucket != nil && p.AccessLogsBucket == nil {
		suppressCompliance(s.AccessLogsBucket, "S3BucketLoggingEnabled",
			"This bucket receives the load balancer's access logs; logging its own access to itself would loop, and its contents are already an access log")
		suppressCompliance(s.AccessLogsBucket, "S3DefaultEncryptionKMS",
			"Elastic Load Balancing delivers access logs only to buckets encrypted with S3-managed keys (SSE-S3), which this bucket uses; a KMS key would stop the logs")
		suppressCompliance(s.AccessLogsBucket, "S3BucketReplicationEnabled",
			"Access logs expire after AccessLogsRetentionDays and are versioned against overwrites; a replica in another region is a disaster-recovery choice for the account, made on the bucket")
	}
	if !p.public() {
		suppressCompliance(s.LoadBalancer, "ALBWAFEnabled",
			"This internal load balancer answers only inside its VPC; the construct puts a web ACL (Firewall) in front of public load balancers, where traffic from the internet arrives")
	}
	if s.RedirectListener != nil {
		suppressCompliance(s.RedirectListener, "ELBv2ACMCertificateRequired",
			"This HTTP listener only redirects every request to HTTPS on 443, whose listener has the certificate; it serves nothing itself")
	}
	if s.TestTrafficSecret != nil && p.Deployment.TestTrafficSecret == nil { // only the secret the construct made
		suppressTestTrafficSecret(s.TestTrafficSecret)
	}
	if s.APIKeysSecret != nil && p.auth().apiKeys.Secret == nil { // only the secret the construct made
		suppressAPIKeysSecret(s.APIKeysSecret)
	}
	if p.AlarmTopic == nil {
		for _, a := range s.Alarms {
			suppressCompliance(a, "CloudWatchAlarmAction",
				"This deployment alarm's action is the ECS deployment rollback (the service's DeploymentAlarms), which the rule does not see; give AlarmTopic to be notified as well")
		}
	}
}

// suppressFront records what follows from serving through CloudFront
// with no domain of the user's own (FrontCloudFront; docs/front.md).
func suppressFront(s *Service) {
	dist := s.Distribution
	nag.Suppress(dist,
		nag.Rule{ID: "AwsSolutions-CFR1",
			Reason: "Who may call the agent is decided by caller identity and the web ACL's limits; which countries may reach it is the owner's decision, made on Service.Distribution"},
		nag.Rule{ID: "AwsSolutions-CFR2",
			Reason: "The web ACL (Firewall) is on the load balancer, which only this distribution reaches; a CLOUDFRONT-scope web ACL can only be made in us-east-1, which a stack in another region cannot do"},
		nag.Rule{ID: "AwsSolutions-CFR3",
			Reason: "Every request the distribution passes on is in the load balancer's access log, with the viewer's address in X-Forwarded-For; CloudFront's standard logs (v2) are set up in us-east-1 only, and its legacy logs need a bucket with ACLs enabled"},
		nag.Rule{ID: "AwsSolutions-CFR4",
			Reason: "The distribution serves *.cloudfront.net with CloudFront's default certificate, for which CloudFront fixes the minimum protocol at TLSv1 whatever is asked; a domain of your own with a us-east-1 certificate lifts it"},
	)
	const internal = "This listener is on an internal load balancer that admits only CloudFront's origin-facing addresses; viewers reach it through the distribution, which serves HTTPS and redirects HTTP, and the hop from CloudFront stays inside the VPC"
	suppressCompliance(s.Listener, "ALBHttpToHttpsRedirection", internal)
	suppressCompliance(s.Listener, "ELBv2ACMCertificateRequired", internal)
	suppressCompliance(s.LoadBalancer, "ALBHttpToHttpsRedirection", internal)
}

// suppressTestTrafficSecret records why the test-traffic secret is
// neither rotated nor encrypted with a customer key: CloudFormation reads
// its value into the listener rule at deploy, so a rotation between
// deploys would not reach the rule (it would only lock the smoke test
// out), and the rule holds the value for anyone allowed
// elasticloadbalancing:DescribeRules, which a customer key on the secret
// does not guard.
func suppressTestTrafficSecret(secret constructs.IConstruct) {
	const rotation = "CloudFormation resolves this value into the test listener rule at deploy; a rotation between deploys would not reach the rule. Change it by updating the secret and deploying"
	nag.Suppress(secret, nag.Rule{ID: "AwsSolutions-SMG4", Reason: rotation})
	suppressCompliance(secret, "SecretsManagerRotationEnabled", rotation)
	suppressCompliance(secret, "SecretsManagerUsingKMSKey",
		"The value also sits in the test listener rule, readable with elasticloadbalancing:DescribeRules; a customer key on the secret would guard no more than IAM on that action. Give Deployment.TestTrafficSecret to use a secret of your own")
}

// suppressAPIKeysSecret records why the secret of API keys the construct
// made has no rotation schedule and no customer key: its keys rotate by
// put-secret-value without a deploy, read by every task within a minute,
// and only the task role may read it.
func suppressAPIKeysSecret(secret constructs.IConstruct) {
	const rotation = "The callers' keys rotate by put-secret-value, without a deploy: every task reads the secret again each minute (agentkit/apikeys; docs/caller-identity.md). A rotation Lambda would have to know each caller, which only the owner does"
	nag.Suppress(secret, nag.Rule{ID: "AwsSolutions-SMG4", Reason: rotation})
	suppressCompliance(secret, "SecretsManagerRotationEnabled", rotation)
	suppressCompliance(secret, "SecretsManagerUsingKMSKey",
		"Only the task role may read this secret (GetSecretValue on it alone); give Auth AuthAPIKeys a Secret of your own to encrypt the keys with a customer managed key, which the task role is then allowed to decrypt with through Secrets Manager only")
}

// compliancePacks are the rule-id prefixes of cdk-nag's compliance packs,
// whose rules share names.
var compliancePacks = []string{"NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321"}

// suppressCompliance records one rule, in every compliance pack, as
// inherent on c: a pack without that rule ignores it.
func suppressCompliance(c constructs.IConstruct, rule, reason string, appliesTo ...string) {
	rules := make([]nag.Rule, len(compliancePacks))
	for i, pack := range compliancePacks {
		rules[i] = nag.Rule{ID: pack + "-" + rule, Reason: reason, AppliesTo: appliesTo}
	}
	nag.Suppress(c, rules...)
}

// suppressTask covers the task definition both constructs make: its
// plain environment (the agentkit contract), the ECR pull of an image from
// ECR, and ECS Exec's channel. The grants AWS allows on "*" only move to a
// policy of their own on each role (isolateInherent), so that the
// suppression of their finding cannot hide a user's grant on "*".
func suppressTask(def awsecs.FargateTaskDefinition, exec bool) {
	suppressOnce(def, nag.Rule{ID: "AwsSolutions-ECS2",
		Reason: "The plain environment holds the agentkit runtime contract (PORT, AGENTKIT_* timings, the queue URL) and the caller's non-secret settings; credential-like names are refused at synth time and secrets come from SSM or Secrets Manager"})
	if pullsFromECR(def) {
		isolateInherent(def.ExecutionRole(),
			"ecr:GetAuthorizationToken, which the execution role needs to pull the image from ECR, has no resource-level permissions; the pull itself is granted on the image's repository only",
			ecrAuthorization)
	}
	if !exec {
		return
	}
	isolateInherent(def.TaskRole(),
		"ECS Exec: the ssmmessages channel actions and logs:DescribeLogGroups have no resource-level permissions",
		execActions...)
	if logs, ok := def.Node().Scope().Node().TryFindChild(jsii.String("ExecLogs")).(awslogs.LogGroup); ok {
		suppressOnce(defaultPolicy(def.TaskRole()), nag.Rule{ID: "AwsSolutions-IAM5",
			AppliesTo: []string{fmt.Sprintf("Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<%s>:*", logicalID(logs))},
			Reason:    "ECS Exec writes session logs to streams of the one exec log group, whose names are known only at run time"})
	}
}

// The grants the CDK gives a task's roles on "*", because AWS allows them
// on no narrower resource: the registry login of an ECR pull, and ECS
// Exec's channel and log-group lookup
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html).
const ecrAuthorization = "ecr:GetAuthorizationToken"

var execActions = []string{
	"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
	"ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
	"logs:DescribeLogGroups",
}

// logicalID is the resolved logical ID of a construct's CloudFormation
// resource, as cdk-nag writes it into a finding.
func logicalID(c constructs.IConstruct) string {
	cfn, ok := c.Node().DefaultChild().(awscdk.CfnElement)
	if !ok {
		return ""
	}
	stack := awscdk.Stack_Of(c)
	id, _ := stack.Resolve(stack.GetLogicalId(cfn)).(string)
	return id
}
