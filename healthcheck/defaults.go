package healthcheck

import (
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
)

// Defaults of the ALB target-group health check and the ECS grace period.
const (
	// DefaultPath is the path the load balancer checks: the runtime
	// contract's health path.
	DefaultPath = agentkit.HealthPath

	// DefaultHealthyHttpCodes is the response code that counts as healthy.
	DefaultHealthyHttpCodes = "200"

	// DefaultInterval is the time between two checks of one target.
	DefaultInterval = 30 * time.Second

	// DefaultTimeout is how long the load balancer waits for an answer.
	DefaultTimeout = 5 * time.Second

	// DefaultHealthyThresholdCount is the number of consecutive passed
	// checks that make a target healthy.
	DefaultHealthyThresholdCount = 2

	// DefaultUnhealthyThresholdCount is the number of consecutive failed
	// checks that make a target unhealthy, after which ECS replaces the task.
	DefaultUnhealthyThresholdCount = 3

	// DefaultGracePeriod is how long ECS ignores failed load-balancer checks
	// of a task that has just started.
	DefaultGracePeriod = 60 * time.Second
)

// Defaults of the timing budget.
const (
	// DefaultRequestTimeout is the request deadline: the longest a request
	// (a stream included) may run. It is passed to the agent as
	// agentkit.EnvRequestTimeout, and agentkit ends a request at it with a
	// clean answer. A minute covers an agent's answers and most streams;
	// longer work belongs on a queue worker.
	DefaultRequestTimeout = 60 * time.Second

	// DefaultDeregistrationDelay is how long the load balancer lets
	// in-flight requests of a deregistered task finish before ECS sends
	// SIGTERM: DefaultRequestTimeout + agentkit.RequestDeadlineMargin, so
	// that every request has ended before the load balancer lets go of it.
	// AWS's own default is 300 s, which makes every deploy and scale-in
	// wait five minutes per task.
	DefaultDeregistrationDelay = DefaultRequestTimeout + agentkit.RequestDeadlineMargin

	// DefaultStopTimeout is the container's ECS stopTimeout: the time
	// between SIGTERM and SIGKILL. The requests routed through the load
	// balancer have ended before SIGTERM (see DefaultDeregistrationDelay),
	// so it covers what is left: background jobs (agentkit.Server.Go) and
	// requests that did not come through the load balancer. It is within Fargate's limit
	// (agentkit.MaxStopTimeout) and is passed to the agent as
	// agentkit.EnvStopTimeout.
	DefaultStopTimeout = 60 * time.Second

	// DefaultIdleTimeout is the ALB idle timeout: twice the ALB's own 60 s
	// default, so long model responses and streams with sparse heartbeats
	// are not cut. It is passed to the agent as agentkit.EnvIdleTimeout.
	DefaultIdleTimeout = 120 * time.Second
)

// Defaults of the optional ECS container health check.
const (
	// DefaultContainerInterval is the time between two container probes
	// (ECS's own default).
	DefaultContainerInterval = 30 * time.Second

	// DefaultContainerTimeout is how long one probe may take (ECS's own
	// default).
	DefaultContainerTimeout = 5 * time.Second

	// DefaultContainerRetries is the number of consecutive failed probes
	// that mark the container unhealthy (ECS's own default).
	DefaultContainerRetries = 3

	// DefaultContainerStartPeriod is the time after start during which
	// failed probes do not count, enough for a Go binary to listen.
	DefaultContainerStartPeriod = 10 * time.Second

	// DefaultProbeBinary is the agent binary the default container probe
	// runs: the image must hold the agent at this path.
	DefaultProbeBinary = "/agent"
)

// The ranges AWS accepts. ALB target-group health checks: interval 5 to
// 300 s, timeout 2 to 120 s, thresholds 2 to 10, path up to 1024
// characters. ECS: stopTimeout at most 120 s on Fargate, grace period 0 to
// 2147483647 s, container probe interval 5 to 300 s, timeout 2 to 60 s,
// retries 1 to 10, start period 0 to 300 s. Target groups: deregistration
// delay 0 to 3600 s. ALB: idle timeout 1 to 4000 s.
const (
	minInterval             = 5 * time.Second
	maxInterval             = 300 * time.Second
	minTimeout              = 2 * time.Second
	maxTimeout              = 120 * time.Second
	minThresholdCount       = 2
	maxThresholdCount       = 10
	maxPathLength           = 1024
	maxGracePeriod          = 2147483647 * time.Second
	maxDeregistrationDelay  = 3600 * time.Second
	minIdleTimeout          = 1 * time.Second
	maxIdleTimeout          = agentkit.MaxIdleTimeout
	minStopTimeout          = agentkit.MinStopTimeout
	maxStopTimeout          = agentkit.MaxStopTimeout
	minRequestTimeout       = agentkit.MinRequestTimeout
	maxRequestTimeout       = agentkit.MaxRequestTimeout
	minContainerInterval    = 5 * time.Second
	maxContainerInterval    = 300 * time.Second
	minContainerTimeout     = 2 * time.Second
	maxContainerTimeout     = 60 * time.Second
	minContainerRetries     = 1
	maxContainerRetries     = 10
	maxContainerStartPeriod = 300 * time.Second
)
