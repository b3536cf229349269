package agentservice_test

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
)

// One topic for every alarm of a web service and its worker: give
// alarms.Topic to Props.AlarmTopic and WorkerProps.AlarmTopic, and
// subscribe a pager to it. Its policy lets this account's CloudWatch
// alarms publish, over TLS only.
func ExampleNewAlarmTopic() {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Agent"), nil)
	alarms := agentservice.NewAlarmTopic(stack, jsii.String("Alarms"), nil)
	_ = alarms.Topic // AlarmTopic: alarms.Topic

	tmpl := assertions.Template_FromStack(stack, nil)
	for _, policy := range *tmpl.FindResources(jsii.String("AWS::SNS::TopicPolicy"), nil) {
		doc := (*policy)["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
		for _, st := range doc["Statement"].([]any) {
			s := st.(map[string]any)
			fmt.Println(s["Effect"], s["Action"], "by", s["Principal"], "if", s["Condition"] != nil)
		}
	}
	// Output:
	// Deny sns:Publish by * if true
	// Allow sns:Publish by map[Service:cloudwatch.amazonaws.com] if true
}
