package agentservice

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/regioninfo"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// logAccessLogs turns on the load balancer's access logs into bucket.
//
// It does what ApplicationLoadBalancer.LogAccessLogs does, except that it
// also works in an environment-agnostic stack: log delivery is done by a
// per-region ELB account in the regions that predate August 2022 and by the
// logdelivery.elasticloadbalancing.amazonaws.com service in the others, and
// the CDK's method refuses to choose when the region is unknown at synth
// time. Here the choice is made at deploy time from the CDK's own table of
// ELB accounts (a CloudFormation mapping): one statement for the region's
// ELB account where it has one, one for the service principal.
func logAccessLogs(scope constructs.Construct, lb elbv2.ApplicationLoadBalancer, bucket awss3.IBucket) {
	stack := awscdk.Stack_Of(scope)
	const none = "none"
	account := stack.RegionalFact(regioninfo.FactName_ELBV2_ACCOUNT(), jsii.String(none))
	objects := bucket.ArnForObjects(awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("AWSLogs/"), stack.Account(), jsii.String("/*")}))

	var elbPrincipal awsiam.IPrincipal
	if !*awscdk.Token_IsUnresolved(account) {
		// A concrete region: the CDK's table answers now.
		if *account != none {
			elbPrincipal = awsiam.NewAccountPrincipal(account)
		}
	} else {
		legacy := awscdk.NewCfnCondition(scope, jsii.String("ElbAccountLogDelivery"), &awscdk.CfnConditionProps{
			Expression: awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(account, jsii.String(none))),
		})
		// In a region without an ELB account the statement names the stack's
		// own account instead, which may write to its own bucket anyway.
		elbPrincipal = awsiam.NewArnPrincipal(awscdk.Token_AsString(awscdk.Fn_ConditionIf(legacy.LogicalId(),
			awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("arn:"), stack.Partition(), jsii.String(":iam::"), account, jsii.String(":root")}),
			awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("arn:"), stack.Partition(), jsii.String(":iam::"), stack.Account(), jsii.String(":root")}),
		), nil))
	}
	principals := []awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("logdelivery.elasticloadbalancing.amazonaws.com"), nil)}
	if elbPrincipal != nil {
		principals = append(principals, elbPrincipal)
	}
	bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowLoadBalancerLogDelivery"),
		Actions:    jsii.Strings("s3:PutObject"),
		Principals: &principals,
		Resources:  &[]*string{objects},
	}))
	lb.SetAttribute(jsii.String("access_logs.s3.enabled"), jsii.String("true"))
	lb.SetAttribute(jsii.String("access_logs.s3.bucket"), bucket.BucketName())
	lb.SetAttribute(jsii.String("access_logs.s3.prefix"), jsii.String(""))
	// The load balancer checks that it may write to the bucket when access
	// logs are turned on, so the policy must exist first.
	if policy := bucket.Policy(); policy != nil {
		lb.Node().AddDependency(policy)
	}
}
