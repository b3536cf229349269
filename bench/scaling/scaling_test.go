package main

import (
	"reflect"
	"strings"
	"testing"
)

func defaultSetups() []Setup {
	return setups(concurrency{target: 10, scaleInCooldown: 120, scaleOut: 30, refScaleOut: 30})
}

// runAll runs the three compared setups: CPU only, reference, reference + in-flight.
func runAll(p Params, c concurrency) (cpu, ref, conc Result) {
	s := setups(c)
	return Run(p, s[0]), Run(p, s[1]), Run(p, s[2])
}

func TestProportionalRoundsUp(t *testing.T) {
	for _, c := range []struct {
		capacity       int
		metric, target float64
		want           int
	}{
		{2, 420, 100, 9},  // 8.4
		{2, 100, 70, 3},   // 2.86
		{2, 50, 20, 5},    // exactly 5: no rounding up past an exact result
		{5, 50, 20, 13},   // 12.5
		{10, 8.4, 100, 1}, // 0.84
		{2, 70, 70, 2},
	} {
		if got := proportional(c.capacity, c.metric, c.target); got != c.want {
			t.Errorf("proportional(%d, %v, %v) = %d, want %d", c.capacity, c.metric, c.target, got, c.want)
		}
	}
}

// GIVEN one task that holds 2 requests of 2 s, 1 request a second, then 3 a
// second for 5 s, and no scaling
// WHEN the model runs
// THEN each burst second takes 1 request (the one from the second before
// still holds a slot) and rejects 2: 10 rejected of 30, by hand.
func TestTinyCaseByHand(t *testing.T) {
	p := Params{
		Baseline: 1, BurstFactor: 3, BurstStart: 10, BurstLength: 5, Duration: 20,
		Hold: 2, CPUPerRequest: 0.25, TaskVCPU: 1, TaskLimit: 2,
		StartTasks: 1, MinTasks: 1, MaxTasks: 1,
		HighPoints: 3, LowPoints: 15, LowRatio: 0.9,
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	r := Run(p, Setup{Name: "none"})
	if r.Arrived != 30 || r.Served != 20 || r.Rejected != 10 || r.BurstRejected != 10 || r.BurstArrived != 15 {
		t.Errorf("arrived %d served %d rejected %d (burst %d of %d), want 30, 20, 10 (10 of 15)",
			r.Arrived, r.Served, r.Rejected, r.BurstRejected, r.BurstArrived)
	}
	if got := p.EnoughTasks(); got != 3 {
		t.Errorf("EnoughTasks() = %d, want ceil(3 req/s × 2 s / 2) = 3", got)
	}
	if r.TimeToEnough != -1 {
		t.Errorf("TimeToEnough = %d with one task at most, want -1", r.TimeToEnough)
	}
}

// GIVEN 1 request a second of 20 s on two tasks, round robin
// WHEN the second minute's datapoint is taken (the first is the ramp)
// THEN each task holds exactly 10: in-flight 10, CPU 10 × 2 % = 20 %,
// requests per target 60 / 2 = 30.
func TestOneMinuteDatapointsByHand(t *testing.T) {
	p := DefaultParams()
	p.Baseline, p.BurstFactor, p.BurstStart, p.BurstLength, p.Duration = 1, 1, 0, 120, 120
	r := Run(p, Setup{Name: "none"})
	got := r.Points[1]
	want := point{cpu: 20, reqPerTarget: 30, inflight: 10}
	if got != want {
		t.Errorf("second minute's datapoint = %+v, want %+v", got, want)
	}
}

// GIVEN the defaults (burst from 5:00, a cap of 64 a task)
// WHEN the baseline alone, 28 in flight on 2 tasks, holds 14 a task, above
// the construct's in-flight target of 10, from the first minute
// THEN the in-flight policy scales out before the burst: minute 2's
// datapoint reaches the alarms at 4:00 and asks ceil(2 × 14/10) = 3, then
// 5, 7 and 10 a minute apart, and 5 tasks (enough: ceil(280/64)) serve at
// 7:00, 2:00 into the burst.
// AND the others wait for the burst: minutes 5, 6 and 7 breach, and at 9:00
// the requests policy asks ceil(2 × 420/100) = 9 tasks (14 req/s × 60 / 2
// targets, 503s included), which serve 120 s later, 6:00 after the burst's
// start; CPU asks ceil(2 × 100/70) = 3 (both tasks at 64 × 2 %, capped at
// 100 %), then 5 at 10:00, serving at 12:00: 7:00.
func TestDefaultDecisionsByHand(t *testing.T) {
	cpu, ref, conc := runAll(DefaultParams(), concurrency{target: 10, scaleInCooldown: 120, scaleOut: 30, refScaleOut: 30})
	for _, c := range []struct {
		r      Result
		first  Decision
		enough int
	}{
		{cpu, Decision{At: 540, From: 2, To: 3}, 420},
		{ref, Decision{At: 540, From: 2, To: 9}, 360},
		{conc, Decision{At: 240, From: 2, To: 3}, 120},
	} {
		if len(c.r.Decisions) == 0 || c.r.Decisions[0] != c.first {
			t.Errorf("%s: decisions %v, want the first %v", c.r.Setup.Name, c.r.Decisions, c.first)
		}
		if c.r.TimeToEnough != c.enough {
			t.Errorf("%s: time to enough %d s, want %d s", c.r.Setup.Name, c.r.TimeToEnough, c.enough)
		}
	}
	if p := DefaultParams(); p.EnoughTasks() != 5 {
		t.Errorf("EnoughTasks() = %d, want ceil(14 × 20 / 64) = 5", p.EnoughTasks())
	}
}

// The scenarios docs/scaling-model.md shows, and one with a small max.
func scenarios() map[string]Params {
	d := DefaultParams()
	long := d
	long.Hold, long.Baseline = 60, 0.5
	low := d
	low.CPUPerRequest = 0.001
	small := d
	small.MaxTasks = 4
	return map[string]Params{"defaults": d, "hold 60 s": long, "0.1 % CPU": low, "max 4": small}
}

func TestNeverOutsideMinMax(t *testing.T) {
	for name, p := range scenarios() {
		for _, s := range defaultSetups() {
			r := Run(p, s)
			if r.MinDesired < p.MinTasks || r.MaxDesired > p.MaxTasks {
				t.Errorf("%s, %s: desired %d..%d, outside %d..%d", name, s.Name, r.MinDesired, r.MaxDesired, p.MinTasks, p.MaxTasks)
			}
			for m, n := range r.Routable {
				if n > p.MaxTasks {
					t.Errorf("%s, %s: %d tasks serving in minute %d, above max %d", name, s.Name, n, m, p.MaxTasks)
				}
			}
		}
	}
}

// Every setup holds its tasks through the burst, except CPU only on an
// agent at 0.1 % CPU per request (TestCPUOnlyNeverScalesAnIOBoundAgent).
func TestNoScaleInDuringTheBurst(t *testing.T) {
	for name, p := range scenarios() {
		for i, s := range defaultSetups() {
			if name == "0.1 % CPU" && i == 0 {
				continue
			}
			if r := Run(p, s); r.ScaledInDuringBurst {
				t.Errorf("%s, %s: scaled in during the burst: %v", name, s.Name, r.Decisions)
			}
		}
	}
}

// With the defaults, adding the in-flight policy can only add capacity
// (the largest count wins); with the construct's target of 10 it has
// scaled out on the baseline before the burst comes. CPU only is slower
// than the reference.
func TestDefaultsInFlightNoLaterThanReference(t *testing.T) {
	cpu, ref, conc := runAll(DefaultParams(), concurrency{target: 10, scaleInCooldown: 120, scaleOut: 30, refScaleOut: 30})
	if conc.TimeToEnough < 0 || conc.TimeToEnough > ref.TimeToEnough {
		t.Errorf("in-flight reached enough at %d s, reference at %d s: want no later", conc.TimeToEnough, ref.TimeToEnough)
	}
	if cpu.TimeToEnough <= ref.TimeToEnough {
		t.Errorf("CPU only reached enough at %d s, reference at %d s: want strictly later", cpu.TimeToEnough, ref.TimeToEnough)
	}
}

// GIVEN requests that hold 60 s (a slow model or a long tool chain) at 0.5
// req/s, bursting to 5: 300 in flight, 5 tasks at 64
// THEN 100 requests per target per minute is 100 in flight per task, above
// the cap, and the in-flight policy gets to enough capacity strictly
// sooner than both others.
func TestInFlightStrictlySoonerWhenRequestsHoldLonger(t *testing.T) {
	cpu, ref, conc := runAll(scenarios()["hold 60 s"], concurrency{target: 10, scaleInCooldown: 120, scaleOut: 30, refScaleOut: 30})
	if conc.TimeToEnough < 0 || conc.TimeToEnough >= ref.TimeToEnough || conc.TimeToEnough >= cpu.TimeToEnough {
		t.Errorf("time to enough: in-flight %d s, reference %d s, CPU only %d s: want in-flight strictly first",
			conc.TimeToEnough, ref.TimeToEnough, cpu.TimeToEnough)
	}
}

// GIVEN 0.1 % of a vCPU per request: a full task (64) at 6.4 % CPU
// THEN the CPU policy never scales out; its scale-in alarm, below 63 % from
// the first minute, fires after 15 datapoints and takes the service from 2
// tasks to 1 in the middle of the burst (at 16:00).
func TestCPUOnlyNeverScalesAnIOBoundAgent(t *testing.T) {
	cpu, _, _ := runAll(scenarios()["0.1 % CPU"], concurrency{target: 10, scaleInCooldown: 120, scaleOut: 30, refScaleOut: 30})
	want := []Decision{{At: 960, From: 2, To: 1}}
	if !reflect.DeepEqual(cpu.Decisions, want) || !cpu.ScaledInDuringBurst {
		t.Errorf("CPU only decided %v, want only %v, during the burst", cpu.Decisions, want)
	}
	if cpu.TimeToEnough != -1 {
		t.Errorf("CPU only reached enough at %d s, want never", cpu.TimeToEnough)
	}
}

// The in-flight average counts tasks that are draining (deregistered, not
// yet stopped) at zero. With a 120 s scale-in cooldown the minute they
// drag down is read once the cooldown ends, so the service goes from 3 to 1
// task at the baseline, finds 28 in flight on 1, and scales out again: it
// flaps. A 180 s cooldown reads that minute inside the cooldown and holds
// 3 (28 / 3 = 9.3 a task: below the target of 10, above the scale-in
// threshold of 9).
func TestInFlightScaleInCooldownAndDraining(t *testing.T) {
	p := DefaultParams()
	p.Duration = 90 * 60
	afterBurst := func(r Result) (lowest int, outs int) {
		lowest = p.MaxTasks
		for _, d := range r.Decisions {
			if d.At < p.BurstStart+p.BurstLength {
				continue
			}
			lowest = min(lowest, d.To)
			if d.To > d.From {
				outs++
			}
		}
		return lowest, outs
	}
	_, _, flaps := runAll(p, concurrency{target: 10, scaleInCooldown: 120, scaleOut: 30, refScaleOut: 30})
	if lowest, outs := afterBurst(flaps); lowest != 1 || outs == 0 {
		t.Errorf("cooldown 120 s: after the burst down to %d, %d scale-outs; want down to 1 and out again (the flap docs/scaling-model.md reports): %v", lowest, outs, flaps.Decisions)
	}
	_, _, holds := runAll(p, concurrency{target: 10, scaleInCooldown: 180, scaleOut: 30, refScaleOut: 30})
	if lowest, outs := afterBurst(holds); lowest != 3 || outs != 0 {
		t.Errorf("cooldown 180 s: after the burst down to %d, %d scale-outs; want 3 and none: %v", lowest, outs, holds.Decisions)
	}
}

func TestDeterministic(t *testing.T) {
	p := DefaultParams()
	for _, s := range defaultSetups() {
		if a, b := Run(p, s), Run(p, s); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two runs differ", s.Name)
		}
	}
}

