package agentservice

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The confused-deputy conditions on the trust policies the constructs
// write: an AWS service may assume the role only on behalf of this account
// (aws:SourceAccount) and of its own resources in this account and Region
// (aws:SourceArn), so that another account cannot have the service act
// with our role. Each is the condition the service's own guide gives:
//   - the task role, for ecs-tasks.amazonaws.com: ECS's "Amazon ECS task
//     IAM role" (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html),
//     aws:SourceArn arn:aws:ecs:REGION:ACCOUNT:* (ECS does not support
//     naming one cluster there);
//   - the VPC flow log's role, for vpc-flow-logs.amazonaws.com: the VPC
//     guide's "IAM role for publishing flow logs to CloudWatch Logs"
//     (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html),
//     aws:SourceArn arn:aws:ec2:REGION:ACCOUNT:vpc-flow-log/* (the flow log's
//     ID is not known before the role exists).
//
// The documented exceptions, each kept as its guide writes it (see
// docs/compliance.md): the task execution role (ECS's "Amazon ECS task
// execution IAM role" gives its trust policy without conditions, and a
// condition ECS did not send would stop every task from starting), the
// blue/green deploy role (ECS's infrastructure role for load balancers,
// likewise), the access-log bucket's statement for ELB log delivery (ELB's
// guide gives it without conditions and scopes it by the object path, which
// names this account), and the role of the CDK's own provider that empties
// a new VPC's default security group.

// confineTaskRole adds the confused-deputy conditions to the trust policy
// of the task role the task definition made; a role the user gave is left
// as it is.
func confineTaskRole(role awsiam.IRole) {
	r, ok := role.(awsiam.Role)
	if !ok {
		return
	}
	stack := awscdk.Stack_Of(r)
	confineTrust(r, sourceArn(stack, "ecs", "*"))
}

// confineFlowLogRole adds the confused-deputy conditions to the trust
// policy of the flow log's role, when the construct made the VPC and its
// flow log.
func confineFlowLogRole(vpc awsec2.IVpc) {
	v, ok := vpc.(constructs.IConstruct)
	if !ok {
		return
	}
	flowLog, ok := v.Node().TryFindChild(jsii.String("FlowLog")).(constructs.IConstruct)
	if !ok {
		return
	}
	role, ok := flowLog.Node().TryFindChild(jsii.String("IAMRole")).(awsiam.Role)
	if !ok {
		return
	}
	confineTrust(role, sourceArn(awscdk.Stack_Of(role), "ec2", "vpc-flow-log/*"))
}

// confineTrust puts the conditions on the first statement of role's trust
// policy, the service principal's that the CDK wrote when it made the role;
// statements added later keep their own.
func confineTrust(role awsiam.Role, arn *string) {
	cfn, ok := role.Node().DefaultChild().(awsiam.CfnRole)
	if !ok {
		return
	}
	stack := awscdk.Stack_Of(role)
	cfn.AddPropertyOverride(jsii.String("AssumeRolePolicyDocument.Statement.0.Condition"), map[string]any{
		"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()},
		"ArnLike":      map[string]any{"aws:SourceArn": arn},
	})
}

// sourceArn is arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE in the
// stack's partition, Region and account.
func sourceArn(stack awscdk.Stack, service, resource string) *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), stack.Partition(), jsii.String(":" + service + ":"), stack.Region(), jsii.String(":"), stack.Account(), jsii.String(":" + resource),
	})
}
