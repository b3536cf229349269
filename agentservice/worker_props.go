package agentservice

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/healthcheck"
	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/propmsg"
	"github.com/agentcdk/agentcdk/internal/timing"
	"github.com/agentcdk/agentcdk/internal/token"
	"github.com/agentcdk/agentcdk/secrets"
)

// Defaults a Worker applies when a prop is nil. The ones it shares with
// Service (VPC, cluster, size, logging, security) are Service's Default...
// constants.
const (
	// DefaultWorkerContainerName names the worker's container.
	DefaultWorkerContainerName = "worker"
	// DefaultWorkerLogStreamPrefix prefixes the worker's log streams.
	DefaultWorkerLogStreamPrefix = "worker"
	// DefaultWorkerStopTimeout is the worker container's stop timeout:
	// Fargate's maximum, because a worker's jobs are long and every second
	// of it is drain time (the consumer lets running jobs go on until the
	// drain's cancel point, agentkit.DrainDeadlines: 110 s). It also
	// matches the two-minute warning of a Fargate Spot interruption.
	DefaultWorkerStopTimeout = agentkit.MaxStopTimeout

	// DefaultMaxReceiveCount is how many times SQS delivers a message
	// before the redrive policy moves it to the dead-letter queue. With
	// the consumer's doubling retry backoff (10 s, 20 s, 40 s, 80 s) a
	// failing job is tried five times over about two and a half minutes:
	// enough to ride out a model API's brief outage, short enough that a
	// poison message does not occupy workers for long.
	DefaultMaxReceiveCount = 5
	// maxMaxReceiveCount is SQS's largest maxReceiveCount.
	maxMaxReceiveCount = 1000

	// DefaultQueueRetention is how long the queue keeps a message that no
	// worker has finished: SQS's own default.
	DefaultQueueRetention = 4 * 24 * time.Hour
	// DefaultDeadLetterQueueRetention is how long the dead-letter queue
	// keeps a message: SQS's maximum, the most time to look into a failed
	// job.
	DefaultDeadLetterQueueRetention = maxQueueRetention
	// minQueueRetention and maxQueueRetention bound a queue's retention
	// period in SQS.
	minQueueRetention = time.Minute
	maxQueueRetention = 14 * 24 * time.Hour

	// DefaultWorkerMinCapacity is the fewest worker tasks: none while the
	// queue is empty.
	DefaultWorkerMinCapacity = 0
	// DefaultWorkerMaxCapacity is the most worker tasks.
	DefaultWorkerMaxCapacity = 10

	// DefaultMaxJobWait is how long a job may wait in the queue before a
	// worker starts it, on average, when the backlog is steady.
	DefaultMaxJobWait = 5 * time.Minute
	// DefaultJobDuration is how long one job takes, on average.
	DefaultJobDuration = time.Minute

	// DefaultJobTimeoutFactor and DefaultMinJobTimeout make the job time
	// limit when JobTimeout is nil: see DefaultJobTimeout.
	DefaultJobTimeoutFactor = 10
	DefaultMinJobTimeout    = 15 * time.Minute

	// workerScaleOutCooldown is the backlog policy's wait after a
	// scale-out before the next one: a new task needs about a minute to
	// start and show in the metrics.
	workerScaleOutCooldown = 60 * time.Second
	// workerScaleInCooldown is the backlog policy's wait after a scale-in
	// before the next one. Target tracking already waits for 15 low
	// minutes before it scales in; busy tasks are protected anyway.
	workerScaleInCooldown = 120 * time.Second
	// scaleFromZeroCooldown is the wait after the scale-from-zero step
	// before it may add another task. Application Auto Scaling counts the
	// task it added during the cooldown, so the alarm staying in ALARM
	// while the first task starts (and while Container Insights has not yet
	// reported it running) adds no second one.
	scaleFromZeroCooldown = 5 * time.Minute
)

