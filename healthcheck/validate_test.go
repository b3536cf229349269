package healthcheck_test

import (
	"strings"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/healthcheck"
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func secs(n float64) awscdk.Duration { return awscdk.Duration_Seconds(jsii.Number(n)) }

func TestPropsValidateRejectsBadInput(t *testing.T) {
	cases := []struct {
		name  string
		props healthcheck.Props
		want  string
	}{
		{"relative path", healthcheck.Props{Path: jsii.String("health")},
			`healthcheck: Path "health" does not start with "/"; use an absolute path such as "/health"`},
		{"path with space", healthcheck.Props{Path: jsii.String("/he alth")},
			`healthcheck: Path "/he alth" holds the character ' '; use printable ASCII characters without spaces`},
		{"long path", healthcheck.Props{Path: jsii.String("/" + strings.Repeat("a", 1024))},
			`healthcheck: Path of 1025 characters is too long; use at most 1024`},
		{"code below 200", healthcheck.Props{HealthyHttpCodes: jsii.String("199")},
			`healthcheck: HealthyHttpCodes "199" is not a matcher the ALB accepts; use codes from 200 to 499 as "200", "200,202" or "200-299"`},
		{"code above 499", healthcheck.Props{HealthyHttpCodes: jsii.String("200,500")},
			`healthcheck: HealthyHttpCodes "200,500" is not a matcher the ALB accepts; use codes from 200 to 499 as "200", "200,202" or "200-299"`},
		{"reversed range", healthcheck.Props{HealthyHttpCodes: jsii.String("299-200")},
			`healthcheck: HealthyHttpCodes "299-200" is not a matcher the ALB accepts; use codes from 200 to 499 as "200", "200,202" or "200-299"`},
		{"spaces in codes", healthcheck.Props{HealthyHttpCodes: jsii.String("200, 202")},
			`healthcheck: HealthyHttpCodes "200, 202" is not a matcher the ALB accepts; use codes from 200 to 499 as "200", "200,202" or "200-299"`},
		{"empty codes", healthcheck.Props{HealthyHttpCodes: jsii.String("")},
			`healthcheck: HealthyHttpCodes "" is not a matcher the ALB accepts; use codes from 200 to 499 as "200", "200,202" or "200-299"`},
		{"timeout not below interval", healthcheck.Props{Interval: secs(30), Timeout: secs(30)},
			`healthcheck: Timeout 30s is not below Interval 30s; use a timeout shorter than the interval`},
		{"interval too short", healthcheck.Props{Interval: secs(4), Timeout: secs(2)},
			`healthcheck: Interval 4s is out of range; use 5s to 300s`},
		{"interval too long", healthcheck.Props{Interval: awscdk.Duration_Minutes(jsii.Number(6))},
			`healthcheck: Interval 360s is out of range; use 5s to 300s`},
		{"fractional interval", healthcheck.Props{Interval: awscdk.Duration_Millis(jsii.Number(10500))},
			`healthcheck: Interval 10.5s is not a whole number of seconds; use 5s to 300s in whole seconds`},
		{"timeout too short", healthcheck.Props{Timeout: secs(1)},
			`healthcheck: Timeout 1s is out of range; use 2s to 120s`},
		{"timeout too long", healthcheck.Props{Interval: secs(300), Timeout: secs(121)},
			`healthcheck: Timeout 121s is out of range; use 2s to 120s`},
		{"healthy threshold too low", healthcheck.Props{HealthyThresholdCount: jsii.Number(1)},
			`healthcheck: HealthyThresholdCount 1 is out of range; use 2 to 10`},
		{"unhealthy threshold too high", healthcheck.Props{UnhealthyThresholdCount: jsii.Number(11)},
			`healthcheck: UnhealthyThresholdCount 11 is out of range; use 2 to 10`},
		{"fractional threshold", healthcheck.Props{HealthyThresholdCount: jsii.Number(2.5)},
			`healthcheck: HealthyThresholdCount 2.5 is not a whole number; use 2 to 10`},
		{"grace period too long", healthcheck.Props{GracePeriod: secs(2147483648)},
			`healthcheck: GracePeriod 2147483648s is out of range; use 0s to 2147483647s`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN bad props WHEN validated THEN the message names prop, value and what is allowed
			err := c.props.Validate()
			if err == nil || err.Error() != c.want {
				t.Errorf("Validate() = %v\nwant        %s", err, c.want)
			}
		})
	}
}

