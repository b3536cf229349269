package agentservice_test

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
)

// A queue worker beside a web agent, in its cluster: the web agent may
// enqueue jobs, the worker runs them, scaled on the backlog per task.
func ExampleNewWorker() {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Agent"), nil)
	web := agentservice.New(stack, jsii.String("Agent"), &agentservice.Props{
		Image: agentservice.ImageFromRegistry("public.ecr.aws/example/agent:1.0.0"),
	})
	worker := agentservice.NewWorker(stack, jsii.String("Worker"), &agentservice.WorkerProps{
		Image:       agentservice.ImageFromRegistry("public.ecr.aws/example/worker:1.0.0"),
		Cluster:     web.Cluster,
		JobDuration: awscdk.Duration_Minutes(jsii.Number(2)),
	})
	worker.Queue.GrantSendMessages(web.TaskDefinition.TaskRole())
	web.Container.AddEnvironment(jsii.String("AGENT_QUEUE_URL"), worker.Queue.QueueUrl())

	tmpl := assertions.Template_FromStack(stack, nil)
	for _, kind := range []string{"AWS::ECS::Cluster", "AWS::ECS::Service", "AWS::SQS::Queue"} {
		fmt.Printf("%s: %d\n", kind, len(*tmpl.FindResources(jsii.String(kind), nil)))
	}
	fmt.Println("backlog per task:", worker.BacklogPerTaskTarget)
	// Output:
	// AWS::ECS::Cluster: 1
	// AWS::ECS::Service: 2
	// AWS::SQS::Queue: 2
	// backlog per task: 10
}

// BacklogPerTask is the scaling target: with 4 jobs at once per task, jobs
// of 2 minutes that may wait 5 minutes, a task may have 10 messages queued.
func ExampleBacklogPerTask() {
	fmt.Println(agentservice.BacklogPerTask(5*time.Minute, 2*time.Minute, 4))
	fmt.Println(agentservice.BacklogPerTask(5*time.Minute, time.Minute, 4))
	// Output:
	// 10
	// 20
}

// Validate reports bad worker props as an error, before anything is created.
func ExampleWorkerProps_Validate() {
	props := &agentservice.WorkerProps{
		Image:                          agentservice.ImageFromRegistry("public.ecr.aws/example/worker:1.0.0"),
		DeadLetterQueueRetentionPeriod: awscdk.Duration_Days(jsii.Number(2)),
	}
	fmt.Println(props.Validate())
	// Output:
	// agentservice: DeadLetterQueueRetentionPeriod 172800s is not longer than QueueRetentionPeriod 345600s; SQS ages a message from when it was first sent, so a dead-letter queue that keeps messages no longer than the queue deletes them on arrival; use a longer DeadLetterQueueRetentionPeriod
}
