package agentservice_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
	"github.com/agentcdk/agentcdk/secrets"
)

// workerStack builds a worker into a fresh stack. props gets the stack, so
// that it can import resources (an existing queue) into it.
func workerStack(t *testing.T, props func(awscdk.Stack) *agentservice.WorkerProps) (awscdk.Stack, *agentservice.Worker) {
	t.Helper()
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)
	return stack, agentservice.NewWorker(stack, jsii.String("Worker"), props(stack))
}

// synthWorker builds props into a fresh stack and returns its template.
func synthWorker(t *testing.T, props *agentservice.WorkerProps) (assertions.Template, *agentservice.Worker, awscdk.Stack) {
	t.Helper()
	stack, w := workerStack(t, func(awscdk.Stack) *agentservice.WorkerProps { return props })
	return assertions.Template_FromStack(stack, nil), w, stack
}

// resolve renders a token the way the template holds it.
func resolve(stack awscdk.Stack, v any) any { return stack.Resolve(v) }

// statements returns the statements of the IAM policy attached to the role
// whose logical id starts with rolePrefix, as JSON-shaped values.
func statements(t *testing.T, tmpl assertions.Template, rolePrefix string) []any {
	t.Helper()
	for _, res := range *tmpl.FindResources(jsii.String("AWS::IAM::ManagedPolicy"), nil) {
		props := (*res)["Properties"].(map[string]any)
		for _, role := range props["Roles"].([]any) {
			if ref, _ := role.(map[string]any)["Ref"].(string); strings.HasPrefix(ref, rolePrefix) {
				return props["PolicyDocument"].(map[string]any)["Statement"].([]any)
			}
		}
	}
	t.Fatalf("no IAM policy attached to a role %s*", rolePrefix)
	return nil
}

// sameJSON compares two JSON-shaped values after a round trip through JSON,
// so that numbers and nested types are compared alike.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	norm := func(v any) any {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		var out any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return out
	}
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		gb, _ := json.MarshalIndent(g, "", "  ")
		wb, _ := json.MarshalIndent(w, "", "  ")
		t.Errorf("%s:\n got %s\nwant %s", what, gb, wb)
	}
}

func TestNewWorkerMakesEncryptedQueuesWithRedriveAndAlarm(t *testing.T) {
	// GIVEN only an image
	// WHEN the worker synthesizes
	s := astest.WorkerDefaults.Synth(t)
	tmpl, w, stack := s.Template, s.Worker, s.Stack

	// THEN there are two queues, both SQS-managed encrypted
	tmpl.ResourceCountIs(jsii.String("AWS::SQS::Queue"), jsii.Number(2))
	// AND the dead-letter queue keeps messages 14 days
	tmpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), assertions.Match_Exact(map[string]any{
		"MessageRetentionPeriod": 1209600,
		"SqsManagedSseEnabled":   true,
	}))
	// AND the job queue keeps them 4 days, hides a received one for the
	// consumer's 60 s and moves one to the DLQ after 5 receives
	tmpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), assertions.Match_Exact(map[string]any{
		"MessageRetentionPeriod": 345600,
		"SqsManagedSseEnabled":   true,
		"VisibilityTimeout":      60,
		"RedrivePolicy": map[string]any{
			"deadLetterTargetArn": resolve(stack, w.DeadLetterQueue.QueueArn()),
			"maxReceiveCount":     5,
		},
	}))
	// AND both queues refuse anything but TLS
	for _, q := range []awssqs.IQueue{w.Queue, w.DeadLetterQueue} {
		tmpl.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), assertions.Match_Exact(map[string]any{
			"Queues": []any{resolve(stack, q.QueueUrl())},
			"PolicyDocument": map[string]any{
				"Version": "2012-10-17",
				"Statement": []any{map[string]any{
					"Action":    "sqs:*",
					"Effect":    "Deny",
					"Principal": map[string]any{"AWS": "*"},
					"Resource":  resolve(stack, q.QueueArn()),
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				}},
			},
		}))
	}
	// AND an alarm fires when the DLQ holds one visible message
	tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj(map[string]any{
		"Namespace":          "AWS/SQS",
		"MetricName":         "ApproximateNumberOfMessagesVisible",
		"Dimensions":         []any{map[string]any{"Name": "QueueName", "Value": resolve(stack, w.DeadLetterQueue.QueueName())}},
		"Statistic":          "Maximum",
		"Period":             60,
		"Threshold":          1,
		"ComparisonOperator": "GreaterThanOrEqualToThreshold",
		"EvaluationPeriods":  1,
		"TreatMissingData":   "notBreaching",
	}))
	// AND the queue URL is a stack output
	tmpl.HasOutput(jsii.String("*"), obj(map[string]any{"Value": resolve(stack, w.Queue.QueueUrl())}))
}

func TestNewWorkerQueuesWithAKmsKeyAndOwnRetention(t *testing.T) {
	// GIVEN a KMS key, a receive count and retentions
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)
	key := awskms.NewKey(stack, jsii.String("Key"), &awskms.KeyProps{EnableKeyRotation: jsii.Bool(true)})

	// WHEN the worker is given them
	w := agentservice.NewWorker(stack, jsii.String("Worker"), &agentservice.WorkerProps{
		Image:                          astest.RegistryImage(),
		QueueEncryptionKey:             key,
		MaxReceiveCount:                jsii.Number(3),
		QueueRetentionPeriod:           awscdk.Duration_Days(jsii.Number(1)),
		DeadLetterQueueRetentionPeriod: awscdk.Duration_Days(jsii.Number(7)),
	})
	tmpl := assertions.Template_FromStack(stack, nil)

	// THEN both queues use the key
	tmpl.ResourcePropertiesCountIs(jsii.String("AWS::SQS::Queue"), obj(map[string]any{
		"KmsMasterKeyId":       resolve(stack, key.KeyArn()),
		"SqsManagedSseEnabled": assertions.Match_Absent(),
	}), jsii.Number(2))
	// AND keep their retentions, with the new receive count
	tmpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), obj(map[string]any{
		"MessageRetentionPeriod": 86400,
		"RedrivePolicy":          obj(map[string]any{"maxReceiveCount": 3}),
	}))
	tmpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), obj(map[string]any{"MessageRetentionPeriod": 604800}))
	// AND the task role may decrypt with the key, and nothing more on it
	got := statements(t, tmpl, "WorkerTaskDefTaskRole")
	sameJSON(t, "task role statements", got[1], map[string]any{
		"Action":   "kms:Decrypt",
		"Effect":   "Allow",
		"Resource": resolve(stack, key.KeyArn()),
	})
	if w.DeadLetterQueue == nil {
		t.Fatal("DeadLetterQueue is nil")
	}
}