func TestPropsValidateAcceptsGoodInput(t *testing.T) {
	// GIVEN props at the edges of what AWS accepts
	good := []*healthcheck.Props{
		nil,
		{},
		{HealthyHttpCodes: jsii.String("200,202")},
		{HealthyHttpCodes: jsii.String("200-299,302,400-499")},
		{Path: jsii.String("/health?deep=1")},
		{Interval: secs(5), Timeout: secs(2)},
		{Interval: secs(300), Timeout: secs(120)},
		{HealthyThresholdCount: jsii.Number(10), UnhealthyThresholdCount: jsii.Number(2)},
		{GracePeriod: secs(0)},
	}
	for i, p := range good {
		// WHEN validated THEN nothing is reported
		if err := p.Validate(); err != nil {
			t.Errorf("case %d: Validate() = %v, want nil", i, err)
		}
	}
}

func TestContainerPropsValidateRejectsBadInput(t *testing.T) {
	cases := []struct {
		name  string
		props healthcheck.ContainerProps
		want  string
	}{
		{"no CMD", healthcheck.ContainerProps{Command: jsii.Strings("/agent", "healthcheck")},
			`healthcheck: Command ["/agent" "healthcheck"] is not a health-check command; use ["CMD", binary, args...] or ["CMD-SHELL", script]`},
		{"CMD alone", healthcheck.ContainerProps{Command: jsii.Strings("CMD")},
			`healthcheck: Command ["CMD"] is not a health-check command; use ["CMD", binary, args...] or ["CMD-SHELL", script]`},
		{"empty argument", healthcheck.ContainerProps{Command: jsii.Strings("CMD", "/agent", "")},
			`healthcheck: Command ["CMD" "/agent" ""] has an empty argument at position 2; drop it or fill it in`},
		{"interval too short", healthcheck.ContainerProps{Interval: secs(4), Timeout: secs(2)},
			`healthcheck: Interval 4s is out of range; use 5s to 300s`},
		{"timeout too long", healthcheck.ContainerProps{Interval: secs(120), Timeout: secs(61)},
			`healthcheck: Timeout 61s is out of range; use 2s to 60s`},
		{"timeout not below interval", healthcheck.ContainerProps{Interval: secs(10), Timeout: secs(10)},
			`healthcheck: Timeout 10s is not below Interval 10s; use a timeout shorter than the interval`},
		{"no retries", healthcheck.ContainerProps{Retries: jsii.Number(0)},
			`healthcheck: Retries 0 is out of range; use 1 to 10`},
		{"start period too long", healthcheck.ContainerProps{StartPeriod: secs(301)},
			`healthcheck: StartPeriod 301s is out of range; use 0s to 300s`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN bad props WHEN validated THEN the message names prop, value and what is allowed
			err := c.props.Validate()
			if err == nil || err.Error() != c.want {
				t.Errorf("Validate() = %v\nwant        %s", err, c.want)
			}
		})
	}
}

