package healthcheck

import (
	"math"

	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/token"
	"github.com/aws/aws-cdk-go/awscdk/v2"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/jsii-runtime-go"
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
		if err := CheckPath(*p.Path); err != nil {
			return err
		}
	}
	if p.HealthyHttpCodes != nil && !token.IsString(p.HealthyHttpCodes) {
		if err := CheckHealthyHttpCodes(*p.HealthyHttpCodes); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		name string
		n    *float64
	}{{"HealthyThresholdCount", p.HealthyThresholdCount}, {"UnhealthyThresholdCount", p.UnhealthyThresholdCount}} {
		if c.n != nil && !token.IsNumber(c.n) {
			if err := checkCount(c.name, *c.n, MinThresholdCount, MaxThresholdCount); err != nil {
				return err
			}
		}
	}
	return TimingOf(p, nil, nil, nil).validate(propsNames)
}

// TimingOf fills a Timing from p and the three durations the caller owns;
// nil values take their defaults, tokens become Unresolved or
// UnresolvedCount. Call p.Validate first: counts that are not whole
// numbers are truncated here.
func TimingOf(p *Props, deregistrationDelay, stopTimeout, idleTimeout awscdk.Duration) Timing {
	if p == nil {
		p = &Props{}
	}
	return Timing{
		DeregistrationDelay:     resolve(deregistrationDelay, DefaultDeregistrationDelay),
		StopTimeout:             resolve(stopTimeout, DefaultStopTimeout),
		IdleTimeout:             resolve(idleTimeout, DefaultIdleTimeout),
		HealthCheckInterval:     resolve(p.Interval, DefaultInterval),
		HealthCheckTimeout:      resolve(p.Timeout, DefaultTimeout),
		GracePeriod:             resolve(p.GracePeriod, DefaultGracePeriod),
		HealthyThresholdCount:   count(p.HealthyThresholdCount, DefaultHealthyThresholdCount),
		UnhealthyThresholdCount: count(p.UnhealthyThresholdCount, DefaultUnhealthyThresholdCount),
	}
}

// count returns the count n holds, def when n is nil, and UnresolvedCount
// when n is a token or does not fit an int.
func count(n *float64, def int) int {
	switch {
	case n == nil:
		return def
	case token.IsNumber(n) || math.IsNaN(*n) || math.Abs(*n) > 1<<53:
		return UnresolvedCount
	default:
		return int(*n)
	}
}

// TargetGroupHealthCheck returns the target-group health check p
// describes, every field set explicitly (enabled, HTTP on the traffic
// port). p may be nil: the defaults. It does not validate; call
// p.Validate first.
func TargetGroupHealthCheck(p *Props) *elbv2.HealthCheck {
	if p == nil {
		p = &Props{}
	}
	return &elbv2.HealthCheck{
		Enabled:                 jsii.Bool(true),
		Path:                    defaults.Ptr(p.Path, DefaultPath),
		HealthyHttpCodes:        defaults.Ptr(p.HealthyHttpCodes, DefaultHealthyHttpCodes),
		Interval:                defaults.Duration(p.Interval, DefaultInterval),
		Timeout:                 defaults.Duration(p.Timeout, DefaultTimeout),
		HealthyThresholdCount:   defaults.Ptr(p.HealthyThresholdCount, float64(DefaultHealthyThresholdCount)),
		UnhealthyThresholdCount: defaults.Ptr(p.UnhealthyThresholdCount, float64(DefaultUnhealthyThresholdCount)),
		Port:                    jsii.String("traffic-port"),
		Protocol:                elbv2.Protocol_HTTP,
	}
}

// GracePeriod returns the ECS health-check grace period p describes; p may
// be nil.
func GracePeriod(p *Props) awscdk.Duration {
	if p == nil {
		p = &Props{}
	}
	return defaults.Duration(p.GracePeriod, DefaultGracePeriod)
}
