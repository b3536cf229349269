package secrets

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// keyAdminActions are what the account keeps on a ParameterKey: managing
// the key (its policy, rotation, tags, deletion), never using it. They are
// the administrative actions of KMS's default key policy for key
// administrators
// (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-administrators).
var keyAdminActions = []string{
	"kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
	"kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
	"kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
}

// NewParameterKey makes a customer-managed KMS key for the SSM
// SecureString parameters of an agent's secrets, whose key policy lets
// only the task execution roles the parameters are bound to decrypt with
// it, and only through Parameter Store. Give it as the EncryptionKey of
// each Secret read from such a parameter, and encrypt the parameters with
// it (aws ssm put-parameter --type SecureString --key-id <the key's ARN>).
//
// The key policy (no statement trusts the account with kms:*):
//   - KeyAdministration: the account's IAM principals may manage the key
//     (its policy, rotation, tags, deletion) as their IAM policies allow,
//     but not use it;
//   - EncryptThroughParameterStore: they may encrypt with it through SSM
//     (kms:ViaService ssm.REGION), which is what writing a SecureString
//     value takes;
//   - DecryptForTaskExecution: Bind adds, for each execution role a
//     container's secrets are granted to, kms:Decrypt through SSM only.
//
// So neither an administrator's ssm:GetParameter nor the agent's own task
// role can read a value, as they can under the account's aws/ssm key: only
// ECS, starting a task with the execution role. An administrator allowed
// kms:PutKeyPolicy can still rewrite the policy; that change is logged in
// CloudTrail. The key is rotated yearly and kept when the stack is deleted
// (a deleted key leaves its parameters unreadable); about 1 USD a month.
func NewParameterKey(scope constructs.Construct, id *string) awskms.Key {
	stack := awscdk.Stack_Of(scope)
	account := awsiam.NewAccountRootPrincipal()
	viaSSM := viaParameterStore(stack)
	policy := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("KeyAdministration"),
			Principals: &[]awsiam.IPrincipal{account},
			Actions:    jsii.Strings(keyAdminActions...),
			Resources:  jsii.Strings("*"),
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("EncryptThroughParameterStore"),
			Principals: &[]awsiam.IPrincipal{account},
			Actions:    jsii.Strings("kms:Encrypt", "kms:GenerateDataKey"),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]any{"StringEquals": map[string]any{"kms:ViaService": viaSSM}},
		}),
	}})
	key := awskms.NewKey(scope, id, &awskms.KeyProps{
		Description:       jsii.String("Encrypts the agent's SSM SecureString parameters; only its task execution roles may decrypt, through Parameter Store"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		Policy:            policy,
	})
	return key
}

// viaParameterStore is the kms:ViaService value of Parameter Store in the
// stack's Region: ssm.REGION.amazonaws.com (the URL suffix of the
// partition).
func viaParameterStore(stack awscdk.Stack) *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("ssm."), stack.Region(), jsii.String("."), stack.UrlSuffix()})
}

// grantDecryptViaParameterStore names grantee in the key's own policy:
// kms:Decrypt, through Parameter Store only. A ParameterKey cannot do
// without that statement (a key whose policy trusts the account, KMS's
// default, would not need it); for an imported key, whose policy is its
// owner's, nothing is added.
func grantDecryptViaParameterStore(key awskms.IKey, grantee awsiam.IGrantable) {
	if _, made := key.(awskms.Key); !made {
		return
	}
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        decryptSid(grantee),
		Principals: &[]awsiam.IPrincipal{grantee.GrantPrincipal()},
		Actions:    jsii.Strings("kms:Decrypt"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{"kms:ViaService": viaParameterStore(awscdk.Stack_Of(key))}},
	}), jsii.Bool(true))
}

// decryptSid names the decrypt statement of one grantee: a key shared by a
// web service and its worker holds one per execution role, and statement
// IDs must differ within a policy. The grantee's construct address keeps
// it stable from one synth to the next.
func decryptSid(grantee awsiam.IGrantable) *string {
	const sid = "DecryptForTaskExecution"
	c, ok := grantee.(constructs.IConstruct)
	if !ok {
		return jsii.String(sid)
	}
	return jsii.String(sid + (*c.Node().Addr())[:8])
}
