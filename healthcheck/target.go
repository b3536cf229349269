package healthcheck

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/timing"
	"github.com/agentcdk/agentcdk/internal/token"
)

// Props configures the ALB target-group health check and the ECS
// health-check grace period. The zero value (or a nil *Props) is the
// reference configuration: GET /health, code 200, every 30 s, 5 s timeout,
// healthy after 2 passed checks, replaced after 3 failed ones.
type Props struct {
	// Path is the path the load balancer requests with GET; it starts with
	// "/". Default: DefaultPath, agentkit.HealthPath ("/health").
	Path *string

	// HealthyHttpCodes are the response codes that count as healthy: "200",
	// "200,202" or "200-299", codes from 200 to 499.
	// Default: DefaultHealthyHttpCodes ("200").
	HealthyHttpCodes *string

	// Interval is the time between two checks of one target, 5 to 300 s.
	// Default: DefaultInterval (30 s).
	Interval awscdk.Duration

	// Timeout is how long the load balancer waits for an answer, 2 to 120 s
	// and below Interval. Default: DefaultTimeout (5 s).
	Timeout awscdk.Duration

	// HealthyThresholdCount is the number of passed checks in a row that
	// make a target healthy, 2 to 10.
	// Default: DefaultHealthyThresholdCount (2).
	HealthyThresholdCount *float64

	// UnhealthyThresholdCount is the number of failed checks in a row that
	// make a target unhealthy, after which ECS replaces the task; 2 to 10.
	// Default: DefaultUnhealthyThresholdCount (3).
	UnhealthyThresholdCount *float64

	// GracePeriod is how long ECS ignores failed load-balancer checks of a
	// task that has just started, 0 to 2147483647 s.
	// Default: DefaultGracePeriod (60 s).
	GracePeriod awscdk.Duration
}

// propsNames are the names Props.Validate reports.
var propsNames = fieldNames{
	requestTimeout:      timingNames.requestTimeout,
	longRequestsStream:  timingNames.longRequestsStream,
	deregistrationDelay: timingNames.deregistrationDelay,
	stopTimeout:         timingNames.stopTimeout,
	idleTimeout:         timingNames.idleTimeout,
	interval:            "Interval",
	timeout:             "Timeout",
	gracePeriod:         "GracePeriod",
	healthy:             "HealthyThresholdCount",
	unhealthy:           "UnhealthyThresholdCount",
}

// Validate reports the first prop that AWS would refuse or that makes no
// sense, with a message naming the prop, its value and what is allowed. A
// nil receiver is the default configuration and valid. Unresolved tokens
// are not judged.
func (p *Props) Validate() error {
	if p == nil {
		return nil
	}
	if p.Path != nil && !token.IsString(p.Path) {
		if err := checkPath(*p.Path); err != nil {
			return err
		}
	}
	if p.HealthyHttpCodes != nil && !token.IsString(p.HealthyHttpCodes) {
		if err := checkHealthyHttpCodes(*p.HealthyHttpCodes); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		name string
		n    *float64
	}{{"HealthyThresholdCount", p.HealthyThresholdCount}, {"UnhealthyThresholdCount", p.UnhealthyThresholdCount}} {
		if c.n != nil && !token.IsNumber(c.n) {
			if err := checkCount(c.name, *c.n, minThresholdCount, maxThresholdCount); err != nil {
				return err
			}
		}
	}
	return TimingOf(p, nil, nil, nil, nil).validate(propsNames)
}

// TimingOf fills a Timing from p and the durations the caller owns; nil
// values take their defaults (a nil deregistrationDelay is the request
// deadline plus agentkit.RequestDeadlineMargin), tokens become Unresolved
// or UnresolvedCount. LongRequestsStream is left false for the caller to
// set. Call p.Validate first: counts that are not whole numbers are
// truncated here.
func TimingOf(p *Props, requestTimeout, deregistrationDelay, stopTimeout, idleTimeout awscdk.Duration) Timing {
	if p == nil {
		p = &Props{}
	}
	request := timing.Of(requestTimeout, DefaultRequestTimeout)
	dereg := Unresolved
	if request != Unresolved {
		dereg = request + agentkit.RequestDeadlineMargin
	}
	if deregistrationDelay != nil {
		dereg = timing.Of(deregistrationDelay, 0)
	}
	return Timing{
		RequestTimeout:          request,
		DeregistrationDelay:     dereg,
		StopTimeout:             timing.Of(stopTimeout, DefaultStopTimeout),
		IdleTimeout:             timing.Of(idleTimeout, DefaultIdleTimeout),
		HealthCheckInterval:     timing.Of(p.Interval, DefaultInterval),
		HealthCheckTimeout:      timing.Of(p.Timeout, DefaultTimeout),
		GracePeriod:             timing.Of(p.GracePeriod, DefaultGracePeriod),
		HealthyThresholdCount:   timing.Count(p.HealthyThresholdCount, DefaultHealthyThresholdCount),
		UnhealthyThresholdCount: timing.Count(p.UnhealthyThresholdCount, DefaultUnhealthyThresholdCount),
	}
}