func TestNewWorkerTaskRoleMayConsumeItsQueueAndProtectItsTasks(t *testing.T) {
	// GIVEN the default worker
	s := astest.WorkerDefaults.Synth(t)
	tmpl, w, stack := s.Template, s.Worker, s.Stack

	// THEN the task role's statements are exactly: consume this queue, and
	// set scale-in protection on tasks of this cluster
	protection := map[string]any{
		"Action": []any{"ecs:UpdateTaskProtection", "ecs:GetTaskProtection"},
		"Effect": "Allow",
		"Resource": map[string]any{"Fn::Join": []any{"", []any{
			"arn:", map[string]any{"Ref": "AWS::Partition"}, ":ecs:", map[string]any{"Ref": "AWS::Region"}, ":",
			map[string]any{"Ref": "AWS::AccountId"}, ":task/", resolve(stack, w.Cluster.ClusterName()), "/*",
		}}},
	}
	sameJSON(t, "task role statements", statements(t, tmpl, "WorkerTaskDefTaskRole"), []any{
		map[string]any{
			"Action":   []any{"sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
			"Effect":   "Allow",
			"Resource": resolve(stack, w.Queue.QueueArn()),
		},
		protection,
	})
	// AND the execution role only ships logs (no secrets given)
	sameJSON(t, "execution role statements", statements(t, tmpl, "WorkerTaskDefExecutionRole"), []any{
		map[string]any{
			"Action":   []any{"logs:CreateLogStream", "logs:PutLogEvents"},
			"Effect":   "Allow",
			"Resource": resolve(stack, w.LogGroup.LogGroupArn()),
		},
	})

	// WHEN the worker may also send
	tmpl, w, stack = synthWorker(t, &agentservice.WorkerProps{Image: astest.RegistryImage(), AllowSend: jsii.Bool(true)})

	// THEN the role also gets exactly the send grant on the same queue
	got := statements(t, tmpl, "WorkerTaskDefTaskRole")
	if len(got) != 3 {
		t.Fatalf("got %d statements, want 3: %v", len(got), got)
	}
	sameJSON(t, "send statement", got[1], map[string]any{
		"Action":   []any{"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"},
		"Effect":   "Allow",
		"Resource": resolve(stack, w.Queue.QueueArn()),
	})
}

func TestNewWorkerContainerGetsTheContract(t *testing.T) {
	// GIVEN a worker with its own concurrency, a variable and a secret
	tmpl, w, stack := synthWorker(t, &agentservice.WorkerProps{
		Image:       astest.RegistryImage(),
		Concurrency: jsii.Number(8),
		Environment: &map[string]*string{"MODEL": jsii.String("gpt-5")},
		Secrets:     secrets.FromParameters("/agents/prod", 1, "OPENAI_API_KEY"),
		ModelPrices: map[string]agentservice.ModelPrice{"gpt-5": {InputUSDPerMillionTokens: 1.25, OutputUSDPerMillionTokens: 10}},
	})

	// THEN the container gets the metrics' namespace, Service dimension and
	// price table, the queue URL, the concurrency, the 120 s stop timeout
	// and the job time limit (15 minutes for the default 1-minute jobs),
	// beside the caller's variable; it maps no port and runs as locked
	// down as the web service's
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj(map[string]any{
		"Cpu":    "1024",
		"Memory": "2048",
		"ContainerDefinitions": []any{obj(map[string]any{
			"Name": "worker",
			"Environment": []any{
				map[string]any{"Name": "AGENTKIT_JOB_TIMEOUT", "Value": "900s"},
				map[string]any{"Name": "AGENTKIT_METRICS_NAMESPACE", "Value": "AgentCDK"},
				map[string]any{"Name": "AGENTKIT_METRICS_SERVICE", "Value": "Test/Worker"},
				map[string]any{"Name": "AGENTKIT_MODEL_PRICES", "Value": `{"gpt-5":{"input":1.25,"output":10}}`},
				map[string]any{"Name": "AGENTKIT_QUEUE_URL", "Value": resolve(stack, w.Queue.QueueUrl())},
				map[string]any{"Name": "AGENTKIT_STOP_TIMEOUT", "Value": "120s"},
				map[string]any{"Name": "AGENTKIT_WORKER_CONCURRENCY", "Value": "8"},
				map[string]any{"Name": "MODEL", "Value": "gpt-5"},
			},
			"Secrets":                arrayWith(obj(map[string]any{"Name": "OPENAI_API_KEY"})),
			"StopTimeout":            120,
			"PortMappings":           assertions.Match_Absent(),
			"HealthCheck":            assertions.Match_Absent(),
			"ReadonlyRootFilesystem": true,
			"User":                   "65532",
			"LinuxParameters": obj(map[string]any{
				"InitProcessEnabled": true,
				"Capabilities":       obj(map[string]any{"Drop": []any{"ALL"}}),
			}),
			"LogConfiguration": obj(map[string]any{
				"LogDriver": "awslogs",
				"Options":   obj(map[string]any{"awslogs-stream-prefix": "worker"}),
			}),
		})},
	}))
	// AND the logs are kept a week, the VPC's flows logged
	tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Logs::LogGroup"), obj(map[string]any{"RetentionInDays": 7}), jsii.Number(2))
	tmpl.ResourceCountIs(jsii.String("AWS::EC2::FlowLog"), jsii.Number(1))
}

func TestNewWorkerServiceDeploysSafelyWithoutALoadBalancer(t *testing.T) {
	// GIVEN the default worker
	tmpl := astest.WorkerDefaults.Synth(t).Template

	// THEN the service has no load balancer and no fixed desired count, and
	// deploys 100/200 with the rolling-back circuit breaker, in private subnets
	tmpl.ResourceCountIs(jsii.String("AWS::ElasticLoadBalancingV2::LoadBalancer"), jsii.Number(0))
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj(map[string]any{
		"DesiredCount":  assertions.Match_Absent(),
		"LoadBalancers": assertions.Match_Absent(),
		"LaunchType":    "FARGATE",
		"DeploymentConfiguration": obj(map[string]any{
			"MinimumHealthyPercent":    100,
			"MaximumPercent":           200,
			"DeploymentCircuitBreaker": map[string]any{"Enable": true, "Rollback": true},
		}),
		"NetworkConfiguration": obj(map[string]any{"AwsvpcConfiguration": obj(map[string]any{"AssignPublicIp": "DISABLED"})}),
		"PropagateTags":        "SERVICE",
	}))
	// AND its cluster has Container Insights on, which the scaling reads
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::Cluster"), obj(map[string]any{
		"ClusterSettings": arrayWith(map[string]any{"Name": "containerInsights", "Value": "enabled"}),
	}))
}

