package scaling

import (
	"math"
	"time"

	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/propmsg"
	"github.com/agentcdk/agentcdk/internal/timing"
	"github.com/agentcdk/agentcdk/internal/token"
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapplicationautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/jsii-runtime-go"
)

// Defaults: the reference values.
const (
	// DefaultMinCapacity is the smallest task count scale-in may reach.
	DefaultMinCapacity = 1
	// DefaultMaxCapacity is the largest task count scale-out may reach.
	DefaultMaxCapacity = 10

	// DefaultCpuTargetPercent is the average CPU utilisation the CPU policy
	// keeps the service at.
	DefaultCpuTargetPercent = 70
	// DefaultCpuScaleInCooldown is the wait after a CPU scale-in.
	DefaultCpuScaleInCooldown = 60 * time.Second
	// DefaultCpuScaleOutCooldown is the wait after a CPU scale-out.
	DefaultCpuScaleOutCooldown = 30 * time.Second

	// DefaultRequestsPerTarget is the number of ALB requests per task and
	// minute the request policy keeps the service at.
	DefaultRequestsPerTarget = 100
	// DefaultRequestsScaleInCooldown is the wait after a request scale-in.
	DefaultRequestsScaleInCooldown = 120 * time.Second
	// DefaultRequestsScaleOutCooldown is the wait after a request scale-out.
	DefaultRequestsScaleOutCooldown = 30 * time.Second

	// DefaultMemoryTargetPercent is the average memory utilisation the
	// memory policy keeps the service at, once Props.Memory turns it on.
	DefaultMemoryTargetPercent = 75
	// DefaultMemoryScaleInCooldown is the wait after a memory scale-in.
	DefaultMemoryScaleInCooldown = DefaultCpuScaleInCooldown
	// DefaultMemoryScaleOutCooldown is the wait after a memory scale-out.
	DefaultMemoryScaleOutCooldown = DefaultCpuScaleOutCooldown

	// DefaultRequestsInFlightPerTask is the average number of requests in
	// flight per task that the concurrency policy keeps. It matches the
	// requests policy for answers of 6 s (100 requests a minute × 6 s /
	// 60 s = 10 at once): an agent whose answers take longer holds more
	// requests per task than its request rate shows, and this policy adds
	// tasks before the requests policy would.
	DefaultRequestsInFlightPerTask = 10
	// DefaultConcurrencyScaleInCooldown is the wait after a concurrency
	// scale-in.
	DefaultConcurrencyScaleInCooldown = DefaultRequestsScaleInCooldown
	// DefaultConcurrencyScaleOutCooldown is the wait after a concurrency
	// scale-out.
	DefaultConcurrencyScaleOutCooldown = DefaultRequestsScaleOutCooldown
)

// The construct IDs of the policies under the scalable task count. They
// are part of the contract: renaming one replaces the policy.
const (
	cpuPolicyID         = "Cpu"
	requestsPolicyID    = "Requests"
	memoryPolicyID      = "Memory"
	concurrencyPolicyID = "Concurrency"
)

// TargetProps tunes a utilisation policy (CPU or memory).
type TargetProps struct {
	// TargetPercent is the average utilisation to keep, 1 to 100.
	// Default: DefaultCpuTargetPercent (70) for CPU,
	// DefaultMemoryTargetPercent (75) for memory.
	TargetPercent *float64

	// ScaleInCooldown is the wait after a scale-in before the next one,
	// 0 s or more in whole seconds. Default: 60 s for CPU and memory.
	ScaleInCooldown awscdk.Duration

	// ScaleOutCooldown is the wait after a scale-out before the next one,
	// 0 s or more in whole seconds. Default: 30 s for CPU and memory.
	ScaleOutCooldown awscdk.Duration
}

// RequestProps tunes the requests-per-target policy.
type RequestProps struct {
	// RequestsPerTarget is the number of ALB requests per task and minute
	// to keep, 1 or more. Default: DefaultRequestsPerTarget (100).
	RequestsPerTarget *float64

	// ScaleInCooldown is the wait after a scale-in before the next one,
	// 0 s or more in whole seconds.
	// Default: DefaultRequestsScaleInCooldown (120 s).
	ScaleInCooldown awscdk.Duration

	// ScaleOutCooldown is the wait after a scale-out before the next one,
	// 0 s or more in whole seconds.
	// Default: DefaultRequestsScaleOutCooldown (30 s).
	ScaleOutCooldown awscdk.Duration
}

