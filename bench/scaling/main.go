// Command scaling replays a burst of requests to an I/O-bound AI agent
// through a written-down model of ECS service auto scaling, and prints, for
// three sets of target-tracking policies, the tasks over time, the requests
// served and rejected, and the time from the burst's start to enough
// capacity. It is a model, not a measurement of AWS: every rule below is
// ours, from AWS's documentation where it says something and from our
// reading where it does not, and the figures are only as good as the rules.
//
// Run it from the repository root:
//
//	go run ./bench/scaling                    # the figures in docs/scaling-model.md
//	go run ./bench/scaling -hold 60s -baseline 0.5
//	go run ./bench/scaling -cpu-per-request 0.001
//
// # The load
//
// Requests arrive at -baseline per second, then at -burst times that for
// -burst-length from -burst-start, then at the baseline again. The arrivals
// of a second are the integral of the rate, floored, so the model draws no
// random numbers and every run is the same. Each request holds -hold of
// wall time (the LLM call) and -cpu-per-request of one vCPU while it waits,
// so a task's CPU is its in-flight requests × cpu-per-request / its vCPUs,
// at most 100 %.
//
// # The task
//
// A task serves at most -task-limit requests at once: agentkit's in-flight
// cap (agentkit.Server.MaxInFlight), which the construct sets as
// MaxRequestsInFlight. Its default, 64, is the construct's for the
// reference task: 2048 MiB at 32 MiB a request
// (agentservice.DefaultMiBPerRequestInFlight), which is more than twice the
// in-flight target of 10. The next request waits up to 50 ms for a slot
// (agentkit.DefaultAdmissionWait), then is answered 503 with
// "Retry-After: 1" and counted as rejected; the wait is far below the
// model's one-second step, in which requests end before new ones arrive, so
// it is modelled as no wait. The ALB has no queue of its own and passes the
// 503 on; its RequestCount still counts a request a target answered 503,
// "only incremented for requests where the load balancer node was able to
// choose a target" (ELB's CloudWatch metrics page). Retries are not
// modelled. At 2 % of a vCPU a request, 50 requests fill the task's one
// vCPU; the model does not slow the 14 above them down.
//
// A new task serves -task-start after the scaling decision (ECS placement,
// image pull, container start; 60 s) and takes traffic -health-delay later
// (the ALB's healthy threshold of 2 checks × 30 s interval, package
// healthcheck's defaults; 60 s). From its start to then it reports metrics
// (agentkit writes RequestsInFlight; ECS counts its CPU) at zero load. A
// scaled-in task leaves the ALB's rotation at once, finishes what it holds
// and stops after the deregistration delay (-dereg-delay, the construct's
// 65 s default).
//
// # Routing
//
// The ALB sends each new request to the next healthy task in turn: round
// robin, the target group's default algorithm, which the construct keeps.
// It does not look at how full a task is, so a request can be answered 503
// by a full task while another has room (least outstanding requests would
// avoid that; it is not modelled).
//
// # The metrics, one datapoint a minute
//
// Target tracking "will evaluate metrics aggregated at a one-minute
// granularity for all predefined metrics and custom metrics" (Application
// Auto Scaling User Guide, "How target tracking scaling for Application
// Auto Scaling works", Choose metrics). Per minute, from one-second samples:
//   - CPUUtilization (ECSServiceAverageCPUUtilization, Average): the CPU the
//     running tasks use over the CPU they reserve, in percent.
//   - RequestCountPerTarget (ALBRequestCountPerTarget, Sum): "the total
//     number of requests received by the target group, divided by the number
//     of healthy targets" (ELB User Guide, CloudWatch metrics for your
//     Application Load Balancer), here over the minute's mean healthy count.
//   - RequestsInFlight (agentkit, Average over the Service dimension): the
//     mean of every running task's 10 s points, here of its per-second
//     in-flight count. agentkit counts the requests waiting for a slot
//     too, which wait at most 50 ms: at one-second steps, none. So a full
//     task reports its cap, never the demand it refused.
//
// A minute's datapoint reaches the alarms -metric-delay after the minute
// ends (60 s by default: our assumption for CloudWatch's ingestion and the
// alarm's evaluation, not a documented figure; it delays every policy
// alike).
//
// # Target tracking, rule by rule
//
//  1. Each policy has a scale-out alarm, metric > target for 3 consecutive
//     one-minute datapoints, and a scale-in alarm, metric < 90 % of target
//     for 15 (-high-points, -low-points, -low-ratio). The counts are those
//     of the alarms target tracking creates (AlarmHigh "3 data points within
//     3 minutes", AlarmLow "15 data points within 15 minutes"), which the
//     user guide does not state; it says only that scale-in waits for "a
//     threshold that is far enough below the target value (usually more than
//     10% lower)". Sources: the guide's "How target tracking scaling works";
//     an AWS engineer's reading of the alarms in
//     github.com/aws-samples/amazon-aurora-labs-for-mysql issue 3.
//  2. An alarm in ALARM invokes its policy once a minute for as long as it
//     stays there ("an alarm invokes an Auto Scaling action once each minute
//     when the alarm remains in a new state": AWS re:Post knowledge center,
//     "Why doesn't my CloudWatch alarm's state change invoke my Amazon EC2
//     Auto Scaling policy?"). Here every alarm evaluates when a datapoint
//     arrives.
//  3. A policy asks for ceil(desired count × metric / target), within
//     min..max: "it responds by adding capacity proportional to the metric
//     value", rounding so as not to add too little or remove too much (the
//     guide, How it works and Considerations). The current capacity is the
//     service's desired count (the scalable dimension
//     ecs:service:DesiredCount), which counts tasks that do not serve yet.
//     AWS does not publish its exact formula; this is ours.
//  4. Scale-out cooldown: "a scaling policy won't increase the desired
//     capacity again unless either a larger scale out is triggered or the
//     cooldown period ends. While the scale-out cooldown period is in
//     effect, the capacity added by the initiating scale-out activity is
//     calculated as part of the desired capacity for the next scale-out"
//     (the guide, Define cooldown periods). We read it as: in the cooldown
//     the policy computes from the count before that scale-out and goes
//     ahead only if the result is larger than the count now; after it, it
//     computes from the count now, whether or not the added tasks serve yet.
//     A scale-in ends a scale-out cooldown (ours too). With one invocation a
//     minute, a scale-out cooldown under 60 s, like the reference's 30 s,
//     never binds: each minute a policy multiplies the count it set a minute
//     ago, tasks that do not serve yet included, by a metric from before
//     they were ordered.
//  5. Scale-in cooldown: scale-in is blocked until it ends; a scale-out
//     during it goes ahead at once and ends it (the guide, same section).
//  6. Several policies: the service "will scale out ... if any of the
//     target tracking policies are ready for scale out, but will scale in
//     only if all of the target tracking policies (with the scale-in portion
//     enabled) are ready to scale in", and then to "the policy that provides
//     the largest capacity for both scale in and scale out" (the guide,
//     Multiple scaling policies). A policy is ready to scale in when its
//     scale-in alarm is in ALARM, its scale-in cooldown is over and its
//     count is below the desired count.
//
// # What is enough
//
// Enough capacity is the smallest number of tasks that holds the burst's
// steady in-flight load, burst rate × hold, at or below the task limit:
// ceil(rate × hold / limit). The time to enough capacity is from the
// burst's first second to the first second with that many tasks in the
// ALB's rotation, or "not reached" when the burst ends first.
//
// # Not in the model
//
// Client retries of a 503; least-outstanding-requests routing; ECS's pace
// of launching tasks (all at once here), task placement and failed starts;
// Fargate capacity; the variance of LLM latency (every request holds
// exactly -hold); CPU outside the requests (idle, GC, start-up); the
// high-resolution (20 s) ECS CPU metric; predictive and step scaling.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	p, c, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "scaling:", err)
		os.Exit(2)
	}
	fmt.Print(report(p, setups(c)))
}