func TestReportSaysItIsAModel(t *testing.T) {
	out := report(DefaultParams(), defaultSetups())
	first, _, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(first, "MODEL, not a measurement of AWS") {
		t.Errorf("first line %q does not say it is a model", first)
	}
	for _, s := range defaultSetups() {
		if !strings.Contains(out, "| "+s.Name+" | ") {
			t.Errorf("no summary row for %s", s.Name)
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-hold", "1500ms"}, "not a whole number of seconds"},
		{[]string{"-min", "3", "-max", "2"}, "use 1 <= min <= start <= max"},
		{[]string{"-burst-start", "50m"}, "does not fit"},
		{[]string{"-inflight-target", "0"}, "use a target above 0"},
		{[]string{"extra"}, "flags only"},
	} {
		_, _, err := parseFlags(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseFlags(%q) = %v, want an error containing %q", c.args, err, c.want)
		}
	}
}

// Rules 4 and 5 on the scaler alone. With the reference's 30 s scale-out
// cooldown and one invocation a minute, rule 4 never binds in the runs
// above; here a 300 s cooldown does.
func TestCooldowns(t *testing.T) {
	p := DefaultParams()
	pol := Policy{Metric: InFlight, Target: 20, ScaleInCooldown: 600, ScaleOutCooldown: 300}
	sc := &scaler{p: p, setup: Setup{Policies: []Policy{pol}}, lastOut: longAgo, lastIn: longAgo}
	at := func(v float64, n int) []point {
		pts := make([]point, n)
		for i := range pts {
			pts[i].inflight = v
		}
		return pts
	}
	steps := []struct {
		name      string
		points    []point
		desired   int
		now, want int
	}{
		{"first scale-out: ceil(2 × 50/20)", at(50, 3), 2, 0, 5},
		{"in the cooldown, the same metric: from 2 again, not larger than 5", at(50, 4), 5, 60, 5},
		{"in the cooldown, a larger one: ceil(2 × 60/20) = 6 goes ahead", at(60, 5), 5, 120, 6},
		{"after the cooldown, from the count now: ceil(6 × 50/20) = 15, clamped", at(50, 6), 6, 500, 10},
		{"15 datapoints below 18: ceil(10 × 5/20) = 3", at(5, 15), 10, 600, 3},
		{"in the scale-in cooldown: no further scale-in", at(1, 16), 3, 660, 3},
		{"in the scale-in cooldown, a scale-out goes ahead: ceil(3 × 30/20) = 5", append(at(1, 16), at(30, 3)...), 3, 720, 5},
	}
	for _, s := range steps {
		if got := sc.evaluate(s.points, s.desired, s.now); got != s.want {
			t.Errorf("%s: got %d, want %d", s.name, got, s.want)
		}
	}
}
