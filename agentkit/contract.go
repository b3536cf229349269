package agentkit

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/agentcdk/agentcdk/agentkit/internal/meter"
)

// The runtime contract shared with the CDK side. The agentservice construct
// imports these names; agentkit never imports CDK code.
const (
	// HealthPath is the path the load balancer and the container probe check.
	HealthPath = "/health"

	// EnvPort names the environment variable that holds the container port.
	EnvPort = "PORT"

	// EnvStopTimeout names the environment variable that holds the
	// container's ECS stopTimeout as a Go duration (for example "60s").
	// agentkit finishes its drain before it, so the process exits on its
	// own before ECS sends SIGKILL.
	EnvStopTimeout = "AGENTKIT_STOP_TIMEOUT"

	// EnvIdleTimeout names the environment variable that holds the load
	// balancer's idle timeout as a Go duration. agentkit keeps idle
	// keep-alive connections open longer than it (or the ALB answers 502)
	// and sends stream heartbeats well inside it.
	EnvIdleTimeout = "AGENTKIT_IDLE_TIMEOUT"

	// EnvRequestTimeout names the environment variable that holds the
	// request deadline as a Go duration: the longest a request (a stream
	// included) may run. Server ends each request's context at it and
	// makes sure the client gets an answer saying so. The construct derives
	// the load balancer's deregistration delay from it
	// (RequestTimeout + RequestDeadlineMargin), so that a deploy or a
	// scale-in never cuts a request.
	EnvRequestTimeout = "AGENTKIT_REQUEST_TIMEOUT"

	// ProbeArg is the argument that runs an agent binary as its own
	// container health check: `agent healthcheck`.
	ProbeArg = "healthcheck"

	// EnvQueueURL names the environment variable that holds the URL of the
	// queue a worker consumes (the worker construct sets it; the
	// sqsworker consumer reads it).
	EnvQueueURL = "AGENTKIT_QUEUE_URL"

	// EnvWorkerConcurrency names the environment variable that holds the
	// most jobs one worker task runs at once: the consumer runs that many,
	// and the construct sizes its backlog-per-task scaling on it.
	EnvWorkerConcurrency = "AGENTKIT_WORKER_CONCURRENCY"

	// EnvJobTimeout names the environment variable that holds a worker's
	// job time limit as a Go duration (for example "900s"): the longest one
	// job may run. The consumer cancels a job's context at it and lets its
	// message come back for a retry, so that a job that hangs ends in the
	// dead-letter queue instead of holding its message and its task's
	// scale-in protection forever. The worker construct sets it from its
	// JobTimeout prop.
	EnvJobTimeout = "AGENTKIT_JOB_TIMEOUT"

	// EnvMaxInFlight names the environment variable that holds the most
	// requests one task serves at once, a whole number (Server.MaxInFlight;
	// see "Admission" in the package documentation). Unset, or 0, means no
	// cap. The construct always sets it, from the task's size and the
	// scaling target.
	EnvMaxInFlight = "AGENTKIT_MAX_IN_FLIGHT"

	// EnvMaxRequestBytes names the environment variable that holds the
	// largest request body a task accepts, in bytes, a whole number
	// (Server.MaxRequestBytes). Unset means DefaultMaxRequestBytes.
	EnvMaxRequestBytes = "AGENTKIT_MAX_REQUEST_BYTES"
)

