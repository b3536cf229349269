package agentservice

import (
	"fmt"
	"unicode/utf8"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/internal/token"
)

// AlarmTopic is an SNS topic that the CloudWatch alarms of its account and
// Region can publish to: encrypted with a customer-managed KMS key that
// CloudWatch may use (SNS's AWS-managed key lets no alarm publish), reachable
// over TLS only, and with a topic policy that allows CloudWatch to publish.
// A topic policy replaces SNS's default one, so a topic whose policy holds
// only the TLS condition accepts no alarm at all; this one allows
// cloudwatch.amazonaws.com, for alarms of this account and Region only
// (aws:SourceAccount and aws:SourceArn), in the topic policy and in the key
// policy alike.
//
// Give Topic to Props.AlarmTopic and WorkerProps.AlarmTopic, and subscribe
// your pager to it. It is a construct: use it as a scope and tag it.
type AlarmTopic struct {
	constructs.Construct

	// Topic is the SNS topic the alarms publish to.
	Topic awssns.Topic
	// Key encrypts the topic's messages. It is deleted with the stack (after
	// KMS's waiting period): SNS keeps no message once delivered, so nothing
	// is left for it to decrypt.
	Key awskms.Key
}

// AlarmTopicProps configures an AlarmTopic. A nil *AlarmTopicProps is the
// default topic.
type AlarmTopicProps struct {
	// DisplayName is the name email and SMS subscriptions show as the
	// sender: at most 100 characters.
	//
	// Default: - none; SNS shows the topic's name.
	DisplayName *string
}

// maxDisplayName is SNS's longest topic display name.
const maxDisplayName = 100

// Validate reports a prop SNS would refuse. A nil *AlarmTopicProps is valid.
func (p *AlarmTopicProps) Validate() error {
	if p == nil || p.DisplayName == nil || token.IsString(p.DisplayName) {
		return nil
	}
	if n := utf8.RuneCountInString(*p.DisplayName); n > maxDisplayName {
		return fmt.Errorf("agentservice: AlarmTopicProps.DisplayName %q has %d characters; use at most %d", *p.DisplayName, n, maxDisplayName)
	}
	return nil
}

// NewAlarmTopic creates an AlarmTopic in scope under id. It panics with the
// message of AlarmTopicProps.Validate when props are invalid.
func NewAlarmTopic(scope constructs.Construct, id *string, props *AlarmTopicProps) *AlarmTopic {
	if err := props.Validate(); err != nil {
		panic(err.Error())
	}
	a := &AlarmTopic{}
	constructs.NewConstruct_Override(a, scope, id)
	if props == nil {
		props = &AlarmTopicProps{}
	}
	stack := awscdk.Stack_Of(a)
	cloudwatch := awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)
	// Only the alarms of this account and Region: the confused-deputy
	// conditions the SNS guide asks for on the key and the topic.
	fromOwnAlarms := map[string]any{
		"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()},
		"ArnLike": map[string]any{"aws:SourceArn": awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("arn:"), stack.Partition(), jsii.String(":cloudwatch:"), stack.Region(), jsii.String(":"), stack.Account(), jsii.String(":alarm:*"),
		})},
	}
	a.Key = awskms.NewKey(a, jsii.String("Key"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the alarm topic " + *a.Node().Path()),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
	})
	a.Key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudWatchAlarms"),
		Principals: &[]awsiam.IPrincipal{cloudwatch},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
		Conditions: &fromOwnAlarms,
	}), nil)
	a.Topic = awssns.NewTopic(a, jsii.String("Topic"), &awssns.TopicProps{
		DisplayName: props.DisplayName,
		MasterKey:   a.Key,
		EnforceSSL:  jsii.Bool(true),
	})
	a.Topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudWatchAlarms"),
		Principals: &[]awsiam.IPrincipal{cloudwatch},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{a.Topic.TopicArn()},
		Conditions: &fromOwnAlarms,
	}))
	return a
}

// ToString returns the construct path. Defining it makes AlarmTopic a jsii
// override of Construct, which is what lets jsii accept an *AlarmTopic as
// a scope and as a target of awscdk.Tags_Of.
func (a *AlarmTopic) ToString() *string { return a.Node().Path() }