// concurrency is the in-flight policy's settings: its target, a second
// target to compare (0 for none) and its cooldowns in seconds, and
// refScaleOut, the CPU and requests policies' scale-out cooldown.
type concurrency struct {
	target, alt               float64
	scaleInCooldown, scaleOut int
	refScaleOut               int
}

// setups are the policies compared. CPU and requests use the reference
// values, the scaling package's defaults (CPU 70 % with scale-in 60 s and
// scale-out 30 s; 100 requests per target with scale-in 120 s and scale-out
// 30 s, which -ref-scale-out-cooldown changes). The concurrency policy's
// target and cooldowns default to the construct's (10 in flight per task,
// 120 s and 30 s): the third setup is what agentservice deploys.
func setups(c concurrency) []Setup {
	cpu := Policy{Metric: CPU, Target: 70, ScaleInCooldown: 60, ScaleOutCooldown: c.refScaleOut}
	req := Policy{Metric: RequestsPerTarget, Target: 100, ScaleInCooldown: 120, ScaleOutCooldown: c.refScaleOut}
	conc := func(t float64) Policy {
		return Policy{Metric: InFlight, Target: t, ScaleInCooldown: c.scaleInCooldown, ScaleOutCooldown: c.scaleOut}
	}
	s := []Setup{
		{Name: "CPU only (70 %)", Policies: []Policy{cpu}},
		{Name: "reference: CPU + requests", Policies: []Policy{cpu, req}},
		{Name: fmt.Sprintf("reference + in-flight %g", c.target), Policies: []Policy{cpu, req, conc(c.target)}},
	}
	if c.alt > 0 {
		s = append(s, Setup{Name: fmt.Sprintf("reference + in-flight %g", c.alt), Policies: []Policy{cpu, req, conc(c.alt)}})
	}
	return s
}