// Admission control and the request-body limit (see "Admission" in the
// package documentation).
const (
	// DefaultAdmissionWait is how long a request that finds every slot
	// taken waits for one before it is answered 503, when
	// Server.AdmissionWait is zero: long enough to take a slot that a
	// request ending in the meantime frees (a burst a few milliseconds
	// wide is absorbed, not refused), short enough that a refusal reaches
	// the client well inside 100ms, so that it retries elsewhere at once.
	DefaultAdmissionWait = 50 * time.Millisecond

	// MaxAdmissionWait is the longest Server.AdmissionWait accepted: a
	// refusal that comes later is no longer fast, and a queue that holds
	// requests longer hides the demand from no one but the client.
	MaxAdmissionWait = time.Second

	// MaxInFlightLimit is the largest cap accepted (Server.MaxInFlight,
	// AGENTKIT_MAX_IN_FLIGHT): a guard against a typo, not a limit of Go's.
	MaxInFlightLimit = 100_000

	// AdmissionRetryAfter is the Retry-After of a refusal by the cap, in
	// seconds: the client (or its SDK) waits that long before it retries,
	// by which time the load balancer may have sent it to another task.
	AdmissionRetryAfter = 1

	// DefaultMaxRequestBytes is the largest request body Server accepts
	// when neither Server.MaxRequestBytes nor AGENTKIT_MAX_REQUEST_BYTES
	// says otherwise: 1 MiB, room for a prompt of a few hundred thousand
	// tokens of text, far below what a task's memory holds at once.
	DefaultMaxRequestBytes = 1 << 20

	// MaxRequestBytesLimit is the largest request-body limit accepted:
	// 1 GiB. Bodies that large belong in object storage, not a request.
	MaxRequestBytesLimit = 1 << 30
)

// The caller budget's side of the contract (see "Caller budget" in the
// package documentation): a spend budget per caller per window, held by
// each task. The construct sets these from its CallerBudget prop; Serve
// reads them when Server.Budget is nil. No budget unless one of the two
// amounts is set.
const (
	// EnvCallerBudgetUSD names the environment variable that holds the
	// most estimated model spend, in US dollars (a decimal number above 0,
	// at most MaxBudgetUSD), one caller may run up on one task per window
	// (Budget.USD). It needs a price table (AGENTKIT_MODEL_PRICES).
	EnvCallerBudgetUSD = "AGENTKIT_CALLER_BUDGET_USD"

	// EnvCallerBudgetTokens names the environment variable that holds the
	// most model tokens, input and output together (a whole number from 1
	// to MaxBudgetTokens), one caller may use on one task per window
	// (Budget.Tokens).
	EnvCallerBudgetTokens = "AGENTKIT_CALLER_BUDGET_TOKENS"

	// EnvCallerBudgetWindow names the environment variable that holds the
	// budget's window as a Go duration, MinBudgetWindow to MaxBudgetWindow
	// (Budget.Window). Unset means DefaultBudgetWindow.
	EnvCallerBudgetWindow = "AGENTKIT_CALLER_BUDGET_WINDOW"

	// DefaultBudgetWindow is the budget's window when nothing sets it: an
	// hour, each from the top of the hour (UTC).
	DefaultBudgetWindow = time.Hour

	// MinBudgetWindow and MaxBudgetWindow bound the window. Below a minute
	// a budget is a rate limit, which the firewall's rate rules do better;
	// above a day it outlives most tasks, whose budgets are in memory and
	// start afresh with each task.
	MinBudgetWindow = time.Minute
	MaxBudgetWindow = 24 * time.Hour

	// MaxBudgetUSD bounds Budget.USD: a guard against a typo.
	MaxBudgetUSD = 1_000_000

	// MaxBudgetTokens bounds Budget.Tokens: a guard against a typo.
	MaxBudgetTokens = 1_000_000_000_000

	// MaxBudgetCallers is the most callers a task tracks in one window:
	// the first MaxBudgetCallers callers whose model calls it charges.
	// Every caller beyond them shares one more budget of the same size
	// for the rest of the window, so that a flood of new caller names
	// neither grows the memory (a tracked caller costs about 40 bytes,
	// whatever its name's length) nor earns any caller a fresh budget.
	MaxBudgetCallers = 10_000
)