func TestNewWorkerScalesOnBacklogPerTaskAndFromZero(t *testing.T) {
	// GIVEN the default worker
	s := astest.WorkerDefaults.Synth(t)
	tmpl, w, stack := s.Template, s.Worker, s.Stack
	queueName := resolve(stack, w.Queue.QueueName())
	taskDims := []any{
		map[string]any{"Name": "ClusterName", "Value": resolve(stack, w.Cluster.ClusterName())},
		map[string]any{"Name": "ServiceName", "Value": resolve(stack, w.Service.ServiceName())},
	}

	// THEN the task count ranges from 0 to 10
	tmpl.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalableTarget"), obj(map[string]any{
		"MinCapacity": 0, "MaxCapacity": 10, "ScalableDimension": "ecs:service:DesiredCount",
	}))
	tmpl.ResourceCountIs(jsii.String("AWS::ApplicationAutoScaling::ScalingPolicy"), jsii.Number(2))
	// AND target tracking keeps visible messages per running task at
	// floor(5 min × 4 / 1 min) = 20
	if w.BacklogPerTaskTarget != 20 {
		t.Errorf("BacklogPerTaskTarget = %v, want 20", w.BacklogPerTaskTarget)
	}
	tmpl.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalingPolicy"), obj(map[string]any{
		"PolicyType":      "TargetTrackingScaling",
		"ScalingTargetId": resolve(stack, w.ScalableTaskCount.Node().FindChild(jsii.String("Target")).Node().DefaultChild().(awscdk.CfnResource).Ref()),
		"TargetTrackingScalingPolicyConfiguration": assertions.Match_Exact(map[string]any{
			"TargetValue":      20,
			"ScaleOutCooldown": 60,
			"ScaleInCooldown":  120,
			"CustomizedMetricSpecification": map[string]any{"Metrics": []any{
				map[string]any{"Id": "m1", "Label": "Visible messages", "ReturnData": false, "MetricStat": map[string]any{
					"Metric": map[string]any{"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
						"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": queueName}}},
					"Stat": "Average",
				}},
				map[string]any{"Id": "m2", "Label": "Running tasks", "ReturnData": false, "MetricStat": map[string]any{
					"Metric": map[string]any{"Namespace": "ECS/ContainerInsights", "MetricName": "RunningTaskCount", "Dimensions": taskDims},
					"Stat":   "Average",
				}},
				map[string]any{"Id": "e1", "Label": "Visible messages per running task", "ReturnData": true,
					"Expression": "IF(m2 > 0, m1 / m2, m1)"},
			}},
		}),
	}))
	// AND a step policy adds one task, at most once per 5 minutes
	tmpl.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalingPolicy"), obj(map[string]any{
		"PolicyType": "StepScaling",
		"StepScalingPolicyConfiguration": assertions.Match_Exact(map[string]any{
			"AdjustmentType":        "ChangeInCapacity",
			"Cooldown":              300,
			"MetricAggregationType": "Maximum",
			"StepAdjustments":       []any{map[string]any{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}},
		}),
	}))
	// AND an alarm on "messages wait and no task runs" fires it
	tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj(map[string]any{
		"AlarmActions":       []any{resolve(stack, w.ScaleFromZeroAction.ScalingPolicyArn())},
		"Threshold":          1,
		"ComparisonOperator": "GreaterThanOrEqualToThreshold",
		"EvaluationPeriods":  1,
		"DatapointsToAlarm":  1,
		"TreatMissingData":   "notBreaching",
		"Metrics": []any{
			map[string]any{"Id": "expr_1", "Expression": "IF(FILL(m2, 0) == 0 AND m1 > 0, 1, 0)",
				"Label": "Messages waiting with no running task", "ReturnData": true},
			map[string]any{"Id": "m1", "ReturnData": false, "MetricStat": map[string]any{
				"Metric": map[string]any{"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
					"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": queueName}}},
				"Period": 60, "Stat": "Average",
			}},
			map[string]any{"Id": "m2", "ReturnData": false, "MetricStat": map[string]any{
				"Metric": map[string]any{"Namespace": "ECS/ContainerInsights", "MetricName": "RunningTaskCount", "Dimensions": taskDims},
				"Period": 60, "Stat": "Average",
			}},
		},
	}))
}

func TestNewWorkerScalingFollowsItsProps(t *testing.T) {
	// GIVEN 8 jobs at once, jobs of a minute that may wait 90 s and run
	// 20 minutes at most, 1 to 4 tasks
	tmpl, w, _ := synthWorker(t, &agentservice.WorkerProps{
		Image:       astest.RegistryImage(),
		Concurrency: jsii.Number(8),
		MaxJobWait:  awscdk.Duration_Seconds(jsii.Number(90)),
		JobDuration: awscdk.Duration_Minutes(jsii.Number(1)),
		JobTimeout:  awscdk.Duration_Minutes(jsii.Number(20)),
		MinCapacity: jsii.Number(1),
		MaxCapacity: jsii.Number(4),
	})
	// THEN the container gets the job time limit
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj(map[string]any{
		"ContainerDefinitions": []any{obj(map[string]any{"Environment": arrayWith(
			map[string]any{"Name": "AGENTKIT_JOB_TIMEOUT", "Value": "1200s"},
		)})},
	}))

	// AND the target is floor(90 s × 8 / 60 s) = 12 messages per task
	tmpl.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalingPolicy"), obj(map[string]any{
		"TargetTrackingScalingPolicyConfiguration": obj(map[string]any{"TargetValue": 12}),
	}))
	// AND with at least one task there is no scale-from-zero step or alarm
	tmpl.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalableTarget"), obj(map[string]any{"MinCapacity": 1, "MaxCapacity": 4}))
	tmpl.ResourceCountIs(jsii.String("AWS::ApplicationAutoScaling::ScalingPolicy"), jsii.Number(1))
	tmpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(3)) // the DLQ's, the oldest message's and the EMF errors
	if w.ScaleFromZeroAction != nil || w.ScaleFromZeroAlarm != nil {
		t.Error("scale-from-zero made with MinCapacity 1")
	}
}

