package agentservice

import (
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"

	"github.com/agentcdk/agentcdk/healthcheck"
	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/timing"
	"github.com/agentcdk/agentcdk/internal/token"
)

// Deployment is how ECS moves the service onto a new revision (a new task
// definition: a new image, setting or secret version). Its zero value, like
// a nil Props.Deployment, is the rolling deploy.
//
// Rolling (awsecs.DeploymentStrategy_ROLLING) replaces tasks in place,
// within MinHealthyPercent..MaxHealthyPercent. The other three strategies are ECS's
// blue/green family: ECS starts a full set of new tasks in a second target
// group beside the old set, then moves the weights of the listener rule
// that serves production traffic to it:
//   - awsecs.DeploymentStrategy_BLUE_GREEN: all traffic at once;
//   - awsecs.DeploymentStrategy_CANARY: CanaryPercent of it first, held for
//     StepBakeTime, then the rest;
//   - awsecs.DeploymentStrategy_LINEAR: LinearPercent more every
//     StepBakeTime.
//
// After the last shift the old set keeps running for BakeTime: until then a
// rollback is a weight flip back to it, with no task to start. Every
// strategy rolls back on its own: the circuit breaker (CircuitBreaker) when
// new tasks fail to start or to turn healthy, the deployment alarms
// (DeploymentAlarms, which watch both target groups) when they answer 5xx
// or fail health checks, at any step and during BakeTime. For these strategies the construct makes the
// second target group (Service.AlternateTargetGroup, with the health check
// and deregistration delay of the first), the production listener rule ECS
// shifts (Service.ProductionRule: every path, after any rule of yours), an
// optional test rule (Service.TestRule) and the role ECS assumes to change
// them (Service.DeployRole, allowed exactly that). The listener's default
// action then answers 404: the rule takes every request.
//
// The traps, each refused at synth time where it can be:
//   - ECS alternates the revisions between the two target groups, so what
//     watches only Service.TargetGroup sees no traffic on every second
//     deploy. The requests-per-target scaling policy does: turn it off
//     (Scaling.DisableRequests); CPU scaling is unaffected.
//   - MinHealthyPercent and MaxHealthyPercent do not pace these deploys: the
//     new set is a full DesiredCount beside the old one, so plan for twice
//     the tasks while it runs. They still govern the replacement of
//     unhealthy tasks.
//   - After a deploy, the production rule on the load balancer forwards to
//     the group ECS moved traffic to, not to the one in the template; a
//     stack update that changes the rule itself (its priority, its
//     conditions) resets its weights to TargetGroup. Change it with care.
type Deployment struct {
	// Strategy is the deploy strategy: awsecs.DeploymentStrategy_ROLLING,
	// _BLUE_GREEN, _CANARY or _LINEAR.
	//
	// Default: awsecs.DeploymentStrategy_ROLLING.
	Strategy awsecs.DeploymentStrategy
	// CanaryPercent is the share of production traffic, in percent, the new
	// revision gets first in a CANARY deploy: 0.1 to 100 in steps of 0.1.
	//
	// Default: 5 (ECS's default).
	CanaryPercent *float64
	// LinearPercent is the share of production traffic, in percent, each
	// step of a LINEAR deploy moves to the new revision: 3 to 100 in steps
	// of 0.1.
	//
	// Default: 10 (ECS's default).
	LinearPercent *float64
	// StepBakeTime is how long a CANARY deploy holds the canary share, or a
	// LINEAR deploy each step before the next, in whole minutes, 0 to 1440.
	// With DeploymentAlarms it must leave the alarms time to judge it: 3
	// minutes after a request failing at RequestTimeout is answered (4
	// minutes with the default deadline).
	//
	// Default: 10 minutes for CANARY, 6 for LINEAR (ECS's defaults).
	StepBakeTime awscdk.Duration
	// BakeTime is how long the old tasks keep running after all traffic has
	// moved, in whole minutes, 0 to 1440. With DeploymentAlarms it must
	// leave the alarms time to judge it, as StepBakeTime.
	//
	// Default: 5 minutes.
	BakeTime awscdk.Duration
	// TestTrafficHeader names an HTTP header: a request carrying it with
	// the value of TestTrafficSecret reaches the new revision as soon as its
	// tasks are healthy, before any production traffic moves, so a smoke
	// test (a lifecycle hook, or a person) can try it. Up to 40 letters,
	// digits, '-' and '_'. The header alone opens nothing: the rule sits on
	// the public listener, so only the secret's holders may use it.
	//
	// Default: - no test rule.
	TestTrafficHeader *string
	// TestTrafficSecret holds the value a request must carry in
	// TestTrafficHeader to reach the new revision. The test rule names it
	// as a CloudFormation dynamic reference ({{resolve:secretsmanager:...}}),
	// so the value is never in the template; CloudFormation reads it when
	// it creates or updates the rule, and the load balancer then holds it
	// (elasticloadbalancing:DescribeRules shows it). A value of your own
	// must be at most 128 characters without '*' or '?', which the load
	// balancer takes as wildcards; the match ignores case. Changing the
	// value reaches the rule only with a deploy that updates the rule.
	// Service.TestTrafficSecret is it: grant your hook read
	// (GrantRead). Only with TestTrafficHeader.
	//
	// Default: - a secret made at deploy: 32 letters and digits, generated
	// by Secrets Manager, deleted with the stack.
	TestTrafficSecret awssecretsmanager.ISecret
	// LifecycleHooks run at the deploy's stages (a Lambda function that
	// tests the new revision through TestTrafficHeader, for example:
	// awsecs.NewDeploymentLifecycleLambdaTarget); a hook that fails rolls
	// the deploy back. Each may hold its stage for up to 24 hours, which
	// Props.DeployTime does not count.
	//
	// Default: - none.
	LifecycleHooks []awsecs.IDeploymentLifecycleHookTarget
}