// The worker's side of the contract.
const (
	// DefaultWorkerConcurrency is the number of jobs a worker task runs at
	// once when nothing sets it. Agent jobs mostly wait on model APIs, so a
	// task runs a few at once; it stays small because scale-in protection
	// is per task, and a task that is never idle can never be scaled in.
	DefaultWorkerConcurrency = 4

	// MaxWorkerConcurrency is the largest worker concurrency accepted: a
	// guard against a typo such as 10000, not a limit of SQS.
	MaxWorkerConcurrency = 1000

	// DefaultQueueVisibilityTimeout is the worker queue's visibility
	// timeout, which the consumer asks for on each receive and renews with
	// each heartbeat. It bounds how long a job waits for another worker
	// when its worker dies without a drain (SIGKILL, a crash).
	DefaultQueueVisibilityTimeout = 60 * time.Second

	// MaxJobTimeout is the longest job time limit a worker with the
	// default visibility timeout accepts: SQS hides a message at most 12
	// hours from its receipt and refuses a heartbeat that asks for more,
	// and a job's message stays hidden past its limit for less than the
	// visibility timeout (the handler's last chance to return, one
	// heartbeat interval).
	MaxJobTimeout = 12*time.Hour - DefaultQueueVisibilityTimeout
)

// The caller-identity side of the contract (see "Caller identity" in the
// package documentation). The construct sets AGENTKIT_AUTH and the
// variables of the method it names; Serve reads them when Server.Auth is
// nil.
const (
	// EnvAuth names the environment variable that says how callers prove
	// who they are: AuthJWT, AuthAPIKeys, AuthALB or AuthNone. Unset means AuthNone,
	// so that a program run outside the construct keeps working; the
	// construct always sets it. AuthAPIKeys needs a key source that main
	// wires (package agentkit/apikeys): Serve refuses to start with it and
	// a nil Server.Auth rather than serve without the check.
	EnvAuth = "AGENTKIT_AUTH"

	// EnvJWTIssuer names the environment variable that holds the issuer a
	// JWT's "iss" claim must equal, for AuthJWT.
	EnvJWTIssuer = "AGENTKIT_JWT_ISSUER"

	// EnvJWTJWKSURL names the environment variable that holds the https://
	// URL of the issuer's JSON Web Key Set, for AuthJWT.
	EnvJWTJWKSURL = "AGENTKIT_JWT_JWKS_URL"

	// EnvJWTAudience names the environment variable that holds the
	// audience a JWT's "aud" claim must hold, for AuthJWT.
	EnvJWTAudience = "AGENTKIT_JWT_AUDIENCE"

	// EnvJWTRequiredClaims names the environment variable that holds the
	// claims a JWT must carry, as a JSON object of claim name to value,
	// {"scope": "agent:run"} (see JWTVerifier.RequiredClaims). Optional.
	EnvJWTRequiredClaims = "AGENTKIT_JWT_REQUIRED_CLAIMS"

	// EnvAPIKeysSecret names the environment variable that holds the name
	// or ARN of the Secrets Manager secret that holds the API keys, for
	// AuthAPIKeys (read by package agentkit/apikeys). The task role needs
	// secretsmanager:GetSecretValue on it.
	EnvAPIKeysSecret = "AGENTKIT_API_KEYS_SECRET"

	// EnvALBArn names the environment variable that holds the ARN of the
	// Application Load Balancer that signs the users' claims, for AuthALB
	// (ALBVerifier.LoadBalancerARN). The construct sets it to its load
	// balancer's.
	EnvALBArn = "AGENTKIT_ALB_ARN"
)

// The values of AGENTKIT_AUTH, which are also a Caller's Method.
const (
	// AuthJWT: callers send a JWT from the user's identity provider as
	// "Authorization: Bearer <token>"; JWTVerifier checks it.
	AuthJWT = "jwt"
	// AuthAPIKeys: callers send an API key as "Authorization: Bearer
	// <key>"; APIKeyAuth checks it against a key set.
	AuthAPIKeys = "apikeys"
	// AuthALB: browser users sign in at the load balancer (its
	// authenticate-oidc or authenticate-cognito action), which sends their
	// claims signed in the x-amzn-oidc-data header; ALBVerifier checks
	// the signature and that the load balancer is the one AGENTKIT_ALB_ARN
	// names.
	AuthALB = "alb"
	// AuthNone: no check; every caller is anonymous. The named opt-out for
	// a deliberately public agent.
	AuthNone = "none"
)