// DefaultParams are the model's defaults: the reference stack (1 vCPU
// tasks of 2 GiB, 2 at the start, 1 to 10, each serving at most 64
// requests, the construct's cap for that size) under a 10x burst of 15
// minutes.
func DefaultParams() Params {
	return Params{
		Baseline: 1.4, BurstFactor: 10, BurstStart: 5 * 60, BurstLength: 15 * 60, Duration: 60 * 60,
		Hold: 20, CPUPerRequest: 0.02, TaskVCPU: 1, TaskLimit: 64,
		StartTasks: 2, MinTasks: 1, MaxTasks: 10,
		TaskStart: 60, HealthDelay: 60, DeregDelay: 65, MetricDelay: 60,
		HighPoints: 3, LowPoints: 15, LowRatio: 0.9,
	}
}

func parseFlags(args []string) (Params, concurrency, error) {
	d := DefaultParams()
	fs := flag.NewFlagSet("scaling", flag.ContinueOnError)
	p := d
	fs.Float64Var(&p.Baseline, "baseline", d.Baseline, "arrivals per second outside the burst")
	fs.Float64Var(&p.BurstFactor, "burst", d.BurstFactor, "the burst's arrival rate as a multiple of the baseline")
	burstStart := fs.Duration("burst-start", sec(d.BurstStart), "when the burst starts")
	burstLength := fs.Duration("burst-length", sec(d.BurstLength), "how long the burst lasts")
	duration := fs.Duration("duration", sec(d.Duration), "how long to simulate")
	hold := fs.Duration("hold", sec(d.Hold), "wall time each request holds (the LLM wait)")
	fs.Float64Var(&p.CPUPerRequest, "cpu-per-request", d.CPUPerRequest, "share of one vCPU a request uses while it waits")
	fs.Float64Var(&p.TaskVCPU, "task-vcpu", d.TaskVCPU, "vCPUs per task")
	fs.IntVar(&p.TaskLimit, "task-limit", d.TaskLimit, "requests a task serves at once (agentkit's cap, MaxRequestsInFlight); more are answered 503")
	fs.IntVar(&p.StartTasks, "start-tasks", d.StartTasks, "tasks at the start")
	fs.IntVar(&p.MinTasks, "min", d.MinTasks, "minimum task count")
	fs.IntVar(&p.MaxTasks, "max", d.MaxTasks, "maximum task count")
	taskStart := fs.Duration("task-start", sec(d.TaskStart), "from the scaling decision until a new task serves")
	health := fs.Duration("health-delay", sec(d.HealthDelay), "from then until the ALB routes to it (healthy threshold × interval)")
	dereg := fs.Duration("dereg-delay", sec(d.DeregDelay), "how long a scaled-in task drains before it stops")
	metricDelay := fs.Duration("metric-delay", sec(d.MetricDelay), "from a minute's end until its datapoint reaches the alarms")
	fs.IntVar(&p.HighPoints, "high-points", d.HighPoints, "datapoints above target that fire a scale-out")
	fs.IntVar(&p.LowPoints, "low-points", d.LowPoints, "datapoints below low-ratio × target that fire a scale-in")
	fs.Float64Var(&p.LowRatio, "low-ratio", d.LowRatio, "the scale-in threshold as a share of the target")
	target := fs.Float64("inflight-target", 10, "the concurrency policy's target, requests in flight per task")
	alt := fs.Float64("inflight-target-2", 0, "a second concurrency target to compare (0: none)")
	inCooldown := fs.Duration("inflight-scale-in-cooldown", 120*time.Second, "the concurrency policy's scale-in cooldown")
	outCooldown := fs.Duration("inflight-scale-out-cooldown", 30*time.Second, "the concurrency policy's scale-out cooldown")
	refOutCooldown := fs.Duration("ref-scale-out-cooldown", 30*time.Second, "the CPU and requests policies' scale-out cooldown")
	var c concurrency
	if err := fs.Parse(args); err != nil {
		return p, c, err
	}
	if fs.NArg() > 0 {
		return p, c, fmt.Errorf("unexpected arguments %q; it takes flags only", fs.Args())
	}
	for _, f := range []struct {
		d   time.Duration
		dst *int
	}{{*burstStart, &p.BurstStart}, {*burstLength, &p.BurstLength}, {*duration, &p.Duration}, {*hold, &p.Hold},
		{*taskStart, &p.TaskStart}, {*health, &p.HealthDelay}, {*dereg, &p.DeregDelay}, {*metricDelay, &p.MetricDelay},
		{*inCooldown, &c.scaleInCooldown}, {*outCooldown, &c.scaleOut}, {*refOutCooldown, &c.refScaleOut}} {
		if f.d < 0 || f.d%time.Second != 0 {
			return p, c, fmt.Errorf("%v is not a whole number of seconds; the model steps one second at a time", f.d)
		}
		*f.dst = int(f.d / time.Second)
	}
	if *target <= 0 || *alt < 0 {
		return p, c, fmt.Errorf("in-flight targets %v and %v: use a target above 0", *target, *alt)
	}
	c.target, c.alt = *target, *alt
	return p, c, p.Validate()
}