func TestTimingValidateRejectsContradictions(t *testing.T) {
	with := func(change func(*healthcheck.Timing)) healthcheck.Timing {
		tm := healthcheck.DefaultTiming()
		change(&tm)
		return tm
	}
	cases := []struct {
		name   string
		timing healthcheck.Timing
		want   string
	}{
		{"stop timeout over Fargate's limit", with(func(t *healthcheck.Timing) { t.StopTimeout = 150 * time.Second }),
			`healthcheck: StopTimeout 150s is out of range; use 2s to 120s`},
		{"stop timeout too short to drain", with(func(t *healthcheck.Timing) { t.StopTimeout = time.Second }),
			`healthcheck: StopTimeout 1s is out of range; use 2s to 120s`},
		{"negative deregistration delay", with(func(t *healthcheck.Timing) { t.DeregistrationDelay = -time.Second }),
			`healthcheck: DeregistrationDelay -1s is out of range; use 0s to 3600s`},
		{"deregistration delay over an hour", with(func(t *healthcheck.Timing) { t.DeregistrationDelay = 3601 * time.Second }),
			`healthcheck: DeregistrationDelay 3601s is out of range; use 0s to 3600s`},
		{"idle timeout zero", with(func(t *healthcheck.Timing) { t.IdleTimeout = 0 }),
			`healthcheck: IdleTimeout 0s is out of range; use 1s to 4000s`},
		{"idle timeout over the ALB limit", with(func(t *healthcheck.Timing) { t.IdleTimeout = 4001 * time.Second }),
			`healthcheck: IdleTimeout 4001s is out of range; use 1s to 4000s`},
		{"check timeout not below interval", with(func(t *healthcheck.Timing) { t.HealthCheckTimeout = 30 * time.Second }),
			`healthcheck: HealthCheckTimeout 30s is not below HealthCheckInterval 30s; use a timeout shorter than the interval`},
		{"request deadline over what a request is for", with(func(t *healthcheck.Timing) { t.RequestTimeout = 15 * time.Minute }),
			`healthcheck: RequestTimeout 900s is above 600s; a deploy or scale-in waits that long for every task it stops, so run work this long on a queue worker (agentservice.NewWorker) instead`},
		{"request deadline under a second", with(func(t *healthcheck.Timing) { t.RequestTimeout = 500 * time.Millisecond }),
			`healthcheck: RequestTimeout 500ms is not a whole number of seconds; use 1s to 600s in whole seconds`},
		// A caller derives the delay from the deadline (agentservice: 60ms
		// + 5s = 5.06s): the deadline is judged first, so the message names
		// what was set.
		{"request deadline under a second, delay derived from it", with(func(t *healthcheck.Timing) {
			t.RequestTimeout, t.DeregistrationDelay = 60*time.Millisecond, 5060*time.Millisecond
		}),
			`healthcheck: RequestTimeout 60ms is not a whole number of seconds; use 1s to 600s in whole seconds`},
		{"deregistration delay shorter than the deadline", with(func(t *healthcheck.Timing) { t.DeregistrationDelay = 30 * time.Second }),
			`healthcheck: DeregistrationDelay 30s is shorter than RequestTimeout 60s plus 5s for its answer to leave; the load balancer would cut requests still within their deadline on every deploy and scale-in, so use at least 65s`},
		{"deregistration delay without the margin", with(func(t *healthcheck.Timing) { t.DeregistrationDelay = 64 * time.Second }),
			`healthcheck: DeregistrationDelay 64s is shorter than RequestTimeout 60s plus 5s for its answer to leave; the load balancer would cut requests still within their deadline on every deploy and scale-in, so use at least 65s`},
		{"deadline above the idle timeout for plain answers", with(func(t *healthcheck.Timing) {
			t.RequestTimeout, t.DeregistrationDelay = 180*time.Second, 185*time.Second
		}),
			`healthcheck: RequestTimeout 180s is longer than IdleTimeout 120s, which cuts a response that sends nothing for that long; raise IdleTimeout to at least 180s, or set LongRequestsStream if every request longer than 120s streams with heartbeats (agentkit.Server.Stream)`},
		{"fractional stop timeout", with(func(t *healthcheck.Timing) { t.StopTimeout = 1500 * time.Millisecond }),
			`healthcheck: StopTimeout 1.5s is not a whole number of seconds; use 2s to 120s in whole seconds`},
		{"threshold too low", with(func(t *healthcheck.Timing) { t.HealthyThresholdCount = 1 }),
			`healthcheck: HealthyThresholdCount 1 is out of range; use 2 to 10`},
		{"negative grace period", with(func(t *healthcheck.Timing) { t.GracePeriod = -time.Second }),
			`healthcheck: GracePeriod -1s is out of range; use 0s to 2147483647s`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a budget that contradicts itself or AWS WHEN validated THEN the message says why
			err := c.timing.Validate()
			if err == nil || err.Error() != c.want {
				t.Errorf("Validate() = %v\nwant        %s", err, c.want)
			}
		})
	}
}