// Limits and timings of the caller check. Each is a trade-off stated where
// a reader looks for it.
const (
	// MaxTokenBytes bounds a credential (the part after "Bearer "): longer
	// ones are refused before any decoding, so an anonymous caller cannot
	// make the check parse megabytes. 16 KiB is the ALB's own limit for
	// one header (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html),
	// so no token the load balancer forwards is refused for its size.
	MaxTokenBytes = 16 << 10

	// DefaultJWTLeeway is how far a JWT's "exp" and "nbf" may be off the
	// task's clock and still be accepted: the identity provider's clock may
	// be off. Fargate tasks keep time with the Amazon Time Sync Service.
	DefaultJWTLeeway = 60 * time.Second

	// MaxJWTLeeway is the largest JWTVerifier.Leeway accepted.
	MaxJWTLeeway = 5 * time.Minute

	// JWKSFetchTimeout bounds one fetch of the key set: connect, TLS,
	// request and the whole body. A request that waits for a fetch waits
	// at most this long.
	JWKSFetchTimeout = 5 * time.Second

	// JWKSRefetchInterval is the least time between two fetches of the key
	// set. A token whose "kid" is not in the cached set makes JWTVerifier
	// fetch the set again (the issuer may have rotated its keys), but at
	// most once per interval, so a flood of made-up kids costs the issuer
	// at most one fetch per interval per task; such tokens are refused
	// without a fetch in between.
	JWKSRefetchInterval = 10 * time.Second

	// JWKSMaxAge is how long a fetched key set is used before it is
	// fetched again, on the next token that needs it. When that fetch
	// fails (the issuer is down), the cached keys stay in use and the
	// fetch is retried at most once per JWKSRefetchInterval.
	JWKSMaxAge = time.Hour

	// MaxJWKSBytes bounds the key set's body; a longer one is an error
	// (AWS's ALB takes at most 150 KB).
	MaxJWKSBytes = 256 << 10

	// MaxJWKSKeys bounds how many keys of a set are kept; later keys are
	// ignored.
	MaxJWKSKeys = 100

	// MinAPIKeyLength is the shortest API key accepted: 16 characters
	// drawn at random from Secrets Manager's 94-character alphabet are
	// over 100 bits.
	MinAPIKeyLength = 16

	// MaxCallerNameLength bounds an API key's caller name, which appears in
	// logs.
	MaxCallerNameLength = 128
)

// Runs (package agentkit/runs): the store both services share, and the
// lease by which one holder at a time executes a run.
const (
	// EnvRunsTable names the environment variable that holds the name of
	// the DynamoDB table that keeps runs and their events. The construct
	// that makes the table sets it on the web service and the worker, and
	// grants both its task roles the item calls on that table alone.
	EnvRunsTable = "AGENTKIT_RUNS_TABLE"

	// EnvRunLease names the environment variable that holds a run's lease
	// as a Go duration: how long a holder that stops renewing (its task was
	// killed) keeps a run before another may take it over. Unset means
	// DefaultRunLease.
	EnvRunLease = "AGENTKIT_RUN_LEASE"

	// DefaultRunLease is the run lease when AGENTKIT_RUN_LEASE is unset:
	// the queue's visibility timeout, so that the message of a run whose
	// worker was killed comes back about when its lease ends. The holder
	// renews it every third of it.
	DefaultRunLease = 60 * time.Second

	// MinRunLease and MaxRunLease bound the run lease.
	MinRunLease = time.Second
	MaxRunLease = 15 * time.Minute

	// EnvRunRetention names the environment variable that holds how long
	// the store keeps a run and its events after it was created, as a Go
	// duration (the table's TTL attribute). Unset means
	// DefaultRunRetention.
	EnvRunRetention = "AGENTKIT_RUN_RETENTION"

	// DefaultRunRetention is the run retention when AGENTKIT_RUN_RETENTION
	// is unset.
	DefaultRunRetention = 7 * 24 * time.Hour

	// RunsTableTTLAttribute is the attribute of the runs table that holds
	// each item's expiry, in seconds since the epoch: the construct names
	// it as the table's TimeToLiveAttribute.
	RunsTableTTLAttribute = "expires"

	// RunsTablePartitionKey and RunsTableSortKey are the string key
	// attributes of the runs table.
	RunsTablePartitionKey = "pk"
	RunsTableSortKey      = "sk"
)