// Defaults of a Deployment.
const (
	DefaultCanaryPercent         = 5
	DefaultLinearPercent         = 10
	DefaultCanaryStepBakeTime    = 10 * time.Minute
	DefaultLinearStepBakeTime    = 6 * time.Minute
	DefaultDeploymentBakeTime    = 5 * time.Minute
	maxBakeTime                  = 24 * time.Hour // ECS: 0 to 1440 minutes, for BakeTime and both step bake times
	maxCloudFormationTrafficTime = 33 * time.Hour // CloudFormation refuses a canary or linear deploy that bakes longer
)

// The ranges are the ECS API's (CanaryConfiguration.canaryPercent 0.1..100
// and LinearConfiguration.stepPercent 3..100, both in multiples of 0.1;
// canaryBakeTimeInMinutes and stepBakeTimeInMinutes 0..1440:
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CanaryConfiguration.html,
// .../API_LinearConfiguration.html) and CloudFormation's (AWS::ECS::Service
// DeploymentConfiguration.BakeTimeInMinutes 0..1440 in its resource schema;
// the 33-hour limit on BakeTimeInMinutes + step bake × steps of a canary or
// linear deploy: aws-properties-ecs-service-canaryconfiguration.html and
// -linearconfiguration.html in the CloudFormation template reference). The
// header name is ELB's HttpHeaderConditionConfig.HttpHeaderName, at most
// 40 characters.
var (
	canaryRange = percentRange{0.1, 100}
	linearRange = percentRange{3, 100}
	// headerName is an ALB http-header condition's name: up to 40
	// characters; letters, digits, '-' and '_' keep it a plain token.
	headerName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)
	strategies = []awsecs.DeploymentStrategy{
		awsecs.DeploymentStrategy_ROLLING, awsecs.DeploymentStrategy_BLUE_GREEN,
		awsecs.DeploymentStrategy_CANARY, awsecs.DeploymentStrategy_LINEAR,
	}
)

type percentRange struct{ lo, hi float64 }

// strategy is the deploy strategy, ROLLING when none is set.
func (p *Props) strategy() awsecs.DeploymentStrategy {
	if p.Deployment == nil || p.Deployment.Strategy == "" {
		return awsecs.DeploymentStrategy_ROLLING
	}
	return p.Deployment.Strategy
}

// shifted reports a strategy of the blue/green family, which moves traffic
// between two target groups.
func (p *Props) shifted() bool { return p.strategy() != awsecs.DeploymentStrategy_ROLLING }

func (d *Deployment) canaryPercent() float64 {
	return defaults.Or(d.CanaryPercent, DefaultCanaryPercent)
}
func (d *Deployment) linearPercent() float64 {
	return defaults.Or(d.LinearPercent, DefaultLinearPercent)
}

func (p *Props) stepBakeTime() awscdk.Duration {
	def := DefaultCanaryStepBakeTime
	if p.strategy() == awsecs.DeploymentStrategy_LINEAR {
		def = DefaultLinearStepBakeTime
	}
	return defaults.Duration(p.Deployment.StepBakeTime, def)
}

func (p *Props) bakeTime() awscdk.Duration {
	return defaults.Duration(p.Deployment.BakeTime, DefaultDeploymentBakeTime)
}

// shift is the traffic shift of a blue/green-family deploy in plain Go
// values; a token is Unresolved there.
func (p *Props) shift() healthcheck.Shift {
	s := healthcheck.Shift{BakeTime: timing.Of(p.Deployment.BakeTime, DefaultDeploymentBakeTime)}
	switch p.strategy() {
	case awsecs.DeploymentStrategy_CANARY:
		s.Pauses, s.StepBakeTime = 1, timing.Of(p.Deployment.StepBakeTime, DefaultCanaryStepBakeTime)
	case awsecs.DeploymentStrategy_LINEAR:
		if token.IsNumber(p.Deployment.LinearPercent) {
			s.Pauses = timing.UnresolvedCount
		} else {
			s.Pauses = healthcheck.LinearPauses(p.Deployment.linearPercent())
		}
		s.StepBakeTime = timing.Of(p.Deployment.StepBakeTime, DefaultLinearStepBakeTime)
	}
	return s
}

