package agentservice_test

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
)

// The store of durable runs, for a web service and its worker to share:
// give it to both as Props.Runs and WorkerProps.Runs.
//
//	web := agentservice.New(stack, jsii.String("Agent"), &agentservice.Props{Image: image, Runs: runs})
//	agentservice.NewWorker(stack, jsii.String("Worker"), &agentservice.WorkerProps{Image: worker, Cluster: web.Cluster, Runs: runs})
func ExampleNewRunStore() {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Agent"), nil)
	runs := agentservice.NewRunStore(stack, jsii.String("Runs"), &agentservice.RunStoreProps{
		RunRetention: awscdk.Duration_Days(jsii.Number(30)),
	})

	tmpl := assertions.Template_FromStack(stack, nil)
	for _, kind := range []string{"AWS::DynamoDB::Table", "AWS::KMS::Key"} {
		fmt.Printf("%s: %d\n", kind, len(*tmpl.FindResources(jsii.String(kind), nil)))
	}
	fmt.Println("lease:", runs.Lease, "retention:", runs.Retention)
	// Output:
	// AWS::DynamoDB::Table: 1
	// AWS::KMS::Key: 1
	// lease: 1m0s retention: 720h0m0s
}