func sec(s int) time.Duration { return time.Duration(s) * time.Second }

// report runs every setup and formats what it went through.
func report(p Params, setups []Setup) string {
	var b strings.Builder
	fmt.Fprintln(&b, "MODEL, not a measurement of AWS: a discrete-time replay of written-down target-tracking rules (see `go doc ./bench/scaling`).")
	fmt.Fprintf(&b, "Load: %.4g req/s, x%.4g for %s from %s; each request holds %ds and %.4g%% of a vCPU. Tasks: %.4g vCPU, at most %d requests (then 503), %d at the start, %d..%d.\n",
		p.Baseline, p.BurstFactor, mmss(p.BurstLength), mmss(p.BurstStart), p.Hold, 100*p.CPUPerRequest, p.TaskVCPU, p.TaskLimit, p.StartTasks, p.MinTasks, p.MaxTasks)
	fmt.Fprintf(&b, "A new task serves %ds after the decision and takes traffic %ds later; datapoints reach the alarms %ds after their minute; alarms: %d datapoints above target, %d below %.0f%% of it.\n",
		p.TaskStart, p.HealthDelay, p.MetricDelay, p.HighPoints, p.LowPoints, 100*p.LowRatio)
	burstLoad := p.Baseline * p.BurstFactor * float64(p.Hold)
	fmt.Fprintf(&b, "Enough capacity for the burst: %.4g requests in flight / %d per task = %d tasks taking traffic.\n\n", burstLoad, p.TaskLimit, p.EnoughTasks())

	results := make([]Result, len(setups))
	for i, s := range setups {
		results[i] = Run(p, s)
	}
	b.WriteString(timeline(p, results))
	b.WriteString("\n")
	b.WriteString(summary(results))
	return b.String()
}

