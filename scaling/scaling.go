package scaling

import (
	"fmt"
	"math"
	"time"

	"github.com/agentcdk/agentcdk/healthcheck"
	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/token"
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapplicationautoscaling"
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
)

// Construct IDs of the policies under the scalable task count. They are
// part of the contract: renaming one replaces the policy.
const (
	CpuPolicyID      = "Cpu"
	RequestsPolicyID = "Requests"
	MemoryPolicyID   = "Memory"
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
}

// PolicyPlan is one target-tracking policy in plain Go values.
type PolicyPlan struct {
	// Enabled is whether Apply creates the policy.
	Enabled bool
	// Target is the utilisation percent (CPU, memory) or the requests per
	// target; an unresolved token keeps its CDK encoding (see token.IsNumber).
	Target float64
	// ScaleInCooldown is the wait after a scale-in, or healthcheck.Unresolved.
	ScaleInCooldown time.Duration
	// ScaleOutCooldown is the wait after a scale-out, or healthcheck.Unresolved.
	ScaleOutCooldown time.Duration
}

// Plan is Props with every default applied, in plain Go values: what Apply
// builds. Capacities that are unresolved tokens keep their CDK encoding.
type Plan struct {
	// MinCapacity is the smallest task count.
	MinCapacity float64
	// MaxCapacity is the largest task count.
	MaxCapacity float64
	// Cpu is the CPU utilisation policy.
	Cpu PolicyPlan
	// Requests is the requests-per-target policy; Enabled means "when
	// Apply gets a target group".
	Requests PolicyPlan
	// Memory is the memory utilisation policy.
	Memory PolicyPlan
}

// Plan resolves p with its defaults. Reading durations calls into jsii.
func (p *Props) Plan() Plan {
	if p == nil {
		p = &Props{}
	}
	cpu, req, mem := p.Cpu, p.Requests, p.Memory
	if cpu == nil {
		cpu = &TargetProps{}
	}
	if req == nil {
		req = &RequestProps{}
	}
	return Plan{
		MinCapacity: Min(p),
		MaxCapacity: Max(p),
		Cpu: PolicyPlan{
			Enabled:          !isTrue(p.DisableCpu),
			Target:           defaults.Or(cpu.TargetPercent, DefaultCpuTargetPercent),
			ScaleInCooldown:  resolve(cpu.ScaleInCooldown, DefaultCpuScaleInCooldown),
			ScaleOutCooldown: resolve(cpu.ScaleOutCooldown, DefaultCpuScaleOutCooldown),
		},
		Requests: PolicyPlan{
			Enabled:          !isTrue(p.DisableRequests),
			Target:           defaults.Or(req.RequestsPerTarget, DefaultRequestsPerTarget),
			ScaleInCooldown:  resolve(req.ScaleInCooldown, DefaultRequestsScaleInCooldown),
			ScaleOutCooldown: resolve(req.ScaleOutCooldown, DefaultRequestsScaleOutCooldown),
		},
		Memory: memoryPlan(mem),
	}
}

func memoryPlan(mem *TargetProps) PolicyPlan {
	if mem == nil {
		return PolicyPlan{
			Target:           DefaultMemoryTargetPercent,
			ScaleInCooldown:  DefaultMemoryScaleInCooldown,
			ScaleOutCooldown: DefaultMemoryScaleOutCooldown,
		}
	}
	return PolicyPlan{
		Enabled:          true,
		Target:           defaults.Or(mem.TargetPercent, DefaultMemoryTargetPercent),
		ScaleInCooldown:  resolve(mem.ScaleInCooldown, DefaultMemoryScaleInCooldown),
		ScaleOutCooldown: resolve(mem.ScaleOutCooldown, DefaultMemoryScaleOutCooldown),
	}
}

