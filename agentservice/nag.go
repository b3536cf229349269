package agentservice

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/internal/nag"
)

// suppressInherent records, as cdk-nag metadata on the one resource each
// concerns, the AwsSolutions findings that follow from what the service is
// rather than from a choice a user could make differently. The library does
// not depend on cdk-nag; users who run it see only their own findings.
func suppressInherent(s *Service, p *Props) {
	if s.AccessLogsBucket != nil {
		if b, ok := s.AccessLogsBucket.Node().DefaultChild().(awscdk.CfnResource); ok && p.AccessLogsBucket == nil {
			nag.Suppress(b, nag.Rule{ID: "AwsSolutions-S1",
				Reason: "This bucket receives the load balancer's access logs; logging its own access to itself would loop, and its contents are already an access log"})
		}
	}
	if p.public() {
		nag.Suppress((*s.LoadBalancer.Connections().SecurityGroups())[0], nag.Rule{ID: "AwsSolutions-EC23",
			Reason: "A public load balancer accepts 0.0.0.0/0 on its listener ports only (80, and 443 with HTTPS); every other port is closed and the tasks accept traffic only from this group"})
	}
	suppressTask(s.TaskDefinition, p.Image, boolOr(p.EnableExecuteCommand, false))
}

// suppressTask covers the task definition both constructs make.
func suppressTask(def awsecs.FargateTaskDefinition, image *Image, exec bool) {
	nag.Suppress(def, nag.Rule{ID: "AwsSolutions-ECS2",
		Reason: "The plain environment holds the agentkit runtime contract (PORT, AGENTKIT_STOP_TIMEOUT, AGENTKIT_IDLE_TIMEOUT, queue URL) and non-secret settings; credential-like names are refused at synth time and secrets come from SSM or Secrets Manager"})
	if image.Directory != nil {
		if policy := grantPolicy(def.ExecutionRole()); policy != nil {
			nag.Suppress(policy, nag.Rule{ID: "AwsSolutions-IAM5", AppliesTo: []string{"Resource::*"},
				Reason: "ecr:GetAuthorizationToken has no resource-level permissions, so pulling the image asset from ECR needs it on *; the pull itself is granted on the asset repository only"})
		}
	}
	if exec {
		policy := grantPolicy(def.TaskRole())
		logs, ok := def.Node().Scope().Node().TryFindChild(jsii.String("ExecLogs")).(awslogs.LogGroup)
		if policy == nil {
			return
		}
		appliesTo := []string{"Resource::*"}
		if ok {
			appliesTo = append(appliesTo, fmt.Sprintf("Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<%s>:*", logicalID(logs)))
		}
		nag.Suppress(policy, nag.Rule{ID: "AwsSolutions-IAM5", AppliesTo: appliesTo,
			Reason: "ECS Exec: the ssmmessages channel actions have no resource-level permissions, and session logs are written to streams of the one exec log group"})
	}
}

// grantPolicy is the policy the CDK adds to role for its grants, or nil.
func grantPolicy(role constructs.IConstruct) constructs.IConstruct {
	if role == nil {
		return nil
	}
	return role.Node().TryFindChild(jsii.String("DefaultPolicy"))
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