// Defaults used when the environment does not say otherwise.
const (
	// DefaultPort is the port used when PORT is unset.
	DefaultPort = 8080

	// DefaultStopTimeout is ECS's own default stopTimeout, used when
	// AGENTKIT_STOP_TIMEOUT is unset.
	DefaultStopTimeout = 30 * time.Second

	// MaxStopTimeout is the largest stopTimeout Fargate accepts.
	MaxStopTimeout = 120 * time.Second

	// MinStopTimeout is the smallest stopTimeout agentkit can drain within:
	// below it there is no room for the safety margin.
	MinStopTimeout = 2 * time.Second

	// DefaultIdleTimeout is the ALB's own default idle timeout, used when
	// AGENTKIT_IDLE_TIMEOUT is unset.
	DefaultIdleTimeout = 60 * time.Second

	// MaxIdleTimeout is the largest idle timeout an ALB accepts.
	MaxIdleTimeout = 4000 * time.Second

	// MinRequestTimeout is the shortest request deadline accepted.
	MinRequestTimeout = time.Second

	// MaxRequestTimeout is the longest request deadline accepted. Every
	// deploy, scale-in and Spot interruption waits up to the deadline for
	// each task it stops, so work that runs longer belongs on a queue
	// worker (package sqsworker), not in a request.
	MaxRequestTimeout = 10 * time.Minute
)

// PortFromEnv returns the port in PORT, or DefaultPort when it is unset.
func PortFromEnv() (int, error) {
	v, ok := os.LookupEnv(EnvPort)
	if !ok || v == "" {
		return DefaultPort, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("agentkit: %s %q is not a port; use a number from 1 to 65535", EnvPort, v)
	}
	return p, nil
}

// StopTimeoutFromEnv returns the duration in AGENTKIT_STOP_TIMEOUT, or
// DefaultStopTimeout when it is unset.
func StopTimeoutFromEnv() (time.Duration, error) {
	return durationFromEnv(EnvStopTimeout, DefaultStopTimeout, MinStopTimeout, MaxStopTimeout)
}

// RequestTimeoutFromEnv returns the duration in AGENTKIT_REQUEST_TIMEOUT,
// or 0 (no deadline) when it is unset.
func RequestTimeoutFromEnv() (time.Duration, error) {
	return durationFromEnv(EnvRequestTimeout, 0, MinRequestTimeout, MaxRequestTimeout)
}

// IdleTimeoutFromEnv returns the duration in AGENTKIT_IDLE_TIMEOUT, or
// DefaultIdleTimeout when it is unset.
func IdleTimeoutFromEnv() (time.Duration, error) {
	return durationFromEnv(EnvIdleTimeout, DefaultIdleTimeout, time.Second, MaxIdleTimeout)
}

// MaxInFlightFromEnv returns the cap in AGENTKIT_MAX_IN_FLIGHT, or 0 (no
// cap) when it is unset.
func MaxInFlightFromEnv() (int, error) {
	n, err := intFromEnv(EnvMaxInFlight, 0, 0, MaxInFlightLimit)
	return int(n), err
}

// MaxRequestBytesFromEnv returns the limit in AGENTKIT_MAX_REQUEST_BYTES,
// or DefaultMaxRequestBytes when it is unset.
func MaxRequestBytesFromEnv() (int64, error) {
	return intFromEnv(EnvMaxRequestBytes, DefaultMaxRequestBytes, 1, MaxRequestBytesLimit)
}

func intFromEnv(name string, def, lo, hi int64) (int64, error) {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("agentkit: %s %q is not a whole number from %d to %d", name, v, lo, hi)
	}
	return n, nil
}

func durationFromEnv(name string, def, lo, hi time.Duration) (time.Duration, error) {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("agentkit: %s %q is not a Go duration (for example \"60s\"): %w", name, v, err)
	}
	if d < lo || d > hi {
		return 0, fmt.Errorf("agentkit: %s %s is out of range; use %s to %s", name, d, lo, hi)
	}
	return d, nil
}