// WorkerProps configures a Worker. Only Image is required; every other
// field has a default, documented on it. Fields named as in Props mean the
// same and are checked the same way.
type WorkerProps struct {
	// Image is where the worker's container image comes from:
	// ImageFromDirectory, ImageFromRegistry or ImageFromContainerImage.
	// Required. The image's program consumes the queue, typically with
	// package agentkit/sqsworker.
	Image *Image

	// Vpc is the VPC to run in.
	//
	// Default: - a new VPC with MaxAzs availability zones, NatGateways NAT
	// gateways, and one public and one private-with-egress subnet per zone.
	Vpc awsec2.IVpc
	// MaxAzs is how many availability zones the new VPC spans. Only used
	// when Vpc and Cluster are nil.
	//
	// Default: 2.
	MaxAzs *float64
	// NatGateways is how many NAT gateways the new VPC has. Only used when
	// Vpc and Cluster are nil.
	//
	// Default: 1.
	NatGateways *float64

	// Cluster is the ECS cluster to run in, such as the web service's
	// (Service.Cluster). When given, its VPC is used and Vpc must be nil.
	// The backlog scaling reads Container Insights' RunningTaskCount, so
	// the cluster must have Container Insights on.
	//
	// Default: - a new cluster in the VPC, with Container Insights on.
	Cluster awsecs.ICluster
	// ClusterName names the new cluster: 1 to 255 letters, digits, hyphens
	// and underscores. Setting it with Cluster is an error.
	//
	// Default: - a name CloudFormation generates.
	ClusterName *string
	// ContainerInsights turns CloudWatch Container Insights on for the new
	// cluster. Only used when Cluster is nil. The backlog scaling needs it:
	// turned off, the worker never scales from zero and never tracks its
	// backlog per task.
	//
	// Default: true.
	ContainerInsights *bool

	// Cpu is the task's CPU in units (1024 = 1 vCPU); it must be a Fargate
	// size: 256, 512, 1024, 2048, 4096, 8192 or 16384.
	//
	// Default: 1024.
	Cpu *float64
	// MemoryLimitMiB is the task's memory; it must be a size Fargate offers
	// with Cpu.
	//
	// Default: 2048.
	MemoryLimitMiB *float64

	// ContainerName names the container in the task definition.
	//
	// Default: "worker".
	ContainerName *string
	// Environment holds plain environment variables for the container. The
	// construct sets AGENTKIT_QUEUE_URL, AGENTKIT_WORKER_CONCURRENCY,
	// AGENTKIT_STOP_TIMEOUT, AGENTKIT_JOB_TIMEOUT, AGENTKIT_METRICS_NAMESPACE,
	// AGENTKIT_METRICS_SERVICE, AGENTKIT_MODEL_PRICES and, with Runs,
	// AGENTKIT_RUNS_TABLE, AGENTKIT_RUN_LEASE and AGENTKIT_RUN_RETENTION
	// itself; they may not appear here. Never put secrets here: use Secrets.
	//
	// Default: - none beyond the agentkit contract.
	Environment *map[string]*string
	// EnvironmentAllowList names the plain variables that look like
	// credentials but hold none; see Props.EnvironmentAllowList.
	//
	// Default: - none; every credential-like name is refused.
	EnvironmentAllowList *[]*string
	// Secrets fill environment variables from SSM Parameter Store or Secrets
	// Manager when the task starts; see package secrets. The execution role
	// may read exactly these.
	//
	// Default: - none.
	Secrets []*secrets.Secret

	// LogRetention is how long the container's log group (and every other
	// log group the construct makes) keeps events.
	//
	// Default: awslogs.RetentionDays_ONE_WEEK.
	LogRetention awslogs.RetentionDays
	// LogStreamPrefix prefixes the container's log stream names.
	//
	// Default: "worker".
	LogStreamPrefix *string
	// LogDriverMode is how the container's stdout and stderr reach its log
	// group; see Props.LogDriverMode. In non-blocking mode a line that does
	// not fit the buffer is lost; in blocking mode a slow CloudWatch Logs
	// stalls the jobs that log.
	//
	// Default: awsecs.AwsLogDriverMode_NON_BLOCKING.
	LogDriverMode awsecs.AwsLogDriverMode
	// LogBufferSizeMiB is the non-blocking driver's buffer; see
	// Props.LogBufferSizeMiB.
	//
	// Default: 10 (DefaultLogBufferSizeMiB).
	LogBufferSizeMiB *float64

	// StopTimeout is how long ECS waits after SIGTERM before SIGKILL; the
	// container gets it as AGENTKIT_STOP_TIMEOUT, and the consumer lets
	// running jobs finish until the drain's cancel point
	// (agentkit.DrainDeadlines: 110 s for 120 s), then releases the
	// unfinished ones to other workers. 2 s to 120 s.
	//
	// Default: 120 s, Fargate's maximum (jobs are long; see
	// DefaultWorkerStopTimeout).
	StopTimeout awscdk.Duration

	// Queue is an existing queue to consume instead of a new one. The
	// construct then makes no queue, dead-letter queue or alarm, and the
	// queue props below (QueueEncryptionKey, MaxReceiveCount,
	// QueueRetentionPeriod, DeadLetterQueueRetentionPeriod) are refused:
	// configure the given queue itself. Its visibility timeout matters only
	// for consumers other than sqsworker, which asks for its own on each
	// receive.
	//
	// Default: - a new queue with a dead-letter queue.
	Queue awssqs.IQueue
	// QueueEncryptionKey encrypts the new queue and dead-letter queue with
	// this KMS key; the task role may use it as far as consuming (and
	// sending, with AllowSend) needs.
	//
	// Default: - SQS-managed server-side encryption (SSE-SQS).
	QueueEncryptionKey awskms.IKey
	// MaxReceiveCount is how many times SQS delivers a message before it
	// moves it to the dead-letter queue: 1 to 1000.
	//
	// Default: 5 (see DefaultMaxReceiveCount).
	MaxReceiveCount *float64
	// AlarmTopic receives every alarm the construct makes that reports a
	// problem, as the alarm's action: the oldest-message alarm, the EMF
	// errors alarm and the dead-letter alarm of the queue it makes, not the
	// scale-from-zero alarm, whose action is scaling. NewAlarmTopic makes a
	// topic CloudWatch may publish to.
	//
	// Default: - none; the alarms are only seen in CloudWatch.
	AlarmTopic awssns.ITopic
	// QueueRetentionPeriod is how long the queue keeps a message: 1 minute
	// to 14 days, whole seconds.
	//
	// Default: 4 days.
	QueueRetentionPeriod awscdk.Duration
	// DeadLetterQueueRetentionPeriod is how long the dead-letter queue
	// keeps a message: 1 minute to 14 days, and longer than
	// QueueRetentionPeriod, because SQS counts a message's age from when it
	// was first sent, not from when it reached the dead-letter queue.
	//
	// Default: 14 days.
	DeadLetterQueueRetentionPeriod awscdk.Duration
	// AllowSend lets the task role send to the queue as well, for a worker
	// that enqueues follow-up jobs.
	//
	// Default: false (the worker may only consume).
	AllowSend *bool

	// Concurrency is how many jobs one task runs at once: 1 to
	// agentkit.MaxWorkerConcurrency (1000). The container gets it as
	// AGENTKIT_WORKER_CONCURRENCY. It must be a number, not a token: the
	// scaling target is computed from it.
	//
	// Default: 4 (agentkit.DefaultWorkerConcurrency).
	Concurrency *float64
	// MinCapacity is the fewest tasks: 0 or more. At 0 the worker costs
	// nothing while the queue is empty; a job that arrives then waits for
	// the scale-from-zero step: SQS's next metric data point, one alarm
	// minute and a task start, a few minutes in all, and up to about 15
	// more after the queue has been idle for 6 hours, since SQS then
	// resumes its metrics late. Set 1 where that is too long.
	//
	// Default: 0.
	MinCapacity *float64
	// MaxCapacity is the most tasks: 1 or more and not below MinCapacity.
	//
	// Default: 10.
	MaxCapacity *float64
	// MaxJobWait is how long a job may wait in the queue before a worker
	// starts it, on average when the backlog is steady; with JobDuration
	// and Concurrency it sets the backlog per task that the scaling keeps
	// (see Worker.BacklogPerTaskTarget). Positive; not a token.
	//
	// Default: 5 minutes.
	MaxJobWait awscdk.Duration
	// JobDuration is how long one job takes on average. Positive, at most
	// agentkit.MaxJobTimeout (11 h 59 min); not a token.
	//
	// Default: 1 minute.
	JobDuration awscdk.Duration
	// JobTimeout is the longest one job may run; the container gets it as
	// AGENTKIT_JOB_TIMEOUT. At it the consumer cancels the job's context and
	// the job counts as failed: its message comes back after the retry
	// backoff, so a job that hangs ends in the dead-letter queue after
	// MaxReceiveCount deliveries instead of holding its message and its
	// task's scale-in protection forever (see "Time limits and lost
	// messages" in package agentkit/sqsworker). Whole seconds, not a token,
	// at least JobDuration and at most agentkit.MaxJobTimeout (11 h 59 min:
	// SQS hides a message at most 12 hours from its receipt, less the
	// queue's 60 s visibility timeout). With the queue the construct makes,
	// JobTimeout × MaxReceiveCount must be shorter than
	// QueueRetentionPeriod, or a job that times out on every delivery
	// expires before it reaches the dead-letter queue.
	//
	// Default: 10 × JobDuration, at least 15 minutes and at most
	// agentkit.MaxJobTimeout (see DefaultJobTimeout): 15 minutes for the
	// default JobDuration.
	JobTimeout awscdk.Duration

	// MetricsNamespace is the CloudWatch namespace the tasks write their
	// agentkit metrics to (AGENTKIT_METRICS_NAMESPACE), and the one the
	// dashboard reads; see Props.MetricsNamespace. Give the web service
	// and its worker the same one: their metrics are one family, told
	// apart by the Service dimension (the stack name and the construct's
	// path, "WorkerAgent/Worker").
	//
	// Default: "AgentCDK" (agentkit.DefaultMetricsNamespace).
	MetricsNamespace *string
	// ModelPrices turns the model calls the worker's jobs report into an
	// estimated cost per model; see Props.ModelPrices.
	//
	// Default: - none; no cost metric.
	ModelPrices map[string]ModelPrice
	// SpendAlarmUSDPerHour fires Worker.SpendAlarm, to AlarmTopic, when
	// the estimated model spend of the worker's jobs in one hour exceeds
	// it, in US dollars; see Props.SpendAlarmUSDPerHour. Requires
	// ModelPrices, with at most 9 models.
	//
	// Default: - no spend alarm.
	SpendAlarmUSDPerHour *float64
	// Dashboard makes a CloudWatch dashboard for the worker
	// (Worker.Dashboard): visible messages, age of the oldest message,
	// backlog per task against its target, dead-letter queue depth, jobs
	// per minute, running jobs per task, tasks, CPU and memory,
	// deployments, and tokens, latency, errors and cost per model.
	//
	// Default: true.
	Dashboard *bool

	// MinHealthyPercent is the lower limit of running tasks during a
	// deployment, as a percentage of the desired count.
	//
	// Default: 100 (a deployment never drops consumers).
	MinHealthyPercent *float64
	// MaxHealthyPercent is the upper limit of running tasks during a
	// deployment, as a percentage of the desired count.
	//
	// Default: 200 (a full new set starts before the old one stops).
	MaxHealthyPercent *float64
	// CircuitBreaker stops a deployment whose tasks keep failing to start,
	// and rolls it back when Rollback is set.
	//
	// Default: - on, with rollback.
	CircuitBreaker *awsecs.DeploymentCircuitBreaker

	// CpuArchitecture is the CPU the tasks run on; a Directory image is
	// built for it.
	//
	// Default: ArchitectureX86_64.
	CpuArchitecture Architecture
	// FargateSpot runs the tasks beyond OnDemandBaseCount on Fargate Spot.
	// A Spot interruption is a SIGTERM two minutes ahead, as long as the
	// default stop timeout: jobs drain or go back to the queue. Not with
	// ArchitectureArm64. A given Cluster must have the Fargate capacity
	// providers enabled.
	//
	// Default: false.
	FargateSpot *bool
	// OnDemandBaseCount is how many tasks always run on on-demand Fargate
	// when FargateSpot is set.
	//
	// Default: 1.
	OnDemandBaseCount *float64

	// ReadonlyRootFilesystem mounts the container's root filesystem
	// read-only; /tmp is a writable task volume.
	//
	// Default: true.
	ReadonlyRootFilesystem *bool
	// User is the user (and optionally ":group") the container runs as;
	// root is refused.
	//
	// Default: "65532", distroless's nonroot user.
	User *string
	// EnableExecuteCommand turns ECS Exec on, for a shell in a running
	// task. It needs ReadonlyRootFilesystem false.
	//
	// Default: false.
	EnableExecuteCommand *bool

	// FlowLogs records the new VPC's traffic to a CloudWatch log group.
	//
	// Default: true.
	FlowLogs *bool
	// RestrictDefaultSecurityGroup removes every rule from the new VPC's
	// default security group.
	//
	// Default: true.
	RestrictDefaultSecurityGroup *bool
	// AllowAllOutbound lets the tasks open any outbound connection instead
	// of HTTPS (443) only, which is all an agent's calls need (model and
	// AWS APIs, and the image pull, secrets and logs that Fargate fetches
	// over the task's network interface); set it for a database or another
	// port.
	//
	// Default: false, HTTPS out only.
	AllowAllOutbound *bool
	// LogEncryptionKey encrypts every log group the construct makes.
	//
	// Default: - a new customer-managed KMS key with yearly rotation,
	// kept when the stack is deleted (as the log groups are), exposed as
	// the construct's LogKey. Compliance packs (NIST 800-53, HIPAA, PCI DSS)
	// ask for a customer key on every log group; it costs about 1 USD a
	// month.
	LogEncryptionKey awskms.IKey

	// Runs is the store of agentkit's durable runs (NewRunStore), shared
	// with the web service that creates them; see Props.Runs. Its RunLease
	// must be at most the queue's visibility timeout
	// (agentkit.DefaultQueueVisibilityTimeout), so that the message of a
	// run whose worker died comes back when the run can be taken over, and
	// its RunRetention longer than the QueueRetentionPeriod of the queue the
	// construct makes, so that a run outlives its waiting message. The
	// dashboard also graphs the age of the oldest queued run (the queue's
	// oldest message).
	//
	// Default: - no runs.
	Runs *RunStore
}