// Validate reports the first value that Application Auto Scaling would
// refuse or that makes no sense: capacities whole numbers, MinCapacity 0
// or more, MaxCapacity 1 or more and not below MinCapacity; percentages
// 1 to 100; requests per target 1 or more; cooldowns 0 s or more in whole
// seconds. Disabled policies are not judged, nor are unresolved tokens.
func (p Plan) Validate() error {
	checks := []func() error{
		func() error { return checkCapacity("MinCapacity", p.MinCapacity, 0) },
		func() error { return checkCapacity("MaxCapacity", p.MaxCapacity, 1) },
		p.checkRange,
		func() error { return checkPolicy("Cpu", "TargetPercent", p.Cpu, 1, 100) },
		func() error { return checkPolicy("Requests", "RequestsPerTarget", p.Requests, 1, math.Inf(1)) },
		func() error { return checkPolicy("Memory", "TargetPercent", p.Memory, 1, 100) },
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func errorf(format string, args ...any) error {
	return fmt.Errorf("scaling: "+format, args...)
}

func checkCapacity(name string, n, lo float64) error {
	switch {
	case token.IsNumber(&n):
		return nil
	case n != math.Trunc(n) || math.IsInf(n, 0):
		return errorf("%s %v is not a whole number; use a task count of %v or more", name, n, lo)
	case n < lo:
		return errorf("%s %v is too small; use %v or more", name, n, lo)
	}
	return nil
}

func (p Plan) checkRange() error {
	if token.IsNumber(&p.MinCapacity) || token.IsNumber(&p.MaxCapacity) || p.MinCapacity <= p.MaxCapacity {
		return nil
	}
	return errorf("MinCapacity %v is above MaxCapacity %v; use a minimum no larger than the maximum", p.MinCapacity, p.MaxCapacity)
}

func checkPolicy(policy, targetName string, pp PolicyPlan, lo, hi float64) error {
	if !pp.Enabled {
		return nil
	}
	if !token.IsNumber(&pp.Target) && (math.IsNaN(pp.Target) || pp.Target < lo || pp.Target > hi) {
		if math.IsInf(hi, 1) {
			return errorf("%s.%s %v is out of range; use %v or more", policy, targetName, pp.Target, lo)
		}
		return errorf("%s.%s %v is out of range; use %v to %v", policy, targetName, pp.Target, lo, hi)
	}
	if err := checkCooldown(policy+".ScaleInCooldown", pp.ScaleInCooldown); err != nil {
		return err
	}
	return checkCooldown(policy+".ScaleOutCooldown", pp.ScaleOutCooldown)
}

func checkCooldown(name string, d time.Duration) error {
	switch {
	case d == healthcheck.Unresolved:
		return nil
	case d < 0:
		return errorf("%s %s is negative; use 0s or more", name, healthcheck.FormatDuration(d))
	case d%time.Second != 0:
		return errorf("%s %s is not a whole number of seconds; use whole seconds, 0s or more", name, healthcheck.FormatDuration(d))
	}
	return nil
}

// Validate reports the first prop that Application Auto Scaling would
// refuse or that makes no sense (see Plan.Validate), and a policy that is
// both tuned and turned off. A nil receiver is the default configuration
// and valid.
func (p *Props) Validate() error {
	if p == nil {
		return nil
	}
	if p.Cpu != nil && isTrue(p.DisableCpu) {
		return errorf("Cpu is set but DisableCpu is true; drop one of them")
	}
	if p.Requests != nil && isTrue(p.DisableRequests) {
		return errorf("Requests is set but DisableRequests is true; drop one of them")
	}
	return p.Plan().Validate()
}

// Min returns the smallest task count p allows: MinCapacity or its
// default. A token comes back as is (see token.IsNumber).
func Min(p *Props) float64 {
	if p == nil {
		return DefaultMinCapacity
	}
	return defaults.Or(p.MinCapacity, DefaultMinCapacity)
}

// Max returns the largest task count p allows: MaxCapacity or its default.
// A token comes back as is (see token.IsNumber).
func Max(p *Props) float64 {
	if p == nil {
		return DefaultMaxCapacity
	}
	return defaults.Or(p.MaxCapacity, DefaultMaxCapacity)
}

// Apply turns on autoscaling for service and creates the policies p
// describes under its scalable task count, with the construct IDs
// CpuPolicyID, RequestsPolicyID and MemoryPolicyID. targetGroup may be
// nil: then there is no requests-per-target policy; when given it must
// already be attached to a load balancer (a listener's target group).
// Apply panics with the Validate message on bad props, before creating
// anything.
func Apply(service awsecs.BaseService, targetGroup elbv2.ApplicationTargetGroup, p *Props) awsecs.ScalableTaskCount {
	if err := p.Validate(); err != nil {
		panic(err.Error())
	}
	if p == nil {
		p = &Props{}
	}
	count := service.AutoScaleTaskCount(&awsapplicationautoscaling.EnableScalingProps{
		MinCapacity: jsii.Number(Min(p)),
		MaxCapacity: jsii.Number(Max(p)),
	})
	if !isTrue(p.DisableCpu) {
		cpu := p.Cpu
		if cpu == nil {
			cpu = &TargetProps{}
		}
		count.ScaleOnCpuUtilization(jsii.String(CpuPolicyID), &awsecs.CpuUtilizationScalingProps{
			TargetUtilizationPercent: jsii.Number(defaults.Or(cpu.TargetPercent, DefaultCpuTargetPercent)),
			ScaleInCooldown:          defaults.Duration(cpu.ScaleInCooldown, DefaultCpuScaleInCooldown),
			ScaleOutCooldown:         defaults.Duration(cpu.ScaleOutCooldown, DefaultCpuScaleOutCooldown),
		})
	}
	if targetGroup != nil && !isTrue(p.DisableRequests) {
		req := p.Requests
		if req == nil {
			req = &RequestProps{}
		}
		count.ScaleOnRequestCount(jsii.String(RequestsPolicyID), &awsecs.RequestCountScalingProps{
			RequestsPerTarget: jsii.Number(defaults.Or(req.RequestsPerTarget, DefaultRequestsPerTarget)),
			TargetGroup:       targetGroup,
			ScaleInCooldown:   defaults.Duration(req.ScaleInCooldown, DefaultRequestsScaleInCooldown),
			ScaleOutCooldown:  defaults.Duration(req.ScaleOutCooldown, DefaultRequestsScaleOutCooldown),
		})
	}
	if mem := p.Memory; mem != nil {
		count.ScaleOnMemoryUtilization(jsii.String(MemoryPolicyID), &awsecs.MemoryUtilizationScalingProps{
			TargetUtilizationPercent: jsii.Number(defaults.Or(mem.TargetPercent, DefaultMemoryTargetPercent)),
			ScaleInCooldown:          defaults.Duration(mem.ScaleInCooldown, DefaultMemoryScaleInCooldown),
			ScaleOutCooldown:         defaults.Duration(mem.ScaleOutCooldown, DefaultMemoryScaleOutCooldown),
		})
	}
	return count
}

func isTrue(b *bool) bool { return b != nil && *b }

func resolve(d awscdk.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	if v, ok := healthcheck.Seconds(d); ok {
		return v
	}
	return healthcheck.Unresolved
}
