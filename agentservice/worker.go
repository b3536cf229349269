package agentservice

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapplicationautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/timing"
)

// Worker is a queue worker on ECS Fargate: an SQS queue with its
// dead-letter queue, and a Fargate service without a load balancer whose
// tasks consume the queue (with package agentkit/sqsworker), scaled on the
// queue's backlog per task. It is a construct: use it as a scope, tag it,
// and reach the L2 constructs it made through its fields.
//
// # Scaling
//
// Two policies on the service's task count, both CloudWatch metric math
// over m1, the queue's ApproximateNumberOfMessagesVisible, and m2, the
// service's RunningTaskCount from Container Insights (on for a cluster the
// construct makes; a given Cluster must have it on):
//
//   - BacklogPolicy, target tracking of e1 = IF(m2 > 0, m1 / m2, m1), the
//     backlog per task, at BacklogPerTaskTarget. It scales out in
//     proportion to the backlog and back in to MinCapacity when the queue
//     is empty. Target tracking cannot scale out from zero tasks (it
//     multiplies the current count), hence:
//   - ScaleFromZeroAction, a step policy that adds one task, fired by
//     ScaleFromZeroAlarm on IF(FILL(m2, 0) == 0 AND m1 > 0, 1, 0) >= 1:
//     messages are waiting and no task runs. Only with MinCapacity 0.
//
// BacklogPolicy waits 60 s after a scale-out (a new task needs about a
// minute to start and show in the metrics) and 120 s after a scale-in;
// ScaleFromZeroAction waits 5 minutes, during which the task it added
// counts, so the alarm staying in ALARM while that task starts adds no
// second one.
//
// Scale-in stops idle tasks only: while a job runs, the consumer holds the
// task's ECS scale-in protection, which the task role may set for tasks of
// its cluster. A job that hangs holds it no longer than its time limit
// (JobTimeout) and one heartbeat interval.
//
// # Deployments
//
// Minimum healthy 100 %, maximum 200 % and the circuit breaker with
// rollback, as for Service: a deployment starts the new tasks before it
// stops old ones, and the old ones drain (finish their jobs or release
// them) within the stop timeout. The service has no DesiredCount in the
// template: CloudFormation starts a new service with one task, and a
// deployment never resets the count that scaling chose.
type Worker struct {
	constructs.Construct

	// Vpc is the VPC the worker runs in: the given one, the given
	// cluster's, or the one the construct made.
	Vpc awsec2.IVpc
	// Cluster is the ECS cluster: the given one or the one the construct made.
	Cluster awsecs.ICluster
	// LogGroup receives the container's logs.
	LogGroup awslogs.LogGroup
	// LogKey is the customer-managed key the construct made for its log
	// groups; nil when LogEncryptionKey was given.
	LogKey awskms.Key
	// Queue is the queue the worker consumes: the given one or the one the
	// construct made (an awssqs.Queue). Grant producers with
	// Queue.GrantSendMessages.
	Queue awssqs.IQueue
	// DeadLetterQueue receives the messages that failed MaxReceiveCount
	// times; nil with a given Queue.
	DeadLetterQueue awssqs.Queue
	// DeadLetterAlarm fires when the dead-letter queue holds a message; it
	// notifies AlarmTopic. Nil with a given Queue.
	DeadLetterAlarm awscloudwatch.Alarm
	// TaskDefinition is the Fargate task definition; its task role may
	// consume Queue and set the task's scale-in protection.
	TaskDefinition awsecs.FargateTaskDefinition
	// Container is the worker's container in TaskDefinition.
	Container awsecs.ContainerDefinition
	// Service is the ECS Fargate service.
	Service awsecs.FargateService
	// ScalableTaskCount is the service's autoscaling target; add policies
	// to it beyond the two the construct made.
	ScalableTaskCount awsecs.ScalableTaskCount
	// BacklogPolicy is the target-tracking policy on the backlog per task
	// (an L1: the L2 does not take metric math).
	BacklogPolicy awsapplicationautoscaling.CfnScalingPolicy
	// ScaleFromZeroAction is the step policy that starts the first task;
	// nil when MinCapacity is above 0.
	ScaleFromZeroAction awsapplicationautoscaling.StepScalingAction
	// ScaleFromZeroAlarm fires ScaleFromZeroAction when messages wait and
	// no task runs; nil when MinCapacity is above 0.
	ScaleFromZeroAlarm awscloudwatch.Alarm
	// BacklogPerTaskTarget is the backlog per task BacklogPolicy keeps:
	// BacklogPerTask(MaxJobWait, JobDuration, Concurrency).
	BacklogPerTaskTarget float64
	// OldestMessageAlarm fires when the oldest message in Queue has
	// waited over twice MaxJobWait, five minutes running; it notifies
	// AlarmTopic.
	OldestMessageAlarm awscloudwatch.Alarm
	// EMFErrorsAlarm fires when CloudWatch Logs rejects a metric line of
	// LogGroup (AWS/Logs EMFValidationErrors or EMFParsingErrors, summed over
	// 5 minutes): the jobs' agentkit metrics travel in such lines. It
	// notifies AlarmTopic.
	EMFErrorsAlarm awscloudwatch.Alarm
	// SpendAlarm fires when the estimated model spend of the worker's jobs
	// in one hour exceeds SpendAlarmUSDPerHour; it notifies AlarmTopic.
	// nil without SpendAlarmUSDPerHour.
	SpendAlarm awscloudwatch.Alarm
	// RunsFailedAlarm fires when the worker's tasks end
	// Runs.FailedRunsAlarmThreshold runs failed within 5 minutes
	// (agentkit's RunsFailed); it notifies AlarmTopic. nil without Runs.
	RunsFailedAlarm awscloudwatch.Alarm
	// Dashboard is the worker's CloudWatch dashboard; nil when Dashboard
	// is false.
	Dashboard awscloudwatch.Dashboard
}