func TestNewWorkerConsumesAnExistingQueue(t *testing.T) {
	// GIVEN an existing queue
	var queue awssqs.IQueue
	stack, w := workerStack(t, func(stack awscdk.Stack) *agentservice.WorkerProps {
		queue = awssqs.Queue_FromQueueArn(stack, jsii.String("Jobs"), jsii.String("arn:aws:sqs:us-east-1:123456789012:jobs"))
		return &agentservice.WorkerProps{Image: astest.RegistryImage(), Queue: queue}
	})
	tmpl := assertions.Template_FromStack(stack, nil)

	// THEN no queue, queue policy or DLQ alarm is made
	tmpl.ResourceCountIs(jsii.String("AWS::SQS::Queue"), jsii.Number(0))
	tmpl.ResourceCountIs(jsii.String("AWS::SQS::QueuePolicy"), jsii.Number(0))
	tmpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(3)) // scale from zero, the oldest message's on the given queue, the EMF errors
	if w.Queue != queue || w.DeadLetterQueue != nil || w.DeadLetterAlarm != nil {
		t.Errorf("Queue = %v, DeadLetterQueue = %v, DeadLetterAlarm = %v; want the given queue and nils", w.Queue, w.DeadLetterQueue, w.DeadLetterAlarm)
	}
	// AND the container gets its URL, the task role consumes it
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj(map[string]any{
		"ContainerDefinitions": []any{obj(map[string]any{"Environment": arrayWith(
			map[string]any{"Name": "AGENTKIT_QUEUE_URL", "Value": resolve(stack, queue.QueueUrl())},
		)})},
	}))
	got := statements(t, tmpl, "WorkerTaskDefTaskRole")
	sameJSON(t, "consume statement", got[0], map[string]any{
		"Action":   []any{"sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
		"Effect":   "Allow",
		"Resource": "arn:aws:sqs:us-east-1:123456789012:jobs",
	})
	// AND the scaling reads the given queue's metric
	tmpl.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalingPolicy"), obj(map[string]any{
		"TargetTrackingScalingPolicyConfiguration": obj(map[string]any{
			"CustomizedMetricSpecification": obj(map[string]any{"Metrics": arrayWith(obj(map[string]any{
				"Id": "m1",
				"MetricStat": obj(map[string]any{"Metric": obj(map[string]any{
					"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": "jobs"}},
				})}),
			}))}),
		}),
	}))
}

func TestNewWorkerSharesTheWebServiceCluster(t *testing.T) {
	// GIVEN a web agent service
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)
	web := agentservice.New(stack, jsii.String("Agent"), &agentservice.Props{Image: astest.RegistryImage()})

	// WHEN a worker joins its cluster and the web agent may enqueue
	w := agentservice.NewWorker(stack, jsii.String("Worker"), &agentservice.WorkerProps{Image: astest.RegistryImage(), Cluster: web.Cluster})
	w.Queue.GrantSendMessages(web.TaskDefinition.TaskRole())
	tmpl := assertions.Template_FromStack(stack, nil)

	// THEN there is one VPC and one cluster, two services
	tmpl.ResourceCountIs(jsii.String("AWS::EC2::VPC"), jsii.Number(1))
	tmpl.ResourceCountIs(jsii.String("AWS::ECS::Cluster"), jsii.Number(1))
	tmpl.ResourceCountIs(jsii.String("AWS::ECS::Service"), jsii.Number(2))
	if w.Vpc != web.Vpc {
		t.Error("the worker's Vpc is not the cluster's")
	}
	// AND the web agent's role may send to the worker's queue
	sends := statements(t, tmpl, "AgentTaskDefTaskRole")
	sameJSON(t, "web agent's send statement", sends[len(sends)-1], map[string]any{
		"Action":   []any{"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"},
		"Effect":   "Allow",
		"Resource": resolve(stack, w.Queue.QueueArn()),
	})
}

func TestWorkerIsAScopeAndTakesTags(t *testing.T) {
	// GIVEN a worker
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)
	w := agentservice.NewWorker(stack, jsii.String("Worker"), &agentservice.WorkerProps{Image: astest.RegistryImage()})

	// WHEN it is tagged and used as a scope
	awscdk.Tags_Of(w).Add(jsii.String("team"), jsii.String("agents"), nil)
	awssqs.NewQueue(w, jsii.String("Extra"), nil)
	tmpl := assertions.Template_FromStack(stack, nil)

	// THEN its queues carry the tag and the child lives under it
	tmpl.ResourcePropertiesCountIs(jsii.String("AWS::SQS::Queue"), obj(map[string]any{
		"Tags": arrayWith(map[string]any{"Key": "team", "Value": "agents"}),
	}), jsii.Number(3))
	if got := *w.ToString(); got != "Test/Worker" {
		t.Errorf("ToString() = %q, want Test/Worker", got)
	}
}

func TestNewWorkerLeavesItsPropsAlone(t *testing.T) {
	// GIVEN props with most fields nil
	props := &agentservice.WorkerProps{Image: astest.RegistryImage()}

	// WHEN a worker is made from them
	synthWorker(t, props)

	// THEN no default was written into them
	if want := (&agentservice.WorkerProps{Image: props.Image}); !reflect.DeepEqual(props, want) {
		t.Errorf("props changed: %+v", props)
	}
}

func TestNewWorkerPanicsOnBadPropsBeforeCreatingAnything(t *testing.T) {
	// GIVEN a stack
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)

	// WHEN a worker with a bad concurrency is made
	var msg any
	func() {
		defer func() { msg = recover() }()
		agentservice.NewWorker(stack, jsii.String("Worker"), &agentservice.WorkerProps{Image: astest.RegistryImage(), Concurrency: jsii.Number(0)})
	}()

	// THEN it panics with the validation message and the stack is empty
	if want := "agentservice: Concurrency 0 is not a job count; use a whole number from 1 to 1000"; msg != want {
		t.Fatalf("panic = %v, want %q", msg, want)
	}
	if n := len(*stack.Node().Children()); n != 0 {
		t.Errorf("stack has %d children after the panic, want 0", n)
	}
}