// Timing rules derived from the contract. The drain, the server defaults
// and the stream heartbeats all read them from here, so the CDK side can
// check a stopTimeout or idle timeout against the same numbers.
const (
	// IdleTimeoutMargin is how much longer than the load balancer's idle
	// timeout Server keeps an idle keep-alive connection open (when
	// http.Server.IdleTimeout is zero). AWS's guidance: the target must
	// never close a connection the ALB may still reuse, or the ALB answers
	// 502.
	IdleTimeoutMargin = 5 * time.Second

	// MaxHeartbeatInterval caps the gap between two stream heartbeats, so
	// proxies and clients with shorter timeouts than the ALB's also see
	// traffic.
	MaxHeartbeatInterval = 15 * time.Second

	// RequestTimeoutGrace is how long after a request's deadline Server
	// lets its handler answer (the handler sees its context end with the
	// cause ErrRequestTimeout) before it answers for it: a 504, or an SSE
	// "error" event on a stream that has begun.
	RequestTimeoutGrace = 2 * time.Second

	// RequestDeadlineMargin is how much longer than the request deadline
	// the load balancer's deregistration delay must be: RequestTimeoutGrace
	// for the answer to be written, and time for it to reach the load
	// balancer. ECS sends SIGTERM only after the delay, and the load
	// balancer lets go of a deregistered task's requests when the delay
	// ends, so with this margin every request through the load balancer
	// has ended, with its whole answer or a clean error, before either.
	RequestDeadlineMargin = 5 * time.Second
)

// DrainDeadlines returns the drain timeline for a container stopTimeout,
// measured from the moment the drain begins (SIGTERM):
//
//   - closeAt: the drain closes the connections still open and Serve
//     returns. It leaves a safety margin before ECS sends SIGKILL at
//     stopTimeout: a tenth of stopTimeout, at least 1s and at most 5s.
//   - cancelAt: the drain cancels the contexts of the requests and jobs
//     still running, a further tenth of stopTimeout (at least 500ms, at
//     most 5s) before closeAt, so cancelled handlers can end their
//     responses cleanly (a stream sends its last event) instead of being
//     cut.
//
// For the ECS default of 30s that is cancelAt 24s and closeAt 27s. The rule
// is meant for stopTimeouts from MinStopTimeout to MaxStopTimeout; below
// MinStopTimeout the results are clamped at zero.
func DrainDeadlines(stopTimeout time.Duration) (cancelAt, closeAt time.Duration) {
	margin := clamp(stopTimeout/10, time.Second, 5*time.Second)
	lead := clamp(stopTimeout/10, 500*time.Millisecond, 5*time.Second)
	closeAt = max(stopTimeout-margin, 0)
	cancelAt = max(closeAt-lead, 0)
	return cancelAt, closeAt
}

// HeartbeatInterval returns how often a Stream sends a heartbeat for a load
// balancer idle timeout: a quarter of it, at most MaxHeartbeatInterval, so
// that even a delayed heartbeat lands well inside the idle timeout.
func HeartbeatInterval(idleTimeout time.Duration) time.Duration {
	return min(idleTimeout/4, MaxHeartbeatInterval)
}

func clamp(d, lo, hi time.Duration) time.Duration {
	return min(max(d, lo), hi)
}