// Construct IDs of the Worker's own children, part of the contract like
// Service's (renaming one replaces the resource). The VPC, cluster, log
// group, task definition and service use Service's IDs: Vpc, Cluster,
// Logs, TaskDef, Service.
const (
	queueID           = "Queue"
	deadLetterQueueID = "DeadLetterQueue"
	deadLetterAlarmID = "DeadLetterAlarm"
	// Under Service/TaskCount:
	backlogPolicyID      = "BacklogPerTask"
	scaleFromZeroID      = "ScaleFromZero"
	scaleFromZeroAlarmID = "ScaleFromZeroAlarm"
)

// NewWorker creates a queue worker in scope under id. It validates props
// first and panics with the message of WorkerProps.Validate when they are
// invalid, so that a bad stack fails at synth time with nothing created.
func NewWorker(scope constructs.Construct, id *string, props *WorkerProps) *Worker {
	if err := props.Validate(); err != nil {
		panic(err.Error())
	}
	base := props.base()
	m := metricsOf(scope, id, props.MetricsNamespace)
	w := &Worker{}
	constructs.NewConstruct_Override(w, scope, id)
	base.LogEncryptionKey, w.LogKey = logKey(w, props.LogEncryptionKey)
	w.Vpc, w.Cluster = network(w, base)
	w.LogGroup = newLogGroup(w, "Logs", base)
	if props.Queue != nil {
		w.Queue = props.Queue
	} else {
		var queue awssqs.Queue
		queue, w.DeadLetterQueue = queues(w, props)
		w.Queue = queue
		w.DeadLetterAlarm = deadLetterAlarm(w, w.DeadLetterQueue)
		notify(props.AlarmTopic, w.DeadLetterAlarm)
	}
	env := withEnv(props.Environment, map[string]*string{
		agentkit.EnvQueueURL:          w.Queue.QueueUrl(),
		agentkit.EnvWorkerConcurrency: jsii.String(fmt.Sprint(props.concurrency())),
		agentkit.EnvStopTimeout:       envDuration(base.stopTimeout()),
		agentkit.EnvJobTimeout:        jsii.String(timing.Format(props.jobTimeout())),
	}, m.env(props.ModelPrices), props.Runs.env())
	w.TaskDefinition, w.Container = task(w, base, w.LogGroup, env, nil)
	protection := grantWorker(w.TaskDefinition.TaskRole(), w.Queue, w.Cluster, props.allowSend())
	props.Runs.grant(w.TaskDefinition.TaskRole())
	w.Service = workerService(w, base, w.Cluster, w.TaskDefinition)
	// After the service, whose ECS Exec grants the task role gets.
	w.suppressWorkerFindings(props, protection)
	confineTaskRole(w.TaskDefinition.TaskRole())
	if props.Vpc == nil && props.Cluster == nil {
		confineFlowLogRole(w.Vpc)
	}
	awaitInherent(w.Service, w.TaskDefinition.ExecutionRole(), w.TaskDefinition.TaskRole())
	awscdk.Aspects_Of(w).Add(&managedPolicies{owner: *w.Node().Path()}, nil)
	w.scale(props)
	w.OldestMessageAlarm = w.oldestMessageAlarm(props)
	w.EMFErrorsAlarm = emfErrorsAlarm(w, w.LogGroup, props.AlarmTopic)
	w.SpendAlarm = spendAlarm(w, m, props.SpendAlarmUSDPerHour, props.ModelPrices, props.AlarmTopic)
	w.RunsFailedAlarm = props.Runs.failedAlarm(w, m, props.AlarmTopic)
	if defaults.Or(props.Dashboard, true) {
		w.Dashboard = w.workerDashboard(props, m)
	}
	awscdk.NewCfnOutput(w, jsii.String("QueueUrl"), &awscdk.CfnOutputProps{
		Value:       w.Queue.QueueUrl(),
		Description: jsii.String("The URL of the queue the worker consumes"),
	})
	return w
}

