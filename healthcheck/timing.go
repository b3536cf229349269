package healthcheck

import (
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/timing"
)

// Timing is the timing budget of an agent service in plain Go values: how
// long a task may take to become healthy, to drain and to stop, and how
// long a connection may stay silent. The caller fills it from its props
// (with TimingOf, or by hand); a field that is an unresolved token
// holds Unresolved (durations) or UnresolvedCount (counts).
//
// How ECS stops a task: it deregisters the task from the target group and
// waits out DeregistrationDelay while the load balancer lets in-flight
// requests finish; then it sends SIGTERM and, StopTimeout later, SIGKILL.
// The agent learns RequestTimeout, StopTimeout and IdleTimeout through the
// environment (agentkit.EnvRequestTimeout, agentkit.EnvStopTimeout,
// agentkit.EnvIdleTimeout) so that it ends each request before the load
// balancer lets go of it, drains before SIGKILL and keeps its own
// keep-alive idle timeout above the ALB's.
type Timing struct {
	// RequestTimeout is the request deadline; 0 means none, and the rules
	// that involve it are skipped.
	RequestTimeout time.Duration
	// LongRequestsStream says that every request that may run longer than
	// IdleTimeout is a stream with heartbeats, so RequestTimeout may
	// exceed IdleTimeout.
	LongRequestsStream bool
	// DeregistrationDelay is the target group's deregistration delay.
	DeregistrationDelay time.Duration
	// StopTimeout is the container's ECS stopTimeout.
	StopTimeout time.Duration
	// IdleTimeout is the load balancer's idle timeout.
	IdleTimeout time.Duration
	// HealthCheckInterval is the time between two target-group checks.
	HealthCheckInterval time.Duration
	// HealthCheckTimeout is how long one target-group check may take.
	HealthCheckTimeout time.Duration
	// GracePeriod is the ECS health-check grace period.
	GracePeriod time.Duration
	// HealthyThresholdCount is the number of passed checks that make a
	// target healthy.
	HealthyThresholdCount int
	// UnhealthyThresholdCount is the number of failed checks that make a
	// target unhealthy.
	UnhealthyThresholdCount int
}

// DefaultTiming returns the budget made of this package's defaults.
func DefaultTiming() Timing {
	return Timing{
		RequestTimeout:          DefaultRequestTimeout,
		DeregistrationDelay:     DefaultDeregistrationDelay,
		StopTimeout:             DefaultStopTimeout,
		IdleTimeout:             DefaultIdleTimeout,
		HealthCheckInterval:     DefaultInterval,
		HealthCheckTimeout:      DefaultTimeout,
		GracePeriod:             DefaultGracePeriod,
		HealthyThresholdCount:   DefaultHealthyThresholdCount,
		UnhealthyThresholdCount: DefaultUnhealthyThresholdCount,
	}
}

// Validate reports the first value AWS would refuse or that contradicts
// another: every duration a whole number of seconds; RequestTimeout 1 s to
// 10 min (agentkit.MaxRequestTimeout: longer work belongs on a queue
// worker), at most IdleTimeout unless LongRequestsStream (the load
// balancer cuts a response silent for IdleTimeout), and at least
// agentkit.RequestDeadlineMargin below DeregistrationDelay (or a deploy
// cuts requests within their deadline); StopTimeout 2..120 s
// (agentkit.MinStopTimeout to agentkit.MaxStopTimeout: below, the agent has
// no room to drain; above, Fargate refuses the task definition);
// DeregistrationDelay 0..3600 s; IdleTimeout 1..4000 s; HealthCheckInterval
// 5..300 s; HealthCheckTimeout 2..120 s and below the interval; thresholds
// 2..10; GracePeriod 0..2147483647 s. RequestTimeout alone is judged
// first, since a caller may derive DeregistrationDelay from it. Fields
// holding Unresolved or UnresolvedCount are not judged.
func (t Timing) Validate() error {
	return t.validate(timingNames)
}

// fieldNames are the names messages use for the Timing fields, so that a
// caller validating its own props names its own fields.
type fieldNames struct {
	requestTimeout, longRequestsStream,
	deregistrationDelay, stopTimeout, idleTimeout, interval, timeout, gracePeriod, healthy, unhealthy string
}

var timingNames = fieldNames{
	requestTimeout:      "RequestTimeout",
	longRequestsStream:  "LongRequestsStream",
	deregistrationDelay: "DeregistrationDelay",
	stopTimeout:         "StopTimeout",
	idleTimeout:         "IdleTimeout",
	interval:            "HealthCheckInterval",
	timeout:             "HealthCheckTimeout",
	gracePeriod:         "GracePeriod",
	healthy:             "HealthyThresholdCount",
	unhealthy:           "UnhealthyThresholdCount",
}

