package main

import (
	"fmt"
	"math"
)

// Params are the model's inputs. Times are whole seconds: the model steps
// one second at a time.
type Params struct {
	Baseline    float64 // arrivals per second outside the burst
	BurstFactor float64 // arrival rate during the burst, as a multiple of Baseline
	BurstStart  int     // s from the start
	BurstLength int     // s
	Duration    int     // s simulated

	Hold          int     // s of wall time each request holds (the LLM wait)
	CPUPerRequest float64 // share of one vCPU a request uses while it waits (0.02 = 2 %)
	TaskVCPU      float64 // vCPUs per task
	TaskLimit     int     // requests a task holds at once; more are answered 503

	StartTasks, MinTasks, MaxTasks int

	TaskStart   int // s from the scaling decision until the container serves (image pull, start)
	HealthDelay int // s from then until the ALB marks it healthy and routes to it
	DeregDelay  int // s a scaled-in task stays registered, draining, before it stops
	MetricDelay int // s after a one-minute period ends before its datapoint reaches the alarm

	HighPoints int     // consecutive datapoints above target that fire the scale-out alarm
	LowPoints  int     // consecutive datapoints below LowRatio × target that fire the scale-in alarm
	LowRatio   float64 // the scale-in alarm's threshold as a share of the target
}

// Metric is what a policy tracks.
type Metric int

const (
	// CPU is ECSServiceAverageCPUUtilization: the service's CPU used over
	// CPU reserved, over the running tasks, in percent.
	CPU Metric = iota
	// RequestsPerTarget is ALBRequestCountPerTarget: the minute's requests
	// to the target group divided by its healthy targets.
	RequestsPerTarget
	// InFlight is agentkit's RequestsInFlight, statistic Average over the
	// Service dimension: the mean of every running task's 10 s points.
	InFlight
)

func (m Metric) String() string {
	return [...]string{"CPU %", "requests/target/min", "in-flight/task"}[m]
}

// Policy is one target-tracking policy.
type Policy struct {
	Metric           Metric
	Target           float64
	ScaleInCooldown  int // s
	ScaleOutCooldown int // s
}

// Setup is a named set of policies on one service.
type Setup struct {
	Name     string
	Policies []Policy
}

// task is one ECS task of the service.
type task struct {
	up       int   // second its container serves and reports metrics
	healthy  int   // second the ALB starts routing to it
	stopAt   int   // second it stops, once scaled in; 0 while in service
	inflight int   // requests it holds now
	ends     []int // requests ending at each second, a ring of Hold+1 slots
}

func (t *task) draining() bool      { return t.stopAt > 0 }
func (t *task) running(s int) bool  { return s >= t.up }
func (t *task) routable(s int) bool { return s >= t.healthy && !t.draining() }

// point is one policy's datapoint for one minute.
type point struct{ cpu, reqPerTarget, inflight float64 }

func (p point) value(m Metric) float64 {
	switch m {
	case CPU:
		return p.cpu
	case RequestsPerTarget:
		return p.reqPerTarget
	}
	return p.inflight
}

// Decision is one change of the desired count.
type Decision struct {
	At       int // s
	From, To int
}

// Result is what one setup went through.
type Result struct {
	Setup                   Setup
	Arrived, Served         int
	Rejected, BurstRejected int
	BurstArrived            int
	PeakInFlight            float64 // the largest per-second mean in-flight over routable tasks
	Enough                  int     // routable tasks that hold the burst at or below TaskLimit
	TimeToEnough            int     // s from the burst's start; -1 when not reached during the burst
	Desired, Routable       []int   // per minute, at the minute's end
	Decisions               []Decision
	MinDesired, MaxDesired  int
	ScaledInDuringBurst     bool
	TaskSeconds             int // seconds of running tasks: the Fargate bill
	Points                  []point
}

// rate is the arrival rate at second s.
func (p Params) rate(s int) float64 {
	if p.inBurst(s) {
		return p.Baseline * p.BurstFactor
	}
	return p.Baseline
}

func (p Params) inBurst(s int) bool { return s >= p.BurstStart && s < p.BurstStart+p.BurstLength }

// EnoughTasks is the smallest task count that holds the burst's steady
// in-flight load (burst rate × hold) at or below the task limit.
func (p Params) EnoughTasks() int {
	return int(math.Ceil(p.Baseline*p.BurstFactor*float64(p.Hold)/float64(p.TaskLimit) - 1e-9))
}

// Validate says what is wrong with p, or nil.
func (p Params) Validate() error {
	switch {
	case p.Baseline <= 0 || p.BurstFactor < 1:
		return fmt.Errorf("baseline %v req/s and burst factor %v: use a baseline above 0 and a factor of 1 or more", p.Baseline, p.BurstFactor)
	case p.Hold < 1 || p.TaskLimit < 1 || p.TaskVCPU <= 0 || p.CPUPerRequest < 0:
		return fmt.Errorf("hold %d s, limit %d, %v vCPU, %v vCPU per request: all must be positive", p.Hold, p.TaskLimit, p.TaskVCPU, p.CPUPerRequest)
	case p.MinTasks < 1 || p.MaxTasks < p.MinTasks || p.StartTasks < p.MinTasks || p.StartTasks > p.MaxTasks:
		return fmt.Errorf("tasks min %d, max %d, start %d: use 1 <= min <= start <= max", p.MinTasks, p.MaxTasks, p.StartTasks)
	case p.BurstStart < 0 || p.BurstLength < 1 || p.BurstStart+p.BurstLength > p.Duration:
		return fmt.Errorf("burst %d s from %d s does not fit in %d s", p.BurstLength, p.BurstStart, p.Duration)
	case p.TaskStart < 0 || p.HealthDelay < 0 || p.DeregDelay < 0 || p.MetricDelay < 0:
		return fmt.Errorf("start %d s, health %d s, deregistration %d s, metric delay %d s: none may be negative", p.TaskStart, p.HealthDelay, p.DeregDelay, p.MetricDelay)
	case p.HighPoints < 1 || p.LowPoints < 1 || p.LowRatio <= 0 || p.LowRatio > 1:
		return fmt.Errorf("alarms of %d and %d datapoints at %v of target: use 1 or more datapoints and a ratio in (0, 1]", p.HighPoints, p.LowPoints, p.LowRatio)
	}
	return nil
}

// proportional is target tracking's proportional rule: the capacity at
// which metric would sit at target, rounded up (AWS rounds so as "not to
// add insufficient capacity or remove too much").
func proportional(capacity int, metric, target float64) int {
	return int(math.Ceil(float64(capacity)*metric/target - 1e-9))
}

func clamp(n, lo, hi int) int { return max(lo, min(hi, n)) }