// The metrics side of the contract (the values live in the internal
// package that writes them, shared with sqsworker). agentkit writes CloudWatch Embedded
// Metric Format (EMF) lines to stdout; the awslogs driver ships them and
// CloudWatch Logs turns them into metrics. The construct sets the
// namespace and the service dimension, then scales on, graphs and alarms
// on these very names, so they are defined here once.
const (
	// EnvMetricsNamespace names the environment variable that holds the
	// CloudWatch namespace of the metrics agentkit writes.
	EnvMetricsNamespace = meter.EnvNamespace

	// EnvMetricsService names the environment variable that holds the
	// value of the Service dimension: one service, however many tasks.
	// Without it (or with "off"), agentkit writes no metrics.
	EnvMetricsService = meter.EnvService

	// EnvModelPrices names the environment variable that holds a price
	// table for model calls, as JSON: model name to US dollars per million
	// input and output tokens, {"model": {"input": 3, "output": 15}}. With
	// it, agentkit writes MetricModelCost for the models it lists. The
	// prices are the caller's, and the cost an estimate.
	EnvModelPrices = meter.EnvPrices

	// DefaultMetricsNamespace is the namespace used when
	// AGENTKIT_METRICS_NAMESPACE is unset.
	DefaultMetricsNamespace = meter.DefaultNamespace

	// MetricsInterval is how often each task writes one line of metrics,
	// aggregated over the interval. Target tracking reads one-minute
	// metrics, so a task contributes six data points a minute to each.
	MetricsInterval = meter.Interval

	// DimensionService is the dimension every metric carries.
	DimensionService = meter.DimensionService

	// DimensionModel is the second dimension of the model-call metrics.
	DimensionModel = meter.DimensionModel

	// MaxModels bounds the Model dimension's values a process reports, for
	// its whole life: the first MaxModels values its calls name are
	// reported as themselves, and calls to any further model as
	// ModelOther, in every line after.
	MaxModels = meter.MaxModels

	// ModelOther is the Model value of calls beyond MaxModels models, and of
	// calls whose model name is blank.
	ModelOther = meter.ModelOther

	// MaxModelNameLength bounds a Model dimension value (see
	// ModelDimension): a quarter of CloudWatch's 1024 characters for a
	// dimension value, room for any provider's model ID or ARN.
	MaxModelNameLength = meter.MaxModelName

	// MaxMetricsLineBytes bounds every line of metrics agentkit writes,
	// newline included: the container runtime splits a longer line in
	// pieces (16 KiB is its copy buffer; moby/moby#41794), and a piece is
	// no longer JSON, so CloudWatch would drop its metrics. CloudWatch Logs'
	// own limit on an event is 256 KB.
	MaxMetricsLineBytes = meter.MaxLineBytes

	// MaxModelPriceUSD bounds a price of the price table
	// (AGENTKIT_MODEL_PRICES, Metrics.Prices), in US dollars per million
	// tokens: far above any model's, and low enough that no sum of costs
	// overflows to an infinity, which JSON cannot carry.
	MaxModelPriceUSD = meter.MaxPrice
)

// ValidNamespace reports whether ns is a CloudWatch namespace agentkit
// writes metrics to: 1 to 255 ASCII letters, digits, spaces and . - _ / # :,
// not all spaces, and not one of AWS's own ("AWS/...")
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Namespace).
// Metrics refuses any other at start-up; the construct refuses it at synth.
func ValidNamespace(ns string) bool { return meter.Namespace(ns) }

// ValidDimensionValue reports whether v is a CloudWatch dimension value:
// 1 to 1024 printable ASCII characters, not all spaces
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html).
// The Service value (AGENTKIT_METRICS_SERVICE) must be one; Metrics refuses
// any other at start-up, and the construct refuses a stack name or
// construct path that would make one at synth.
func ValidDimensionValue(v string) bool { return meter.DimensionValue(v) }

// ModelDimension returns the Model dimension value RecordModelCall writes
// for a model name, by a rule that makes every name a valid CloudWatch
// dimension value (ASCII without control characters, 1 to 1024
// characters, not all spaces; CloudWatch drops a metric whose value breaks
// it):
//
//   - whitespace and control characters at either end are dropped
//     ("gpt-4o\n" is "gpt-4o");
//   - what is left is kept as it is when it is 1 to MaxModelNameLength
//     printable ASCII characters (space to tilde), which model IDs are;
//   - when nothing is left (the name was empty or blank), the value is
//     ModelOther;
//   - any other name (too long, or holding a character that is not
//     printable ASCII) has each such character replaced by "_", is cut to
//     MaxModelNameLength-9 characters, and ends with "~" and 8 hex digits
//     of the 32-bit FNV-1a hash of the name (its ends dropped), so that
//     two names rewritten alike stay apart: "modèle" is "mod_le~209b459b".
//     A byte that is not valid UTF-8 counts as one character.
//
// Every task maps a name alike, so a model's calls add up across tasks. A
// price table (Metrics.Prices) is read by the same rule: its names are
// matched by their Model values.
func ModelDimension(name string) string { return meter.ModelDimension(name) }