// DeployTime is the worst-case duration of one deploy of a service with
// these props, from the start of the first new task to the SIGKILL of the
// last old one, computed from the timing budget (see healthcheck.Timing):
//   - rolling: Timing.DeployStep once per round of replacements, a round
//     replacing floor(DesiredCount × MaxHealthyPercent / 100) −
//     ceil(DesiredCount × MinHealthyPercent / 100) tasks;
//   - blue/green, canary and linear: Timing.ShiftDeploy, the new tasks
//     healthy + the pauses × StepBakeTime + BakeTime + the old tasks
//     drained and stopped.
//
// Image pulls and lifecycle hooks are not counted. It returns 0 when a value
// it needs is an unresolved token, or when the props cannot deploy at all
// (a round that replaces no task); validate the props first.
func (p *Props) DeployTime() time.Duration {
	t := p.timing()
	if p.shifted() {
		s := p.shift()
		if s.Pauses == timing.UnresolvedCount {
			return 0
		}
		return t.ShiftDeploy(s)
	}
	if token.IsNumber(p.DesiredCount) || token.IsNumber(p.MinHealthyPercent) || token.IsNumber(p.MaxHealthyPercent) {
		return 0
	}
	n := p.desiredCount()
	batch := math.Floor(n*p.maxHealthy()/100) - math.Ceil(n*p.minHealthy()/100)
	if batch < 1 {
		return 0
	}
	return time.Duration(math.Ceil(n/batch)) * t.DeployStep()
}