// ConcurrencyProps tunes the concurrency policy: target tracking of the
// average number of requests in flight per task, which agentkit.Server
// reports as agentkit.MetricRequestsInFlight.
type ConcurrencyProps struct {
	// RequestsInFlightPerTask is the average number of requests one task
	// should hold at once, more than 0: the concurrency a task serves well
	// (its model calls, memory and CPU allow). Default:
	// DefaultRequestsInFlightPerTask (10).
	RequestsInFlightPerTask *float64

	// ScaleInCooldown is the wait after a scale-in before the next one,
	// 0 s or more in whole seconds.
	// Default: DefaultConcurrencyScaleInCooldown (120 s).
	ScaleInCooldown awscdk.Duration

	// ScaleOutCooldown is the wait after a scale-out before the next one,
	// 0 s or more in whole seconds.
	// Default: DefaultConcurrencyScaleOutCooldown (30 s).
	ScaleOutCooldown awscdk.Duration
}

// Props configures the task-count range and the policies. The zero value
// (or a nil *Props) is the reference configuration: 1 to 10 tasks, CPU at
// 70 % (60 s in, 30 s out), 100 requests per target (120 s in, 30 s out).
type Props struct {
	// MinCapacity is the smallest task count, 0 or more.
	// Default: DefaultMinCapacity (1).
	MinCapacity *float64

	// MaxCapacity is the largest task count, 1 or more and not below
	// MinCapacity. Default: DefaultMaxCapacity (10).
	MaxCapacity *float64

	// Cpu tunes the CPU policy. Default: on, 70 %, 60 s scale-in and 30 s
	// scale-out cooldown.
	Cpu *TargetProps

	// DisableCpu turns the CPU policy off. Default: false (the policy is on).
	DisableCpu *bool

	// Requests tunes the requests-per-target policy. Default: on when Apply
	// gets a target group, 100 requests, 120 s scale-in and 30 s scale-out
	// cooldown.
	Requests *RequestProps

	// DisableRequests turns the requests-per-target policy off.
	// Default: false (the policy is on when there is a target group).
	DisableRequests *bool

	// Memory turns the memory policy on and tunes it.
	// Default: off; when set, 75 %, 60 s scale-in and 30 s scale-out cooldown.
	Memory *TargetProps

	// Concurrency tunes the concurrency policy. Default: on when Apply gets
	// the in-flight metric, 10 requests in flight per task, 120 s scale-in
	// and 30 s scale-out cooldown.
	Concurrency *ConcurrencyProps

	// DisableConcurrency turns the concurrency policy off, as for an agent
	// that does not serve through agentkit.Server and so writes no
	// in-flight metric. Default: false (the policy is on when there is an
	// in-flight metric).
	DisableConcurrency *bool
}

// policy is one target-tracking policy with its defaults chosen: a
// cooldown left nil takes its default, which the policy carries beside it,
// so that validation reads it without jsii and Apply writes it into the
// template.
type policy struct {
	enabled           bool
	target            float64
	scaleIn, scaleOut awscdk.Duration
	defaultIn         time.Duration
	defaultOut        time.Duration
}

// plan is Props with every default chosen: what Validate judges and what
// Apply builds. Capacities that are unresolved tokens keep their CDK
// encoding.
type plan struct {
	min, max                           float64
	cpu, requests, memory, concurrency policy
}

// plan is the one place Props' defaults are applied.
func (p *Props) plan() plan {
	if p == nil {
		p = &Props{}
	}
	cpu := defaults.Or(p.Cpu, TargetProps{})
	req := defaults.Or(p.Requests, RequestProps{})
	mem := defaults.Or(p.Memory, TargetProps{})
	con := defaults.Or(p.Concurrency, ConcurrencyProps{})
	return plan{
		min: defaults.Or(p.MinCapacity, DefaultMinCapacity),
		max: defaults.Or(p.MaxCapacity, DefaultMaxCapacity),
		cpu: policy{
			enabled:   !defaults.Or(p.DisableCpu, false),
			target:    defaults.Or(cpu.TargetPercent, DefaultCpuTargetPercent),
			scaleIn:   cpu.ScaleInCooldown,
			scaleOut:  cpu.ScaleOutCooldown,
			defaultIn: DefaultCpuScaleInCooldown, defaultOut: DefaultCpuScaleOutCooldown,
		},
		requests: policy{
			enabled:   !defaults.Or(p.DisableRequests, false),
			target:    defaults.Or(req.RequestsPerTarget, DefaultRequestsPerTarget),
			scaleIn:   req.ScaleInCooldown,
			scaleOut:  req.ScaleOutCooldown,
			defaultIn: DefaultRequestsScaleInCooldown, defaultOut: DefaultRequestsScaleOutCooldown,
		},
		memory: policy{
			enabled:   p.Memory != nil,
			target:    defaults.Or(mem.TargetPercent, DefaultMemoryTargetPercent),
			scaleIn:   mem.ScaleInCooldown,
			scaleOut:  mem.ScaleOutCooldown,
			defaultIn: DefaultMemoryScaleInCooldown, defaultOut: DefaultMemoryScaleOutCooldown,
		},
		concurrency: policy{
			enabled:   !defaults.Or(p.DisableConcurrency, false),
			target:    defaults.Or(con.RequestsInFlightPerTask, DefaultRequestsInFlightPerTask),
			scaleIn:   con.ScaleInCooldown,
			scaleOut:  con.ScaleOutCooldown,
			defaultIn: DefaultConcurrencyScaleInCooldown, defaultOut: DefaultConcurrencyScaleOutCooldown,
		},
	}
}

