package agentservice

import (
	"errors"
	"fmt"
	"math"
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/healthcheck"
	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/propmsg"
	"github.com/agentcdk/agentcdk/internal/timing"
	"github.com/agentcdk/agentcdk/internal/token"
	"github.com/agentcdk/agentcdk/scaling"
	"github.com/agentcdk/agentcdk/secrets"
)

// Defaults applied when a prop is nil. They are the reference stack's values.
const (
	DefaultMaxAzs            = 2
	DefaultNatGateways       = 1
	DefaultCpu               = 1024
	DefaultMemoryLimitMiB    = 2048
	DefaultDesiredCount      = 2
	DefaultContainerPort     = agentkit.DefaultPort
	DefaultContainerName     = "agent"
	DefaultLogStreamPrefix   = "agent"
	DefaultLogRetention      = awslogs.RetentionDays_ONE_WEEK
	DefaultLogBufferSizeMiB  = 10
	DefaultMinHealthyPercent = 100
	DefaultMaxHealthyPercent = 200
	DefaultListenerPort      = 80
)

// Props configures a Service. Only Image is required; every other field has
// a default, documented on it, that builds the reference stack.
type Props struct {
	// Image is where the container image comes from: ImageFromDirectory,
	// ImageFromRegistry or ImageFromContainerImage. Required.
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

	// Cluster is the ECS cluster to run in. When given, its VPC is used and
	// Vpc must be nil or the same VPC.
	//
	// Default: - a new cluster in the VPC, with Container Insights on.
	Cluster awsecs.ICluster
	// ClusterName names the new cluster: 1 to 255 letters, digits, hyphens
	// and underscores. Setting it with Cluster is an error.
	//
	// Default: - a name CloudFormation generates.
	ClusterName *string
	// ContainerInsights turns CloudWatch Container Insights on for the new
	// cluster. Only used when Cluster is nil.
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
	// DesiredCount is how many tasks run after a deployment. It must lie
	// within the scaling capacity. Beware, as with every ECS service in
	// CloudFormation: each deployment sets the count back to it, and
	// autoscaling then moves it again; during a busy deploy, set it to the
	// count you expect to need.
	//
	// Default: 2.
	DesiredCount *float64

	// ContainerName names the container in the task definition.
	//
	// Default: "agent".
	ContainerName *string
	// ContainerPort is the port the agent listens on. The container gets it
	// as PORT (agentkit.EnvPort).
	//
	// Default: 8080 (agentkit.DefaultPort).
	ContainerPort *float64
	// Environment holds plain environment variables for the container. The
	// construct sets PORT, AGENTKIT_STOP_TIMEOUT, AGENTKIT_IDLE_TIMEOUT,
	// AGENTKIT_REQUEST_TIMEOUT, AGENTKIT_METRICS_NAMESPACE,
	// AGENTKIT_METRICS_SERVICE, AGENTKIT_MODEL_PRICES, AGENTKIT_MAX_IN_FLIGHT,
	// AGENTKIT_MAX_REQUEST_BYTES, the caller-identity variables of Auth
	// (AGENTKIT_AUTH, AGENTKIT_JWT_*, AGENTKIT_API_KEYS_SECRET) and the runs'
	// (AGENTKIT_RUNS_TABLE, AGENTKIT_RUN_LEASE, AGENTKIT_RUN_RETENTION)
	// itself; they may not appear here. Never put secrets here: use Secrets.
	//
	// Default: - none beyond the agentkit contract.
	Environment *map[string]*string
	// EnvironmentAllowList names the plain variables that look like
	// credentials (OPENAI_API_KEY, *_TOKEN, *_SECRET, *_PASSWORD, *_PAT ...)
	// but hold none. Any other such name in the container's environment,
	// whether from Environment or added later with Container.AddEnvironment,
	// fails synthesis: a plain variable is stored in the template.
	//
	// Default: - none; every credential-like name is refused.
	EnvironmentAllowList *[]*string
	// Secrets fill environment variables from SSM Parameter Store or Secrets
	// Manager when the task starts; see package secrets. The execution role
	// may read exactly these.
	//
	// Default: - none.
	Secrets []*secrets.Secret

	// LogRetention is how long the container's log group keeps events.
	//
	// Default: awslogs.RetentionDays_ONE_WEEK.
	LogRetention awslogs.RetentionDays
	// LogStreamPrefix prefixes the container's log stream names.
	//
	// Default: "agent".
	LogStreamPrefix *string
	// LogDriverMode is how the container's stdout and stderr reach its log
	// group (the awslogs driver's mode). In awsecs.AwsLogDriverMode_NON_BLOCKING
	// the agent's writes never wait on CloudWatch Logs: while Logs is slow
	// or throttles, lines wait in a buffer of LogBufferSizeMiB, and lines
	// that do not fit are lost, agentkit's metric lines among them (the
	// concurrency scaling then averages fewer data points; with none,
	// Application Auto Scaling does not scale until data returns). In
	// BLOCKING every line is kept, but a write to stdout waits until the
	// driver takes it: a slow Logs stalls every request that logs, then the
	// container health check, and ECS replaces the tasks. An agent serves
	// rather than waits, so the default drops lines. Set here rather than
	// left to ECS, whose default is an account setting
	// (defaultLogDriverMode), non-blocking unless an administrator changed
	// it.
	//
	// Default: awsecs.AwsLogDriverMode_NON_BLOCKING.
	LogDriverMode awsecs.AwsLogDriverMode
	// LogBufferSizeMiB is the non-blocking driver's buffer (max-buffer-size):
	// how much of the container's output waits while CloudWatch Logs does
	// not take it. Size it as the bytes the agent logs per second times the
	// seconds of a Logs slowdown to ride out. A whole number of MiB, at
	// least 1; only with LogDriverMode non-blocking.
	//
	// Default: 10 (DefaultLogBufferSizeMiB), ECS's own default, set
	// explicitly.
	LogBufferSizeMiB *float64

	// PublicLoadBalancer makes the service reachable from the internet,
	// through Front. false keeps it inside the VPC: an internal load
	// balancer on plain HTTP, open to the VPC's address range, with no
	// front and no web ACL.
	//
	// Default: true.
	PublicLoadBalancer *bool
	// Front is how the internet reaches the service (see docs/front.md):
	// FrontCloudFront (HTTPS on https://<id>.cloudfront.net, no domain
	// needed, the load balancer internal), FrontPublicALB (HTTPS on an
	// internet-facing load balancer with Certificate or DomainName), or
	// FrontPublicHTTP (plain HTTP on the internet, only when named, with a
	// warning at synth). Only with PublicLoadBalancer.
	//
	// Default: FrontPublicALB when Certificate or DomainName is set,
	// FrontCloudFront otherwise.
	Front Front
	// OriginResponseTimeout is how long CloudFront waits for the load
	// balancer's first byte, and between two packets, before it answers
	// 504. RequestTimeout + 5 s must fit in it, unless LongRequestsStream
	// (then a stream's heartbeat interval + 5 s must). 1 s to 180 s; above
	// 60 s only after a CloudFront quota increase. Only with
	// FrontCloudFront.
	//
	// Default: 60 s (DefaultOriginResponseTimeout), CloudFront's largest
	// without a quota increase.
	OriginResponseTimeout awscdk.Duration
	// CloudFrontPrefixListId is the ID of the AWS-managed prefix list
	// com.amazonaws.global.cloudfront.origin-facing in the stack's region,
	// whose addresses alone the load balancer admits. Only with
	// FrontCloudFront.
	//
	// Default: - from the construct's table of ten regions (us-east-1,
	// us-east-2, us-west-1, us-west-2, eu-west-1, eu-west-2, eu-central-1,
	// ap-southeast-1, ap-southeast-2, ap-northeast-1), read at deploy time
	// in an environment-agnostic stack; another region needs this prop.
	CloudFrontPrefixListId *string
	// Auth is how callers prove who they are: AuthAPIKeys, AuthJWT,
	// AuthOIDC or AuthCognito (browser users signed in by the load
	// balancer, with FrontPublicALB and a rolling deploy) or AuthNone (see
	// Auth and docs/caller-identity.md). The container gets
	// AGENTKIT_AUTH and the method's variables, which agentkit checks on
	// every request but GET /health: no credential is answered 401 with
	// WWW-Authenticate.
	//
	// Default: AuthAPIKeys(nil): a Secrets Manager secret made at deploy
	// with one key, generated by Secrets Manager for the caller "owner"
	// (the stack output APIKeysSecret names it), read by the tasks every
	// minute, so a key added, rotated or removed with
	// `aws secretsmanager put-secret-value` takes effect without a deploy.
	Auth *Auth
	// Firewall configures the AWS WAF web ACL on the load balancer of a
	// public service (REGIONAL, also behind CloudFront: a CLOUDFRONT-scope
	// web ACL can only be made in us-east-1): on by default, tunable
	// (RateLimit, CallerRateLimit), replaceable (WebAclArn) and removable
	// (Off). An internal load balancer has none. The web ACL costs about
	// 11 USD a month plus 0.60 USD per million requests.
	//
	// Default: - a web ACL with the Amazon IP reputation list, AWS's common
	// rule set (its 8 KB body limit counted, not blocked, since prompts run
	// longer) and known-bad-inputs set, a rate limit of 600 requests per
	// client IP address per 5 minutes (behind CloudFront the viewer's, read
	// from ViewerIPHeader), and one of 600 per Authorization value and per
	// x-api-key value. Its log redacts the query string and
	// DefaultRedactedHeaders, and goes to a log group named
	// aws-waf-logs-<construct>-<the stack ID's UUID>: kept when the stack is
	// deleted, as every log group of the construct is, so a deploy after
	// `cdk destroy` makes a new one rather than failing on the name.
	Firewall *Firewall

	// HealthCheck configures the load balancer's health check of the tasks
	// and the grace period after a task starts.
	//
	// Default: - GET /health, 200, every 30 s, 5 s timeout, healthy after 2,
	// unhealthy after 3, 60 s grace (package healthcheck).
	HealthCheck *healthcheck.Props
	// ContainerHealthCheck runs the agent binary as its own ECS container
	// health check (`/agent healthcheck`, see agentkit). ECS replaces a task
	// whose container turns unhealthy.
	//
	// Default: - no container health check.
	ContainerHealthCheck *healthcheck.ContainerProps
	// RoutingAlgorithm is how the load balancer picks a task for each
	// request, in TargetGroup and AlternateTargetGroup alike:
	// elbv2.TargetGroupLoadBalancingAlgorithmType_LEAST_OUTSTANDING_REQUESTS
	// sends it to the task with the fewest requests in flight, which suits
	// agent requests that last from a second to minutes (round robin piles
	// long ones onto one task while another idles); _ROUND_ROBIN takes turns;
	// _WEIGHTED_RANDOM picks at random. See docs/deployments.md.
	//
	// Default: least outstanding requests (DefaultRoutingAlgorithm).
	RoutingAlgorithm elbv2.TargetGroupLoadBalancingAlgorithmType

	// Scaling configures the service's task-count autoscaling.
	//
	// Default: - 1 to 10 tasks, CPU target 70 %, 100 requests per target,
	// 10 requests in flight per task (package scaling).
	Scaling *scaling.Props

	// MaxRequestsInFlight is the most requests one task serves at once
	// (agentkit.Server.MaxInFlight; the container gets it as
	// AGENTKIT_MAX_IN_FLIGHT). A request beyond it waits up to 50 ms for a
	// slot, then is answered 503 with "Retry-After: 1", which the load
	// balancer passes on: a fast refusal the client retries, instead of a
	// task that takes more than its memory holds and dies with every
	// request on it. Health checks are never refused. A whole number from
	// 1 to 100000, above Scaling.Concurrency.RequestsInFlightPerTask when
	// the concurrency policy is on, so that the service scales out before
	// its tasks refuse.
	//
	// Default: MemoryLimitMiB / DefaultMiBPerRequestInFlight (32 MiB a
	// request), 64 for the default 2 GiB, but at least
	// DefaultInFlightHeadroom (2) times the concurrency target, rounded up
	// (20 with the default 10) when that policy is on.
	MaxRequestsInFlight *float64

	// MaxRequestBodyBytes is the largest request body a task accepts
	// (agentkit.Server.MaxRequestBytes; the container gets it as
	// AGENTKIT_MAX_REQUEST_BYTES): a larger one is answered 413, at once
	// when its Content-Length says so, else as soon as the body crosses the
	// limit. A whole number from 1 to 1073741824 (1 GiB).
	//
	// Default: DefaultMaxRequestBodyBytes (1 MiB).
	MaxRequestBodyBytes *float64

	// RequestTimeout is the longest a request, or a stream, may run: work
	// that takes longer belongs on a Worker. The container gets it as
	// AGENTKIT_REQUEST_TIMEOUT, and agentkit ends each request at it with a
	// clean answer (a 504 or an SSE error event). The deregistration delay
	// is derived from it, so that a deploy, a scale-in or a Spot
	// interruption never cuts a request. 1 s to 10 min, at most IdleTimeout
	// unless LongRequestsStream.
	//
	// Default: 60 s; 55 s (DefaultCloudFrontRequestTimeout) behind
	// FrontCloudFront, so that the answer at the deadline reaches CloudFront
	// within its 60 s origin response timeout.
	RequestTimeout awscdk.Duration
	// LongRequestsStream says that every request that may run longer than
	// IdleTimeout is a stream whose heartbeats (agentkit.Server.Stream)
	// keep the connection alive, which lets RequestTimeout exceed
	// IdleTimeout.
	//
	// Default: false.
	LongRequestsStream *bool
	// DeregistrationDelay is how long the load balancer lets in-flight
	// requests finish on a task being stopped before ECS sends SIGTERM. It
	// must be at least RequestTimeout + 5 s (agentkit.RequestDeadlineMargin),
	// or deploys would cut requests still within their deadline.
	//
	// Default: RequestTimeout + 5 s; 65 s with the default RequestTimeout
	// (AWS's own default of 300 s makes every deploy slow).
	DeregistrationDelay awscdk.Duration
	// StopTimeout is how long ECS waits after SIGTERM before SIGKILL; the
	// container gets it as AGENTKIT_STOP_TIMEOUT so agentkit drains within
	// it. The requests routed through the load balancer have ended before
	// SIGTERM (see DeregistrationDelay), so it covers what is left:
	// background jobs and requests that did not come through the load
	// balancer. At most 120 s on Fargate.
	//
	// Default: 60 s.
	StopTimeout awscdk.Duration
	// IdleTimeout is the load balancer's idle timeout; the container gets it
	// as AGENTKIT_IDLE_TIMEOUT so agentkit keeps connections open longer
	// and sends stream heartbeats within it.
	//
	// Default: 120 s.
	IdleTimeout awscdk.Duration

	// MinHealthyPercent is the lower limit of running tasks during a
	// deployment, as a percentage of DesiredCount.
	//
	// Default: 100 (no capacity is lost while deploying).
	MinHealthyPercent *float64
	// MaxHealthyPercent is the upper limit of running tasks during a
	// deployment, as a percentage of DesiredCount.
	//
	// Default: 200 (a full new set starts before the old one stops).
	MaxHealthyPercent *float64
	// CircuitBreaker stops a deployment whose tasks keep failing, and rolls
	// it back when Rollback is set.
	//
	// Default: - on, with rollback.
	CircuitBreaker *awsecs.DeploymentCircuitBreaker
	// DeploymentAlarms makes two CloudWatch alarms, target 5xx responses
	// and unhealthy targets, and has ECS roll a deployment back when either
	// fires while it runs.
	//
	// Default: true.
	DeploymentAlarms *bool
	// AlarmTopic receives every alarm the construct makes that reports a
	// problem (the deployment alarms, the latency alarm and the EMF errors
	// alarm), as the alarm's action: someone hears of a failing task as well
	// as the deployment rolling back. The topic's policy must let
	// cloudwatch.amazonaws.com publish, and its key (if encrypted) must let
	// CloudWatch use it: NewAlarmTopic makes such a topic.
	//
	// Default: - none; the deployment alarms only roll deployments back,
	// and the other alarms are only seen in CloudWatch.
	AlarmTopic awssns.ITopic
	// Target5xxAlarmThreshold is how many 5xx responses from the tasks in
	// one minute, three minutes running, fire the 5xx alarm.
	//
	// Default: 10.
	Target5xxAlarmThreshold *float64
	// LatencyAlarmThreshold is the p99 of the load balancer's
	// TargetResponseTime that, in 3 of 5 minutes, fires the latency alarm
	// (Service.LatencyAlarm): the slowest requests near the request
	// deadline, where agentkit cuts them with a 504. Above 0 and at most
	// RequestTimeout; required when RequestTimeout is an unresolved token.
	//
	// Default: 80 % of RequestTimeout (48 s with the default 60 s).
	LatencyAlarmThreshold awscdk.Duration

	// MetricsNamespace is the CloudWatch namespace the tasks write their
	// agentkit metrics to (the container gets it as
	// AGENTKIT_METRICS_NAMESPACE) and the one the concurrency scaling, the
	// dashboard and the alarms read. The Service dimension
	// (AGENTKIT_METRICS_SERVICE) is the stack name and the construct's
	// path ("BasicAgent/Agent").
	//
	// Default: "AgentCDK" (agentkit.DefaultMetricsNamespace).
	MetricsNamespace *string
	// ModelPrices turns the model-call token counts into an estimated cost
	// per model (the EstimatedCostUSD metric and a dashboard widget): model
	// name, as the agent reports it, to its price in US dollars per million
	// input and output tokens. The container gets it as
	// AGENTKIT_MODEL_PRICES. The prices are yours, copied from your
	// providers' price pages; the library ships none, since they change.
	// The cost is an estimate: it knows nothing of cached-input, batch or
	// negotiated rates, nor of the calls the agent does not report. A
	// model is named as agentkit.ModelDimension writes it (two names it
	// writes alike must have one price), never blank or agentkit.ModelOther,
	// as the agent's runtime requires.
	//
	// Default: - none; no cost metric.
	ModelPrices map[string]ModelPrice
	// SpendAlarmUSDPerHour fires Service.SpendAlarm, to AlarmTopic, when
	// the estimated model spend of the service's tasks in one hour exceeds
	// it, in US dollars: the sum of agentkit's EstimatedCostUSD over the
	// models ModelPrices names and agentkit.ModelOther. A CloudWatch alarm
	// cannot search, so it names each model's metric, and reads at most 10:
	// at most 9 priced models. It sees what the cost metric sees: calls the
	// agent reports (agentkit RecordModelCall) of priced models, at the
	// prices you gave; not unreported calls, nor the provider's own bill.
	// Requires ModelPrices.
	//
	// Default: - no spend alarm.
	SpendAlarmUSDPerHour *float64
	// CallerBudget is a spend budget per caller per window, in dollars
	// (from ModelPrices) or tokens, which each task enforces: a caller
	// over it is answered 429 until its window ends (see CallerBudget for
	// what it bounds, per task). Refused with AuthNone, which leaves every
	// request anonymous and so unbudgeted.
	//
	// Default: - no budget per caller.
	CallerBudget *CallerBudget
	// Dashboard makes a CloudWatch dashboard for the service
	// (Service.Dashboard): requests, latency, errors, requests in flight
	// per task against the concurrency target, tasks, CPU and memory,
	// deployments, and tokens, latency, errors and cost per model.
	//
	// Default: true.
	Dashboard *bool

	// Deployment chooses how ECS moves the service onto a new revision:
	// rolling, blue/green, canary or linear (see Deployment, and its traps).
	//
	// Default: - a rolling deploy at MinHealthyPercent..MaxHealthyPercent,
	// with the circuit breaker and the deployment alarms.
	Deployment *Deployment

	// CpuArchitecture is the CPU the tasks run on; a Directory image is
	// built for it.
	//
	// Default: ArchitectureX86_64.
	CpuArchitecture Architecture
	// FargateSpot runs the tasks beyond OnDemandBaseCount on Fargate Spot,
	// at a discount but with a two-minute interruption notice (agentkit
	// drains on the SIGTERM it brings). Not with ArchitectureArm64: Spot
	// does not run ARM64. A given Cluster must have the Fargate capacity
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
	// read-only; /tmp is a writable task volume. The image should own /tmp
	// for its user (ECS copies a path's owner and mode from the image).
	//
	// Default: true.
	ReadonlyRootFilesystem *bool
	// User is the user (and optionally ":group") the container runs as;
	// root is refused.
	//
	// Default: "65532", distroless's nonroot user.
	User *string
	// EnableExecuteCommand turns ECS Exec on, for a shell in a running
	// task; its sessions are logged to a log group with LogRetention. It
	// needs ReadonlyRootFilesystem false.
	//
	// Default: false.
	EnableExecuteCommand *bool

	// FlowLogs records the new VPC's traffic to a CloudWatch log group kept
	// for LogRetention.
	//
	// Default: true.
	FlowLogs *bool
	// RestrictDefaultSecurityGroup removes every rule from the new VPC's
	// default security group, so a resource put in it by mistake is closed.
	// (CloudFormation cannot edit that group itself: the CDK does it with a
	// small custom resource.)
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
	// LogEncryptionKey encrypts every log group the construct makes; the
	// construct allows CloudWatch Logs to use it when the key is defined in
	// the same app.
	//
	// Default: - a new customer-managed KMS key with yearly rotation,
	// kept when the stack is deleted (as the log groups are), exposed as
	// the construct's LogKey. Compliance packs (NIST 800-53, HIPAA, PCI DSS)
	// ask for a customer key on every log group; it costs about 1 USD a
	// month, also after a `cdk destroy`, until you schedule its deletion;
	// each deploy after a destroy makes a new key and new log groups beside
	// the kept ones.
	LogEncryptionKey awskms.IKey

	// AccessLogs writes the load balancer's access logs to S3.
	//
	// Default: true.
	AccessLogs *bool
	// AccessLogsBucket receives the access logs.
	//
	// Default: - a new bucket that blocks all public access, allows only
	// TLS, is encrypted with SSE-S3 (load balancer logs cannot use KMS) and
	// expires logs after AccessLogsRetentionDays.
	AccessLogsBucket awss3.IBucket
	// AccessLogsRetentionDays is how long the new access-log bucket keeps
	// logs.
	//
	// Default: 90.
	AccessLogsRetentionDays *float64

	// Certificate serves HTTPS from an internet-facing load balancer
	// (FrontPublicALB): it listens on 443 with it and redirects 80 to 443.
	// A certificate in the stack's region; CloudFront's would have to be in
	// us-east-1.
	//
	// Default: - none: HTTPS through CloudFront on its own domain.
	Certificate awscertificatemanager.ICertificate
	// DomainName is the service's domain name: the construct makes a
	// DNS-validated certificate for it in DomainZone, listens on 443 and
	// points an alias record at the load balancer.
	//
	// Default: - no domain name.
	DomainName *string
	// DomainZone is the hosted zone of DomainName.
	//
	// Default: - none; required with DomainName.
	DomainZone awsroute53.IHostedZone
	// SslPolicy is the HTTPS listener's security policy.
	//
	// Default: elbv2.SslPolicy_RECOMMENDED_TLS (TLS 1.3 and 1.2 only).
	SslPolicy elbv2.SslPolicy
	// RedirectHTTP answers port 80 with a redirect to 443 when HTTPS is on.
	//
	// Default: true.
	RedirectHTTP *bool
	// DeletionProtection keeps the load balancer from being deleted until
	// it is turned off again.
	//
	// Default: false.
	DeletionProtection *bool

	// Runs is the store of agentkit's durable runs (NewRunStore), shared
	// with a Worker. The container gets AGENTKIT_RUNS_TABLE,
	// AGENTKIT_RUN_LEASE and AGENTKIT_RUN_RETENTION; the task role may make
	// the item calls of package agentkit/runs on its table alone (see
	// RunStore.GrantRuns); the dashboard graphs the runs, and
	// Service.RunsFailedAlarm notifies AlarmTopic of failed runs.
	//
	// Default: - no runs.
	Runs *RunStore
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedEnv are the variables the construct sets from other props (or,
// for the metrics' Service dimension, from where it stands).
var reservedEnv = map[string]string{
	agentkit.EnvPort:              "ContainerPort",
	agentkit.EnvStopTimeout:       "StopTimeout",
	agentkit.EnvIdleTimeout:       "IdleTimeout",
	agentkit.EnvRequestTimeout:    "RequestTimeout",
	agentkit.EnvMetricsNamespace:  "MetricsNamespace",
	agentkit.EnvMetricsService:    fromPath,
	agentkit.EnvModelPrices:       "ModelPrices",
	agentkit.EnvMaxInFlight:       "MaxRequestsInFlight",
	agentkit.EnvMaxRequestBytes:   "MaxRequestBodyBytes",
	agentkit.EnvAuth:              "Auth",
	agentkit.EnvJWTIssuer:         "Auth",
	agentkit.EnvJWTJWKSURL:        "Auth",
	agentkit.EnvJWTAudience:       "Auth",
	agentkit.EnvJWTRequiredClaims: "Auth",
	agentkit.EnvAPIKeysSecret:     "Auth",
	agentkit.EnvALBArn:            "Auth",

	agentkit.EnvCallerBudgetUSD:    "CallerBudget",
	agentkit.EnvCallerBudgetTokens: "CallerBudget",
	agentkit.EnvCallerBudgetWindow: "CallerBudget",

	agentkit.EnvRunsTable:    "Runs",
	agentkit.EnvRunLease:     "Runs",
	agentkit.EnvRunRetention: "Runs",
}

// fromPath is what the construct sets AGENTKIT_METRICS_SERVICE from.
const fromPath = "the stack name and its construct path"

// Validate reports the first prop that AWS would refuse or that makes no
// sense, with a message naming the prop, the value and what is allowed. A
// nil *Props is invalid: Image is required. Unresolved tokens are not judged.
func (p *Props) Validate() error {
	if p == nil || p.Image == nil {
		return errors.New("agentservice: Image is required; use ImageFromDirectory, ImageFromRegistry or ImageFromContainerImage")
	}
	checks := []func() error{
		p.Image.validate,
		p.validateNetwork,
		p.validateSize,
		p.validateContainer,
		func() error { return p.validateEnvironment(reservedEnv) },
		func() error { return validateSecrets(p.Secrets) },
		func() error { return propmsg.In(p.HealthCheck.Validate(), pkg, propmsg.Prefix("HealthCheck.")) },
		func() error {
			return propmsg.In(p.ContainerHealthCheck.Validate(), pkg, propmsg.Prefix("ContainerHealthCheck."))
		},
		func() error { return propmsg.In(p.Scaling.Validate(), pkg, propmsg.Prefix("Scaling.")) },
		p.validateCount,
		p.validateDeployment,
		p.validateStrategy,
		p.validateSecurity,
		p.validateFirewall,
		p.validateRouting,
		p.validateLogging,
		p.validateRequestTimeout,
		p.validateTiming,
		p.validateFront,
		func() error { return validateMetrics(p.MetricsNamespace, p.ModelPrices) },
		func() error { return validateSpendAlarm(p.SpendAlarmUSDPerHour, p.ModelPrices) },
		p.validateLatencyAlarm,
		p.validateAdmission,
		p.validateAuth,
		p.validateCallerBudget,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (p *Props) validateNetwork() error {
	if p.Vpc != nil && p.Cluster != nil {
		return errors.New("agentservice: Vpc and Cluster are both set; a given Cluster brings its own VPC, so set only Cluster")
	}
	if p.Cluster != nil && p.ClusterName != nil {
		return errors.New("agentservice: ClusterName is set with Cluster; ClusterName names a cluster the construct makes, so set only one of them")
	}
	if v := p.ClusterName; v != nil && !token.IsString(v) && !ecsName.MatchString(*v) {
		return fmt.Errorf("agentservice: ClusterName %q is not a cluster name; use 1 to 255 letters, digits, hyphens and underscores", *v)
	}
	if p.Vpc != nil || p.Cluster != nil {
		return nil
	}
	if v := p.MaxAzs; v != nil && !token.IsNumber(v) && (*v < 1 || *v != float64(int(*v))) {
		return fmt.Errorf("agentservice: MaxAzs %v is not a zone count; use a whole number of at least 1", *v)
	}
	if v := p.NatGateways; v != nil && !token.IsNumber(v) && (*v < 0 || *v != float64(int(*v))) {
		return fmt.Errorf("agentservice: NatGateways %v is not a gateway count; use a whole number of at least 0", *v)
	}
	return nil
}

func (p *Props) validateSize() error {
	if token.IsNumber(p.Cpu) || token.IsNumber(p.MemoryLimitMiB) {
		return nil
	}
	return checkFargateSize(p.cpu(), p.memory())
}

func (p *Props) validateContainer() error {
	if err := checkEnum("LogRetention", p.LogRetention, retentionDays, "awslogs.RetentionDays", awslogs.RetentionDays_ONE_MONTH); err != nil {
		return err
	}
	if v := p.ContainerPort; v != nil && !token.IsNumber(v) && (*v < 1 || *v > 65535 || *v != float64(int(*v))) {
		return fmt.Errorf("agentservice: ContainerPort %v is not a port; use a whole number from 1 to 65535", *v)
	}
	if v := p.ContainerName; v != nil && !token.IsString(v) && !ecsName.MatchString(*v) {
		return fmt.Errorf("agentservice: ContainerName %q is not a container name; use 1 to 255 letters, digits, hyphens and underscores", *v)
	}
	if v := p.LogStreamPrefix; v != nil && !token.IsString(v) && (*v == "" || !logPrefix.MatchString(*v)) {
		return fmt.Errorf("agentservice: LogStreamPrefix %q is not a log stream prefix; use letters, digits, '-', '_', '.' or '/' without ':' or '*'", *v)
	}
	return p.validateLogDriver()
}

func (p *Props) validateLogDriver() error {
	modes := []awsecs.AwsLogDriverMode{awsecs.AwsLogDriverMode_NON_BLOCKING, awsecs.AwsLogDriverMode_BLOCKING}
	if err := checkEnum("LogDriverMode", p.LogDriverMode, modes, "awsecs.AwsLogDriverMode", awsecs.AwsLogDriverMode_NON_BLOCKING); err != nil {
		return err
	}
	v := p.LogBufferSizeMiB
	if v == nil || token.IsNumber(v) {
		return nil
	}
	if p.logMode() == awsecs.AwsLogDriverMode_BLOCKING {
		return fmt.Errorf("agentservice: LogBufferSizeMiB %v is set with LogDriverMode %s; the buffer exists only in non-blocking mode, so drop LogBufferSizeMiB or use awsecs.AwsLogDriverMode_%s", *v, string(p.LogDriverMode), string(awsecs.AwsLogDriverMode_NON_BLOCKING))
	}
	if *v < 1 || *v != math.Trunc(*v) || math.IsInf(*v, 0) {
		return fmt.Errorf("agentservice: LogBufferSizeMiB %v is not a buffer size; use a whole number of MiB of at least 1", *v)
	}
	return nil
}

var (
	// ecsName is the rule for container and cluster names alike.
	ecsName   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	logPrefix = regexp.MustCompile(`^[^:*]{1,512}$`)
)

func (p *Props) validateEnvironment(reserved map[string]string) error {
	allowed, err := validateAllowList(p.EnvironmentAllowList)
	if err != nil {
		return err
	}
	if p.Environment == nil {
		return nil
	}
	secretNames := map[string]bool{}
	for _, s := range p.Secrets {
		if s != nil && s.EnvName != nil {
			secretNames[*s.EnvName] = true
		}
	}
	for _, name := range sortedKeys(*p.Environment) {
		if token.IsString(&name) {
			continue
		}
		if !envName.MatchString(name) {
			return fmt.Errorf("agentservice: Environment name %q is not a valid variable name; use letters, digits and '_', not starting with a digit", name)
		}
		if prop, ok := reserved[name]; ok {
			if prop == fromPath {
				return fmt.Errorf("agentservice: Environment sets %s, which the construct sets from %s; drop it", name, prop)
			}
			return fmt.Errorf("agentservice: Environment sets %s, which the construct sets from %s; set %s instead", name, prop, prop)
		}
		if err := checkCredentialName(name, allowed); err != nil {
			return err
		}
		if secretNames[name] {
			return fmt.Errorf("agentservice: %s is in both Environment and Secrets; keep it in one of them", name)
		}
	}
	return nil
}

func (p *Props) validateLogging() error {
	if !defaults.Or(p.AccessLogs, true) && (p.AccessLogsBucket != nil || p.AccessLogsRetentionDays != nil) {
		return fmt.Errorf("agentservice: AccessLogsBucket and AccessLogsRetentionDays are set but AccessLogs is false; drop them or turn AccessLogs on")
	}
	if p.AccessLogsBucket != nil && p.AccessLogsRetentionDays != nil {
		return fmt.Errorf("agentservice: AccessLogsRetentionDays applies only to the bucket the construct makes, not to a given AccessLogsBucket")
	}
	if v := p.AccessLogsRetentionDays; v != nil && !token.IsNumber(v) && (*v < 1 || *v != float64(int(*v))) {
		return fmt.Errorf("agentservice: AccessLogsRetentionDays %v is not a day count; use a whole number of at least 1", *v)
	}
	if v := p.Target5xxAlarmThreshold; v != nil && !token.IsNumber(v) {
		if !defaults.Or(p.DeploymentAlarms, true) {
			return fmt.Errorf("agentservice: Target5xxAlarmThreshold %v is set but DeploymentAlarms is false", *v)
		}
		if *v < 1 {
			return fmt.Errorf("agentservice: Target5xxAlarmThreshold %v is below 1; use a count of 5xx responses per minute of at least 1", *v)
		}
	}
	return nil
}

func (p *Props) validateCount() error {
	if token.IsNumber(p.DesiredCount) {
		return nil
	}
	sc := defaults.Ptr(p.Scaling, scaling.Props{})
	lo, hi := defaults.Or(sc.MinCapacity, scaling.DefaultMinCapacity), defaults.Or(sc.MaxCapacity, scaling.DefaultMaxCapacity)
	n := p.desiredCount()
	if n < 1 || n != float64(int(n)) {
		return fmt.Errorf("agentservice: DesiredCount %v is below 1; a web service needs at least one task, use a whole number from 1", n)
	}
	if lo < 1 {
		return fmt.Errorf("agentservice: Scaling.MinCapacity %v leaves a web service with no task; use at least 1", lo)
	}
	if n < lo || n > hi {
		return fmt.Errorf("agentservice: DesiredCount %v is outside the scaling capacity %v..%v (Scaling.MinCapacity..Scaling.MaxCapacity); use a count within it", n, lo, hi)
	}
	return nil
}

func (p *Props) validateDeployment() error {
	lo, hi := p.minHealthy(), p.maxHealthy()
	if !token.IsNumber(p.MinHealthyPercent) && (lo < 0 || lo > 100) {
		return fmt.Errorf("agentservice: MinHealthyPercent %v is outside 0..100", lo)
	}
	if !token.IsNumber(p.MaxHealthyPercent) && (hi < 100 || hi > 200 || hi <= lo) {
		return fmt.Errorf("agentservice: MaxHealthyPercent %v must be 100..200 and above MinHealthyPercent %v, or a deployment cannot start a new task", hi, lo)
	}
	return nil
}

// timing gathers the durations that must agree with each other; a token
// is marked unresolved there, and no rule judges it.
func (p *Props) timing() healthcheck.Timing {
	t := healthcheck.TimingOf(p.HealthCheck, p.RequestTimeout, p.DeregistrationDelay, p.StopTimeout, p.IdleTimeout)
	if p.RequestTimeout == nil {
		// The front's default deadline, and the delay derived from it.
		t.RequestTimeout = p.defaultDeadline()
		if p.DeregistrationDelay == nil {
			t.DeregistrationDelay = t.RequestTimeout + agentkit.RequestDeadlineMargin
		}
	}
	t.LongRequestsStream = defaults.Or(p.LongRequestsStream, false)
	return t
}

// pkg prefixes the messages of this package, also those of the packages
// that judge values the props hold (healthcheck, scaling, secrets): the
// user set the value here.
const pkg = "agentservice"

// validateSecrets reports the secrets package's message as one about
// Secrets, where the user gave the list.
func validateSecrets(list []*secrets.Secret) error {
	return propmsg.Within(secrets.Validate(list), pkg, "Secrets")
}

// timingProps names the healthcheck.Timing fields as Props holds them;
// the others (RequestTimeout, DeregistrationDelay, StopTimeout,
// IdleTimeout, LongRequestsStream) have the same names in both.
var timingProps = map[propmsg.Name]string{
	"HealthCheckInterval":     "HealthCheck.Interval",
	"HealthCheckTimeout":      "HealthCheck.Timeout",
	"GracePeriod":             "HealthCheck.GracePeriod",
	"HealthyThresholdCount":   "HealthCheck.HealthyThresholdCount",
	"UnhealthyThresholdCount": "HealthCheck.UnhealthyThresholdCount",
}

// validateTiming checks the durations against each other, and reports a
// contradiction with the props as the user set them here. A
// DeregistrationDelay left unset is derived from RequestTimeout, which is
// judged first, so a bad deadline is reported as RequestTimeout.
func (p *Props) validateTiming() error {
	return propmsg.In(p.timing().Validate(), pkg, func(n propmsg.Name) string { return timingProps[n] })
}

// validateRequestTimeout refuses what the timing rules cannot judge: a zero
// deadline, and one that is a token with no delay given to go with it,
// since the delay cannot be computed from a token.
func (p *Props) validateRequestTimeout() error {
	d, ok := timing.Seconds(p.RequestTimeout)
	if ok && d <= 0 { // a Timing reads 0 as "no deadline", which agentkit would refuse
		return fmt.Errorf("agentservice: RequestTimeout %s is not a deadline; use %s to %s",
			timing.Format(d), timing.Format(agentkit.MinRequestTimeout), timing.Format(agentkit.MaxRequestTimeout))
	}
	if p.RequestTimeout != nil && !ok && p.DeregistrationDelay == nil {
		return errors.New("agentservice: RequestTimeout is an unresolved token, so the deregistration delay cannot be derived from it; set DeregistrationDelay too, at least RequestTimeout + 5s")
	}
	return nil
}

// DefaultLatencyAlarmPercent is the latency alarm's default threshold, in
// percent of RequestTimeout: the slowest requests close to being cut.
const DefaultLatencyAlarmPercent = 80

// validateLatencyAlarm holds the threshold above 0 and within the request
// deadline, past which agentkit has answered; a deadline that is a token
// needs a threshold given, since the default is computed from it.
func (p *Props) validateLatencyAlarm() error {
	deadline := p.deadline()
	ok := deadline != timing.Unresolved
	if p.LatencyAlarmThreshold == nil {
		if !ok {
			return errors.New("agentservice: RequestTimeout is an unresolved token, so the latency alarm's threshold cannot be derived from it; set LatencyAlarmThreshold too")
		}
		return nil
	}
	d, set := timing.Seconds(p.LatencyAlarmThreshold)
	if !set {
		return nil
	}
	if d <= 0 || (ok && d > deadline) {
		return fmt.Errorf("agentservice: LatencyAlarmThreshold %s is out of range; use a duration above 0s and at most RequestTimeout %s, by which agentkit has answered every request",
			timing.Format(d), timing.Format(deadline))
	}
	return nil
}

// latencyAlarmThreshold is the threshold in seconds; validation has
// refused the cases it cannot compute.
func (p *Props) latencyAlarmThreshold() *float64 {
	if p.LatencyAlarmThreshold != nil {
		return p.LatencyAlarmThreshold.ToSeconds(&awscdk.TimeConversionOptions{Integral: jsii.Bool(false)})
	}
	d, _ := timing.Seconds(p.requestTimeout())
	return jsii.Number(d.Seconds() * DefaultLatencyAlarmPercent / 100)
}

func (p *Props) cpu() float64          { return defaults.Or(p.Cpu, DefaultCpu) }
func (p *Props) memory() float64       { return defaults.Or(p.MemoryLimitMiB, DefaultMemoryLimitMiB) }
func (p *Props) desiredCount() float64 { return defaults.Or(p.DesiredCount, DefaultDesiredCount) }
func (p *Props) port() float64         { return defaults.Or(p.ContainerPort, DefaultContainerPort) }
func (p *Props) minHealthy() float64 {
	return defaults.Or(p.MinHealthyPercent, DefaultMinHealthyPercent)
}
func (p *Props) maxHealthy() float64 {
	return defaults.Or(p.MaxHealthyPercent, DefaultMaxHealthyPercent)
}
func (p *Props) containerName() string { return defaults.Or(p.ContainerName, DefaultContainerName) }
func (p *Props) logPrefix() string     { return defaults.Or(p.LogStreamPrefix, DefaultLogStreamPrefix) }
func (p *Props) public() bool          { return defaults.Or(p.PublicLoadBalancer, true) }
func (p *Props) insights() bool        { return defaults.Or(p.ContainerInsights, true) }

func (p *Props) stopTimeout() awscdk.Duration {
	return defaults.Duration(p.StopTimeout, healthcheck.DefaultStopTimeout)
}

func (p *Props) idleTimeout() awscdk.Duration {
	return defaults.Duration(p.IdleTimeout, healthcheck.DefaultIdleTimeout)
}

func (p *Props) requestTimeout() awscdk.Duration {
	return defaults.Duration(p.RequestTimeout, p.defaultDeadline())
}

// deregistrationDelay is the given delay, or the request deadline plus
// agentkit.RequestDeadlineMargin (validation has refused a token deadline
// without a delay).
func (p *Props) deregistrationDelay() awscdk.Duration {
	if p.DeregistrationDelay != nil {
		return p.DeregistrationDelay
	}
	return awscdk.Duration_Seconds(jsii.Number(p.timing().DeregistrationDelay.Seconds()))
}

func (p *Props) logMode() awsecs.AwsLogDriverMode {
	if p.LogDriverMode == "" {
		return awsecs.AwsLogDriverMode_NON_BLOCKING
	}
	return p.LogDriverMode
}

// logBuffer is the non-blocking driver's buffer; nil in blocking mode.
func (p *Props) logBuffer() awscdk.Size {
	if p.logMode() != awsecs.AwsLogDriverMode_NON_BLOCKING {
		return nil
	}
	return awscdk.Size_Mebibytes(jsii.Number(defaults.Or(p.LogBufferSizeMiB, DefaultLogBufferSizeMiB)))
}

func (p *Props) logRetention() awslogs.RetentionDays {
	if p.LogRetention == "" {
		return DefaultLogRetention
	}
	return p.LogRetention
}

func (p *Props) circuitBreaker() *awsecs.DeploymentCircuitBreaker {
	if p.CircuitBreaker != nil {
		return p.CircuitBreaker
	}
	t := true
	return &awsecs.DeploymentCircuitBreaker{Enable: &t, Rollback: &t}
}