// validateStrategy judges Deployment against ECS's ranges, against the
// strategy it goes with, and against the rest of the props.
func (p *Props) validateStrategy() error {
	d := p.Deployment
	if d == nil {
		return nil
	}
	if err := checkEnum("Deployment.Strategy", d.Strategy, strategies, "awsecs.DeploymentStrategy", awsecs.DeploymentStrategy_CANARY); err != nil {
		return err
	}
	checks := []func() error{
		p.validateStrategyFields,
		p.validatePercents,
		p.validateBakeTimes,
		p.validateStrategyNeighbours,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateStrategyFields refuses a field set for a strategy that has no
// use for it.
func (p *Props) validateStrategyFields() error {
	d, s := p.Deployment, p.strategy()
	set := func(name string, isSet bool, want ...awsecs.DeploymentStrategy) error {
		if !isSet {
			return nil
		}
		for _, w := range want {
			if s == w {
				return nil
			}
		}
		return fmt.Errorf("agentservice: Deployment.%s is set but Deployment.Strategy is %s; it applies only to %s", name, s, joinStrategies(want))
	}
	family := []awsecs.DeploymentStrategy{awsecs.DeploymentStrategy_BLUE_GREEN, awsecs.DeploymentStrategy_CANARY, awsecs.DeploymentStrategy_LINEAR}
	for _, err := range []error{
		set("CanaryPercent", d.CanaryPercent != nil, awsecs.DeploymentStrategy_CANARY),
		set("LinearPercent", d.LinearPercent != nil, awsecs.DeploymentStrategy_LINEAR),
		set("StepBakeTime", d.StepBakeTime != nil, awsecs.DeploymentStrategy_CANARY, awsecs.DeploymentStrategy_LINEAR),
		set("BakeTime", d.BakeTime != nil, family...),
		set("TestTrafficHeader", d.TestTrafficHeader != nil, family...),
		set("LifecycleHooks", len(d.LifecycleHooks) > 0, family...),
	} {
		if err != nil {
			return err
		}
	}
	if d.TestTrafficSecret != nil && d.TestTrafficHeader == nil {
		return fmt.Errorf("agentservice: Deployment.TestTrafficSecret is set without Deployment.TestTrafficHeader; it is the value that header must carry, so name the header too")
	}
	if v := d.TestTrafficHeader; v != nil && !token.IsString(v) && !headerName.MatchString(*v) {
		return fmt.Errorf("agentservice: Deployment.TestTrafficHeader %q is not a header name the load balancer matches; use 1 to 40 letters, digits, '-' and '_', such as \"X-Agent-Canary\"", *v)
	}
	return nil
}

func joinStrategies(s []awsecs.DeploymentStrategy) string {
	switch len(s) {
	case 1:
		return string(s[0])
	case 2:
		return string(s[0]) + " and " + string(s[1])
	}
	return string(s[0]) + ", " + joinStrategies(s[1:])
}

func (p *Props) validatePercents() error {
	d := p.Deployment
	if err := checkPercent("CanaryPercent", d.CanaryPercent, canaryRange); err != nil {
		return err
	}
	return checkPercent("LinearPercent", d.LinearPercent, linearRange)
}

// checkPercent holds a traffic share to ECS's range and its steps of 0.1.
func checkPercent(name string, v *float64, r percentRange) error {
	if v == nil || token.IsNumber(v) {
		return nil
	}
	tenths := *v * 10
	if math.IsNaN(*v) || *v < r.lo || *v > r.hi || math.Abs(tenths-math.Round(tenths)) > 1e-9 {
		return fmt.Errorf("agentservice: Deployment.%s %v is out of range; use %v to %v in steps of 0.1", name, *v, r.lo, r.hi)
	}
	return nil
}

// alarmWindow is the time the deployment alarms need to fire: their
// evaluation periods (see alarms).
const alarmWindow = alarmEvaluationPeriods * alarmPeriod

// alarmNeed is how long a bake must last for the deployment alarms to judge
// what it baked: a request that fails slowly is answered (504) only at the
// request deadline, and lands in the 5xx metric then; the alarm needs its
// window after that. So alarmWindow + RequestTimeout, in the whole minutes
// ECS counts. An unresolved deadline counts as none.
func (p *Props) alarmNeed() (need, deadline time.Duration) {
	deadline = p.timing().RequestTimeout
	if deadline == timing.Unresolved || deadline < 0 {
		deadline = 0
	}
	need = alarmWindow + deadline
	if r := need % time.Minute; r != 0 {
		need += time.Minute - r
	}
	return need, deadline
}

func (p *Props) validateBakeTimes() error {
	if !p.shifted() {
		return nil
	}
	s := p.shift()
	var need, deadline time.Duration
	if defaults.Or(p.DeploymentAlarms, true) {
		need, deadline = p.alarmNeed()
	}
	if s.Pauses > 0 {
		if err := checkBake("StepBakeTime", s.StepBakeTime, need, deadline); err != nil {
			return err
		}
	}
	if err := checkBake("BakeTime", s.BakeTime, need, deadline); err != nil {
		return err
	}
	if s.Pauses == timing.UnresolvedCount || s.StepBakeTime == timing.Unresolved || s.BakeTime == timing.Unresolved {
		return nil
	}
	if total := s.TrafficTime(); p.strategy() != awsecs.DeploymentStrategy_BLUE_GREEN && total > maxCloudFormationTrafficTime {
		return fmt.Errorf("agentservice: Deployment bakes for %s (BakeTime %s + %d × StepBakeTime %s), over the %s CloudFormation allows a %s deploy; shorten BakeTime or StepBakeTime",
			timing.Format(total), timing.Format(s.BakeTime), s.Pauses, timing.Format(s.StepBakeTime), timing.Format(maxCloudFormationTrafficTime), p.strategy())
	}
	return nil
}

// checkBake holds a bake time to ECS's whole minutes, 0 to 1440, and to
// need, what the deployment alarms need to judge it (0 without them).
func checkBake(name string, d, need, deadline time.Duration) error {
	switch {
	case d == timing.Unresolved:
		return nil
	case d < 0 || d > maxBakeTime:
		return fmt.Errorf("agentservice: Deployment.%s %s is out of range; use whole minutes from 0s to %s (24 h)", name, timing.Format(d), timing.Format(maxBakeTime))
	case d%time.Minute != 0:
		return fmt.Errorf("agentservice: Deployment.%s %s is not a whole number of minutes, which is what ECS counts; use %s or %s", name, timing.Format(d), timing.Format(d.Truncate(time.Minute)), timing.Format(d.Truncate(time.Minute)+time.Minute))
	case d < need:
		return fmt.Errorf("agentservice: Deployment.%s %s is shorter than the %s the deployment alarms need to judge it (%d one-minute datapoints after a request that fails at its RequestTimeout, %s, is answered), so it would end before they could roll the deploy back; use at least %s, or turn DeploymentAlarms off",
			name, timing.Format(d), timing.Format(need), alarmEvaluationPeriods, timing.Format(deadline), timing.Format(need))
	}
	return nil
}

// validateStrategyNeighbours refuses the other props that a blue/green-family
// deploy contradicts.
func (p *Props) validateStrategyNeighbours() error {
	if !p.shifted() {
		return nil
	}
	s := p.strategy()
	if p.Scaling == nil || !defaults.Or(p.Scaling.DisableRequests, false) {
		return fmt.Errorf("agentservice: Deployment.Strategy %s moves traffic between TargetGroup and AlternateTargetGroup, so the requests-per-target scaling policy, which watches TargetGroup, would see no requests after every second deploy; set Scaling.DisableRequests (CPU scaling stays on)", s)
	}
	return nil
}
