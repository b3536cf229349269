package nag_test

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/internal/nag"
)

// A construct library suppresses an inherent finding on the one resource it
// concerns; cdk-nag reads it from the template when a user runs it.
func ExampleSuppress() {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Example"), nil)
	logs := awss3.NewBucket(stack, jsii.String("AccessLogs"), &awss3.BucketProps{EnforceSSL: jsii.Bool(true)})
	nag.Suppress(logs, nag.Rule{
		ID:     "AwsSolutions-S1",
		Reason: "this bucket receives the access logs; logging it to itself would loop",
	})

	resources := assertions.Template_FromStack(stack, nil).FindResources(jsii.String("AWS::S3::Bucket"), nil)
	for _, r := range *resources {
		md, _ := json.Marshal((*r)["Metadata"])
		fmt.Println(string(md))
	}
	// Output:
	// {"cdk_nag":{"rules_to_suppress":[{"id":"AwsSolutions-S1","reason":"this bucket receives the access logs; logging it to itself would loop"}]}}
}