func TestWorkerValidateRefusesBadProps(t *testing.T) {
	img := astest.RegistryImage()
	imports := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Imports"), nil)
	queue := awssqs.Queue_FromQueueArn(imports, jsii.String("Q"), jsii.String("arn:aws:sqs:us-east-1:123456789012:jobs"))
	key := awskms.Key_FromKeyArn(imports, jsii.String("K"), jsii.String("arn:aws:kms:us-east-1:123456789012:key/1234"))
	numberToken := awscdk.NewCfnParameter(imports, jsii.String("N"), &awscdk.CfnParameterProps{Type: jsii.String("Number")}).ValueAsNumber()
	days := func(n float64) awscdk.Duration { return awscdk.Duration_Days(jsii.Number(n)) }
	cases := []struct {
		name  string
		props *agentservice.WorkerProps
		want  string
	}{
		{"nil props", nil, "agentservice: Image is required; use ImageFromDirectory, ImageFromRegistry or ImageFromContainerImage"},
		{"missing image", &agentservice.WorkerProps{}, "agentservice: Image is required; use ImageFromDirectory, ImageFromRegistry or ImageFromContainerImage"},
		{"empty registry", &agentservice.WorkerProps{Image: agentservice.ImageFromRegistry("")},
			"agentservice: Image.Registry is empty; give an image reference such as public.ecr.aws/org/agent:1.0"},
		{"cpu not a fargate size", &agentservice.WorkerProps{Image: img, Cpu: jsii.Number(1000)},
			"agentservice: Cpu 1000 is not a Fargate size; use 256, 512, 1024, 2048, 4096, 8192 or 16384"},
		{"memory does not fit cpu", &agentservice.WorkerProps{Image: img, Cpu: jsii.Number(256), MemoryLimitMiB: jsii.Number(4096)},
			"agentservice: MemoryLimitMiB 4096 does not fit Cpu 256; Fargate offers 512, 1024 or 2048"},
		{"bad container name", &agentservice.WorkerProps{Image: img, ContainerName: jsii.String("my worker")},
			`agentservice: ContainerName "my worker" is not a container name; use 1 to 255 letters, digits, hyphens and underscores`},
		{"env sets the queue url", &agentservice.WorkerProps{Image: img, Environment: &map[string]*string{"AGENTKIT_QUEUE_URL": jsii.String("x")}},
			"agentservice: Environment sets AGENTKIT_QUEUE_URL, which the construct sets from Queue; set Queue instead"},
		{"env sets the concurrency", &agentservice.WorkerProps{Image: img, Environment: &map[string]*string{"AGENTKIT_WORKER_CONCURRENCY": jsii.String("9")}},
			"agentservice: Environment sets AGENTKIT_WORKER_CONCURRENCY, which the construct sets from Concurrency; set Concurrency instead"},
		{"env sets the stop timeout", &agentservice.WorkerProps{Image: img, Environment: &map[string]*string{"AGENTKIT_STOP_TIMEOUT": jsii.String("9s")}},
			"agentservice: Environment sets AGENTKIT_STOP_TIMEOUT, which the construct sets from StopTimeout; set StopTimeout instead"},
		{"credential in plain environment", &agentservice.WorkerProps{Image: img, Environment: &map[string]*string{"OPENAI_API_KEY": jsii.String("sk-")}},
			`agentservice: Environment name "OPENAI_API_KEY" looks like a credential, and plain environment variables are stored in the template; put it in Secrets (package secrets: FromParameter, FromSecretsManager), or, if it holds no secret, name it in EnvironmentAllowList`},
		{"stop timeout above fargate's", &agentservice.WorkerProps{Image: img, StopTimeout: awscdk.Duration_Seconds(jsii.Number(300))},
			"agentservice: StopTimeout 300s is out of range; use 2s to 120s"},
		{"stop timeout too short", &agentservice.WorkerProps{Image: img, StopTimeout: awscdk.Duration_Seconds(jsii.Number(1))},
			"agentservice: StopTimeout 1s is out of range; use 2s to 120s"},
		{"max healthy below 100", &agentservice.WorkerProps{Image: img, MaxHealthyPercent: jsii.Number(90)},
			"agentservice: MaxHealthyPercent 90 must be 100..200 and above MinHealthyPercent 100, or a deployment cannot start a new task"},
		{"root user", &agentservice.WorkerProps{Image: img, User: jsii.String("root")},
			`agentservice: User "root" runs the container as root; use a non-root user such as "65532"`},
		{"spot on arm64", &agentservice.WorkerProps{Image: img, FargateSpot: jsii.Bool(true), CpuArchitecture: agentservice.ArchitectureArm64},
			"agentservice: FargateSpot is set with CpuArchitecture ARM64, but Fargate Spot does not run ARM64 tasks; use ArchitectureX86_64 with Spot, or on-demand ARM64"},
		{"exec on a read-only root", &agentservice.WorkerProps{Image: img, EnableExecuteCommand: jsii.Bool(true)},
			"agentservice: EnableExecuteCommand needs a writable root filesystem (the SSM agent writes into it), but ReadonlyRootFilesystem is true; set ReadonlyRootFilesystem to false as well, knowingly"},
		{"key with a given queue", &agentservice.WorkerProps{Image: img, Queue: queue, QueueEncryptionKey: key},
			"agentservice: QueueEncryptionKey applies only to the queue the construct makes, but Queue is given; configure the given queue itself, or drop Queue"},
		{"metrics service in the environment", &agentservice.WorkerProps{Image: img, Environment: &map[string]*string{"AGENTKIT_METRICS_SERVICE": jsii.String("jobs")}},
			"agentservice: Environment sets AGENTKIT_METRICS_SERVICE, which the construct sets from the stack name and its construct path; drop it"},
		{"metrics namespace in the environment", &agentservice.WorkerProps{Image: img, Environment: &map[string]*string{"AGENTKIT_METRICS_NAMESPACE": jsii.String("Jobs")}},
			"agentservice: Environment sets AGENTKIT_METRICS_NAMESPACE, which the construct sets from MetricsNamespace; set MetricsNamespace instead"},
		{"model prices in the environment", &agentservice.WorkerProps{Image: img, Environment: &map[string]*string{"AGENTKIT_MODEL_PRICES": jsii.String("{}")}},
			"agentservice: Environment sets AGENTKIT_MODEL_PRICES, which the construct sets from ModelPrices; set ModelPrices instead"},
		{"an AWS namespace", &agentservice.WorkerProps{Image: img, MetricsNamespace: jsii.String("AWS/SQS")},
			`agentservice: MetricsNamespace "AWS/SQS" is not a CloudWatch namespace of yours; use 1 to 255 letters, digits, spaces and . - _ / # :, not starting with "AWS/"`},
		{"a negative output price", &agentservice.WorkerProps{Image: img, ModelPrices: map[string]agentservice.ModelPrice{"m": {OutputUSDPerMillionTokens: -1}}},
			`agentservice: ModelPrices["m"].OutputUSDPerMillionTokens -1 is not a price; use US dollars per million tokens, from 0 to 1000000`},
		{"bad secret version", &agentservice.WorkerProps{Image: img, Secrets: secrets.FromParameters("/agents/prod", -1, "OPENAI_API_KEY")},
			"agentservice: Secrets: Version -1 of OPENAI_API_KEY is not a parameter version; use a whole number of 1 or more, or leave it unset for the latest"},
		{"stop timeout not whole seconds", &agentservice.WorkerProps{Image: img, StopTimeout: awscdk.Duration_Millis(jsii.Number(2500))},
			"agentservice: StopTimeout 2.5s is not a whole number of seconds; use 2s to 120s in whole seconds"},
		{"receive count with a given queue", &agentservice.WorkerProps{Image: img, Queue: queue, MaxReceiveCount: jsii.Number(3)},
			"agentservice: MaxReceiveCount applies only to the queue the construct makes, but Queue is given; configure the given queue itself, or drop Queue"},
		{"retention with a given queue", &agentservice.WorkerProps{Image: img, Queue: queue, QueueRetentionPeriod: days(1)},
			"agentservice: QueueRetentionPeriod applies only to the queue the construct makes, but Queue is given; configure the given queue itself, or drop Queue"},
		{"dlq retention with a given queue", &agentservice.WorkerProps{Image: img, Queue: queue, DeadLetterQueueRetentionPeriod: days(14)},
			"agentservice: DeadLetterQueueRetentionPeriod applies only to the queue the construct makes, but Queue is given; configure the given queue itself, or drop Queue"},
		{"receive count zero", &agentservice.WorkerProps{Image: img, MaxReceiveCount: jsii.Number(0)},
			"agentservice: MaxReceiveCount 0 is not a receive count; use a whole number from 1 to 1000"},
		{"receive count fractional", &agentservice.WorkerProps{Image: img, MaxReceiveCount: jsii.Number(2.5)},
			"agentservice: MaxReceiveCount 2.5 is not a receive count; use a whole number from 1 to 1000"},
		{"queue retention beyond 14 days", &agentservice.WorkerProps{Image: img, QueueRetentionPeriod: days(15)},
			"agentservice: QueueRetentionPeriod 1296000s is outside what SQS keeps; use whole seconds from 60s to 1209600s (14 days)"},
		{"dlq retention below a minute", &agentservice.WorkerProps{Image: img, DeadLetterQueueRetentionPeriod: awscdk.Duration_Seconds(jsii.Number(30))},
			"agentservice: DeadLetterQueueRetentionPeriod 30s is outside what SQS keeps; use whole seconds from 60s to 1209600s (14 days)"},
		{"dlq retention not longer", &agentservice.WorkerProps{Image: img, QueueRetentionPeriod: days(14)},
			"agentservice: DeadLetterQueueRetentionPeriod 1209600s is not longer than QueueRetentionPeriod 1209600s; SQS ages a message from when it was first sent, so a dead-letter queue that keeps messages no longer than the queue deletes them on arrival; use a longer DeadLetterQueueRetentionPeriod"},
		{"dlq retention shorter than default queue's", &agentservice.WorkerProps{Image: img, DeadLetterQueueRetentionPeriod: days(2)},
			"agentservice: DeadLetterQueueRetentionPeriod 172800s is not longer than QueueRetentionPeriod 345600s; SQS ages a message from when it was first sent, so a dead-letter queue that keeps messages no longer than the queue deletes them on arrival; use a longer DeadLetterQueueRetentionPeriod"},
		{"min capacity negative", &agentservice.WorkerProps{Image: img, MinCapacity: jsii.Number(-1)},
			"agentservice: MinCapacity -1 is not a task count; use a whole number of 0 or more"},
		{"max capacity zero", &agentservice.WorkerProps{Image: img, MaxCapacity: jsii.Number(0)},
			"agentservice: MaxCapacity 0 is not a task count; use a whole number of 1 or more"},
		{"max capacity fractional", &agentservice.WorkerProps{Image: img, MaxCapacity: jsii.Number(1.5)},
			"agentservice: MaxCapacity 1.5 is not a task count; use a whole number of 1 or more"},
		{"min above max", &agentservice.WorkerProps{Image: img, MinCapacity: jsii.Number(5), MaxCapacity: jsii.Number(2)},
			"agentservice: MinCapacity 5 is above MaxCapacity 2; use a minimum no larger than the maximum"},
		{"min above default max", &agentservice.WorkerProps{Image: img, MinCapacity: jsii.Number(11)},
			"agentservice: MinCapacity 11 is above MaxCapacity 10; use a minimum no larger than the maximum"},
		{"concurrency zero", &agentservice.WorkerProps{Image: img, Concurrency: jsii.Number(0)},
			"agentservice: Concurrency 0 is not a job count; use a whole number from 1 to 1000"},
		{"concurrency too high", &agentservice.WorkerProps{Image: img, Concurrency: jsii.Number(1001)},
			"agentservice: Concurrency 1001 is not a job count; use a whole number from 1 to 1000"},
		{"concurrency token", &agentservice.WorkerProps{Image: img, Concurrency: numberToken},
			"agentservice: Concurrency is an unresolved token; give a number, since the scaling target is computed from it at synth time"},
		{"job duration zero", &agentservice.WorkerProps{Image: img, JobDuration: awscdk.Duration_Seconds(jsii.Number(0))},
			"agentservice: JobDuration 0s is not positive; use a duration above 0s"},
		{"max job wait zero", &agentservice.WorkerProps{Image: img, MaxJobWait: awscdk.Duration_Minutes(jsii.Number(0))},
			"agentservice: MaxJobWait 0s is not positive; use a duration above 0s"},
		{"max job wait token", &agentservice.WorkerProps{Image: img, MaxJobWait: awscdk.Duration_Seconds(numberToken)},
			"agentservice: MaxJobWait is an unresolved token; give a duration, since the scaling target is computed from it at synth time"},
		{"env sets the job timeout", &agentservice.WorkerProps{Image: img, Environment: &map[string]*string{"AGENTKIT_JOB_TIMEOUT": jsii.String("1h")}},
			"agentservice: Environment sets AGENTKIT_JOB_TIMEOUT, which the construct sets from JobTimeout; set JobTimeout instead"},
		{"job timeout zero", &agentservice.WorkerProps{Image: img, JobTimeout: awscdk.Duration_Seconds(jsii.Number(0))},
			"agentservice: JobTimeout 0s is not a job time limit; use whole seconds from 1s to 43140s (SQS hides a message at most 12 hours from its receipt, less the queue's 60s visibility timeout)"},
		{"job timeout not whole seconds", &agentservice.WorkerProps{Image: img, JobTimeout: awscdk.Duration_Millis(jsii.Number(90500))},
			"agentservice: JobTimeout 1m30.5s is not a job time limit; use whole seconds from 1s to 43140s (SQS hides a message at most 12 hours from its receipt, less the queue's 60s visibility timeout)"},
		// SQS refuses to hide a message longer than 12 hours from its
		// receipt: "If you try to extend the visibility timeout beyond the
		// maximum, your request is rejected"
		// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html);
		// the worker's heartbeat extends by the queue's 60 s visibility timeout.
		{"job timeout of 12 hours", &agentservice.WorkerProps{Image: img, JobTimeout: awscdk.Duration_Hours(jsii.Number(12))},
			"agentservice: JobTimeout 43200s is not a job time limit; use whole seconds from 1s to 43140s (SQS hides a message at most 12 hours from its receipt, less the queue's 60s visibility timeout)"},
		{"job timeout under the job duration", &agentservice.WorkerProps{Image: img, JobTimeout: awscdk.Duration_Seconds(jsii.Number(30))},
			"agentservice: JobTimeout 30s is shorter than JobDuration 60s, so it would cut most jobs; use a JobTimeout of at least JobDuration"},
		{"job timeout token", &agentservice.WorkerProps{Image: img, JobTimeout: awscdk.Duration_Seconds(numberToken)},
			"agentservice: JobTimeout is an unresolved token; give a duration, since it is checked against JobDuration and the queue at synth time"},
		{"job duration of 12 hours", &agentservice.WorkerProps{Image: img, JobDuration: awscdk.Duration_Hours(jsii.Number(12))},
			"agentservice: JobDuration 43200s is longer than a job can hold its message; use at most 43140s (SQS hides a message at most 12 hours from its receipt, less the queue's 60s visibility timeout)"},
		{"job timeouts outlast the retention", &agentservice.WorkerProps{Image: img, JobTimeout: awscdk.Duration_Hours(jsii.Number(6)), QueueRetentionPeriod: days(1)},
			"agentservice: JobTimeout 21600s × MaxReceiveCount 5 is 108000s, not shorter than QueueRetentionPeriod 86400s; a job that runs past its time limit on every delivery would expire from the queue before it reaches the dead-letter queue; use a shorter JobTimeout, a smaller MaxReceiveCount or a longer QueueRetentionPeriod"},
		{"default job timeouts outlast the retention", &agentservice.WorkerProps{Image: img, QueueRetentionPeriod: awscdk.Duration_Hours(jsii.Number(1))},
			"agentservice: JobTimeout 900s (the default for JobDuration 60s) × MaxReceiveCount 5 is 4500s, not shorter than QueueRetentionPeriod 3600s; a job that runs past its time limit on every delivery would expire from the queue before it reaches the dead-letter queue; use a shorter JobTimeout, a smaller MaxReceiveCount or a longer QueueRetentionPeriod"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// GIVEN bad props WHEN validated THEN the message names the prop, value and what is allowed
			err := tc.props.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("Validate() =\n  %q\nwant\n  %q", err.Error(), tc.want)
			}
		})
	}
}