// workerReservedEnv are the variables the worker construct sets from other
// props.
var workerReservedEnv = map[string]string{
	agentkit.EnvQueueURL:          "Queue",
	agentkit.EnvWorkerConcurrency: "Concurrency",
	agentkit.EnvStopTimeout:       "StopTimeout",
	agentkit.EnvJobTimeout:        "JobTimeout",
	agentkit.EnvMetricsNamespace:  "MetricsNamespace",
	agentkit.EnvMetricsService:    fromPath,
	agentkit.EnvModelPrices:       "ModelPrices",
	agentkit.EnvRunsTable:         "Runs",
	agentkit.EnvRunLease:          "Runs",
	agentkit.EnvRunRetention:      "Runs",
}

// Validate reports the first prop that AWS would refuse or that makes no
// sense, with a message naming the prop, the value and what is allowed. A
// nil *WorkerProps is invalid: Image is required. Unresolved tokens are not
// judged, except where the construct must compute with the value
// (Concurrency, MaxJobWait, JobDuration), which it refuses as tokens.
func (p *WorkerProps) Validate() error {
	if p == nil || p.Image == nil {
		return errors.New("agentservice: Image is required; use ImageFromDirectory, ImageFromRegistry or ImageFromContainerImage")
	}
	b := p.base()
	checks := []func() error{
		b.Image.validate,
		b.validateNetwork,
		b.validateSize,
		b.validateContainer,
		func() error { return b.validateEnvironment(workerReservedEnv) },
		func() error { return validateSecrets(p.Secrets) },
		p.validateStopTimeout,
		b.validateDeployment,
		b.validateSecurity,
		p.validateQueue,
		p.validateCapacity,
		p.validateJobs,
		func() error { return validateMetrics(p.MetricsNamespace, p.ModelPrices) },
		func() error { return validateSpendAlarm(p.SpendAlarmUSDPerHour, p.ModelPrices) },
		p.validateRuns,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// base is the web service's Props that the worker shares: everything the
// network, log group, task and container helpers read. The worker's own
// defaults (names, stop timeout) are filled in here.
func (p *WorkerProps) base() *Props {
	return &Props{
		Image:                        p.Image,
		Vpc:                          p.Vpc,
		MaxAzs:                       p.MaxAzs,
		NatGateways:                  p.NatGateways,
		Cluster:                      p.Cluster,
		ClusterName:                  p.ClusterName,
		ContainerInsights:            p.ContainerInsights,
		Cpu:                          p.Cpu,
		MemoryLimitMiB:               p.MemoryLimitMiB,
		ContainerName:                jsii.String(defaults.Or(p.ContainerName, DefaultWorkerContainerName)),
		Environment:                  p.Environment,
		EnvironmentAllowList:         p.EnvironmentAllowList,
		Secrets:                      p.Secrets,
		LogRetention:                 p.LogRetention,
		LogStreamPrefix:              jsii.String(defaults.Or(p.LogStreamPrefix, DefaultWorkerLogStreamPrefix)),
		LogDriverMode:                p.LogDriverMode,
		LogBufferSizeMiB:             p.LogBufferSizeMiB,
		StopTimeout:                  defaults.Duration(p.StopTimeout, DefaultWorkerStopTimeout),
		MinHealthyPercent:            p.MinHealthyPercent,
		MaxHealthyPercent:            p.MaxHealthyPercent,
		CircuitBreaker:               p.CircuitBreaker,
		CpuArchitecture:              p.CpuArchitecture,
		FargateSpot:                  p.FargateSpot,
		OnDemandBaseCount:            p.OnDemandBaseCount,
		ReadonlyRootFilesystem:       p.ReadonlyRootFilesystem,
		User:                         p.User,
		EnableExecuteCommand:         p.EnableExecuteCommand,
		FlowLogs:                     p.FlowLogs,
		RestrictDefaultSecurityGroup: p.RestrictDefaultSecurityGroup,
		LogEncryptionKey:             p.LogEncryptionKey,
		AlarmTopic:                   p.AlarmTopic,
		AllowAllOutbound:             p.AllowAllOutbound,
		MetricsNamespace:             p.MetricsNamespace,
		ModelPrices:                  p.ModelPrices,
		SpendAlarmUSDPerHour:         p.SpendAlarmUSDPerHour,
		Dashboard:                    p.Dashboard,
		Runs:                         p.Runs,
	}
}

func (p *WorkerProps) validateStopTimeout() error {
	d, ok := timing.Seconds(p.StopTimeout)
	if !ok {
		return nil // nil (the default) or a token
	}
	// The web service's rule, so that the prop fails with one message on
	// both constructs; the worker has no load balancer timings to check.
	u := timing.Unresolved
	return propmsg.In(healthcheck.Timing{
		StopTimeout: d, RequestTimeout: u, DeregistrationDelay: u, IdleTimeout: u, HealthCheckInterval: u, HealthCheckTimeout: u, GracePeriod: u,
		HealthyThresholdCount: timing.UnresolvedCount, UnhealthyThresholdCount: timing.UnresolvedCount,
	}.Validate(), pkg, propmsg.Same)
}

// validateQueue refuses the new queue's props next to a given Queue, and
// checks them against SQS's limits.
func (p *WorkerProps) validateQueue() error {
	if p.Queue != nil {
		for _, prop := range []struct {
			name string
			set  bool
		}{
			{"QueueEncryptionKey", p.QueueEncryptionKey != nil},
			{"MaxReceiveCount", p.MaxReceiveCount != nil},
			{"QueueRetentionPeriod", p.QueueRetentionPeriod != nil},
			{"DeadLetterQueueRetentionPeriod", p.DeadLetterQueueRetentionPeriod != nil},
		} {
			if prop.set {
				return fmt.Errorf("agentservice: %s applies only to the queue the construct makes, but Queue is given; configure the given queue itself, or drop Queue", prop.name)
			}
		}
		return nil
	}
	if v := p.MaxReceiveCount; v != nil && !token.IsNumber(v) && (*v < 1 || *v > maxMaxReceiveCount || *v != math.Trunc(*v)) {
		return fmt.Errorf("agentservice: MaxReceiveCount %v is not a receive count; use a whole number from 1 to %d", *v, maxMaxReceiveCount)
	}
	queue, qok := retention("QueueRetentionPeriod", p.QueueRetentionPeriod, DefaultQueueRetention)
	dlq, dok := retention("DeadLetterQueueRetentionPeriod", p.DeadLetterQueueRetentionPeriod, DefaultDeadLetterQueueRetention)
	for _, err := range []error{queue.err, dlq.err} {
		if err != nil {
			return err
		}
	}
	if qok && dok && dlq.d <= queue.d {
		return fmt.Errorf("agentservice: DeadLetterQueueRetentionPeriod %s is not longer than QueueRetentionPeriod %s; SQS ages a message from when it was first sent, so a dead-letter queue that keeps messages no longer than the queue deletes them on arrival; use a longer DeadLetterQueueRetentionPeriod",
			timing.Format(dlq.d), timing.Format(queue.d))
	}
	return nil
}

type checkedDuration struct {
	d   time.Duration
	err error
}

// retention resolves a retention prop and checks SQS's limits. ok is false
// for a token, which is not judged.
func retention(name string, v awscdk.Duration, def time.Duration) (checkedDuration, bool) {
	if v == nil {
		return checkedDuration{d: def}, true
	}
	d, ok := timing.Seconds(v)
	if !ok {
		return checkedDuration{}, false
	}
	if d%time.Second != 0 || d < minQueueRetention || d > maxQueueRetention {
		return checkedDuration{err: fmt.Errorf("agentservice: %s %s is outside what SQS keeps; use whole seconds from %s to %s (14 days)",
			name, timing.Format(d), timing.Format(minQueueRetention), timing.Format(maxQueueRetention))}, true
	}
	return checkedDuration{d: d}, true
}

func (p *WorkerProps) validateCapacity() error {
	lo, hi := p.minCapacity(), p.maxCapacity()
	if !token.IsNumber(&lo) && (lo < 0 || lo != math.Trunc(lo) || math.IsInf(lo, 0)) {
		return fmt.Errorf("agentservice: MinCapacity %v is not a task count; use a whole number of 0 or more", lo)
	}
	if !token.IsNumber(&hi) && (hi < 1 || hi != math.Trunc(hi) || math.IsInf(hi, 0)) {
		return fmt.Errorf("agentservice: MaxCapacity %v is not a task count; use a whole number of 1 or more", hi)
	}
	if !token.IsNumber(&lo) && !token.IsNumber(&hi) && lo > hi {
		return fmt.Errorf("agentservice: MinCapacity %v is above MaxCapacity %v; use a minimum no larger than the maximum", lo, hi)
	}
	return nil
}

func (p *WorkerProps) validateJobs() error {
	if v := p.Concurrency; v != nil {
		if token.IsNumber(v) {
			return errors.New("agentservice: Concurrency is an unresolved token; give a number, since the scaling target is computed from it at synth time")
		}
		if *v < 1 || *v > agentkit.MaxWorkerConcurrency || *v != math.Trunc(*v) {
			return fmt.Errorf("agentservice: Concurrency %v is not a job count; use a whole number from 1 to %d", *v, agentkit.MaxWorkerConcurrency)
		}
	}
	for _, prop := range []struct {
		name string
		v    awscdk.Duration
	}{{"MaxJobWait", p.MaxJobWait}, {"JobDuration", p.JobDuration}} {
		if prop.v == nil {
			continue
		}
		d, ok := timing.Seconds(prop.v)
		if !ok {
			return fmt.Errorf("agentservice: %s is an unresolved token; give a duration, since the scaling target is computed from it at synth time", prop.name)
		}
		if d <= 0 {
			return fmt.Errorf("agentservice: %s %s is not positive; use a duration above 0s", prop.name, timing.Format(d))
		}
	}
	return p.validateJobTimeout()
}

// validateJobTimeout checks JobTimeout (or its default) against SQS's
// limit, JobDuration, and the retention of the queue the construct makes.
func (p *WorkerProps) validateJobTimeout() error {
	_, job := p.jobTiming()
	if job > agentkit.MaxJobTimeout {
		return fmt.Errorf("agentservice: JobDuration %s is longer than a job can hold its message; use at most %s (SQS hides a message at most 12 hours from its receipt, less the queue's %s visibility timeout)",
			timing.Format(job), timing.Format(agentkit.MaxJobTimeout), timing.Format(agentkit.DefaultQueueVisibilityTimeout))
	}
	limit, what := DefaultJobTimeout(job), " (the default for JobDuration "+timing.Format(job)+")"
	if p.JobTimeout != nil {
		d, ok := timing.Seconds(p.JobTimeout)
		if !ok {
			return errors.New("agentservice: JobTimeout is an unresolved token; give a duration, since it is checked against JobDuration and the queue at synth time")
		}
		if d < time.Second || d%time.Second != 0 || d > agentkit.MaxJobTimeout {
			return fmt.Errorf("agentservice: JobTimeout %s is not a job time limit; use whole seconds from 1s to %s (SQS hides a message at most 12 hours from its receipt, less the queue's %s visibility timeout)",
				timing.Format(d), timing.Format(agentkit.MaxJobTimeout), timing.Format(agentkit.DefaultQueueVisibilityTimeout))
		}
		if d < job {
			return fmt.Errorf("agentservice: JobTimeout %s is shorter than JobDuration %s, so it would cut most jobs; use a JobTimeout of at least JobDuration",
				timing.Format(d), timing.Format(job))
		}
		limit, what = d, ""
	}
	count := p.MaxReceiveCount
	queue, ok := retention("QueueRetentionPeriod", p.QueueRetentionPeriod, DefaultQueueRetention)
	if p.Queue != nil || !ok || token.IsNumber(count) {
		return nil // the queue's settings are not known here
	}
	n := defaults.Or(count, DefaultMaxReceiveCount)
	if worst := time.Duration(n) * limit; worst >= queue.d {
		return fmt.Errorf("agentservice: JobTimeout %s%s × MaxReceiveCount %v is %s, not shorter than QueueRetentionPeriod %s; a job that runs past its time limit on every delivery would expire from the queue before it reaches the dead-letter queue; use a shorter JobTimeout, a smaller MaxReceiveCount or a longer QueueRetentionPeriod",
			timing.Format(limit), what, n, timing.Format(worst), timing.Format(queue.d))
	}
	return nil
}

// jobTimeout returns JobTimeout or its default; validation has refused
// tokens.
func (p *WorkerProps) jobTimeout() time.Duration {
	if d, ok := timing.Seconds(p.JobTimeout); ok {
		return d
	}
	_, job := p.jobTiming()
	return DefaultJobTimeout(job)
}

// DefaultJobTimeout is the job time limit a Worker sets when JobTimeout is
// nil, for jobs of jobDuration on average:
//
//	DefaultJobTimeoutFactor (10) × jobDuration, rounded up to whole seconds,
//	at least DefaultMinJobTimeout (15 minutes), at most agentkit.MaxJobTimeout
//
// Why: jobDuration is an average, and an agent job's length has a long
// tail; ten times the average leaves that tail alone and still ends a hung
// job within a bounded time. The floor keeps a short average from cutting a
// job whose model call is slowed by retries at the provider, which take
// minutes; the ceiling is what SQS can hold a message for.
func DefaultJobTimeout(jobDuration time.Duration) time.Duration {
	if jobDuration >= agentkit.MaxJobTimeout/DefaultJobTimeoutFactor {
		return agentkit.MaxJobTimeout
	}
	d := (jobDuration*DefaultJobTimeoutFactor + time.Second - 1).Truncate(time.Second)
	return max(d, DefaultMinJobTimeout)
}

func (p *WorkerProps) concurrency() float64 {
	return defaults.Or(p.Concurrency, agentkit.DefaultWorkerConcurrency)
}
func (p *WorkerProps) minCapacity() float64 {
	return defaults.Or(p.MinCapacity, DefaultWorkerMinCapacity)
}
func (p *WorkerProps) maxCapacity() float64 {
	return defaults.Or(p.MaxCapacity, DefaultWorkerMaxCapacity)
}
func (p *WorkerProps) allowSend() bool { return defaults.Or(p.AllowSend, false) }

// jobTiming returns MaxJobWait and JobDuration with their defaults;
// validation has refused tokens.
func (p *WorkerProps) jobTiming() (wait, job time.Duration) {
	wait, job = DefaultMaxJobWait, DefaultJobDuration
	if d, ok := timing.Seconds(p.MaxJobWait); ok {
		wait = d
	}
	if d, ok := timing.Seconds(p.JobDuration); ok {
		job = d
	}
	return wait, job
}

// BacklogPerTask is the number of visible messages per running task that
// lets a job wait at most maxJobWait on average, when each task runs
// concurrency jobs of jobDuration at once:
//
//	floor(maxJobWait × concurrency / jobDuration), at least 1
//
// Why: a task finishes concurrency jobs per jobDuration, so a message with
// B messages per task ahead of it starts after about B × jobDuration /
// concurrency (Little's law); keeping that within maxJobWait bounds B.
// Rounding down keeps the wait within maxJobWait; the floor of 1 keeps the
// target valid when a job takes longer than it may wait, where every queued
// message already waits for a free slot. Durations of 0 or less give 1.
func BacklogPerTask(maxJobWait, jobDuration time.Duration, concurrency int) float64 {
	if maxJobWait <= 0 || jobDuration <= 0 || concurrency < 1 {
		return 1
	}
	b := math.Floor(float64(maxJobWait) * float64(concurrency) / float64(jobDuration))
	return math.Max(1, b)
}
