package stacktest_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/agentcdk/agentcdk/internal/stacktest"
)

// deputyTemplate holds a service principal's statement in each place the
// walker reads, confined or not.
const deputyTemplate = `{"Resources": {
  "OpenRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}},
  "ConfinedRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole",
     "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]}}},
  "TopicPolicy": {"Type": "AWS::SNS::TopicPolicy", "Properties": {"PolicyDocument": {"Statement": [
    {"Effect": "Allow", "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]}, "Action": "sns:Publish",
     "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*"}}}]}}},
  "LogsKey": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": [
    {"Effect": "Allow", "Principal": {"Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}}, "Action": "kms:Decrypt*",
     "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:*"}}},
    {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "kms:Decrypt",
     "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:*"}}},
    {"Effect": "Deny", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "kms:*"}]}}},
  "WafLogsPolicy": {"Type": "AWS::Logs::ResourcePolicy", "Properties": {"PolicyDocument":
    "{\"Statement\": [{\"Effect\": \"Allow\", \"Principal\": {\"Service\": \"delivery.logs.amazonaws.com\"}, \"Action\": \"logs:PutLogEvents\"}]}"}},
  "Invoke": {"Type": "AWS::Lambda::Permission", "Properties": {"Principal": "events.amazonaws.com", "Action": "lambda:InvokeFunction"}},
  "AgentTaskDefExecutionRoleABC": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}}
}}`

func TestUnconfinedServiceStatementsFindsEveryOpenDoor(t *testing.T) {
	var tmpl map[string]any
	if err := json.Unmarshal([]byte(deputyTemplate), &tmpl); err != nil {
		t.Fatal(err)
	}
	// GIVEN a template with service principals in roles, topic, key, log
	// group and Lambda permission, some confined
	// WHEN it is walked with the documented exceptions
	got := stacktest.UnconfinedServiceStatements(tmpl, stacktest.DeputyExceptions)
	// THEN exactly the unconfined Allow statements are reported: the logs
	// encryption context confines CloudWatch Logs only, a Deny is no door,
	// and the execution role is a documented exception
	want := []string{
		"Invoke (AWS::Lambda::Permission): Lambda permission for events.amazonaws.com without SourceAccount or SourceArn",
		"LogsKey (AWS::KMS::Key) KeyPolicy statement 1: sns.amazonaws.com without aws:SourceAccount or aws:SourceArn",
		"OpenRole (AWS::IAM::Role) AssumeRolePolicyDocument statement 0: ecs-tasks.amazonaws.com without aws:SourceAccount or aws:SourceArn",
		"WafLogsPolicy (AWS::Logs::ResourcePolicy) PolicyDocument statement 0: delivery.logs.amazonaws.com without aws:SourceAccount or aws:SourceArn",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	// AND without exceptions the execution role is reported too
	if all := stacktest.UnconfinedServiceStatements(tmpl, nil); len(all) != len(want)+1 {
		t.Errorf("without exceptions: %q", all)
	}
}