// cooldowns returns the policy's cooldowns for the CDK.
func (pp policy) cooldowns() (in, out awscdk.Duration) {
	return defaults.Duration(pp.scaleIn, pp.defaultIn), defaults.Duration(pp.scaleOut, pp.defaultOut)
}

// validate reports the first value that Application Auto Scaling would
// refuse or that makes no sense: capacities whole numbers, MinCapacity 0
// or more, MaxCapacity 1 or more and not below MinCapacity; percentages
// 1 to 100; requests per target 1 or more; requests in flight per task
// above 0; cooldowns in whole seconds.
// Disabled policies are not judged, nor are unresolved tokens.
func (pl plan) validate() error {
	checks := []func() error{
		func() error { return checkCapacity("MinCapacity", pl.min, 0) },
		func() error { return checkCapacity("MaxCapacity", pl.max, 1) },
		pl.checkRange,
		func() error { return checkPolicy("Cpu", "TargetPercent", pl.cpu, 1, 100) },
		func() error { return checkPolicy("Requests", "RequestsPerTarget", pl.requests, 1, math.Inf(1)) },
		func() error { return checkPolicy("Memory", "TargetPercent", pl.memory, 1, 100) },
		pl.checkConcurrency,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// errorf builds a validation error with the package prefix. Prop names
// among args are propmsg.Names, so that agentservice can report them as
// its user set them (Scaling.MinCapacity).
func errorf(format string, args ...any) error {
	return propmsg.Errorf("scaling", format, args...)
}

// name marks a prop name in a message.
func name(n string) propmsg.Name { return propmsg.Name(n) }

func checkCapacity(prop string, n, lo float64) error {
	switch {
	case token.IsNumber(&n):
		return nil
	case n != math.Trunc(n) || math.IsInf(n, 0):
		return errorf("%s %v is not a whole number; use a task count of %v or more", name(prop), n, lo)
	case n < lo:
		return errorf("%s %v is too small; use %v or more", name(prop), n, lo)
	}
	return nil
}

func (pl plan) checkRange() error {
	if token.IsNumber(&pl.min) || token.IsNumber(&pl.max) || pl.min <= pl.max {
		return nil
	}
	return errorf("%s %v is above %s %v; use a minimum no larger than the maximum", name("MinCapacity"), pl.min, name("MaxCapacity"), pl.max)
}

func checkPolicy(policyName, targetName string, pp policy, lo, hi float64) error {
	if !pp.enabled {
		return nil
	}
	if !token.IsNumber(&pp.target) && (math.IsNaN(pp.target) || pp.target < lo || pp.target > hi) {
		if math.IsInf(hi, 1) {
			return errorf("%s %v is out of range; use %v or more", name(policyName+"."+targetName), pp.target, lo)
		}
		return errorf("%s %v is out of range; use %v to %v", name(policyName+"."+targetName), pp.target, lo, hi)
	}
	return checkCooldowns(policyName, pp)
}

func checkCooldowns(policyName string, pp policy) error {
	if err := checkCooldown(policyName+".ScaleInCooldown", timing.Of(pp.scaleIn, pp.defaultIn)); err != nil {
		return err
	}
	return checkCooldown(policyName+".ScaleOutCooldown", timing.Of(pp.scaleOut, pp.defaultOut))
}

// checkConcurrency holds the in-flight target above 0: a fraction is
// meaningful (a task that should hold half a request on average), zero
// or less is not.
func (pl plan) checkConcurrency() error {
	pp := pl.concurrency
	if !pp.enabled {
		return nil
	}
	if !token.IsNumber(&pp.target) && !(pp.target > 0 && !math.IsInf(pp.target, 1)) {
		return errorf("%s %v is out of range; use a finite number above 0", name("Concurrency.RequestsInFlightPerTask"), pp.target)
	}
	return checkCooldowns("Concurrency", pp)
}

// checkCooldown checks that d is whole seconds; awscdk.Duration cannot be
// negative.
func checkCooldown(prop string, d time.Duration) error {
	if d != timing.Unresolved && d%time.Second != 0 {
		return errorf("%s %s is not a whole number of seconds; use whole seconds, 0s or more", name(prop), timing.Format(d))
	}
	return nil
}

// Validate reports the first prop that Application Auto Scaling would
// refuse or that makes no sense, with a message naming the prop, its value
// and what is allowed: capacities whole numbers, MinCapacity 0 or more,
// MaxCapacity 1 or more and not below MinCapacity; percentages 1 to 100;
// requests per target 1 or more; requests in flight per task above 0;
// cooldowns in whole seconds; a policy both tuned and turned off. Disabled policies are not judged, nor are
// unresolved tokens. A nil receiver is the default configuration and
// valid. It calls into jsii only to read durations that are set.
func (p *Props) Validate() error {
	if p == nil {
		return nil
	}
	if p.Cpu != nil && defaults.Or(p.DisableCpu, false) {
		return errorf("%s is set but %s is true; drop one of them", name("Cpu"), name("DisableCpu"))
	}
	if p.Requests != nil && defaults.Or(p.DisableRequests, false) {
		return errorf("%s is set but %s is true; drop one of them", name("Requests"), name("DisableRequests"))
	}
	if p.Concurrency != nil && defaults.Or(p.DisableConcurrency, false) {
		return errorf("%s is set but %s is true; drop one of them", name("Concurrency"), name("DisableConcurrency"))
	}
	return p.plan().validate()
}

// Apply turns on autoscaling for service and creates the policies p
// describes under its scalable task count, with the construct IDs "Cpu",
// "Requests", "Memory" and "Concurrency". targetGroup may be nil: then
// there is no requests-per-target policy; when given it must already be
// attached to a load balancer (a listener's target group). inFlight may be
// nil: then there is no concurrency policy; when given it is the metric
// agentkit.Server writes, agentkit.MetricRequestsInFlight in the service's
// namespace with its agentkit.DimensionService, statistic Average over one
// minute, which is the average per task (agentservice.New passes it).
// Apply panics with the Validate message on bad props, before creating
// anything.
func Apply(service awsecs.BaseService, targetGroup elbv2.ApplicationTargetGroup, inFlight awscloudwatch.IMetric, p *Props) awsecs.ScalableTaskCount {
	if err := p.Validate(); err != nil {
		panic(err.Error())
	}
	pl := p.plan()
	count := service.AutoScaleTaskCount(&awsapplicationautoscaling.EnableScalingProps{
		MinCapacity: jsii.Number(pl.min),
		MaxCapacity: jsii.Number(pl.max),
	})
	if pl.cpu.enabled {
		in, out := pl.cpu.cooldowns()
		count.ScaleOnCpuUtilization(jsii.String(cpuPolicyID), &awsecs.CpuUtilizationScalingProps{
			TargetUtilizationPercent: jsii.Number(pl.cpu.target), ScaleInCooldown: in, ScaleOutCooldown: out,
		})
	}
	if targetGroup != nil && pl.requests.enabled {
		in, out := pl.requests.cooldowns()
		count.ScaleOnRequestCount(jsii.String(requestsPolicyID), &awsecs.RequestCountScalingProps{
			RequestsPerTarget: jsii.Number(pl.requests.target), TargetGroup: targetGroup,
			ScaleInCooldown: in, ScaleOutCooldown: out,
		})
	}
	if pl.memory.enabled {
		in, out := pl.memory.cooldowns()
		count.ScaleOnMemoryUtilization(jsii.String(memoryPolicyID), &awsecs.MemoryUtilizationScalingProps{
			TargetUtilizationPercent: jsii.Number(pl.memory.target), ScaleInCooldown: in, ScaleOutCooldown: out,
		})
	}
	if inFlight != nil && pl.concurrency.enabled {
		in, out := pl.concurrency.cooldowns()
		count.ScaleToTrackCustomMetric(jsii.String(concurrencyPolicyID), &awsecs.TrackCustomMetricProps{
			Metric: inFlight, TargetValue: jsii.Number(pl.concurrency.target), ScaleInCooldown: in, ScaleOutCooldown: out,
		})
	}
	return count
}