func TestDefaultTimingIsConsistent(t *testing.T) {
	// GIVEN the defaults
	tm := healthcheck.DefaultTiming()
	// WHEN validated THEN nothing is reported
	if err := tm.Validate(); err != nil {
		t.Fatalf("DefaultTiming().Validate() = %v", err)
	}
	// AND a new task is healthy within max(60s, (3+2-1) × 30s) = 120s
	if got := tm.NewTaskHealthy(); got != 120*time.Second {
		t.Errorf("NewTaskHealthy() = %v, want 2m0s", got)
	}
	// AND a deploy step takes at most 120s + 65s drain + 60s stop = 245s
	if got := tm.DeployStep(); got != 245*time.Second {
		t.Errorf("DeployStep() = %v, want 4m5s", got)
	}
}

func TestDeployStepUsesTheGracePeriodWhenItIsLonger(t *testing.T) {
	// GIVEN a grace period longer than the health checks take
	tm := healthcheck.DefaultTiming()
	tm.GracePeriod = 300 * time.Second
	// WHEN the step is computed THEN the grace period bounds the new task
	if got, want := tm.DeployStep(), (300+65+60)*time.Second; got != want {
		t.Errorf("DeployStep() = %v, want %v", got, want)
	}
}

func TestTimingAcceptsLongStreamsAndNoDeadline(t *testing.T) {
	// GIVEN a 5-minute deadline on a service whose long requests stream,
	// and a budget with no deadline at all
	streams := healthcheck.DefaultTiming()
	streams.RequestTimeout, streams.DeregistrationDelay, streams.LongRequestsStream = 5*time.Minute, 305*time.Second, true
	none := healthcheck.DefaultTiming()
	none.RequestTimeout, none.DeregistrationDelay = 0, 0
	// WHEN validated THEN both are consistent
	for _, tm := range []healthcheck.Timing{streams, none} {
		if err := tm.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", tm, err)
		}
	}
}

func TestTimingOfDerivesTheDeregistrationDelayFromTheDeadline(t *testing.T) {
	// GIVEN a request deadline and no deregistration delay
	tm := healthcheck.TimingOf(nil, awscdk.Duration_Seconds(jsii.Number(45)), nil, nil, nil)
	// WHEN the budget is filled THEN the delay is the deadline plus the margin
	if tm.RequestTimeout != 45*time.Second || tm.DeregistrationDelay != 50*time.Second {
		t.Errorf("TimingOf = %+v", tm)
	}
	// AND a token deadline leaves the delay unresolved too
	tok := healthcheck.TimingOf(nil, awscdk.Duration_Seconds(awscdk.Token_AsNumber(awscdk.Aws_ACCOUNT_ID())), nil, nil, nil)
	if tok.RequestTimeout != healthcheck.Unresolved || tok.DeregistrationDelay != healthcheck.Unresolved {
		t.Errorf("TimingOf(token) = %+v", tok)
	}
}

func TestTimingOfFillsDefaultsAndOverrides(t *testing.T) {
	// GIVEN props and the caller's own durations
	p := &healthcheck.Props{Interval: secs(10), HealthyThresholdCount: jsii.Number(5)}
	// WHEN the budget is filled
	tm := healthcheck.TimingOf(p, nil, secs(0), awscdk.Duration_Minutes(jsii.Number(2)), nil)
	// THEN overrides and defaults land in their fields
	want := healthcheck.DefaultTiming()
	want.HealthCheckInterval = 10 * time.Second
	want.HealthyThresholdCount = 5
	want.DeregistrationDelay = 0
	want.StopTimeout = 120 * time.Second
	if tm != want {
		t.Errorf("TimingOf = %+v\nwant       %+v", tm, want)
	}
}