// Metric names, per service (dimension Service) unless noted. Each task
// writes one data point per MetricsInterval, so the Average statistic of a
// gauge is its average per task, and Sum of a count is the service's.
const (
	// MetricRequestsInFlight is the average number of requests being
	// served over the interval (a gauge, sampled), the ones waiting for a
	// slot of the in-flight cap included: the concurrency a task holds or
	// is asked for, which the construct's concurrency scaling tracks.
	MetricRequestsInFlight = meter.RequestsInFlight
	// MetricRequestsInFlightMax is the most requests in flight at once
	// during the interval.
	MetricRequestsInFlightMax = meter.RequestsInFlightMax
	// MetricOpenStreams is the number of open server-sent event streams at
	// the end of the interval.
	MetricOpenStreams = meter.OpenStreams
	// MetricRunningJobs is the number of background jobs (Server.Go, or a
	// worker's jobs) running at the end of the interval.
	MetricRunningJobs = meter.RunningJobs
	// MetricRequests counts the requests answered during the interval.
	MetricRequests = meter.Requests
	// MetricServerErrors counts the requests answered with a 5xx status.
	MetricServerErrors = meter.ServerErrors
	// MetricRequestsRefused counts the requests the in-flight cap refused
	// with 503 (see "Admission" in the package documentation): demand the
	// task turned away, which MetricRequests and MetricServerErrors, the
	// handlers' answers, do not count.
	MetricRequestsRefused = meter.RequestsRefused
	// MetricRequestsTooLarge counts the requests answered 413 because
	// their body was larger than Server.MaxRequestBytes.
	MetricRequestsTooLarge = meter.RequestsTooLarge
	// MetricRequestsOverBudget counts the requests answered 429 because
	// their caller had spent its budget (see "Caller budget" in the
	// package documentation). They are answered after admission and the
	// caller check, so MetricRequests counts them too, as it counts the
	// caller check's 401s.
	MetricRequestsOverBudget = meter.RequestsOverBudget
	// MetricLatency is the distribution of the answered requests' latency,
	// in milliseconds, from the handler's start to its return, in a line of
	// its own.
	MetricLatency = meter.Latency
	// MetricJobsCompleted and MetricJobsFailed count the background jobs
	// that ended during the interval, without and with an error.
	MetricJobsCompleted = meter.JobsCompleted
	MetricJobsFailed    = meter.JobsFailed
	// MetricDrainSeconds is how long the drain took, written once at stop;
	// MetricDrainCut counts the requests and jobs it had to cut.
	MetricDrainSeconds = meter.DrainSeconds
	MetricDrainCut     = meter.DrainCut

	// Model calls, per service and model (dimensions Service and Model),
	// recorded by agent code.
	MetricModelCalls   = meter.ModelCalls
	MetricModelErrors  = meter.ModelErrors
	MetricInputTokens  = meter.InputTokens
	MetricOutputTokens = meter.OutputTokens
	// MetricModelLatency is the calls' latency as a distribution, in
	// milliseconds, in a line of its own.
	MetricModelLatency = meter.ModelLatency
	// MetricModelCost is the estimated cost of the calls in US dollars,
	// from a price table; written only when the table has the model (for
	// ModelOther: some model it stands for).
	MetricModelCost = meter.ModelCost

	// Runs (package agentkit/runs), per service. MetricRunsCreated counts
	// the runs the web service created (an idempotent repeat does not
	// count); MetricRunsStarted counts the claims (a takeover counts
	// again); MetricRunsSucceeded, MetricRunsFailed and MetricRunsCancelled
	// count the runs that ended so during the interval, on the task that
	// ended them. MetricRunsRunning is the number of runs the task held at
	// the end of the interval (a gauge; Sum over tasks is the fleet's).
	MetricRunsCreated   = meter.RunsCreated
	MetricRunsStarted   = meter.RunsStarted
	MetricRunsSucceeded = meter.RunsSucceeded
	MetricRunsFailed    = meter.RunsFailed
	MetricRunsCancelled = meter.RunsCancelled
	MetricRunsRunning   = meter.RunsRunning
)