func TestWorkerValidateAcceptsGoodProps(t *testing.T) {
	imports := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Imports"), nil)
	numberToken := awscdk.NewCfnParameter(imports, jsii.String("N"), &awscdk.CfnParameterProps{Type: jsii.String("Number")}).ValueAsNumber()
	cases := map[string]*agentservice.WorkerProps{
		"defaults":                  {Image: astest.RegistryImage()},
		"zero to one":               {Image: astest.RegistryImage(), MinCapacity: jsii.Number(0), MaxCapacity: jsii.Number(1)},
		"fixed count":               {Image: astest.RegistryImage(), MinCapacity: jsii.Number(3), MaxCapacity: jsii.Number(3)},
		"token capacities":          {Image: astest.RegistryImage(), MinCapacity: numberToken, MaxCapacity: numberToken},
		"token receive count":       {Image: astest.RegistryImage(), MaxReceiveCount: numberToken},
		"token retention":           {Image: astest.RegistryImage(), QueueRetentionPeriod: awscdk.Duration_Seconds(numberToken)},
		"longest job wait":          {Image: astest.RegistryImage(), MaxJobWait: awscdk.Duration_Hours(jsii.Number(12)), JobDuration: awscdk.Duration_Seconds(jsii.Number(1))},
		"shortest stop timeout":     {Image: astest.RegistryImage(), StopTimeout: awscdk.Duration_Seconds(jsii.Number(2))},
		"max concurrency":           {Image: astest.RegistryImage(), Concurrency: jsii.Number(1000)},
		"exec with a writable root": {Image: astest.RegistryImage(), EnableExecuteCommand: jsii.Bool(true), ReadonlyRootFilesystem: jsii.Bool(false)},
		"longest job timeout":       {Image: astest.RegistryImage(), JobTimeout: awscdk.Duration_Seconds(jsii.Number(43140))},
		"job timeout of the job":    {Image: astest.RegistryImage(), JobDuration: awscdk.Duration_Hours(jsii.Number(2)), JobTimeout: awscdk.Duration_Hours(jsii.Number(2))},
		"job timeout beside a given queue": {Image: astest.RegistryImage(), JobTimeout: awscdk.Duration_Hours(jsii.Number(11)),
			Queue: awssqs.Queue_FromQueueArn(imports, jsii.String("Q"), jsii.String("arn:aws:sqs:us-east-1:123456789012:jobs"))},
		"one delivery of the longest job in a day": {Image: astest.RegistryImage(), JobTimeout: awscdk.Duration_Seconds(jsii.Number(43140)),
			MaxReceiveCount: jsii.Number(1), QueueRetentionPeriod: awscdk.Duration_Days(jsii.Number(1))},
	}
	for name, props := range cases {
		t.Run(name, func(t *testing.T) {
			// GIVEN good props WHEN validated THEN there is no error
			if err := props.Validate(); err != nil {
				t.Errorf("Validate() = %v", err)
			}
		})
	}
}