// timeline prints, per setup, the desired count and the tasks taking
// traffic at the end of each minute, one character a minute.
func timeline(p Params, results []Result) string {
	var b strings.Builder
	fmt.Fprintln(&b, "Tasks at the end of each minute (one character a minute; A = 10, B = 11 ...; '#' marks the burst):")
	width := 0
	for _, r := range results {
		width = max(width, len(r.Setup.Name))
	}
	mins := len(results[0].Desired)
	var burst strings.Builder
	for m := range mins {
		c := byte(' ')
		if p.inBurst(m*60) || p.inBurst(m*60+59) {
			c = '#'
		}
		burst.WriteByte(c)
	}
	var tens strings.Builder
	for m := range mins {
		if m%10 == 0 {
			tens.WriteByte("0123456789"[m/10%10])
		} else {
			tens.WriteByte(' ')
		}
	}
	fmt.Fprintf(&b, "  %-*s            %s\n", width, "minute", strings.TrimRight(tens.String(), " "))
	fmt.Fprintf(&b, "  %-*s            %s\n", width, "", strings.TrimRight(burst.String(), " "))
	for _, r := range results {
		fmt.Fprintf(&b, "  %-*s  desired   %s\n", width, r.Setup.Name, digits(r.Desired))
		fmt.Fprintf(&b, "  %-*s  serving   %s\n", width, "", digits(r.Routable))
	}
	return b.String()
}

func digits(ns []int) string {
	const set = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var b strings.Builder
	for _, n := range ns {
		b.WriteByte(set[min(n, len(set)-1)])
	}
	return b.String()
}

// summary is a markdown table of the results, one row per setup.
func summary(results []Result) string {
	var b strings.Builder
	b.WriteString("| policies | time to enough capacity | first scale-out | most tasks | served | rejected (503) | of the burst's arrivals | peak in-flight per serving task | task-hours |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		first := "none"
		for _, d := range r.Decisions {
			if d.To > d.From {
				first = fmt.Sprintf("%s, %d → %d", mmss(d.At), d.From, d.To)
				break
			}
		}
		enough := "not reached"
		if r.TimeToEnough >= 0 {
			enough = mmss(r.TimeToEnough)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %d | %.1f %% | %.1f | %.2f |\n",
			r.Setup.Name, enough, first, r.MaxDesired, r.Served, r.Rejected,
			100*float64(r.BurstRejected)/float64(max(r.BurstArrived, 1)), r.PeakInFlight, float64(r.TaskSeconds)/3600)
	}
	b.WriteString("\nTimes to enough capacity are from the burst's start; first scale-out is the time of the decision from the model's start and the desired count it set.\n")
	return b.String()
}

// mmss formats seconds as m:ss.
func mmss(s int) string { return fmt.Sprintf("%d:%02d", s/60, s%60) }