// ToString returns the construct path. Defining it makes Worker a jsii
// override of Construct, which is what lets jsii accept a *Worker as a
// scope and as a target of awscdk.Tags_Of.
func (w *Worker) ToString() *string { return w.Node().Path() }

// queues makes the job queue and its dead-letter queue: encrypted, TLS
// only, with the redrive policy.
func queues(scope constructs.Construct, p *WorkerProps) (awssqs.Queue, awssqs.Queue) {
	encryption := awssqs.QueueEncryption_SQS_MANAGED
	if p.QueueEncryptionKey != nil {
		encryption = awssqs.QueueEncryption_KMS
	}
	dlq := awssqs.NewQueue(scope, jsii.String(deadLetterQueueID), &awssqs.QueueProps{
		Encryption:          encryption,
		EncryptionMasterKey: p.QueueEncryptionKey,
		EnforceSSL:          jsii.Bool(true),
		RetentionPeriod:     defaults.Duration(p.DeadLetterQueueRetentionPeriod, DefaultDeadLetterQueueRetention),
	})
	queue := awssqs.NewQueue(scope, jsii.String(queueID), &awssqs.QueueProps{
		Encryption:          encryption,
		EncryptionMasterKey: p.QueueEncryptionKey,
		EnforceSSL:          jsii.Bool(true),
		RetentionPeriod:     defaults.Duration(p.QueueRetentionPeriod, DefaultQueueRetention),
		// The consumer asks for the same on each receive and renews it
		// while the job runs; the queue's own value covers other readers.
		VisibilityTimeout: defaults.Duration(nil, agentkit.DefaultQueueVisibilityTimeout),
		DeadLetterQueue: &awssqs.DeadLetterQueue{
			Queue:           dlq,
			MaxReceiveCount: jsii.Number(defaults.Or(p.MaxReceiveCount, DefaultMaxReceiveCount)),
		},
	})
	return queue, dlq
}

// deadLetterAlarm fires as soon as a message lands in the dead-letter
// queue: each one is a job that failed every delivery.
func deadLetterAlarm(scope constructs.Construct, dlq awssqs.Queue) awscloudwatch.Alarm {
	return awscloudwatch.NewAlarm(scope, jsii.String(deadLetterAlarmID), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("Jobs failed every delivery and wait in the worker's dead-letter queue"),
		Metric: dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period:    awscdk.Duration_Minutes(jsii.Number(1)),
			Statistic: jsii.String("Maximum"),
		}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		DatapointsToAlarm:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
}

// grantWorker lets the task role consume queue (and send to it), and set
// the scale-in protection of tasks in its cluster. ECS task ARNs are
// arn:PARTITION:ecs:REGION:ACCOUNT:task/CLUSTER/TASK_ID and the task's id is
// only known once it runs, so tasks of this cluster is the narrowest
// resource that covers the task's own. It returns that resource.
func grantWorker(role awsiam.IRole, queue awssqs.IQueue, cluster awsecs.ICluster, send bool) *string {
	queue.GrantConsumeMessages(role)
	if send {
		queue.GrantSendMessages(role)
	}
	stack := awscdk.Stack_Of(role)
	tasks := awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), stack.Partition(), jsii.String(":ecs:"), stack.Region(), jsii.String(":"), stack.Account(),
		jsii.String(":task/"), cluster.ClusterName(), jsii.String("/*"),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("ecs:UpdateTaskProtection", "ecs:GetTaskProtection"),
		Resources: &[]*string{tasks},
	}))
	return tasks
}

func workerService(scope constructs.Construct, p *Props, cluster awsecs.ICluster, def awsecs.FargateTaskDefinition) awsecs.FargateService {
	// No DesiredCount: see Worker's doc.
	return awsecs.NewFargateService(scope, jsii.String("Service"), p.serviceProps(scope, cluster, def))
}