func TestBacklogPerTask(t *testing.T) {
	cases := []struct {
		wait, job   time.Duration
		concurrency int
		want        float64
	}{
		{5 * time.Minute, time.Minute, 4, 20},      // the defaults
		{90 * time.Second, time.Minute, 4, 6},      // Little's law, not ceil(wait/job)*concurrency = 8
		{90 * time.Second, time.Minute, 8, 12},     // scales with concurrency
		{10 * time.Second, 10 * time.Minute, 4, 1}, // a job longer than it may wait: at least 1
		{time.Hour, time.Second, 1000, 3600000},
		{0, time.Minute, 4, 1},
		{time.Minute, 0, 4, 1},
		{time.Minute, time.Minute, 0, 1},
	}
	for _, tc := range cases {
		// GIVEN a wait, a job length and a concurrency WHEN the target is computed THEN it is as documented
		if got := agentservice.BacklogPerTask(tc.wait, tc.job, tc.concurrency); got != tc.want {
			t.Errorf("BacklogPerTask(%s, %s, %d) = %v, want %v", tc.wait, tc.job, tc.concurrency, got, tc.want)
		}
	}
}

func TestDefaultJobTimeout(t *testing.T) {
	cases := []struct {
		job, want time.Duration
	}{
		{time.Minute, 15 * time.Minute},               // the default JobDuration: the floor
		{0, 15 * time.Minute},                         // the floor
		{90 * time.Second, 15 * time.Minute},          // ten times is the floor itself
		{100 * time.Second, 1000 * time.Second},       // ten times the average
		{90050 * time.Millisecond, 901 * time.Second}, // rounded up to whole seconds
		{time.Hour, 10 * time.Hour},
		{2 * time.Hour, 12*time.Hour - time.Minute}, // SQS's 12 hours less the 60 s visibility timeout
		{100000 * time.Hour, 12*time.Hour - time.Minute},
	}
	for _, tc := range cases {
		// GIVEN an average job length WHEN the limit is derived THEN it is as documented
		if got := agentservice.DefaultJobTimeout(tc.job); got != tc.want {
			t.Errorf("DefaultJobTimeout(%s) = %s, want %s", tc.job, got, tc.want)
		}
	}
}