func (t Timing) validate(n fieldNames) error {
	checks := []error{
		// RequestTimeout comes first: a caller that derives
		// DeregistrationDelay from it (agentservice) must hear about the
		// deadline it set, not about a delay it never wrote.
		t.checkRequestTimeoutRange(n),
		checkDuration(n.deregistrationDelay, t.DeregistrationDelay, 0, maxDeregistrationDelay),
		checkDuration(n.stopTimeout, t.StopTimeout, minStopTimeout, maxStopTimeout),
		checkDuration(n.idleTimeout, t.IdleTimeout, minIdleTimeout, maxIdleTimeout),
		checkDuration(n.interval, t.HealthCheckInterval, minInterval, maxInterval),
		checkDuration(n.timeout, t.HealthCheckTimeout, minTimeout, maxTimeout),
		checkBelow(n.timeout, t.HealthCheckTimeout, n.interval, t.HealthCheckInterval),
		checkIntCount(n.healthy, t.HealthyThresholdCount, minThresholdCount, maxThresholdCount),
		checkIntCount(n.unhealthy, t.UnhealthyThresholdCount, minThresholdCount, maxThresholdCount),
		checkDuration(n.gracePeriod, t.GracePeriod, 0, maxGracePeriod),
		t.checkRequestTimeout(n),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkRequestTimeoutRange holds the request deadline to whole seconds
// within minRequestTimeout..maxRequestTimeout.
func (t Timing) checkRequestTimeoutRange(n fieldNames) error {
	r := t.RequestTimeout
	if r == 0 || r == Unresolved {
		return nil
	}
	if r > maxRequestTimeout {
		return errorf("%s %s is above %s; a deploy or scale-in waits that long for every task it stops, so run work this long on a queue worker (agentservice.NewWorker) instead",
			name(n.requestTimeout), timing.Format(r), timing.Format(maxRequestTimeout))
	}
	return checkDuration(n.requestTimeout, r, minRequestTimeout, maxRequestTimeout)
}

// checkRequestTimeout holds the request deadline to what the load balancer
// allows around it; checkRequestTimeoutRange has judged the deadline alone.
func (t Timing) checkRequestTimeout(n fieldNames) error {
	r := t.RequestTimeout
	if r == 0 || r == Unresolved {
		return nil
	}
	if d := t.DeregistrationDelay; d != Unresolved && d < r+agentkit.RequestDeadlineMargin {
		return errorf("%s %s is shorter than %s %s plus %s for its answer to leave; the load balancer would cut requests still within their deadline on every deploy and scale-in, so use at least %s",
			name(n.deregistrationDelay), timing.Format(d), name(n.requestTimeout), timing.Format(r),
			timing.Format(agentkit.RequestDeadlineMargin), timing.Format(r+agentkit.RequestDeadlineMargin))
	}
	if i := t.IdleTimeout; i != Unresolved && r > i && !t.LongRequestsStream {
		return errorf("%s %s is longer than %s %s, which cuts a response that sends nothing for that long; raise %s to at least %s, or set %s if every request longer than %s streams with heartbeats (agentkit.Server.Stream)",
			name(n.requestTimeout), timing.Format(r), name(n.idleTimeout), timing.Format(i), name(n.idleTimeout), timing.Format(r),
			name(n.longRequestsStream), timing.Format(i))
	}
	return nil
}

// NewTaskHealthy is the longest a new task that does become healthy can
// take, from its start, before ECS counts it healthy:
//
//	max(GracePeriod, (UnhealthyThresholdCount + HealthyThresholdCount - 1) × HealthCheckInterval)
//
// Why: ECS counts a task healthy as soon as its target is healthy, grace
// period or not; the grace period only stops ECS from replacing a task
// whose target is unhealthy. A target leaves the "initial" state after
// HealthyThresholdCount passed checks in a row, or becomes unhealthy after
// UnhealthyThresholdCount failed ones. So a task that answers before it
// has failed UnhealthyThresholdCount checks stays "initial" and turns
// healthy at the latest (U-1) failed + H passed checks after its first
// check, which itself comes within one interval: (U+H-1) intervals. A
// slower task is unhealthy by then and survives only if it turns healthy
// before the grace period ends. The larger of the two bounds them both.
// Image pull and container start before the task runs are not counted. It
// returns 0 when a field it needs is unresolved.
func (t Timing) NewTaskHealthy() time.Duration {
	d, _ := t.newTaskHealthy()
	return d
}

func (t Timing) newTaskHealthy() (time.Duration, bool) {
	if t.GracePeriod == Unresolved || t.HealthCheckInterval == Unresolved ||
		t.HealthyThresholdCount == UnresolvedCount || t.UnhealthyThresholdCount == UnresolvedCount {
		return 0, false
	}
	checks := time.Duration(t.UnhealthyThresholdCount+t.HealthyThresholdCount-1) * t.HealthCheckInterval
	return max(t.GracePeriod, checks), true
}

// DeployStep is the worst-case duration of one rolling-deploy step (and of
// replacing one task): the new task becomes healthy (NewTaskHealthy), then
// the old task is drained (DeregistrationDelay) and stopped (StopTimeout,
// after which ECS sends SIGKILL). With the defaults it is
// max(60s, (3+2-1) × 30s) + 65s + 60s = 245s. It returns 0 when a field it
// needs is unresolved.
func (t Timing) DeployStep() time.Duration {
	healthy, ok := t.newTaskHealthy()
	if !ok || t.DeregistrationDelay == Unresolved || t.StopTimeout == Unresolved {
		return 0
	}
	return healthy + t.DeregistrationDelay + t.StopTimeout
}