func TestAPropSharedByBothConstructsFailsWithOneMessage(t *testing.T) {
	cases := []struct {
		name string
		set  func(web *agentservice.Props, worker *agentservice.WorkerProps)
	}{
		{"StopTimeout too long", func(w *agentservice.Props, k *agentservice.WorkerProps) {
			w.StopTimeout, k.StopTimeout = secs(121), secs(121)
		}},
		{"StopTimeout too short", func(w *agentservice.Props, k *agentservice.WorkerProps) {
			w.StopTimeout, k.StopTimeout = secs(1), secs(1)
		}},
		{"Cpu", func(w *agentservice.Props, k *agentservice.WorkerProps) {
			w.Cpu, k.Cpu = jsii.Number(1000), jsii.Number(1000)
		}},
		{"MemoryLimitMiB", func(w *agentservice.Props, k *agentservice.WorkerProps) {
			w.MemoryLimitMiB, k.MemoryLimitMiB = jsii.Number(100), jsii.Number(100)
		}},
		{"ContainerName", func(w *agentservice.Props, k *agentservice.WorkerProps) {
			w.ContainerName, k.ContainerName = jsii.String("my agent!"), jsii.String("my agent!")
		}},
		{"Environment name", func(w *agentservice.Props, k *agentservice.WorkerProps) {
			env := &map[string]*string{"LOG-LEVEL": jsii.String("info")}
			w.Environment, k.Environment = env, env
		}},
		{"Environment credential", func(w *agentservice.Props, k *agentservice.WorkerProps) {
			env := &map[string]*string{"OPENAI_API_KEY": jsii.String("sk-test")}
			w.Environment, k.Environment = env, env
		}},
		{"Secrets", func(w *agentservice.Props, k *agentservice.WorkerProps) {
			list := []*secrets.Secret{secrets.FromParameter("KEY", "no spaces please", 0)}
			w.Secrets, k.Secrets = list, list
		}},
		{"Secrets beside Environment", func(w *agentservice.Props, k *agentservice.WorkerProps) {
			env := &map[string]*string{"MODEL": jsii.String("small")}
			list := secrets.FromParameters("/agents/prod", 0, "MODEL")
			w.Environment, k.Environment, w.Secrets, k.Secrets = env, env, list, list
		}},
		{"LogStreamPrefix", func(w *agentservice.Props, k *agentservice.WorkerProps) {
			w.LogStreamPrefix, k.LogStreamPrefix = jsii.String("a:b"), jsii.String("a:b")
		}},
		{"LogRetention", func(w *agentservice.Props, k *agentservice.WorkerProps) {
			w.LogRetention, k.LogRetention = "FOREVERISH", "FOREVERISH"
		}},
		{"ClusterName", func(w *agentservice.Props, k *agentservice.WorkerProps) {
			w.ClusterName, k.ClusterName = jsii.String("my cluster!"), jsii.String("my cluster!")
		}},
		{"CpuArchitecture", func(w *agentservice.Props, k *agentservice.WorkerProps) {
			w.CpuArchitecture, k.CpuArchitecture = "sparc", "sparc"
		}},
		{"Image reference", func(w *agentservice.Props, k *agentservice.WorkerProps) {
			w.Image, k.Image = agentservice.ImageFromRegistry("my image:latest"), agentservice.ImageFromRegistry("my image:latest")
		}},
		{"Image directory", func(w *agentservice.Props, k *agentservice.WorkerProps) {
			w.Image, k.Image = agentservice.ImageFromDirectory("./no-such-agent"), agentservice.ImageFromDirectory("./no-such-agent")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN the same bad value on the web service and on the worker
			web, worker := &agentservice.Props{Image: astest.RegistryImage()}, &agentservice.WorkerProps{Image: astest.RegistryImage()}
			c.set(web, worker)

			// WHEN both are validated
			webErr, workerErr := web.Validate(), worker.Validate()

			// THEN both refuse it with the same message
			if webErr == nil || workerErr == nil || webErr.Error() != workerErr.Error() {
				t.Fatalf("web:    %v\nworker: %v", webErr, workerErr)
			}
		})
	}
}
